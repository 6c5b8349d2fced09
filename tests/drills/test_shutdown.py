"""Shutdown drill: SIGTERM to a running ``lenabot worker`` (and ``lenabot run``) mid-burst.

The real command runs as a subprocess on a prepared SQLite file full of due rows, with the
console channel printing every message to a pipe. SIGTERM arrives while it is sending.

Proves: the process exits by itself within 10 s (``worker``: code 0; ``run``: uvicorn ends by
re-raising the SIGTERM after the lifespan shutdown), with no traceback; sends already under way are
finished and recorded, claimed rows not yet sent go back to pending (no row is left in
'sending' for a lease to rescue); nothing is printed twice; every row marked sent was printed
and every other row is back to 'pending', ready for the next worker at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.domain.outbox import PENDING, SENDING, SENT
from scheduler.store.db import make_engine
from scheduler.store.migrate import upgrade_async
from tests.integration.dispatch.test_dispatch import seed_due_rows, statuses

pytestmark = pytest.mark.drill

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2_000
SIGTERM_AFTER = 337  # messages printed before the signal: mid-burst, mid-batch
EXIT_WITHIN_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start(command: str, url: str) -> asyncio.subprocess.Process:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "TELEGRAM_", "PUBLIC_URL", "DATABASE_URL"))
    }  # fmt: skip
    env.update(
        PYTHONPATH=str(ROOT), DATABASE_URL=url, LOG_LEVEL="INFO",
        DISPATCH_INTERVAL_SECONDS="0.2", PLAN_INTERVAL_SECONDS="3600",
        DISPATCH_BATCH="100", DISPATCH_CONCURRENCY="8", HOST="127.0.0.1", PORT=str(free_port()),
    )  # fmt: skip
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, cwd=Path(url.split("///", 1)[1]).parent, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def collect(stream: asyncio.StreamReader | None, into: list[str]) -> None:
    """Keep the pipe drained (a full pipe would block the worker's prints), line by line."""
    assert stream is not None
    while line := await stream.readline():
        into.append(line.decode())


def printed(lines: list[str]) -> Counter[str]:
    """Messages printed by the console channel, by text ("bulk reminder <patient>/<n>")."""
    return Counter(ln.split(": ", 1)[1].strip() for ln in lines if "bulk reminder" in ln)


@pytest.mark.parametrize("command", ["worker", "run"])
async def test_sigterm_mid_burst_exits_cleanly_and_leaves_no_row_claimed(
    tmp_path: Path, command: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'drill.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        await seed_due_rows(engine, patients=20, per_patient=ROWS // 20, now=datetime.now(UTC))
        out: list[str] = []
        err: list[str] = []
        proc = await start(command, url)
        readers = [
            asyncio.create_task(collect(proc.stdout, out)),
            asyncio.create_task(collect(proc.stderr, err)),
        ]
        loop = asyncio.get_running_loop()
        try:
            deadline = loop.time() + 30
            while sum(printed(out).values()) < SIGTERM_AFTER:
                assert proc.returncode is None, "".join(err)[-3000:]
                assert loop.time() < deadline, "the burst never started:\n" + "".join(err)[-3000:]
                await asyncio.sleep(0.005)
            at_signal = sum(printed(out).values())
            proc.send_signal(signal.SIGTERM)
            signalled = loop.time()
            code = await asyncio.wait_for(proc.wait(), EXIT_WITHIN_S)
            took = loop.time() - signalled
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await asyncio.gather(*readers)

        logs = "".join(err)
        # uvicorn (``lenabot run``) re-raises a captured SIGTERM once its lifespan shutdown is
        # complete, so a supervisor sees "terminated by SIGTERM" rather than a plain exit.
        assert code in ((0,) if command == "worker" else (0, -signal.SIGTERM)), logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
        assert took < EXIT_WITHIN_S
        after = await statuses(engine)
        assert SENDING not in after.values(), "a row was left claimed"
        sent_texts = printed(out)
        assert max(sent_texts.values()) == 1, "a message was printed twice"
        n_sent = sum(1 for s in after.values() if s == SENT)
        assert n_sent == sum(sent_texts.values()), "printed and recorded sends disagree"
        assert SIGTERM_AFTER <= at_signal <= n_sent < ROWS, "the signal did not land mid-burst"
        assert set(after.values()) == {SENT, PENDING}
        print(
            f"\nshutdown drill ({command}): SIGTERM after {at_signal} sends, exited {code} in "
            f"{took:.2f}s; {n_sent} sent, {ROWS - n_sent} pending, none left 'sending' "
            f"({'released' if 'released' in logs else 'nothing to release'})"
        )
    finally:
        await engine.dispose()
