"""``scheduler.store.db.unit_of_work`` on SQLite and PostgreSQL: repository calls inside share one
transaction, committed at the end or rolled back as a whole; a task started inside keeps to
connections of its own."""

from __future__ import annotations

import asyncio
from datetime import date, time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.model import ChannelKind, Patient, Regimen, RuleSet
from scheduler.store import tables as t
from scheduler.store.db import reading, unit_of_work
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import T0


def patient(pid: str) -> Patient:
    return Patient(id=pid, name="Ann", channel=ChannelKind.SMS, tz="Europe/London",
                   language="en-GB", rules=RuleSet.UK, created_at=T0, phone=f"+4477009{pid}")  # fmt: skip


async def enrol(repo: SqlAlchemyCourseRepository, pid: str) -> None:
    await repo.enrol(patient(pid), start=date(2026, 6, 1), dose_time=time(9),
                     regimen=Regimen.parse("21/28"), now=T0)  # fmt: skip


async def visible(engine: AsyncEngine) -> set[str]:
    """Patient ids a separate, fresh connection sees (committed ones)."""
    async with engine.connect() as conn:
        return {r.id for r in await conn.execute(select(t.patients.c.id))}


async def test_a_unit_commits_everything_at_its_end(engine: AsyncEngine) -> None:
    repo = SqlAlchemyCourseRepository(engine)
    async with unit_of_work(engine) as conn:
        await enrol(repo, "00001")
        await repo.record_dose("00001", date(2026, 6, 1), "taken", T0)
        # Read back through the unit: the repository sees its own uncommitted writes.
        assert await repo.dose_records("00001", date(2026, 6, 1)) == {date(2026, 6, 1): "taken"}
        _, course = await repo.load_one("00001", lock=True)
        assert course.start == date(2026, 6, 1)
        assert conn.in_transaction()
    assert await visible(engine) == {"00001"}


async def test_a_unit_that_raises_leaves_nothing_behind(engine: AsyncEngine) -> None:
    repo = SqlAlchemyCourseRepository(engine)
    with pytest.raises(RuntimeError, match="half-way"):
        async with unit_of_work(engine):
            await enrol(repo, "00002")
            async with unit_of_work(engine):  # a unit inside a unit joins it
                await repo.record_inbound("00002", "sms", "taken", "taken", T0)
            raise RuntimeError("half-way")
    assert await visible(engine) == set()
    async with engine.connect() as conn:
        assert (await conn.execute(select(t.inbound.c.id))).all() == []


async def test_a_task_started_inside_a_unit_does_not_use_its_connection(
    engine: AsyncEngine,
) -> None:
    repo = SqlAlchemyCourseRepository(engine)
    seen: list[set[str]] = []

    async def elsewhere() -> None:
        async with reading(engine) as conn:  # its own snapshot: the unit is not committed
            seen.append({r.id for r in await conn.execute(select(t.patients.c.id))})

    async with unit_of_work(engine):
        await enrol(repo, "00003")
        await asyncio.create_task(elsewhere())
    assert seen == [set()]
    assert await visible(engine) == {"00003"}
