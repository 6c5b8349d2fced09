"""`lenabot run` in one process: web app + APScheduler jobs + console channel, injected clock."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime, time
from pathlib import Path

import httpx

from bot.bootstrap import build
from bot.settings import load_settings
from bot.web.app import create_app
from scheduler.domain.model import ChannelKind, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi


async def wait_until(predicate, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll a condition the running jobs make true; fail with the time it took if never."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_running_service_prints_a_due_dose_once_and_reports_ready(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    await upgrade_async(url)
    # 08:59:30 London on cycle 1 day 2: the 09:00 dose becomes due half a minute later.
    clock = ManualClock(datetime(2026, 12, 2, 8, 59, 30, tzinfo=UTC))
    out = io.StringIO()
    settings = load_settings(
        database_url=url, plan_interval_seconds=0.05, dispatch_interval_seconds=0.05
    )
    service = build(settings, clock=clock, out=out)
    patient = await service.care.enrol(Enrolment(
        name="Ann Smith", tz="Europe/London", start=date(2026, 12, 1), dose_time=time(9, 0),
        regimen=Regimen.parse("21/28"), channel=ChannelKind.SMS, phone="+447700900123",
    ))
    async with serve_asgi(create_app(service, worker=True)) as base, httpx.AsyncClient(
        base_url=base
    ) as http:
        assert (await http.get("/healthz")).text == "ok"
        await wait_until(lambda: "dispatch" in service.beat.last)
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] is True
        assert out.getvalue() == ""  # not due yet
        clock.set(datetime(2026, 12, 2, 9, 0, 5, tzinfo=UTC))
        await wait_until(lambda: "cycle 1, day 2 of 21" in out.getvalue())
        # Let several more plan and dispatch ticks run: the dose must not print again.
        ticks = service.beat.last["dispatch"]
        clock.advance(seconds=1)
        await wait_until(lambda: service.beat.last["dispatch"] > ticks)
        clock.advance(seconds=1)
        ticks = service.beat.last["dispatch"]
        await wait_until(lambda: service.beat.last["dispatch"] > ticks)
    printed = [line for line in out.getvalue().splitlines() if "time for your" in line]
    assert printed == [
        f"[2026-12-02 09:00 Europe/London] to {patient.id} (sms): Ann, time for your "
        "lenalidomide: cycle 1, day 2 of 21, Wed 2 Dec. Swallow it whole with water. Reply TAKEN "
        "once done, or MISSED."
    ]
