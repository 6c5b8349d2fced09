"""The `lenabot` command: run the service, and the nurse's actions on courses."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import validate as v
from bot.bootstrap import Service, build
from bot.settings import Settings, SettingsError, load_settings
from messages.render import UnknownLanguageError
from scheduler.care import CareError
from scheduler.db import make_engine
from scheduler.outage import unreachable
from scheduler.repository import UnknownPatientError

T = TypeVar("T")
USER_ERRORS = (v.InvalidInput, CareError, UnknownPatientError, SettingsError, UnknownLanguageError)


# A command waits this long for the database to answer before it gives up.
CONNECT_TIMEOUT_S = 10.0


class NotMigratedError(RuntimeError):
    pass


class DatabaseUnreachableError(RuntimeError):
    pass


async def reachable(engine: AsyncEngine) -> None:
    """Connect once, or end in one sentence naming DATABASE_URL (never a driver's traceback)."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S), engine.connect():
            pass
    except Exception as exc:
        if isinstance(exc, TimeoutError):
            why = f"no answer in {CONNECT_TIMEOUT_S:.0f} s"
        elif (known := unreachable(exc)) is not None:
            why = known
        elif isinstance(exc, DBAPIError):
            why = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        else:
            why = type(exc).__name__
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnreachableError(
            f"setting DATABASE_URL: cannot connect to {where} ({why})"
        ) from None


def _settings() -> Settings:
    return load_settings()


def with_service(fn: Callable[[Service], Awaitable[T]]) -> T:
    """Run ``fn`` against a freshly built service, closing it afterwards."""

    async def go() -> T:
        service = build(_settings())
        try:
            await reachable(service.engine)
            return await fn(service)
        except (OperationalError, ProgrammingError) as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                raise NotMigratedError(
                    "the database is not set up yet: run 'lenabot db upgrade' (or 'make run')"
                ) from None
            raise
        finally:
            await service.close()

    return asyncio.run(go())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """lenabot: lenalidomide reminders by SMS and Telegram."""


# --- running --------------------------------------------------------------------------------


@cli.command()
def run() -> None:
    """Web server and worker in one process (the embedded default)."""
    from bot.serve import serve

    serve(_settings(), web=True, worker=True)


@cli.command()
def web() -> None:
    """Only the web server (webhooks, health)."""
    from bot.serve import serve

    serve(_settings(), web=True, worker=False)


@cli.command()
def worker() -> None:
    """Only the planner and dispatcher."""
    from bot.serve import serve

    serve(_settings(), web=False, worker=True)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (run by `make run` and the Procfile's release)."""
    from scheduler.migrate import upgrade

    url = _settings().database_url
    asyncio.run(_reachable_url(url))
    upgrade(url, revision)
    click.echo("database is up to date")


@cli.command()
@click.argument("text")
def explain(text: str) -> None:
    """How lenabot reads TEXT: its clauses, each clause's readings (topics, scores, what a
    negation denied) and what the whole text comes to. Needs no database."""
    from messages.understand import explain as laid_out

    click.echo(laid_out(text))


async def _reachable_url(url: str) -> None:
    engine = make_engine(url)
    try:
        await reachable(engine)
    finally:
        await engine.dispose()


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


def json_default(o: Any) -> Any:
    if isinstance(o, timedelta):
        return o.total_seconds()
    return str(o)


def dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=json_default))


# Command modules register themselves on `cli` when imported.
from bot import (
    cli_adherence,  # noqa: F401
    cli_demo,  # noqa: F401
    cli_nurse,  # noqa: F401  (registers the nurse commands)
    cli_privacy,  # noqa: F401  (patients forget)
    cli_telegram,  # noqa: F401  (link, nurses)
)
