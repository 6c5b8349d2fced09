"""Engines: SQLite (embedded default) and PostgreSQL, with the settings each needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite+aiosqlite:///lenabot.db"


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
        engine = create_async_engine(url, connect_args=connect_args, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 16 MiB of page cache a connection (default 2 MiB): the outbox's indexes of a
            # 100k-patient clinic no longer fit in 2 MiB, and planning slowed as they grew.
            cur.execute("PRAGMA cache_size=-16384")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kw.setdefault("pool_pre_ping", True)
    kw.setdefault("pool_size", 10)
    return create_async_engine(url, **kw)
