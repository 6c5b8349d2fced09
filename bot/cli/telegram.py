"""Telegram commands: `lenabot link PATIENT` and `lenabot nurses add|list|remove`."""

from __future__ import annotations

import click
from telegram.error import TelegramError

from bot.bootstrap import Service
from bot.channels.telegram.roster import NurseRoster
from bot.cli.common import cli_actor, with_service
from bot.conversation import validate as v
from bot.settings import SettingsError
from scheduler.domain.model import ChannelKind

NO_TOKEN = (
    "no TELEGRAM_BOT_TOKEN is set, so no link yet: once it is set, run "
    "'lenabot link {pid}' to get the patient's one-time link"
)


async def new_link(service: Service, patient_id: str) -> str:
    """A one-time deep link for the patient (the bot's username comes from Telegram's getMe)."""
    gateway = service.gateways.get(ChannelKind.TELEGRAM)
    if gateway is None:
        raise SettingsError(NO_TOKEN.format(pid=patient_id))
    from bot.channels.telegram.gateway import TelegramGateway

    assert isinstance(gateway, TelegramGateway)
    try:
        return await gateway.new_link(patient_id, actor=cli_actor())
    except TelegramError as exc:
        raise SettingsError(
            f"could not reach Telegram ({exc.message}): check "
            "TELEGRAM_API_BASE and the network, then try again"
        ) from None


async def echo_link(service: Service, patient_id: str) -> None:
    """For `enrol --telegram`: print the link, or how to get one later (never fail)."""
    if ChannelKind.TELEGRAM not in service.gateways:
        click.echo(NO_TOKEN.format(pid=patient_id))
        return
    try:
        url = await new_link(service, patient_id)
    except SettingsError as exc:
        click.echo(f"no link yet: {exc}; then run 'lenabot link {patient_id}'")
        return
    click.echo("one-time Telegram link (valid 7 days, single use; give it to the patient only):")
    click.echo(url)


@click.command()
@click.argument("patient_id")
def link(patient_id: str) -> None:
    """A new one-time Telegram link for PATIENT; any older unused link stops working."""

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        url = await new_link(service, patient_id)
        if patient.telegram_chat_id is not None:
            click.echo(
                f"{patient_id} is already linked to a chat; opening this link moves "
                "their reminders to the chat that opens it"
            )
        click.echo(
            "one-time Telegram link (valid 7 days, single use; give it to the patient only):"
        )
        click.echo(url)

    with_service(go)


@click.group()
def nurses() -> None:
    """Nurses allowed to use the nurse commands on Telegram (besides NURSE_TELEGRAM_IDS)."""


def _telegram_id(value: int) -> int:
    if value <= 0:
        raise v.InvalidInput(
            f"--telegram-id {value} is not a Telegram user id: use the "
            "positive number, e.g. from @userinfobot"
        )
    return value


@nurses.command("add")
@click.option(
    "--telegram-id",
    "telegram_id",
    type=int,
    required=True,
    help="the nurse's numeric Telegram user id",
)
@click.option("--name", required=True, help="the nurse's name, for the list")
def nurses_add(telegram_id: int, name: str) -> None:
    """Allow a Telegram user to use the nurse commands and receive nurse alerts."""
    tid = _telegram_id(telegram_id)
    clean = " ".join(name.split())
    if not clean or len(clean) > 100:
        raise v.InvalidInput("--name must be 1 to 100 characters")

    async def go(service: Service) -> None:
        roster = NurseRoster(service.engine, service.settings.nurse_ids)
        added = await roster.add(tid, clean, service.clock.now(), actor=cli_actor())
        click.echo(
            f"{'added' if added else 'renamed'} nurse {clean} ({tid}); they must "
            "open a chat with the bot (send it /start) to receive alerts"
        )

    with_service(go)


@nurses.command("list")
def nurses_list() -> None:
    """Everyone allowed to use the nurse commands."""

    async def go(service: Service) -> None:
        everyone = await NurseRoster(service.engine, service.settings.nurse_ids).everyone()
        if not everyone:
            click.echo(
                "no nurses yet: add one with 'lenabot nurses add --telegram-id N --name NAME'"
            )
        for n in everyone:
            click.echo(
                f"{n.telegram_id:<14}{n.name or '-':<30}"
                f"{'(NURSE_TELEGRAM_IDS)' if n.from_settings else ''}"
            )

    with_service(go)


@nurses.command("remove")
@click.option("--telegram-id", "telegram_id", type=int, required=True)
def nurses_remove(telegram_id: int) -> None:
    """Take a Telegram user off the nurse list."""

    async def go(service: Service) -> None:
        in_settings = telegram_id in service.settings.nurse_ids
        roster = NurseRoster(service.engine)
        if not await roster.remove(telegram_id, service.clock.now(), actor=cli_actor()):
            where = (
                "is only allowed by NURSE_TELEGRAM_IDS: remove it from that setting"
                if in_settings
                else "is not on the nurse list: see 'lenabot nurses list'"
            )
            raise v.InvalidInput(f"{telegram_id} {where}")
        note = " (still allowed by NURSE_TELEGRAM_IDS: remove it there too)" if in_settings else ""
        click.echo(f"removed nurse {telegram_id}{note}")

    with_service(go)

COMMANDS: list[click.Command] = [link, nurses]
