"""`lenabot demo`: a sample patient fast-forwarded through two cycles and the end of treatment.

It uses the real pieces (SQLite outbox, planner, dispatcher, console channel) with a manual
clock in a throwaway database, so what it prints is what the service would send.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click

from bot.bootstrap import build
from bot.conversation import validate as v
from bot.settings import load_settings
from scheduler.domain.model import ChannelKind, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.store.migrate import upgrade_async


@click.command()
@click.option(
    "--start",
    "start_text",
    default="2027-03-01",
    show_default=True,
    help="cycle 1 day 1 of the sample course",
)
@click.option("--tz", default="Europe/London", show_default=True)
def demo(start_text: str, tz: str) -> None:
    """Fast-forward a sample patient through 2 cycles and the end, printing every message."""
    start = v.parse_date(start_text, "--start")
    tz_name = v.parse_tz(tz)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_demo(Path(folder) / "demo.db", start, tz_name))


async def _demo(path: Path, start: date, tz: str) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    clock = ManualClock(datetime.combine(start - timedelta(days=30), time(8, 0), tzinfo=UTC))
    service = build(load_settings(database_url=url), clock=clock)
    try:
        care = service.care
        patient = await care.enrol(
            Enrolment(
                name="Sam Demo",
                tz=tz,
                start=start,
                dose_time=time(9, 0),
                regimen=Regimen.parse("21/28"),
                channel=ChannelKind.SMS,
                phone="+447700900001",
                can_become_pregnant=True,
            )
        )
        end = start + timedelta(days=28 + 20)  # the last dose day of cycle 2
        await care.end(patient.id, end)
        click.echo(
            f"demo: patient {patient.id}, 21/28 from {start}, 09:00 {tz}, "
            f"can become pregnant, last dose {end}; enrolled {clock.now():%Y-%m-%d}"
        )
        finish = datetime.combine(end + timedelta(days=35), time(0, 0), tzinfo=UTC)
        while clock.now() < finish:
            await service.materialiser.everyone(clock.now())
            await service.dispatcher.tick()
            nxt = await service.outbox.next_due()
            step = clock.now() + timedelta(hours=12)
            clock.set(max(clock.now() + timedelta(seconds=1), min(nxt or step, step)))
        counts = await service.outbox.counts()
        click.echo(
            f"demo done: {counts.get('sent', 0)} messages sent, "
            f"{counts.get('expired', 0)} expired, {counts.get('pending', 0)} pending"
        )
    finally:
        await service.close()

COMMANDS: list[click.Command] = [demo]
