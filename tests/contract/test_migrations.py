"""Alembic makes exactly the schema ``scheduler.store.tables`` describes, on SQLite and PostgreSQL.

``scheduler/store/migrations/env.py`` builds its own engine from the URL alone, so it cannot be
pointed at a per-test PostgreSQL *schema*; these tests migrate a fresh, empty PostgreSQL
*database* instead (the test user needs CREATEDB), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from messages.render import render_for
from scheduler.domain.model import PlanSettings, Regimen
from scheduler.domain.outbox import SENT
from scheduler.ports import ManualClock
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import make_engine
from scheduler.store.migrate import alembic_config, upgrade_async
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from scheduler.store.tables import metadata
from tests.conftest import COURSE_START, DOSE_TIME, T0, asyncpg_dsn, make_patient
from tests.fakes.channels import RecordingChannel, resolver_for


@pytest.fixture
async def empty_db_url(backend: str, db_url: str) -> AsyncIterator[str]:
    """The URL of a database with nothing in it, and of no other test."""
    if backend == "sqlite":
        yield db_url.replace("lenabot.db", "migrated.db")
        return
    name = f"lenabot_mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _columns(conn: Connection) -> dict[str, dict[str, bool]]:
    insp = inspect(conn)
    return {
        table: {c["name"]: bool(c["nullable"]) for c in insp.get_columns(table)}
        for table in insp.get_table_names()
        if table != "alembic_version"
    }


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


async def _inspect(engine: AsyncEngine, fn: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.run_sync(fn)


async def test_upgrade_head_makes_the_schema_of_the_tables_module(empty_db_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(empty_db_url)).get_heads()
    assert len(head) == 1, f"migrations have several heads: {head}"

    await upgrade_async(empty_db_url)

    engine = make_engine(empty_db_url)
    try:
        assert await _inspect(engine, _diff) == []
        assert await _inspect(engine, _tables) == {*metadata.tables, "alembic_version"}
        assert await _inspect(engine, _columns) == {
            name: {c.name: bool(c.nullable) for c in table.columns}
            for name, table in metadata.tables.items()
        }
        assert await _inspect(engine, _revision) == head[0]
    finally:
        await engine.dispose()


async def test_downgrade_base_removes_everything_and_upgrade_again_works(
    empty_db_url: str,
) -> None:
    cfg = alembic_config(empty_db_url)
    await upgrade_async(empty_db_url)

    await asyncio.to_thread(command.downgrade, cfg, "base")

    engine = make_engine(empty_db_url)
    try:
        assert await _inspect(engine, _tables) == {"alembic_version"}
        assert await _inspect(engine, _revision) is None
        await engine.dispose()
        await upgrade_async(empty_db_url)
        assert await _inspect(engine, _diff) == []
    finally:
        await engine.dispose()


async def test_the_store_works_on_a_migrated_database(empty_db_url: str) -> None:
    """No column the code relies on is missing a default or a type in the migration."""
    await upgrade_async(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        clock = ManualClock(T0)
        repo, outbox = SqlAlchemyCourseRepository(engine), SqlAlchemyOutbox(engine)
        await repo.enrol(
            make_patient("p1"),
            start=COURSE_START,
            dose_time=DOSE_TIME,
            regimen=Regimen.parse("21/28"),
            now=clock.now(),
        )
        await repo.add_hold("p1", COURSE_START + timedelta(days=20), "", clock.now())
        await Materialiser(repo, outbox, PlanSettings(), render=render_for).everyone(clock.now())
        channel = RecordingChannel()
        clock.advance(hours=1)
        await Dispatcher(outbox, repo, resolver_for(channel), clock, worker="w").tick()

        assert len(channel.sent) == 1
        assert [r.status for r in await outbox.rows("p1")][:1] == [SENT]
    finally:
        await engine.dispose()


async def test_0007_marks_earlier_alerts_urgent_by_kind_and_the_audit_is_append_only(
    empty_db_url: str,
) -> None:
    await upgrade_async(empty_db_url, "0006")
    engine = make_engine(empty_db_url)
    try:
        kinds = ["red_flag", "opt_out", "extra_capsule", "two_missed"]
        async with engine.begin() as conn:
            for kind in kinds:
                await conn.execute(text(
                    "INSERT INTO alerts (patient_id, kind, text, created_at) "
                    "VALUES (NULL, :kind, 'x', :at)"
                ), {"kind": kind, "at": T0})  # fmt: skip
        await engine.dispose()
        await upgrade_async(empty_db_url)

        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(t.alerts.c.kind, t.alerts.c.urgent, t.alerts.c.acknowledged_at)
                .order_by(t.alerts.c.id)
            )).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [
            ("red_flag", True, None), ("opt_out", False, None), ("extra_capsule", True, None),
            ("two_missed", False, None),
        ]  # fmt: skip
        await SqlAlchemyAudit(engine).record("end", actor="cli:nora", at=T0, patient_id="p1")
        for statement in ("UPDATE audit SET actor = 'system'", "DELETE FROM audit"):
            with pytest.raises(IntegrityError, match="audit rows are append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.begin() as conn:  # appending still works, as the store does it
            await conn.execute(insert(t.audit).values(at=T0, actor="system", action="end"))
    finally:
        await engine.dispose()
