"""`lenabot audit`: who changed what, when, and the values before and after."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import click

from bot.bootstrap import Service
from bot.cli.common import dump, with_service
from bot.conversation import validate as v
from scheduler.domain.audit import describe as describe_change
from scheduler.ports import AuditEntry


def describe(entry: AuditEntry) -> str:
    """The change in one line (``scheduler.domain.audit.describe``)."""
    return describe_change(entry.before, entry.after)


def _utc(text: str, what: str) -> datetime:
    return datetime.combine(v.parse_date(text, what), time(0), tzinfo=UTC)


def as_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat().replace("+00:00", "Z"),
        "actor": entry.actor,
        "action": entry.action,
        "patient_id": entry.patient_id,
        "before": entry.before,
        "after": entry.after,
    }


@click.command()
@click.option("--patient", "patient_id", help="one patient's changes")
@click.option(
    "--actor",
    help="one actor (cli:ann, telegram:123, staff:7) or a family (cli, telegram, staff, system)",
)
@click.option("--action", help="enrol, pause, resume, delay_cycle, set_dose_time, end, ...")
@click.option("--since", "since_text", help="from this UTC day, YYYY-MM-DD")
@click.option("--until", "until_text", help="before this UTC day, YYYY-MM-DD")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "json_out", is_flag=True, help="machine-readable JSON array")
def audit(
    patient_id: str | None,
    actor: str | None,
    action: str | None,
    since_text: str | None,
    until_text: str | None,
    limit: int,
    json_out: bool,
) -> None:
    """The audit trail, oldest first: the latest LIMIT changes (UTC times)."""
    since = _utc(since_text, "--since") if since_text else None
    until = _utc(until_text, "--until") if until_text else None

    async def go(service: Service) -> None:
        found = await service.audit.entries(
            patient_id=patient_id, actor=actor, action=action, since=since, until=until,
            limit=limit,
        )  # fmt: skip
        found.reverse()
        if json_out:
            dump([as_json(e) for e in found])
            return
        if not found:
            click.echo("no changes recorded" + (" for that choice" if patient_id or actor
                                                or action or since or until else ""))  # fmt: skip
            return
        for e in found:
            click.echo(
                f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.actor:<20} {e.action:<14} "
                f"{e.patient_id or '-':<10} {describe(e)}"
            )

    with_service(go)


COMMANDS: list[click.Command] = [audit]
