"""Crash drill: ``kill -9`` a worker process in the middle of a 5,000-message burst.

A real OS process runs a ``Dispatcher`` on PostgreSQL whose channel appends every accepted
message to a file (one unbuffered ``write``: it survives SIGKILL), then takes a moment to answer (the provider's latency: the
window in which a send is in flight). It is SIGKILLed part-way through, a second process is
started and, once the dead worker's claims are older than the (short) lease, takes them back.

Proves: nothing is lost, and the only messages sent twice are those in flight at the kill, at
most one batch's worth of concurrent sends. The number of such duplicates is printed.
(``tests/integration/dispatch/test_dispatch.py`` covers the exact-once and killed-process mechanics at a
small size; this is the same fault at burst scale with a restart through the lease.)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.outbox import SENDING, SENT
from scheduler.store import tables as t
from tests.conftest import TestDb, postgres_only, terminate_sessions
from tests.fakes.server import serve_asgi
from tests.fakes.sms_app import ListingFakeTwilioApi
from tests.integration.dispatch.test_dispatch import seed_due_rows, statuses

pytestmark = pytest.mark.drill

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 5_000
CONCURRENCY = 16
LEASE_S = 1.0  # short, so the restart takes the dead worker's claims back within the test
KILL_AFTER = 1_537  # sends recorded before the kill: mid-batch, well inside the burst

WORKER = r"""
import asyncio, json, os, sys
from datetime import UTC, datetime, timedelta
from scheduler.store.db import make_engine
from scheduler.services.dispatch import Dispatcher
from scheduler.domain.model import ChannelKind
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.ports import Address
from scheduler.store.repository import SqlAlchemyCourseRepository

url, schema, name, lease_s, concurrency, sends = sys.argv[1:7]
twilio = sys.argv[7] if len(sys.argv) > 7 else ""  # "<api url> <account sid> <auth token>"


class Clock:
    def now(self):
        return datetime.now(UTC)


async def main():
    engine = make_engine(url, connect_args={"server_settings": {
        "search_path": schema, "application_name": name, "synchronous_commit": "off"}},
        pool_size=int(concurrency) + 4)

    class FileChannel:
        name = "sms"

        async def send(self, message):
            os.write(fd, f"{message.ref} {name}\n".encode())  # the provider has it now ...
            await asyncio.sleep(0.003)  # ... and answers a moment later
            return f"{name}-{message.ref}"

    fd = os.open(sends, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    channel = FileChannel()
    if twilio:  # lenabot's real TwilioChannel and twilio 9 client, to a fake Twilio
        from bot.channels.sms.gateway import TwilioChannel
        from bot.settings import load_settings

        api, sid, token = twilio.split()
        settings = load_settings(
            _env_file=None, database_url=url, twilio_account_sid=sid, twilio_auth_token=token,
            twilio_from="+15005550006", twilio_api_base=api,
            public_url="https://lenabot.example", team_phone="+441632960999",
        )
        channel = TwilioChannel(settings, Clock(), alerts=None)
        await channel.open(10.0)
    outbox = SqlAlchemyOutbox(engine)
    dispatcher = Dispatcher(
        outbox=outbox, courses=SqlAlchemyCourseRepository(engine),
        resolve=lambda p: (channel, Address(ChannelKind.SMS, p.phone)), clock=Clock(),
        worker=name, batch=100, concurrency=int(concurrency),
        lease=timedelta(seconds=float(lease_s)),
    )
    print("READY", flush=True)
    totals = {"sent": 0, "released": 0, "ticks": 0}
    while True:  # the dispatch job, ticking until the outbox has nothing left to send
        stats = await dispatcher.tick()
        totals["sent"] += stats.sent
        totals["released"] += stats.released
        totals["ticks"] += 1
        counts = await outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            break
        await asyncio.sleep(0.1)
    print(json.dumps(totals), flush=True)
    await engine.dispose()


asyncio.run(main())
"""


async def start_worker(
    db: TestDb, name: str, sends: Path, twilio: str = ""
) -> asyncio.subprocess.Process:
    assert db.schema is not None
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, db.url, db.schema, name, str(LEASE_S), str(CONCURRENCY),
        str(sends), *([twilio] if twilio else []),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    got = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    if not got:
        assert proc.stderr is not None
        err = (await asyncio.wait_for(proc.stderr.read(), 10)).decode()
        pytest.fail(f"worker said nothing:\n{err[-3000:]}")
    return got


def recorded(sends: Path) -> Counter[str]:
    """Sends per row ref, from the file every worker appends to."""
    if not sends.exists():
        return Counter()
    return Counter(line.split()[0] for line in sends.read_text().splitlines() if line)


async def run_to_the_end(db: TestDb, sends: Path, twilio: str = "") -> dict[str, int]:
    """A restarted worker, until the outbox has nothing left to send; its totals."""
    restarted = await start_worker(db, "drill-restarted", sends, twilio)
    try:
        assert await line(restarted) == "READY"
        result: dict[str, int] = json.loads(await line(restarted))
        assert await asyncio.wait_for(restarted.wait(), 60) == 0
    finally:
        if restarted.returncode is None:
            restarted.kill()
            await restarted.wait()
    return result


async def kill_9_once(
    db: TestDb, doomed: asyncio.subprocess.Process, reached: Callable[[], bool]
) -> None:
    """Once the worker is ready and ``reached()`` holds (polled: the burst's progress is in a
    file or a fake's record), ``kill -9`` it, and end its PostgreSQL sessions."""
    try:
        assert await line(doomed) == "READY"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not reached():
            if doomed.returncode is not None:
                assert doomed.stderr is not None
                err = (await doomed.stderr.read()).decode()[-3000:]
                pytest.fail(f"the worker ended before it could be killed:\n{err}")
            assert loop.time() < deadline, "the burst did not get going"
            await asyncio.sleep(0.005)
    finally:
        if doomed.returncode is None:
            doomed.send_signal(signal.SIGKILL)  # kill -9: no cleanup of any kind
        await asyncio.wait_for(doomed.wait(), 30)
    assert doomed.returncode == -signal.SIGKILL
    await terminate_sessions(db.url, "drill-doomed")


@postgres_only
async def test_kill_9_mid_burst_then_restart_loses_nothing_and_repeats_only_in_flight(
    db: TestDb, engine: AsyncEngine, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    ids = await seed_due_rows(engine, patients=100, per_patient=MESSAGES // 100, now=now)
    sends = tmp_path / "sends.txt"

    doomed = await start_worker(db, "drill-doomed", sends)
    await kill_9_once(db, doomed, lambda: sum(recorded(sends).values()) >= KILL_AFTER)

    at_kill = await statuses(engine)
    before = recorded(sends)
    claimed = {str(i) for i, s in at_kill.items() if s == SENDING}
    in_flight = claimed & set(before)  # with the provider, never recorded as sent
    assert KILL_AFTER <= sum(before.values()) < MESSAGES and max(before.values()) == 1
    assert len(claimed) <= 100  # one batch claimed at a time

    result = await run_to_the_end(db, sends)

    total = recorded(sends)
    duplicates = {ref for ref, n in total.items() if n > 1}
    print(
        f"\ncrash drill: {MESSAGES} messages, killed after {sum(before.values())} sends; "
        f"{len(claimed)} rows claimed at the kill, {len(in_flight)} of them in flight; "
        f"{len(duplicates)} in-flight duplicates (concurrency {CONCURRENCY}); "
        f"restart released {result['released']} and sent {result['sent']}"
    )
    assert set(total) == {str(i) for i in ids}, "a message was lost"
    assert duplicates <= in_flight, "a message not in flight at the kill was sent twice"
    assert len(duplicates) <= CONCURRENCY
    assert max(total.values()) <= 2
    assert result["released"] == len(claimed)  # taken back only through the lease
    assert set((await statuses(engine)).values()) == {SENT}


TWILIO_MESSAGES = 3_000
TWILIO_KILL_AFTER = 911
TWILIO_LATENCY_S = 0.02  # Twilio has made the message; its answer is on the way


@postgres_only
async def test_kill_9_mid_burst_through_twilio_sends_nothing_twice(
    db: TestDb, engine: AsyncEngine, tmp_path: Path
) -> None:
    """The same crash with lenabot's real ``TwilioChannel`` (twilio 9's client over HTTP to
    ``ListingFakeTwilioApi``, which creates each message and answers 20 ms later): the
    messages in flight at the kill exist at Twilio but were never recorded. The restarted
    worker takes the dead worker's claims back through the lease marked ``maybe_sent``, looks
    each up at Twilio before sending, and records the message it finds: hazard H11's "a
    reminder in flight at a crash is sent again" does not happen on SMS. 3,000 messages to
    1,000 patients (a lookup reads a number's 20 latest messages, as a patient gets a few a
    day)."""
    now = datetime.now(UTC)
    ids = await seed_due_rows(engine, patients=1_000, per_patient=3, now=now)
    twilio = ListingFakeTwilioApi()
    twilio.answer_after = TWILIO_LATENCY_S
    sends = tmp_path / "unused.txt"
    async with serve_asgi(twilio.asgi) as api_url:
        where = f"{api_url} {twilio.account_sid} {twilio.auth_token}"
        doomed = await start_worker(db, "drill-doomed", sends, where)
        await kill_9_once(db, doomed, lambda: len(twilio.messages) >= TWILIO_KILL_AFTER)
        await twilio.settled()  # what the dead worker handed over is all at Twilio now

        at_kill = await statuses(engine)
        texts = await texts_of(engine)
        at_twilio = {sms.body for sms in twilio.messages}
        claimed = {i for i, s in at_kill.items() if s == SENDING}
        in_flight = {i for i in claimed if texts[i] in at_twilio}  # there, never recorded
        assert TWILIO_KILL_AFTER <= len(twilio.messages) < TWILIO_MESSAGES
        assert in_flight, "no send was in flight at the kill: the drill proved nothing"
        lists_before = twilio.lists

        result = await run_to_the_end(db, sends, where)

    per_text = Counter((sms.to, sms.body) for sms in twilio.messages)
    twice = {k: n for k, n in per_text.items() if n > 1}
    print(
        f"\ncrash drill through Twilio: {TWILIO_MESSAGES} messages, killed after "
        f"{len(at_twilio)} had reached Twilio; {len(claimed)} rows claimed at the kill, "
        f"{len(in_flight)} of them already at Twilio; the restart looked up "
        f"{twilio.lists - lists_before}, released {result['released']}, sent {result['sent']}; "
        f"sent twice: {len(twice)}"
    )
    assert twice == {}, "a message reached the patient twice"
    assert len(per_text) == len(ids), "a message was lost"
    assert result["released"] == len(claimed)
    assert twilio.lists - lists_before == len(claimed)  # every released row looked up once
    assert set((await statuses(engine)).values()) == {SENT}
    sids = {sms.body: sms.sid for sms in twilio.messages}
    provider = await provider_ids(engine)
    assert all(provider[i] == sids[texts[i]] for i in in_flight)  # the found one recorded


async def texts_of(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        return {r.id: r.text for r in await conn.execute(select(t.outbox.c.id, t.outbox.c.text))}


async def provider_ids(engine: AsyncEngine) -> dict[int, str | None]:
    async with engine.connect() as conn:
        q = select(t.outbox.c.id, t.outbox.c.provider_id)
        return {r.id: r.provider_id for r in await conn.execute(q)}
