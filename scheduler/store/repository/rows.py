"""Rows read as domain values: patients, and courses with their holds, delays, appointments."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    Row,
    Select,
    String,
    Time,
    bindparam,
    literal,
    null,
    select,
    union_all,
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
from scheduler.store import tables as t
from scheduler.store.db import patients_param


class UnknownPatientError(LookupError):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"unknown patient {patient_id!r}: see 'lenabot patients list'")
        self.patient_id = patient_id


class RepositoryBase:
    """The engine every part of the repository runs its short transactions on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine


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


@lru_cache(maxsize=256)
def _regimen(text: str) -> Regimen:
    """Regimens are immutable and a clinic has few: parse each text once, not per patient."""
    return Regimen.parse(text)


def _extras_query(picks: Callable[[Any], ColumnElement[bool]]) -> CompoundSelect[Any]:
    """Every hold, cycle delay, appointment and earlier dose time of the courses ``picks``
    picks (given each table's ``course_id`` column), tagged."""
    h, d, a, dt = t.holds.c, t.cycle_delays.c, t.appointments.c, t.dose_times.c
    date_, text_, when, num = null().cast(Date), null().cast(String), null(), null().cast(Integer)
    at = null().cast(Time)
    return union_all(
        select(
            literal("hold").label("what"), h.course_id, h.id, h.start_date.label("day"),
            h.end_date.label("until"), h.reason.label("note"), h.created_at, h.resumed_at,
            num.label("cycle"), num.label("days"), at.label("at"),
        ).where(picks(h.course_id)),
        select(
            literal("delay"), d.course_id, d.id, date_, date_, text_, when, when, d.cycle, d.days,
            at,
        ).where(picks(d.course_id)),
        select(
            literal("appointment"), a.course_id, a.id, a.on_date, date_, a.note, when, when,
            num, num, at,
        ).where(picks(a.course_id)),
        select(
            literal("dose_time"), dt.course_id, dt.id, dt.until_date, date_, text_, when, when,
            num, num, dt.dose_time,
        ).where(picks(dt.course_id)),
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


# One patient (a message's): plain parameters. An expanding IN list is rendered again on
# every execution (the SQL rewritten, a cast for each element), which cost more client CPU
# than PostgreSQL spent running the statement ...
_LOAD_ONE = _load_query(t.patients.c.id == bindparam("b_id"))
_LOAD_ONE_LOCKED = _LOAD_ONE.with_for_update(of=t.courses)
_EXTRAS_ONE = _extras_query(lambda course_id: course_id == bindparam("b_course"))
# ... a few patients by id (a re-plan's, a dispatch batch's) ...
_LOAD = _load_query(t.patients.c.id.in_(bindparam("b_ids", expanding=True)))
_LOAD_LOCKED = _LOAD.with_for_update(of=t.courses)
_EXTRAS = _extras_query(lambda course_id: course_id.in_(bindparam("b_courses", expanding=True)))
# ... or a planner's page, by the range of ids it spans (see scheduler.store.db.patients_param).
_LOAD_RANGE = _load_query(t.patients.c.id.between(bindparam("b_first"), bindparam("b_last")))
_EXTRAS_RANGE = _extras_query(
    lambda course_id: course_id.in_(
        select(t.courses.c.id).where(
            t.courses.c.patient_id.between(bindparam("b_first"), bindparam("b_last"))
        )
    )
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
    extras_query: Any
    extras_which: dict[str, Any]
    if len(ids) == 1:
        rows = (await conn.execute(_LOAD_ONE_LOCKED if lock else _LOAD_ONE, {"b_id": ids[0]})).all()
        # A patient has at most one course (courses.patient_id is unique).
        extras_query, extras_which = _EXTRAS_ONE, {"b_course": rows[0].course_id if rows else None}
    elif ranged:
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
    # Holds, cycle delays and appointments in one query (most courses have none of them; none
    # to read without a course): a re-plan after each dose report loads its patient twice,
    # and every query costs more
    # client CPU than the rows it returns.
    extras = (
        [x for x in await conn.execute(extras_query, extras_which) if x.course_id in courses]
        if courses
        else []
    )
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
