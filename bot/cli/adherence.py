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
@click.option("--open", "only_open", is_flag=True,
              help="only those nobody acknowledged, urgent first, with their ids")  # fmt: skip
def alerts(limit: int, only_open: bool) -> None:
    """The latest nurse alerts (red flags, opt-outs, missed doses, failed deliveries)."""

    async def go(service: Service) -> None:
        if only_open:
            found = await service.alerts.open_alerts(limit)
            if not found:
                click.echo("no open alerts")
            for a in found:
                flag = "URGENT" if a.urgent else ""
                to = f" [assigned to {a.assigned_to}]" if a.assigned_to else ""
                click.echo(f"{a.id:<6}{flag:<7}{a.created_at:%Y-%m-%d %H:%M}Z  {a.kind:<16}"
                           f"{a.patient_id or '-':<10}{a.text}{to}")  # fmt: skip
            return
        rows = await service.alerts.recent(limit)
        if not rows:
            click.echo("no alerts")
        for kind, pid, text in rows:
            click.echo(f"{kind:<16}{pid or '-':<10}{text}")

    with_service(go)


@click.command()
@click.argument("alert_id", type=int)
@click.option("--note", default="", help="what was done, for the team (up to 500 characters)")
def ack(alert_id: int, note: str) -> None:
    """Acknowledge an alert (see 'lenabot alerts --open'): it is in hand, and an urgent one
    is not sent again."""

    async def go(service: Service) -> None:
        a = await service.alerts.acknowledge(alert_id, cli_actor(), note)
        click.echo(f"alert {a.id} ({a.kind}, patient {a.patient_id or '-'}) acknowledged by "
                   f"{a.acknowledged_by}")  # fmt: skip

    with_service(go)


@click.command()
@click.argument("alert_id", type=int)
@click.argument("to")
def assign(alert_id: int, to: str) -> None:
    """Give an open alert to someone: staff:<id>, telegram:<user id> or cli:<user>."""

    async def go(service: Service) -> None:
        a = await service.alerts.assign(alert_id, to, by=cli_actor())
        click.echo(f"alert {a.id} ({a.kind}, patient {a.patient_id or '-'}) assigned to {to}")

    with_service(go)


COMMANDS: list[click.Command] = [adherence, follow_ups, alerts, ack, assign]
