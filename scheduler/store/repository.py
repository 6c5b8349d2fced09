"""SQLAlchemy adapter for patients and their courses (holds, delays, appointments)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Date,
    Integer,
    Row,
    Select,
    String,
    Time,
    bindparam,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler.domain.model import (
    Appointment,
    ChannelKind,
    Course,
    CycleDelay,
    EarlierDoseTime,
    Hold,
    Patient,
    Regimen,
    RuleSet,
)
from scheduler.ports import CourseReader, PatientRecords
from scheduler.store import tables as t
from scheduler.store.db import connecting, patients_param, reading, unit_of_work, writing

FORGOTTEN = "forgotten"
FORGOTTEN_TEXT = "[forgotten]"
# What a red-flag alert quotes of the patient's own words (bot.conversation.decide.red_flag).
_QUOTED = re.compile(r'They wrote: ".*', re.DOTALL)
# Patients loaded a statement: the holds, delays and appointments query binds three ids a
# course, and PostgreSQL (asyncpg) and SQLite take at most 32,766 parameters a statement.
LOAD_CHUNK = 2000


class UnknownPatientError(LookupError):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"unknown patient {patient_id!r}: see 'lenabot patients list'")
        self.patient_id = patient_id


def _patient(row: Row[Any]) -> Patient:
    return Patient(
        id=row.id,
        name=row.name,
        channel=ChannelKind(row.channel),
        tz=row.tz,
        language=row.language,
        rules=RuleSet(row.rules),
        created_at=row.created_at,
        discreet=row.discreet,
        can_become_pregnant=row.can_become_pregnant,
        partner_can_become_pregnant=row.partner_can_become_pregnant,
        phone=row.phone,
        telegram_chat_id=row.telegram_chat_id,
        opted_out_at=row.opted_out_at,
        follow_ups=row.follow_ups,
        irregular_periods=row.irregular_periods,
    )


class SqlAlchemyCourseRepository:
    """Patients and courses. Every method runs in its own short transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def unit_of_work(self) -> AbstractAsyncContextManager[object]:
        return unit_of_work(self.engine)

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

    async def dose_records(self, patient_id: str, since: date) -> dict[date, str]:
        async with connecting(self.engine) as conn:
            rows = await conn.execute(_DOSES, {"b_patient": patient_id, "b_since": since})
            return {r.local_date: r.status for r in rows}

    async def record_dose(self, patient_id: str, day: date, status: str, now: datetime) -> None:
        values = {"b_patient": patient_id, "b_day": day, "b_status": status, "b_at": now}
        async with writing(self.engine) as conn:
            res = await conn.execute(_UPDATE_DOSE, values)
            if res.rowcount == 0:
                await conn.execute(
                    _INSERT_DOSE,
                    {"patient_id": patient_id, "local_date": day, "status": status,
                     "recorded_at": now},
                )  # fmt: skip

    async def record_inbound(
        self, patient_id: str | None, channel: str, text: str, intent: str | None, now: datetime
    ) -> int:
        async with writing(self.engine) as conn:
            res = await conn.execute(
                _INSERT_INBOUND,
                {"patient_id": patient_id, "channel": channel, "text": text, "intent": intent,
                 "received_at": now},
            )  # fmt: skip
            return int(res.scalar_one())

    async def set_inbound_intent(self, inbound_id: int, intent: str) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(
                update(t.inbound).where(t.inbound.c.id == inbound_id).values(intent=intent[:200])
            )

    async def last_menu(self, patient_id: str, since: datetime) -> list[str]:
        """Topic ids of the numbered menu we last offered this patient, if recent."""
        c = t.inbound.c
        async with connecting(self.engine) as conn:
            intent = (
                await conn.execute(
                    select(c.intent)
                    .where(
                        c.patient_id == patient_id,
                        c.received_at >= since,
                        c.intent.startswith("menu:"),
                    )
                    .order_by(c.id.desc())
                    .limit(1)
                )
            ).scalar()
        return intent.removeprefix("menu:").split(",") if intent else []

    async def dose_records_many(
        self, patient_ids: Sequence[str], since: date, *, scattered: bool = False
    ) -> dict[str, dict[date, str]]:
        """Dose records from ``since`` of these patients (``scattered``: as ``load``)."""
        out: dict[str, dict[date, str]] = {pid: {} for pid in patient_ids}
        if not patient_ids:
            return out
        ranged, which = (False, {"b_ids": list(patient_ids)}) if scattered else patients_param(
            patient_ids
        )
        async with reading(self.engine) as conn:
            rows = await conn.execute(
                _DOSES_RANGE if ranged else _DOSES_MANY, {**which, "b_since": since}
            )
            for r in rows:
                if (records := out.get(r.patient_id)) is not None:  # a range holds others too
                    records[r.local_date] = r.status
        return out

    async def set_follow_ups(self, patient_id: str, on: bool) -> None:
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.patients).where(t.patients.c.id == patient_id).values(follow_ups=on)
            )
            if res.rowcount == 0:
                raise UnknownPatientError(patient_id)

    async def forget(self, patient_id: str, now: datetime) -> dict[str, int]:
        """Erase a patient's personal data, in one transaction; what was changed, counted.

        The name becomes "forgotten"; phone and Telegram chat id are cleared (so nothing
        inbound matches them any more); what they wrote and what we sent them are replaced
        by "[forgotten]"; their link codes go; their alerts lose the quoted words and any
        name, number or chat id; pending messages are cancelled; they are marked opted out.
        Ids, dates, statuses and the course itself stay (adherence, audit). An alert row
        "patient X forgotten at T" records it, with no personal data.
        """
        p, o, a = t.patients.c, t.outbox.c, t.alerts.c
        async with writing(self.engine) as conn:
            row = (
                await conn.execute(select(t.patients).where(p.id == patient_id).with_for_update())
            ).first()
            if row is None:
                raise UnknownPatientError(patient_id)
            await conn.execute(
                update(t.patients)
                .where(p.id == patient_id)
                .values(
                    name=FORGOTTEN,
                    phone=None,
                    telegram_chat_id=None,
                    opted_out_at=func.coalesce(p.opted_out_at, now),
                )
            )
            inbound = (
                await conn.execute(
                    update(t.inbound)
                    .where(t.inbound.c.patient_id == patient_id)
                    .values(text=FORGOTTEN_TEXT)
                )
            ).rowcount
            cancelled = (
                await conn.execute(
                    update(t.outbox)
                    .where(o.patient_id == patient_id, o.status == "pending")
                    .values(status="cancelled", updated_at=now, reason="patient forgotten")
                )
            ).rowcount
            messages = (
                await conn.execute(
                    update(t.outbox)
                    .where(o.patient_id == patient_id)
                    .values(text=FORGOTTEN_TEXT, last_error=None)
                )
            ).rowcount
            links = (
                await conn.execute(delete(t.link_codes).where(t.link_codes.c.patient_id == patient_id))
            ).rowcount
            if row.telegram_chat_id is not None:
                await conn.execute(
                    delete(t.link_failures).where(t.link_failures.c.chat_id == row.telegram_chat_id)
                )
            personal = [x for x in (row.phone, row.telegram_chat_id) if x is not None]
            personal = [str(x) for x in personal]
            if len(row.name.strip()) >= 3 and row.name != FORGOTTEN:
                personal.append(row.name.strip())
            scrubbed = 0
            for alert in await conn.execute(
                select(a.id, a.text).where(a.patient_id == patient_id)
            ):
                clean = _QUOTED.sub(f"They wrote: {FORGOTTEN_TEXT}", alert.text)
                for value in personal:
                    clean = clean.replace(value, FORGOTTEN_TEXT)
                if clean != alert.text:
                    await conn.execute(update(t.alerts).where(a.id == alert.id).values(text=clean))
                    scrubbed += 1
            await conn.execute(
                insert(t.alerts).values(
                    patient_id=patient_id,
                    kind=FORGOTTEN,
                    text=f"patient {patient_id} forgotten at {now.isoformat()}",
                    created_at=now,
                )
            )
        return {
            "inbound": inbound,
            "messages": messages,
            "cancelled": cancelled,
            "link_codes": links,
            "alerts": scrubbed,
        }

    async def set_opted_out(self, patient_id: str, when: datetime | None) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(
                update(t.patients).where(t.patients.c.id == patient_id).values(opted_out_at=when)
            )


@lru_cache(maxsize=256)
def _regimen(text: str) -> Regimen:
    """Regimens are immutable and a clinic has few: parse each text once, not per patient."""
    return Regimen.parse(text)


# The statements of the calls every inbound message makes, built once: building a statement
# and working out its cache key cost more client CPU than SQLite spent running it.
_BY_PHONE = select(t.patients).where(t.patients.c.phone == bindparam("b_value"))
_BY_CHAT = select(t.patients).where(t.patients.c.telegram_chat_id == bindparam("b_value"))
_DOSES = select(t.dose_records.c.local_date, t.dose_records.c.status).where(
    t.dose_records.c.patient_id == bindparam("b_patient"),
    t.dose_records.c.local_date >= bindparam("b_since"),
)
_UPDATE_DOSE = (
    update(t.dose_records)
    .where(
        t.dose_records.c.patient_id == bindparam("b_patient"),
        t.dose_records.c.local_date == bindparam("b_day"),
    )
    .values(status=bindparam("b_status"), recorded_at=bindparam("b_at"))
)
_INSERT_DOSE = insert(t.dose_records)
_INSERT_INBOUND = insert(t.inbound).returning(t.inbound.c.id)


def _extras_query(courses: Any) -> CompoundSelect[Any]:
    """Every hold, cycle delay, appointment and earlier dose time of the courses ``courses``
    picks, tagged."""
    h, d, a, dt = t.holds.c, t.cycle_delays.c, t.appointments.c, t.dose_times.c
    date_, text_, when, num = null().cast(Date), null().cast(String), null(), null().cast(Integer)
    at = null().cast(Time)
    return union_all(
        select(
            literal("hold").label("what"), h.course_id, h.id, h.start_date.label("day"),
            h.end_date.label("until"), h.reason.label("note"), h.created_at, h.resumed_at,
            num.label("cycle"), num.label("days"), at.label("at"),
        ).where(h.course_id.in_(courses)),
        select(
            literal("delay"), d.course_id, d.id, date_, date_, text_, when, when, d.cycle, d.days,
            at,
        ).where(d.course_id.in_(courses)),
        select(
            literal("appointment"), a.course_id, a.id, a.on_date, date_, a.note, when, when,
            num, num, at,
        ).where(a.course_id.in_(courses)),
        select(
            literal("dose_time"), dt.course_id, dt.id, dt.until_date, date_, text_, when, when,
            num, num, dt.dose_time,
        ).where(dt.course_id.in_(courses)),
    )  # fmt: skip


def _load_query(patients: Any) -> Select[Any]:
    return (
        select(
            t.patients,
            t.courses.c.id.label("course_id"),
            t.courses.c.start_date,
            t.courses.c.dose_time,
            t.courses.c.regimen,
            t.courses.c.end_date,
            t.courses.c.enrolled_at,
            t.courses.c.end_recorded_at,
        )
        .join(t.courses, t.courses.c.patient_id == t.patients.c.id)
        .where(patients)
    )


def _doses_query(patients: Any) -> Select[Any]:
    c = t.dose_records.c
    return select(c.patient_id, c.local_date, c.status).where(
        patients, c.local_date >= bindparam("b_since")
    )


# A few patients by id (a message's, a re-plan's) ...
_LOAD = _load_query(t.patients.c.id.in_(bindparam("b_ids", expanding=True)))
_LOAD_LOCKED = _LOAD.with_for_update(of=t.courses)
_EXTRAS = _extras_query(bindparam("b_courses", expanding=True))
_DOSES_MANY = _doses_query(t.dose_records.c.patient_id.in_(bindparam("b_ids", expanding=True)))
# ... or a planner's page, by the range of ids it spans (see scheduler.store.db.patients_param).
_LOAD_RANGE = _load_query(t.patients.c.id.between(bindparam("b_first"), bindparam("b_last")))
_EXTRAS_RANGE = _extras_query(
    select(t.courses.c.id).where(
        t.courses.c.patient_id.between(bindparam("b_first"), bindparam("b_last"))
    )
)
_DOSES_RANGE = _doses_query(
    t.dose_records.c.patient_id.between(bindparam("b_first"), bindparam("b_last"))
)


def _extra_order(x: Row[Any]) -> tuple[Any, ...]:
    """Holds by start date, earlier dose times by the date they ended, delays and
    appointments as entered (then by id: deterministic)."""
    return (x.what, x.day if x.what in ("hold", "dose_time") else None, x.id)


async def _load(
    conn: AsyncConnection, ids: Iterable[str], lock: bool = False, by_id: bool = False
) -> dict[str, tuple[Patient, Course]]:
    ids = list(ids)
    ranged, which = (False, {"b_ids": ids}) if by_id else patients_param(ids)
    if ranged:
        assert not lock  # locking is for one patient's message
        wanted = set(ids)
        rows = [r for r in await conn.execute(_LOAD_RANGE, which) if r.id in wanted]
        extras_query, extras_which = _EXTRAS_RANGE, which
    else:
        rows = (await conn.execute(_LOAD_LOCKED if lock else _LOAD, which)).all()
        extras_query, extras_which = _EXTRAS, {"b_courses": [r.course_id for r in rows]}
    courses = {r.course_id for r in rows}
    holds: dict[int, list[Hold]] = {}
    delays: dict[int, list[CycleDelay]] = {}
    appts: dict[int, list[Appointment]] = {}
    times: dict[int, list[EarlierDoseTime]] = {}
    # Holds, cycle delays and appointments in one query (most courses have none of them): a
    # re-plan after each dose report loads its patient twice, and every query costs more
    # client CPU than the rows it returns.
    extras = [x for x in await conn.execute(extras_query, extras_which) if x.course_id in courses]
    for x in sorted(extras, key=_extra_order):
        if x.what == "hold":
            holds.setdefault(x.course_id, []).append(
                Hold(x.day, x.until, x.note, x.created_at, x.resumed_at)
            )
        elif x.what == "delay":
            delays.setdefault(x.course_id, []).append(CycleDelay(x.cycle, x.days))
        elif x.what == "dose_time":
            times.setdefault(x.course_id, []).append(EarlierDoseTime(x.day, x.at))
        else:
            appts.setdefault(x.course_id, []).append(Appointment(x.day, x.note))
    out: dict[str, tuple[Patient, Course]] = {}
    for r in rows:
        p = _patient(r)
        out[p.id] = (
            p,
            Course(
                start=r.start_date,
                dose_time=r.dose_time,
                tz=p.tz,
                regimen=_regimen(r.regimen),
                enrolled_at=r.enrolled_at,
                rules=p.rules,
                can_become_pregnant=p.can_become_pregnant,
                partner_can_become_pregnant=p.partner_can_become_pregnant,
                holds=tuple(holds.get(r.course_id, ())),
                delays=tuple(delays.get(r.course_id, ())),
                appointments=tuple(appts.get(r.course_id, ())),
                end=r.end_date,
                opted_out=p.opted_out_at is not None,
                irregular_periods=p.irregular_periods,
                ended_at=r.end_recorded_at,
                earlier_dose_times=tuple(times.get(r.course_id, ())),
            ),
        )
    return out


def _conforms(store: SqlAlchemyCourseRepository) -> tuple[CourseReader, PatientRecords]:
    """Never called: mypy checks here that the class satisfies the ports the services use."""
    return store, store
