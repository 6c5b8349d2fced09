"""Operations: /readyz, /metrics (Prometheus) and JSON logs."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client.parser import text_string_to_metric_families

from bot import logs
from bot.bootstrap import Service, build
from bot.settings import load_settings
from bot.web.app import STALE_FLOOR_S, create_app
from scheduler.ports import ManualClock
from scheduler.store.migrate import upgrade_async
from tests.conftest import T0
from tests.fakes.sms_app import DOSE_AT, PHONE, sms_world
from tests.integration.processes import terminate

# -- helpers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def lenabot_process(
    env: dict[str, str], command: str = "run"
) -> Iterator[tuple[str, Callable[[], str]]]:
    """`lenabot run` as a real process; yields its URL and a reader of everything it printed."""
    port = free_port()
    env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile("w+b") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot", command], env=env, stdin=stdin,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip

        final: list[str] = []

        def output() -> str:
            """Everything printed so far (all of it, once the process has ended)."""
            if final:
                return final[0]
            log.flush()
            log.seek(0)
            return log.read().decode("utf-8", "replace")

        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, f"lenabot {command} exited:\n{output()}"
                assert time.monotonic() < deadline, f"lenabot {command} never answered:\n{output()}"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            yield url, output
        finally:
            terminate(proc)
            final.append(output())


@contextlib.asynccontextmanager
async def served(service: Service, *, worker: bool) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan entered (as uvicorn would), reached in-process."""
    app = create_app(service, worker=worker)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


async def console_service(tmp_path: Path, **overrides: object) -> Service:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"
    await upgrade_async(url)
    settings = load_settings(_env_file=None, database_url=url, telegram_bot_token=None,
                             twilio_account_sid="", **overrides)  # fmt: skip
    return build(settings, clock=ManualClock(T0), out=io.StringIO())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text -> {(sample name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# -- /readyz -----------------------------------------------------------------------------


async def test_readyz_web_only_needs_the_database(tmp_path: Path) -> None:
    service = await console_service(tmp_path)
    async with served(service, worker=False) as http:
        r = await http.get("/readyz")
        assert r.status_code == 200
        assert r.json()["database"] is True and r.json()["worker"] is False
        assert (await http.get("/healthz")).text == "ok"


async def test_readyz_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None, telegram_bot_token=None, twilio_account_sid="",
        database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none",
    )  # fmt: skip
    service = build(settings, clock=ManualClock(T0), out=io.StringIO())
    async with served(service, worker=False) as http:
        r = await http.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] is False
        assert (await http.get("/healthz")).status_code == 200  # alive, just not ready
        m = samples((await http.get("/metrics")).text)
        assert m[("lenabot_database_up", ())] == 0


async def test_readyz_in_a_worker_wants_a_running_scheduler_and_a_recent_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await console_service(
        tmp_path, dispatch_interval_seconds=3600, plan_interval_seconds=3600
    )
    jobless = AsyncIOScheduler(timezone="UTC")
    monkeypatch.setattr(service, "scheduler", lambda: jobless)
    async with served(service, worker=True) as http:
        r = await http.get("/readyz")
        body = r.json()
        assert r.status_code == 503  # running, but the dispatcher never ticked
        assert body["scheduler"] is True and body["dispatch_age_seconds"] is None

    service = await console_service(
        tmp_path, dispatch_interval_seconds=3600, plan_interval_seconds=3600
    )
    clock = service.clock
    assert isinstance(clock, ManualClock)
    async with served(service, worker=True) as http:
        for _ in range(200):  # the first dispatch tick runs 0.5 s after start
            if "dispatch" in service.beat.last:
                break
            await asyncio.sleep(0.05)
        r = await http.get("/readyz")
        assert r.status_code == 200, r.json()
        assert r.json()["scheduler"] is True and r.json()["dispatch_age_seconds"] == 0
        limit = r.json()["dispatch_stale_after_seconds"]
        assert limit == max(STALE_FLOOR_S, 3 * 3600)
        clock.set(clock.now() + timedelta(seconds=limit - 1))
        assert (await http.get("/readyz")).status_code == 200
        clock.set(clock.now() + timedelta(seconds=2))
        r = await http.get("/readyz")
        assert r.status_code == 503 and r.json()["dispatch_age_seconds"] == limit + 1


# -- /metrics ----------------------------------------------------------------------------


async def test_metrics_count_outcomes_lag_and_latency(tmp_path: Path) -> None:
    async with sms_world(tmp_path) as w:
        a = await w.enrol()
        await w.enrol(phone="+447700900456", name="B")
        await w.enrol(phone="+447700900789", name="C")
        # Ten minutes late, nothing sent yet: the lag shows it.
        w.clock.set(DOSE_AT + timedelta(minutes=10))
        m = samples((await w.http.get("/metrics")).text)
        assert m[("lenabot_dispatch_lag_seconds", ())] == 600
        assert m[("lenabot_outbox_rows", (("status", "pending"),))] >= 3

        w.twilio.fail_next(status=400, code=21211)  # one fails for good
        w.twilio.fail_next(status=503, code=20503)  # one is retried
        stats = await w.tick()
        assert (stats.sent, stats.failed, stats.retried) == (1, 1, 1)
        # The retried one is never sent: past its 12 hours it expires.
        w.clock.set(DOSE_AT + timedelta(hours=13))
        assert (await w.tick()).expired >= 1
        await w.text_in("TAKEN")
        [sent] = [s for s in w.twilio.messages if s.status_callback]
        assert sent.status_callback is not None
        await w.status_callback(sent.status_callback, sent.sid, "delivered")
        assert a.id

        r = await w.http.get("/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
        m = samples(r.text)

    def messages(outcome: str, kind: str = "dose", channel: str = "sms") -> float:
        labels = (("channel", channel), ("kind", kind), ("outcome", outcome))
        return m.get(("lenabot_messages_total", labels), 0)

    assert messages("sent") == 1 and messages("failed") == 1 and messages("retried") == 1
    assert messages("expired") + messages("expired", "unknown", "unknown") >= 1
    assert m[("lenabot_dispatch_lag_seconds", ())] == 0  # nothing due is waiting
    routes = {dict(labels)["route"] for (name, labels) in m
              if name == "lenabot_http_request_duration_seconds_count"}
    assert {"/metrics", "/twilio/sms", "/twilio/status/{token}"} <= routes
    assert not any(PHONE in str(key) or "+44" in str(key) for key in m)


def test_a_failing_metrics_hook_never_stops_a_send(caplog: pytest.LogCaptureFixture) -> None:
    from scheduler.services.dispatch import Dispatcher

    def broken(outcome: str, kind: str, channel: str) -> None:
        raise RuntimeError("boom")

    d = Dispatcher.__new__(Dispatcher)
    d.on_result = broken
    with caplog.at_level(logging.ERROR, logger="scheduler.services.dispatch"):
        d._report("sent", "dose", "sms")  # logged, not raised
    [record] = [r for r in caplog.records if r.name == "scheduler.services.dispatch"]
    assert record.getMessage() == "the dispatch result hook failed"
    assert record.exc_info is not None and str(record.exc_info[1]) == "boom"


# -- structured logs ---------------------------------------------------------------------


def test_json_log_lines_have_ts_level_logger_msg(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", "json")
        logging.getLogger("lenabot.test").info("hello %s", "world")
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("lenabot.test").exception("it broke: \"quoted\"\nnewline")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2  # one line each, even with a newline and a traceback
    first, second = (json.loads(line) for line in lines)
    assert {"ts", "level", "logger", "msg"} <= first.keys()
    assert (first["level"], first["logger"], first["msg"]) == ("info", "lenabot.test", "hello world")
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "error" and "ValueError: bad" in second["exc"]
    assert second["msg"] == 'it broke: "quoted"\nnewline'


def test_lenabot_run_with_json_logs_prints_only_json_and_serves_metrics(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
           "LOG_FORMAT": "json", "DISPATCH_INTERVAL_SECONDS": "0.2"}  # fmt: skip
    for var in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN", "PUBLIC_URL"):
        env.pop(var, None)
    up = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env,
                        capture_output=True, timeout=60, check=False)  # fmt: skip
    assert up.returncode == 0, up.stderr
    with lenabot_process(env) as (url, output):
        deadline = time.monotonic() + 15
        while (r := httpx.get(url + "/readyz")).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.1)
        assert r.json()["scheduler"] is True
        metrics = httpx.get(url + "/metrics").text
        assert "lenabot_http_request_duration_seconds_bucket" in metrics
        assert 'lenabot_last_tick_age_seconds{job="dispatch"}' in metrics
    lines = [line for line in output().splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)  # every line, uvicorn's too
        assert {"ts", "level", "logger", "msg"} <= record.keys(), line
