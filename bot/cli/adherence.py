"""Nurse commands about what patients did: adherence calendar, follow-ups, alerts."""

from __future__ import annotations

from datetime import timedelta

import click

from bot.bootstrap import Service
from bot.cli.common import cli_actor, dump, with_service
from scheduler.domain.adherence import MARKS, cycles, percentage
from scheduler.domain.localtime import zone


@click.command()
@click.argument("patient_id")
@click.option("--json", "as_json", is_flag=True)
def adherence(patient_id: str, as_json: bool) -> None:
    """Per-cycle calendar (T taken, L late, M missed, U unconfirmed, X extra, - break, H hold)."""

    async def go(service: Service) -> None:
        _, course = await service.courses.load_one(patient_id)
        today = service.clock.now().astimezone(zone(course.tz)).date()
        records = await service.courses.dose_records(patient_id, course.start - timedelta(1))
        calendar = cycles(course, records, today)
        pct = percentage(calendar)
        if as_json:
            dump(
                {
                    "patient": patient_id,
                    "percent": None if pct is None else round(pct, 1),
                    "cycles": [
                        {
                            "cycle": c.number,
                            "start": c.start.isoformat(),
                            "days": [{"date": d.isoformat(), "status": s} for d, s in c.days],
                        }
                        for c in calendar
                    ],
                }
            )
            return
        if not calendar:
            click.echo(f"{patient_id}: the course has not started yet (starts {course.start})")
            return
        for c in calendar:
            marks = "".join(MARKS.get(s, "?") for _, s in c.days)
            chunks = " ".join(marks[i : i + 7] for i in range(0, len(marks), 7))
            part = percentage([c])
            shown = "" if part is None else f"  {part:.0f}%"
            click.echo(f"cycle {c.number:>2} from {c.start}: {chunks}{shown}")
        click.echo(
            "T taken  L late  M missed  U unconfirmed  X extra capsule  o today  - break  H hold  "
            ". ahead"
            "  _ before enrolment"
        )
        click.echo("adherence: " + ("no dose days yet" if pct is None else f"{pct:.0f}%"))

    with_service(go)


@click.command("follow-ups")
@click.argument("patient_id")
@click.argument("state", type=click.Choice(["on", "off"]))
def follow_ups(patient_id: str, state: str) -> None:
    """Turn the "no reply yet" nudge after an unanswered dose on or off for one patient."""

    async def go(service: Service) -> None:
        await service.care.follow_ups(patient_id, state == "on", actor=cli_actor())
        click.echo(f"follow-ups for {patient_id} are {state}")

    with_service(go)


@click.command()
@click.option("--limit", default=20, show_default=True)
def alerts(limit: int) -> None:
    """The latest nurse alerts (red flags, opt-outs, missed doses, failed deliveries)."""

    async def go(service: Service) -> None:
        rows = await service.alerts.recent(limit)
        if not rows:
            click.echo("no alerts")
        for kind, pid, text in rows:
            click.echo(f"{kind:<16}{pid or '-':<10}{text}")

    with_service(go)

COMMANDS: list[click.Command] = [adherence, follow_ups, alerts]
