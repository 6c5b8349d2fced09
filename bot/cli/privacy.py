"""Privacy: `lenabot patients forget PATIENT` erases a patient's personal data."""

from __future__ import annotations

import click

from bot.bootstrap import Service
from bot.cli.common import cli_actor, with_service
from bot.cli.nurse import patients


@patients.command("forget")
@click.argument("patient_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def patients_forget(patient_id: str, yes: bool) -> None:
    """Erase a patient's personal data and stop all their messages (cannot be undone).

    Name, phone number and Telegram chat go; what they wrote and what was sent to them is
    replaced by "[forgotten]"; alerts lose their words; pending messages are cancelled. The
    course, dose records and the audit trail (which holds nothing personal) stay, and the
    erasure is added to it.
    """
    if not yes:
        click.confirm(
            f"Erase the personal data of patient {patient_id}? This cannot be undone",
            abort=True,
        )

    async def go(service: Service) -> None:
        done = await service.care.forget(patient_id, actor=cli_actor())
        click.echo(
            f"patient {patient_id} forgotten: {done['inbound']} inbound texts and "
            f"{done['messages']} messages erased, {done['cancelled']} pending messages "
            f"cancelled, {done['link_codes']} link codes deleted, {done['alerts']} alerts "
            "scrubbed; they are opted out"
        )

    with_service(go)

COMMANDS: list[click.Command] = []
