"""Engines: SQLite (embedded default) and PostgreSQL, with the settings each needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_

from scheduler.store.sqlite_driver import dbapi

DEFAULT_URL = "sqlite+aiosqlite:///lenabot.db"
# SQLite page cache of each pooled connection, in KiB. Planning a big clinic reads the
# outbox's indexes over and over: 8 MiB a connection (the default is 2 MiB) keeps those of a
# 100k-patient clinic in memory, and planning slowed as they outgrew 2 MiB. A connection that
# plans nothing big (the service's, when planner processes plan the big passes) keeps
# SQLite's default: 6 MiB less resident memory a connection (bench/RESULTS.md, "Memory").
PLANNING_CACHE_KIB = 8192
SQLITE_DEFAULT_CACHE_KIB = 2000
# Execution option of a connection that only reads (see ``reading``).
READ_ONLY = "lenabot_read_only"


def normalise_url(url: str) -> str:
    """Accept the plain URLs operators paste (postgres://, sqlite:///) and pick async drivers."""
    u = make_url(url)
    if u.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    elif u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    return u.render_as_string(hide_password=False)


class DatabaseUrlError(ValueError):
    """A DATABASE_URL lenabot cannot use; the message completes "setting DATABASE_URL ..."."""


DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_USE = "use sqlite+aiosqlite:///lenabot.db (a file) or postgresql://user@host/db"


def check_url(url: str) -> str:
    """The URL with its async driver, or DatabaseUrlError saying what is wrong with it.

    Checked before anything connects, so a typo is one sentence rather than an import error
    from a driver lenabot does not ship (mysql://) or SQLite's "unable to open database file".
    """
    try:
        u = make_url(normalise_url(url))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseUrlError(f"is not a database URL: {_USE}") from None
    if u.drivername not in DRIVERS:
        raise DatabaseUrlError(f"has a driver lenabot does not support ({u.drivername}): {_USE}")
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        if u.query.get("uri") in ("true", "1"):
            return u.render_as_string(hide_password=False)  # a file: URI, e.g. shared memory
        path = Path(u.database).expanduser()
        if not path.parent.is_dir():
            raise DatabaseUrlError(
                f"names a SQLite file in a folder that does not exist ({path.parent}): "
                "create the folder or fix the path"
            )
        if path.is_dir():
            raise DatabaseUrlError(f"names a folder ({path}), not a SQLite file: {_USE}")
    return u.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, cache_kib: int = PLANNING_CACHE_KIB, **kw: Any) -> AsyncEngine:
    """An engine for ``url``; on SQLite each connection gets ``cache_kib`` KiB of page cache
    (``PRAGMA cache_size``; PostgreSQL's cache is the server's, so it is ignored there)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # One writer at a time: each transaction takes the write lock up front (BEGIN IMMEDIATE)
        # and waits for it, so the CLI and a running service never fail with "locked".
        connect_args = {"timeout": 30, **kw.pop("connect_args", {})}
        # One trip to aiosqlite's thread a statement instead of four (see sqlite_driver).
        engine = create_async_engine(url, connect_args=connect_args, module=dbapi(), **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # See PLANNING_CACHE_KIB. Each planner process has caches of its own: 16 MiB cost
            # 2 x 8 MiB more memory at 100k patients than 8 MiB, for no measurable speed.
            cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # A read-only transaction (``reading``) never upgrades to a writer, so it can read
            # its WAL snapshot alongside a writer instead of queueing for the write lock.
            deferred = conn.get_execution_options().get(READ_ONLY)
            conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    engine = create_async_engine(url, **kw)
    engine.dialect.do_ping = _ping_once  # type: ignore[method-assign]
    return engine


def _ping_once(dbapi_connection: Any) -> bool:
    """``pool_pre_ping``'s check of a pooled PostgreSQL connection, in one round trip.

    SQLAlchemy's asyncpg ping takes three (BEGIN, a prepared ``;``, ROLLBACK: the transaction
    is there for PgBouncer's transaction mode, where a prepared statement outside one may
    reach another server). A simple query (``SELECT 1``, not prepared) needs no transaction;
    it fails on a dead connection just the same, and its error is translated as
    the dialect's own ping's is, so the pool replaces the connection quietly. Every inbound
    message checks a connection out: two round trips fewer each.
    """
    try:
        await_(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


@dataclass(frozen=True)
class _Unit:
    engine: AsyncEngine
    conn: AsyncConnection
    task: asyncio.Task[Any] | None


_UNIT: ContextVar[_Unit | None] = ContextVar("lenabot_unit_of_work", default=None)


def _joined(engine: AsyncEngine) -> AsyncConnection | None:
    """The connection of the unit of work this task is in on ``engine``, if any.

    The task is checked as well as the context: a task started inside a unit inherits a copy
    of the context, but must not use a connection that is not its own (the unit may end, or
    be in the middle of another statement, while it runs).
    """
    unit = _UNIT.get()
    if unit is not None and unit.engine is engine and unit.task is asyncio.current_task():
        return unit.conn
    return None


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One transaction for all the repository calls this task makes inside it.

    Repository methods open their own short transaction (``writing``, ``reading``,
    ``connecting``); inside a unit of work they all join its one connection and transaction
    instead, which commits when the block ends and rolls back, as a whole, if it raises.
    Handling one inbound message is a unit: its half-dozen calls cost one checkout, one BEGIN
    and one COMMIT instead of one each (on SQLite each of those is a round trip to
    aiosqlite's thread and back; on PostgreSQL a pool ping and a round trip to the server),
    and what it records is all or nothing. A unit inside a unit joins the outer one.
    """
    conn = _joined(engine)
    if conn is not None:
        yield conn
        return
    async with engine.begin() as conn:
        token = _UNIT.set(_Unit(engine, conn, asyncio.current_task()))
        try:
            yield conn
        finally:
            _UNIT.reset(token)


def writing(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """``engine.begin()``: a transaction committed when the block ends, unless this task is in
    a unit of work, whose transaction it then joins (see ``unit_of_work``)."""
    return _own_or_joined(engine, engine.begin)


def connecting(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """``engine.connect()`` (rolled back at the end: for reads), or the unit of work's."""
    return _own_or_joined(engine, engine.connect)


@asynccontextmanager
async def _own_or_joined(
    engine: AsyncEngine, open_: Callable[[], AbstractAsyncContextManager[AsyncConnection]]
) -> AsyncIterator[AsyncConnection]:
    conn = _joined(engine)
    if conn is not None:
        yield conn
        return
    async with open_() as conn:
        yield conn


def reading(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """A connection for a transaction that only reads (or the unit of work's, if in one).

    On SQLite every other transaction takes the write lock up front (``BEGIN IMMEDIATE``);
    this one reads a snapshot without it, so planner processes loading patients do not queue
    behind each other's writes. It must not write: a deferred transaction that turns into a
    writer can fail with "database is locked" instead of waiting. On PostgreSQL it is a plain
    connection.
    """
    return _own_or_joined(engine, lambda: _read_only(engine))


@asynccontextmanager
async def _read_only(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        yield await conn.execution_options(**{READ_ONLY: True})


# More patient ids than this are read as the range they span (``patients_param``).
BY_RANGE_OVER = 20


def patients_param(ids: Sequence[str]) -> tuple[bool, dict[str, Any]]:
    """How a statement picks these patients: by the range of ids they span (``b_first``,
    ``b_last``) when there are more than ``BY_RANGE_OVER``, else by the ids (``b_ids``).

    The planner's pages are contiguous runs of ids: one index range scan and two parameters
    instead of an IN list of thousands (PostgreSQL compares those one by one, and rendering
    them was a tenth of a planner process's CPU). The caller filters out the rows of patients
    in the range it did not ask for. True in the answer: by range.
    """
    if len(ids) > BY_RANGE_OVER:
        return True, {"b_first": min(ids), "b_last": max(ids)}
    return False, {"b_ids": list(ids)}
