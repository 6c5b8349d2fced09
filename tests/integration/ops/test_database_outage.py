"""`lenabot run` / `worker` / `web` with the database away: one line, not a traceback a tick.

Real processes, JSON logs (one record a line), short intervals so that a few seconds hold many
ticks. Nothing sleeps to wait for a state: every wait polls for it with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy.engine import make_url

from scheduler.runtime.jobs import DatabaseWatch
from scheduler.store.migrate import upgrade
from tests.conftest import asyncpg_dsn
from tests.fakes.tcp_proxy import TcpProxy
from tests.integration.processes import terminate

ROOT = Path(__file__).resolve().parents[3]
DEADLINE_S = 30.0
Record = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, condition: Callable[[], object], within: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


class Lenabot:
    """One `lenabot <command>` process; its log records, and /readyz for web processes."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Any, port: int) -> None:
        self.proc = proc
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.final: str | None = None  # all of it, once the process has ended

    def output(self) -> str:
        if self.final is not None:
            return self.final
        self.log.flush()
        self.log.seek(0)
        return str(self.log.read().decode("utf-8", "replace"))

    def records(self) -> list[Record]:
        """Every line is a JSON log record: a stray traceback would not parse."""
        return [json.loads(line) for line in self.output().splitlines() if line.strip()]

    def readyz(self) -> httpx.Response:
        return httpx.get(self.url + "/readyz", timeout=10)


@contextlib.contextmanager
def lenabot(command: str, database_url: str, tmp_path: Path) -> Iterator[Lenabot]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "NURSE_", "LOG_", "PLAN_", "DISPATCH_"))}  # fmt: skip
    env.update(
        PYTHONPATH=str(ROOT), DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port),
        LOG_FORMAT="json", LOG_LEVEL="DEBUG", PUBLIC_URL="", TEAM_PHONE="",
        DISPATCH_INTERVAL_SECONDS="0.05", PLAN_INTERVAL_SECONDS="0.05", PLAN_PROCESSES="0",
    )  # fmt: skip
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile("w+b") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", command], cwd=tmp_path, env=env,
                                stdin=stdin, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        process = Lenabot(proc, log, port)
        try:
            if command != "worker":

                def answers() -> bool:
                    assert proc.poll() is None, f"lenabot {command} exited:\n{process.output()}"
                    with contextlib.suppress(httpx.HTTPError):
                        return httpx.get(process.url + "/healthz", timeout=1).status_code == 200
                    return False

                wait_for(f"lenabot {command} answers /healthz", answers)
            yield process
        finally:
            terminate(proc)
            process.final = process.output()


def outage_lines(records: list[Record]) -> list[str]:
    """What an operator sees about the database at the default level (INFO) and above."""
    return [r["msg"] for r in records
            if r["level"] != "debug" and "database" in r["msg"] and r["logger"] != "bot.serve"]  # fmt: skip


def retries(records: list[Record]) -> list[float]:
    """The waits before each next attempt, from the DEBUG lines of the attempts that failed."""
    found = (re.search(r"next try in ([0-9.]+) s", r["msg"]) for r in records
             if r["level"] == "debug" and r["logger"] == "scheduler.runtime.jobs")  # fmt: skip
    return [float(m[1]) for m in found if m]


@pytest.mark.parametrize("command", ["run", "worker"])
def test_database_down_from_the_start_is_one_line_not_a_traceback_every_tick(
    tmp_path: Path, command: str
) -> None:
    nothing_there = f"postgresql://lenabot@127.0.0.1:{free_port()}/lenabot"
    with lenabot(command, nothing_there, tmp_path) as p:
        # Dozens of 0.05 s ticks go by; the attempts behind them back off.
        wait_for("six failed attempts", lambda: len(retries(p.records())) >= 6)
        if command == "run":
            r = p.readyz()
            assert r.status_code == 503 and r.json()["database"] is False
        running = p.records()
        assert p.proc.poll() is None, "a database outage must not stop the process"
    [line] = outage_lines(running)
    assert line.startswith("plan job failed: the database is unreachable (connection refused")
    waits = retries(running)
    assert waits == sorted(waits) and waits[-1] >= 4 * waits[0], waits
    everything = p.records()  # the whole run, shutdown included: never a traceback
    assert not [r for r in everything if "exc" in r]
    assert "Traceback" not in p.output()


def test_web_with_the_database_down_is_not_ready_and_logs_nothing_about_it(
    tmp_path: Path,
) -> None:
    nothing_there = f"postgresql://lenabot@127.0.0.1:{free_port()}/lenabot"
    with lenabot("web", nothing_there, tmp_path) as p:
        for _ in range(3):
            r = p.readyz()
            assert r.status_code == 503 and r.json()["database"] is False
        assert httpx.get(p.url + "/healthz").status_code == 200  # alive, just not ready
    assert outage_lines(p.records()) == []
    assert "Traceback" not in p.output()


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A database of its own on the test server (a subprocess cannot be handed a schema)."""
    name = f"lenabot_outage_{uuid.uuid4().hex[:12]}"
    admin = asyncpg_dsn(server_url)

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(sql(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_run_says_once_that_the_database_went_and_once_that_it_is_back(
    tmp_path: Path, postgres_url: str
) -> None:
    with scratch_database(postgres_url) as direct:
        upgrade(direct)
        server = make_url(direct)
        with TcpProxy((server.host or "127.0.0.1", server.port or 5432)) as proxy:
            via_proxy = server.set(host="127.0.0.1", port=proxy.port)
            with lenabot("run", via_proxy.render_as_string(hide_password=False), tmp_path) as p:
                wait_for("ready", lambda: p.readyz().status_code == 200)

                proxy.down()  # the server stops: open connections cut, new ones refused
                wait_for("the outage is reported", lambda: outage_lines(p.records()))
                wait_for("four failed attempts", lambda: len(retries(p.records())) >= 4)
                r = p.readyz()
                assert r.status_code == 503 and r.json()["database"] is False

                proxy.up()
                wait_for("the return is reported", lambda: len(outage_lines(p.records())) == 2)
                back = next(r for r in p.records() if "reachable again" in r["msg"])

                def working_again() -> bool:
                    ready = p.readyz()
                    last = ready.json()["last"]
                    return ready.status_code == 200 and all(
                        last.get(job, "") > back["ts"] for job in ("plan", "dispatch")
                    )

                wait_for("plan and dispatch ticks after the return", working_again)
                running = p.records()
    went, returned = outage_lines(running)
    assert "job failed: the database is unreachable" in went
    assert returned.startswith("the database is reachable again after ")
    assert not [r for r in p.records() if "exc" in r]


# -- the watch on its own: a minute of outage in a few calls -------------------------------


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_watch_reports_once_a_minute_and_backs_off_to_its_longest_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="scheduler.runtime.jobs")
    clock = Ticking()
    watch = DatabaseWatch(2.0, longest_wait=30.0, report_every=60.0, monotonic=clock)
    waits = []
    for _ in range(11):  # three and a half minutes of attempts
        assert watch.may_try()
        start = clock.now
        watch.failed("dispatch", "connection refused")
        watch.failed("plan", "connection refused")  # the same attempt: no longer a wait
        assert not watch.may_try()
        waits.append(watch.next_try - start)
        clock.now = watch.next_try
    assert waits[:5] == [2.0, 4.0, 8.0, 16.0, 30.0] and set(waits[5:]) == {30.0}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 + 3  # the outage, then one line a minute (at 60 s, 120 s, 180 s)
    assert lines[0].startswith("dispatch job failed: the database is unreachable")
    assert all(line.startswith("the database is still unreachable after") for line in lines[1:])

    watch.succeeded()
    assert watch.may_try()
    assert caplog.records[-1].getMessage().startswith("the database is reachable again after")
    watch.succeeded()  # already up: nothing more to say
    assert len(caplog.records) == 5
