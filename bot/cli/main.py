"""The `lenabot` entry point: the command group, each family's commands, errors in one sentence.

Nothing imports this module; it imports the command modules and adds their commands.
"""

from __future__ import annotations

import sys

import click

from bot.cli import adherence, audit, demo, nurse, privacy, service, staff, telegram
from bot.cli.common import USER_ERRORS, DatabaseUnreachableError, NotMigratedError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """lenabot: lenalidomide reminders by SMS and Telegram."""


for _family in (service, nurse, adherence, audit, privacy, telegram, staff, demo):
    for _command in _family.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="lenabot", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except (*USER_ERRORS, NotMigratedError, DatabaseUnreachableError) as exc:
        click.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
        sys.exit(2)
