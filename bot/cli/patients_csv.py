"""``lenabot patients import FILE [--dry-run]``: the console's Import page from the command
line, with the same code (``bot.web.console.patient_csv``): every row checked as the Enrol
form and ``lenabot enrol`` check it, then all of them enrolled in one transaction, or none."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.bootstrap import Service
from bot.cli.common import cli_actor, with_service
from bot.conversation.validate import InvalidInput
from bot.web.console.patient_csv import (
    MAX_FILE_BYTES,
    BadFile,
    ImportRefused,
    check,
    enrol_all,
    read_rows,
)  # fmt: skip


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check every row and save nothing")
def patients_import(file: Path, dry_run: bool) -> None:
    """Enrol the patients of a CSV file (the columns of the console's Import page), all or
    none; each row is listed as ok or with its problems. Exit 1 if any row has one."""
    if file.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{file} is larger than 1 MB: split it into smaller files")
    data = file.read_bytes()

    async def go(service: Service) -> int:
        try:
            rows = read_rows(data)
        except BadFile as exc:
            raise InvalidInput(str(exc)) from None
        await check(rows, service.courses, service.clock.now())
        bad = [r for r in rows if not r.ok]
        for row in rows:
            if row.ok:
                click.echo(f"row {row.number}: ok")
            for p in row.problems:
                click.echo(f"row {row.number}: {p.column + ': ' if p.column else ''}{p.message}")
        if bad:
            click.echo(f"{len(bad)} of {len(rows)} rows have problems: nothing was imported")
            return 1
        if dry_run:
            click.echo(f"dry run: all {len(rows)} rows are ok; nothing was imported")
            return 0
        try:
            enrolled = await enrol_all(rows, service.care, service.engine, cli_actor())
        except ImportRefused as exc:
            click.echo(f"row {exc.row.number}: {exc.message}")
            click.echo("nothing was imported")
            return 1
        for row, patient in zip(rows, enrolled, strict=True):
            click.echo(f"row {row.number}: enrolled as {patient.id}")
        click.echo(f"imported {len(enrolled)} patients")
        return 0

    code = with_service(go)
    if code:
        sys.exit(code)  # (click.exceptions.Exit is swallowed outside standalone mode)
