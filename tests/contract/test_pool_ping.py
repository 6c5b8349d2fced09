"""PostgreSQL's pool ping (``scheduler.store.db._ping_once``): a pooled connection whose server
session died is replaced quietly at checkout, and a live one is checked in one round trip."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text

from tests.conftest import TestDb, asyncpg_dsn, postgres_only

APP = "lenabot-ping-test"


@postgres_only
async def test_a_pooled_connection_killed_while_idle_is_replaced_quietly(db: TestDb) -> None:
    engine = db.make_engine(
        pool_pre_ping=True, pool_size=1,
        connect_args={"server_settings": db.server_settings(application_name=APP)},
    )  # fmt: skip
    async with engine.connect() as conn:
        first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    admin = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
    finally:
        await admin.close()
    invalidated: list[object] = []
    event.listen(engine.sync_engine, "invalidate", lambda *a: invalidated.append(a))
    async with engine.connect() as conn:  # no error: the ping found it dead
        second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    assert second != first
    assert len(invalidated) == 1


@postgres_only
async def test_the_ping_of_a_live_connection_is_one_simple_query(db: TestDb) -> None:
    engine = db.make_engine(pool_pre_ping=True, pool_size=1)
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await conn.execute(text("SELECT 1"))
    sent: list[str] = []
    raw.add_query_logger(lambda record: sent.append(record.query))
    async with engine.connect() as conn:  # checked out again: pinged
        assert (await conn.get_raw_connection()).driver_connection is raw
    assert sent == ["SELECT 1"]  # not BEGIN, a prepared ';' and ROLLBACK
