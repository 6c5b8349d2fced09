"""``scheduler.store.sqlite_driver``: one trip to aiosqlite's thread a statement, with what
SQLAlchemy reads of a cursor (rows, row counts, row ids, errors) intact."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.store import tables as t
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import T0, Enrol, TestDb

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call queued for an aiosqlite connection's thread, by function name."""
    made: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_sqlite_statements_make_one_trip_each(
    db: TestDb, engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as conn:
        trips.clear()
        await conn.execute(text("SELECT 1"))
        assert trips == ["_run", "_run"]  # BEGIN and the SELECT: one trip each ...
        trips.clear()
        await conn.execute(text("SELECT 1"))
        assert trips == ["_run"]
        trips.clear()
        await conn.rollback()
        assert trips == ["rollback"]  # ... not four (cursor, execute, fetch, close)


async def test_sqlite_cursors_report_rows_counts_ids_and_errors(
    db: TestDb, engine: AsyncEngine, repo: SqlAlchemyCourseRepository, enrol: Enrol
) -> None:
    await enrol("00004")
    async with engine.connect() as conn:
        # INSERT ... RETURNING: the rows come back; a plain INSERT: its row id.
        first = await repo.record_inbound("00004", "sms", "one", None, T0)
        res = await conn.execute(insert(t.inbound).values(
            patient_id="00004", channel="sms", text="two", intent=None, received_at=T0))  # fmt: skip
        assert res.inserted_primary_key == (first + 1,)
        # executemany, then an UPDATE's row count
        await conn.execute(insert(t.inbound), [
            {"patient_id": "00004", "channel": "sms", "text": f"n{i}", "intent": None,
             "received_at": T0} for i in range(3)])  # fmt: skip
        res = await conn.execute(
            update(t.inbound).where(t.inbound.c.patient_id == bindparam("p")).values(intent="x"),
            {"p": "00004"},
        )
        assert res.rowcount == 5
        rows = (await conn.execute(select(t.inbound.c.text).order_by(t.inbound.c.id))).all()
        assert [r.text for r in rows] == ["one", "two", "n0", "n1", "n2"]
        assert (await conn.execute(text("SELECT 1 WHERE 0"))).all() == []
    with pytest.raises(IntegrityError):  # SQLite's error, translated as SQLAlchemy's own
        await enrol("00004")
