"""``GET /patients``: search by name, id or phone, filter by state, 50 a page.

The search, the state filter, the order and the page are one SQL query (and one count), so a
clinic of 10,000 costs the same as one of 50: the state is worked out in SQL against each
patient's own local date (a CASE over the few time zones in use), with the same rules as
``scheduler.services.care.course_state``. Only the page's 50 patients are then loaded whole
for their cycle day, next message and last reply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, case, exists, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from bot.web.console.desk import ConsoleDesk
from bot.web.console.today import Attention, below_threshold
from bot.web.console.views import Views
from scheduler.domain.calendar import is_dose_day, locate, on_hold
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Patient
from scheduler.domain.outbox import PENDING
from scheduler.services.care import course_state
from scheduler.store import tables as t
from scheduler.store.db import reading

PAGE = 50
STATES = {
    "": "All",
    "active": "Active",
    "paused": "Paused",
    "not-started": "Not started",
    "ended": "Ended",
    "opted-out": "Opted out",
    "below-90": "Below 90% (4 weeks)",
}


@dataclass(frozen=True)
class Listed:
    patient: Patient
    state: str
    today: str  # "cycle 2, day 5", "break (cycle 2, day 24)", "hold", ...
    next_message: str
    last_reply: datetime | None


def today_in_course(patient: Patient, course: Course, day: date) -> str:
    """What today is in the course, in a few words for the list."""
    state = course_state(patient, course, day)
    if state in ("opted out", "ended", "not started"):
        return state
    where = locate(course, day)
    if where is None:
        return "not started"
    at = f"cycle {where[0]}, day {where[1]}"
    if is_dose_day(course, day):
        return at
    if on_hold(course, day):
        return f"hold ({at})"
    return f"break ({at})"


def _filters(q: str, state: str, todays: dict[str, date]) -> list[ColumnElement[bool]]:
    p, c, h = t.patients.c, t.courses.c, t.holds.c
    wheres: list[ColumnElement[bool]] = []
    q = q.strip()
    if q:
        found = [func.lower(p.name).contains(q.lower(), autoescape=True),
                 p.id == q.lower()]  # fmt: skip
        digits = re.sub(r"\D", "", q).lstrip("0")
        if len(digits) >= 4:  # "07700 900123" finds +447700900123
            found.append(p.phone.contains(digits, autoescape=True))
        wheres.append(or_(*found))
    if not state:
        return wheres
    if not todays:
        return [*wheres, false()]
    today = case(todays, value=p.tz)
    opted = p.opted_out_at.is_not(None)
    ended = and_(c.end_date.is_not(None), c.end_date < today)
    held = exists().where(
        h.course_id == c.id, h.start_date <= today, or_(h.end_date.is_(None), h.end_date > today)
    )
    if state == "below-90":  # narrowed to the ids by ``search``: any state but opted out
        wheres.append(not_(opted))
    elif state == "opted-out":
        wheres.append(opted)
    elif state == "ended":
        wheres += [not_(opted), ended]
    elif state == "paused":
        wheres += [not_(opted), not_(ended), held]
    elif state == "not-started":
        wheres += [not_(opted), not_(ended), not_(held), c.start_date > today]
    else:  # active
        wheres += [not_(opted), not_(ended), not_(held), c.start_date <= today]
    return wheres


async def search(
    engine: AsyncEngine, now: datetime, q: str, state: str, page: int,
    only: Sequence[str] | None = None,
) -> tuple[list[str], int]:
    """The ids of one page of matching patients (by name, then id) and how many match;
    ``only``: among these ids (the "below 90%" filter)."""
    p, c = t.patients.c, t.courses.c
    async with reading(engine) as conn:
        zones = [r[0] for r in await conn.execute(select(p.tz).distinct())]
        todays = {tz: now.astimezone(zone(tz)).date() for tz in zones}
        wheres = _filters(q, state, todays)
        if only is not None:
            wheres.append(p.id.in_(only))
        joined = t.patients.join(t.courses, c.patient_id == p.id)
        total = (
            await conn.execute(select(func.count()).select_from(joined).where(*wheres))
        ).scalar_one()
        ids = await conn.execute(
            select(p.id).select_from(joined).where(*wheres)
            .order_by(func.lower(p.name), p.id).limit(PAGE).offset((page - 1) * PAGE)
        )  # fmt: skip
        return [r[0] for r in ids], int(total)


async def _next_messages(
    engine: AsyncEngine, ids: Sequence[str]
) -> dict[str, tuple[str, datetime]]:
    """Each patient's next pending message: (kind, due at).

    ``status || ''`` is on purpose: compared bare, the status lets SQLite take the claim index
    (``ix_outbox_claim``, status first) and read every pending row of the clinic to find these
    50 patients' (36,000 rows at 10,000 patients: 80 ms a page, and the patients page missed
    its 200 ms p95 with 20 nurses, see bench/RESULTS.md); this way both databases read only
    these patients' rows through ``uq_outbox_patient_key`` (patient_id first): under 1 ms."""
    o = t.outbox.c
    out: dict[str, tuple[str, datetime]] = {}
    async with reading(engine) as conn:
        rows = await conn.execute(
            select(o.patient_id, o.kind, o.due_at)
            .where(o.patient_id.in_(list(ids)), o.status.concat("") == PENDING)
            .order_by(o.due_at)
        )
        for r in rows:
            out.setdefault(r.patient_id, (r.kind, r.due_at))
    return out


async def _last_replies(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, datetime]:
    i = t.inbound.c
    async with reading(engine) as conn:
        rows = await conn.execute(
            select(i.patient_id, func.max(i.received_at).label("at"))
            .where(i.patient_id.in_(list(ids)))
            .group_by(i.patient_id)
        )
        return {r.patient_id: _aware(r.at) for r in rows}


def _aware(when: datetime) -> datetime:
    """max() keeps the column's type, so this is aware UTC; naive would be UTC too."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def local_time(when: datetime, tz: str) -> str:
    return f"{when.astimezone(zone(tz)):%a %d %b %H:%M}"


async def listing(desk: ConsoleDesk, ids: list[str]) -> list[Listed]:
    now = desk.clock.now()
    loaded = await desk.courses.load(ids, scattered=True)
    nexts = await _next_messages(desk.engine, ids)
    replies = await _last_replies(desk.engine, ids)
    out = []
    for pid in ids:
        patient, course = loaded[pid]
        day = now.astimezone(zone(patient.tz)).date()
        nxt = nexts.get(pid)
        out.append(
            Listed(
                patient=patient,
                state=course_state(patient, course, day),
                today=today_in_course(patient, course, day),
                next_message=(
                    f"{nxt[0].replace('_', ' ')}, {local_time(nxt[1], patient.tz)}" if nxt else ""
                ),
                last_reply=replies.get(pid),
            )
        )
    return out


DONE = {
    "forgotten": (
        "Patient forgotten: name, phone, Telegram chat and the words of their conversation "
        "are erased, pending messages cancelled, and nothing more is sent to them. Their "
        "course, dose records and the audit trail stay."
    ),
}


@dataclass(frozen=True)
class PatientList:
    desk: ConsoleDesk
    views: Views
    attention: Attention

    async def page(self, request: Request) -> Response:
        q = request.query_params.get("q", "")[:100]
        state = request.query_params.get("state", "")
        state = state if state in STATES else ""
        raw = request.query_params.get("page", "1")
        number = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
        only = await below_threshold(self.attention) if state == "below-90" else None
        ids, total = await search(
            self.desk.engine, self.desk.clock.now(), q, state, number, only
        )
        pages = max(1, math.ceil(total / PAGE))
        return self.views.page(
            request, "patients.html", title="Patients", q=q, state=state, states=STATES,
            rows=await listing(self.desk, ids), total=total, number=number, pages=pages,
            local_time=local_time, done=DONE.get(request.query_params.get("done", ""), ""),
        )  # fmt: skip
