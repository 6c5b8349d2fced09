"""What every command shares: the settings, a service to run against, errors in one sentence."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import Service, build
from bot.conversation import validate as v
from bot.settings import Settings, SettingsError, load_settings
from messages.render import UnknownLanguageError
from scheduler.domain.audit import ActorError
from scheduler.services.care import CareError
from scheduler.store.alerts import AlertError
from scheduler.store.db import make_engine
from scheduler.store.outage import unreachable
from scheduler.store.repository import UnknownPatientError

T = TypeVar("T")
USER_ERRORS = (
    v.InvalidInput, CareError, UnknownPatientError, SettingsError, UnknownLanguageError,
    AlertError, ActorError,
)  # fmt: skip


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


def cli_actor() -> str:
    """Who is acting from the command line, for the audit trail: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (a bare container)
        user = f"uid-{os.getuid()}"
    return "cli:" + ("".join(user.split())[:64] or f"uid-{os.getuid()}")


def settings_from_env() -> Settings:
    return load_settings()


def with_service(fn: Callable[[Service], Awaitable[T]]) -> T:
    """Run ``fn`` against a freshly built service, closing it afterwards."""

    async def go() -> T:
        service = build(settings_from_env())
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


async def reachable_url(url: str) -> None:
    engine = make_engine(url)
    try:
        await reachable(engine)
    finally:
        await engine.dispose()


def json_default(o: Any) -> Any:
    if isinstance(o, timedelta):
        return o.total_seconds()
    return str(o)


def dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=json_default))
