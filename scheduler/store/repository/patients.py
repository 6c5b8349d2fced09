"""Patients: enrolment, look-ups, loading with their courses, follow-ups, opting out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time

from sqlalchemy import bindparam, insert, select, update

from scheduler.domain.model import Course, Patient, Regimen
from scheduler.store import tables as t
from scheduler.store.db import connecting, reading, writing
from scheduler.store.repository.rows import RepositoryBase, UnknownPatientError, _load, _patient

# Patients loaded a statement: the holds, delays and appointments query binds three ids a
# course, and PostgreSQL (asyncpg) and SQLite take at most 32,766 parameters a statement.
LOAD_CHUNK = 2000

# The statements of the calls every inbound message makes, built once: building a statement
# and working out its cache key cost more client CPU than SQLite spent running it.
_BY_PHONE = select(t.patients).where(t.patients.c.phone == bindparam("b_value"))
_BY_CHAT = select(t.patients).where(t.patients.c.telegram_chat_id == bindparam("b_value"))


class PatientStore(RepositoryBase):
    """Patients, and each loaded with their course."""

    async def enrol(
        self, patient: Patient, *, start: date, dose_time: time, regimen: Regimen, now: datetime
    ) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(
                insert(t.patients).values(
                    id=patient.id,
                    name=patient.name,
                    channel=patient.channel.value,
                    phone=patient.phone,
                    telegram_chat_id=patient.telegram_chat_id,
                    tz=patient.tz,
                    language=patient.language,
                    discreet=patient.discreet,
                    can_become_pregnant=patient.can_become_pregnant,
                    partner_can_become_pregnant=patient.partner_can_become_pregnant,
                    rules=patient.rules.value,
                    opted_out_at=None,
                    created_at=now,
                    follow_ups=patient.follow_ups,
                    irregular_periods=patient.irregular_periods,
                )
            )
            await conn.execute(
                insert(t.courses).values(
                    patient_id=patient.id,
                    start_date=start,
                    dose_time=dose_time,
                    regimen=str(regimen),
                    end_date=None,
                    enrolled_at=now,
                    updated_at=now,
                    version=1,
                )
            )

    async def get(self, patient_id: str) -> Patient:
        async with connecting(self.engine) as conn:
            row = (
                await conn.execute(select(t.patients).where(t.patients.c.id == patient_id))
            ).first()
        if row is None:
            raise UnknownPatientError(patient_id)
        return _patient(row)

    async def get_many(self, patient_ids: Iterable[str]) -> dict[str, Patient]:
        ids = list(patient_ids)
        if not ids:
            return {}
        async with connecting(self.engine) as conn:
            rows = await conn.execute(select(t.patients).where(t.patients.c.id.in_(ids)))
            return {r.id: _patient(r) for r in rows}

    async def find(self, *, phone: str | None = None, chat_id: int | None = None) -> Patient | None:
        value: str | int
        if phone:
            if len(phone) > 20 or "\x00" in phone:
                return None  # no stored number is like it (and PostgreSQL refuses NUL)
            query, value = _BY_PHONE, phone
        elif chat_id is not None:
            query, value = _BY_CHAT, chat_id
        else:
            return None  # "no phone" must never match every Telegram-less patient
        async with connecting(self.engine) as conn:
            row = (await conn.execute(query, {"b_value": value})).first()
        return None if row is None else _patient(row)

    async def phone_taken(self, phone: str) -> bool:
        return await self.find(phone=phone) is not None

    async def all_patients(self) -> list[Patient]:
        async with connecting(self.engine) as conn:
            rows = await conn.execute(select(t.patients).order_by(t.patients.c.created_at))
            return [_patient(r) for r in rows]

    async def patient_ids(self, after: str = "", limit: int = 500) -> list[str]:
        """Every patient id in pages, for the planner (opted-out ones too: that cancels rows)."""
        async with reading(self.engine) as conn:
            rows = await conn.execute(
                select(t.patients.c.id)
                .where(t.patients.c.id > after)
                .order_by(t.patients.c.id)
                .limit(limit)
            )
            return [r.id for r in rows]

    async def load(
        self, patient_ids: Sequence[str], *, scattered: bool = False
    ) -> dict[str, tuple[Patient, Course]]:
        """Patients with their full courses: two queries for every ``LOAD_CHUNK`` patients, in
        one read transaction. (Chunks are of sorted ids: each is read as the range it spans.)

        ``scattered``: the ids are a few from anywhere (a dispatch batch), not a page of
        neighbours: they are read by id, never as the range they span."""
        out: dict[str, tuple[Patient, Course]] = {}
        if not patient_ids:
            return out
        ids = sorted(set(patient_ids))
        async with reading(self.engine) as conn:
            for i in range(0, len(ids), LOAD_CHUNK):
                out.update(await _load(conn, ids[i : i + LOAD_CHUNK], by_id=scattered))
        return out

    async def load_one(self, patient_id: str, *, lock: bool = False) -> tuple[Patient, Course]:
        """One patient with their course. With ``lock``, inside a unit of work
        (``scheduler.store.db.unit_of_work``), the course row stays locked until the unit ends.

        On PostgreSQL that makes two messages from one patient (a TAKEN sent twice, by SMS and
        Telegram) take turns: the second reads the dose the first recorded. On SQLite the
        unit's ``BEGIN IMMEDIATE`` already holds the one write lock, and FOR UPDATE is left
        out of the SQL.
        """
        if lock:
            async with connecting(self.engine) as conn:
                found = await _load(conn, [patient_id], lock=True)
        else:
            found = await self.load([patient_id])
        if patient_id not in found:
            raise UnknownPatientError(patient_id)
        return found[patient_id]

    async def set_follow_ups(self, patient_id: str, on: bool) -> None:
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.patients).where(t.patients.c.id == patient_id).values(follow_ups=on)
            )
            if res.rowcount == 0:
                raise UnknownPatientError(patient_id)

    async def set_opted_out(self, patient_id: str, when: datetime | None) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(
                update(t.patients).where(t.patients.c.id == patient_id).values(opted_out_at=when)
            )
