"""Courses: their columns (dose time, end), holds, cycle delays and appointments."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scheduler.store import tables as t
from scheduler.store.db import writing
from scheduler.store.repository.rows import RepositoryBase, UnknownPatientError


class CourseStore(RepositoryBase):
    """Course changes: each bumps the course's version."""

    async def _course_id(self, conn: AsyncConnection, patient_id: str) -> int:
        cid = (
            await conn.execute(select(t.courses.c.id).where(t.courses.c.patient_id == patient_id))
        ).scalar()
        if cid is None:
            raise UnknownPatientError(patient_id)
        return int(cid)

    async def _touch(
        self, conn: AsyncConnection, course_id: int, now: datetime, **values: Any
    ) -> None:
        await conn.execute(
            update(t.courses)
            .where(t.courses.c.id == course_id)
            .values(updated_at=now, version=t.courses.c.version + 1, **values)
        )

    async def update_course(self, patient_id: str, now: datetime, **values: Any) -> None:
        """Change course columns (end_date, start_date...) and bump its version. Setting
        ``end_date`` also records when (``end_recorded_at``); the dose time changes through
        ``set_dose_time``, which keeps the earlier one for the days before."""
        if "end_date" in values:
            values.setdefault("end_recorded_at", now)
        async with writing(self.engine) as conn:
            await self._touch(conn, await self._course_id(conn, patient_id), now, **values)

    async def set_dose_time(self, patient_id: str, at: time, since: date, now: datetime) -> None:
        """Doses from local date ``since`` on are at ``at``; the days before keep theirs."""
        async with writing(self.engine) as conn:
            cid = await self._course_id(conn, patient_id)
            old = (
                await conn.execute(select(t.courses.c.dose_time).where(t.courses.c.id == cid))
            ).scalar_one()
            if old != at:
                await conn.execute(
                    insert(t.dose_times).values(
                        course_id=cid, until_date=since, dose_time=old, created_at=now
                    )
                )
            await self._touch(conn, cid, now, dose_time=at)

    async def add_hold(self, patient_id: str, start: date, reason: str, now: datetime) -> None:
        async with writing(self.engine) as conn:
            cid = await self._course_id(conn, patient_id)
            await conn.execute(
                insert(t.holds).values(
                    course_id=cid, start_date=start, end_date=None, reason=reason, created_at=now
                )
            )
            await self._touch(conn, cid, now)

    async def end_hold(self, patient_id: str, hold_start: date, on: date, now: datetime) -> None:
        async with writing(self.engine) as conn:
            cid = await self._course_id(conn, patient_id)
            await conn.execute(
                update(t.holds)
                .where(
                    t.holds.c.course_id == cid,
                    t.holds.c.start_date == hold_start,
                    t.holds.c.end_date.is_(None),
                )
                .values(end_date=on, resumed_at=now)
            )
            await self._touch(conn, cid, now)

    async def add_delay(self, patient_id: str, cycle: int, days: int, now: datetime) -> None:
        async with writing(self.engine) as conn:
            cid = await self._course_id(conn, patient_id)
            await conn.execute(
                insert(t.cycle_delays).values(course_id=cid, cycle=cycle, days=days, created_at=now)
            )
            await self._touch(conn, cid, now)

    async def add_appointment(self, patient_id: str, on: date, note: str, now: datetime) -> None:
        async with writing(self.engine) as conn:
            cid = await self._course_id(conn, patient_id)
            exists = (
                await conn.execute(
                    select(func.count())
                    .select_from(t.appointments)
                    .where(
                        t.appointments.c.course_id == cid,
                        t.appointments.c.on_date == on,
                        t.appointments.c.kind == "blood_test",
                    )
                )
            ).scalar_one()
            if not exists:
                await conn.execute(
                    insert(t.appointments).values(
                        course_id=cid, kind="blood_test", on_date=on, note=note, created_at=now
                    )
                )
            await self._touch(conn, cid, now)
