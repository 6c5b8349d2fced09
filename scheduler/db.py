"""Engines: SQLite (embedded default) and PostgreSQL, with the settings each needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from scheduler.sqlite_driver import dbapi

DEFAULT_URL = "sqlite+aiosqlite:///lenabot.db"
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


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kw: Any) -> AsyncEngine:
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
            # 8 MiB of page cache a connection (default 2 MiB): the outbox's indexes of a
            # 100k-patient clinic no longer fit in 2 MiB, and planning slowed as they grew.
            # Each planner process has caches of its own: 16 MiB cost 2 x 8 MiB more memory
            # at 100k patients than 8 MiB, for no measurable speed.
            cur.execute("PRAGMA cache_size=-8192")
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
    return create_async_engine(url, **kw)


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a transaction that only reads.

    On SQLite every other transaction takes the write lock up front (``BEGIN IMMEDIATE``);
    this one reads a snapshot without it, so planner processes loading patients do not queue
    behind each other's writes. It must not write: a deferred transaction that turns into a
    writer can fail with "database is locked" instead of waiting. On PostgreSQL it is a plain
    connection.
    """
    async with engine.connect() as conn:
        yield await conn.execution_options(**{READ_ONLY: True})
