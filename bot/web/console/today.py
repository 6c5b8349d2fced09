"""``GET /``, Today: the alerts inbox (every alert nobody acknowledged, urgent first, newest
first, each with its Acknowledge and Assign-to-me forms: ``alert_actions``), then the patients
needing attention (``Attention``), each with why: adherence over the last 4 weeks below 90%
(the weekly digest's rule, worked out the same way), 2 or more unconfirmed doses in the last
7 days, no reply for 3 days while messages went to them.

The dose reasons read every patient's course and four weeks of dose records, a page of 2,000
at a time, and work each page out in a thread (about 3 s of CPU for 10,000 patients: the
event loop, and so the webhooks, must not wait on it); the silence is one SQL statement. The
list is kept for ``KEEP_FOR`` so a page reload does not read it all again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from bot.web.console.accounts import StaffAccounts
from bot.web.console.desk import ConsoleDesk
from bot.web.console.views import Views
from scheduler.domain.adherence import Cycle, day_status, percentage
from scheduler.domain.alerts import AlertRecord
from scheduler.domain.guidance import UNCONFIRMED
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Patient
from scheduler.domain.outbox import SENT
from scheduler.services.confirmations import DIGEST_DAYS, DIGEST_THRESHOLD
from scheduler.store import tables as t
from scheduler.store.db import reading

OPEN_SHOWN = 100
DONE = {
    "acknowledged": "Alert acknowledged: it is off the open list and is not sent again.",
    "assigned": "Alert assigned to you.",
}
LOW_SHOWN = 100
KEEP_FOR = timedelta(minutes=5)
PAGE = 2000
UNCONFIRMED_DAYS = 7  # the last 7 days before today
UNCONFIRMED_AT_LEAST = 2
SILENT_FOR = timedelta(days=3)


@dataclass(frozen=True)
class Needs:
    """A patient needing attention, and why (one sentence per reason)."""

    patient_id: str
    name: str
    reasons: tuple[str, ...]
    percent: float | None  # adherence over the last ``DIGEST_DAYS``, when any dose was due


@dataclass
class Attention:
    """Who needs attention: adherence below 90% over 4 weeks, 2 or more unconfirmed doses in
    the last 7 days (the adherence code's ``unconfirmed``: a past dose day with neither TAKEN
    nor MISSED), or no reply for 3 days while messages went to them. Opted-out patients are
    left out (the alert said so when they stopped)."""

    desk: ConsoleDesk
    _kept: tuple[datetime, list[Needs]] | None = field(default=None, init=False)

    async def needing(self) -> list[Needs]:
        now = self.desk.clock.now()
        if self._kept is not None and timedelta(0) <= now - self._kept[0] < KEEP_FOR:
            return self._kept[1]
        courses = self.desk.courses
        found: dict[str, Needs] = {}
        after = ""
        # A day early: the earliest "today" of any time zone is at most a day before UTC's.
        since = now.date() - timedelta(days=DIGEST_DAYS + 1)
        while ids := await courses.patient_ids(after, PAGE):
            after = ids[-1]
            loaded = await courses.load(ids)
            records = await courses.dose_records_many(ids, since)
            for n in await asyncio.to_thread(_doses, loaded, records, now):
                found[n.patient_id] = n
        for pid, (name, last, tz) in (await silent(self.desk.engine, now)).items():
            why = (f"no reply since {last.astimezone(zone(tz)):%Y-%m-%d %H:%M}" if last
                   else "no reply since enrolment") + ", though sent messages"  # fmt: skip
            had = found.get(pid)
            found[pid] = Needs(pid, name, (*had.reasons, why) if had else (why,),
                               had.percent if had else None)  # fmt: skip
        needs = sorted(found.values(), key=lambda n: (
            -len(n.reasons), 101.0 if n.percent is None else n.percent, n.patient_id))  # fmt: skip
        self._kept = (now, needs)
        return needs


async def below_threshold(attention: Attention) -> list[str]:
    """The ids of the patients whose adherence over the last ``DIGEST_DAYS`` is below
    ``DIGEST_THRESHOLD`` (the Today page's list, so worked out at most every 5 minutes)."""
    return [n.patient_id for n in await attention.needing()
            if n.percent is not None and n.percent < DIGEST_THRESHOLD]  # fmt: skip


def _doses(
    loaded: Mapping[str, tuple[Patient, Course]],
    records: Mapping[str, Mapping[date, str]],
    now: datetime,
) -> list[Needs]:
    """The patients of one page below the threshold over the last ``DIGEST_DAYS`` or with
    ``UNCONFIRMED_AT_LEAST`` unconfirmed doses in the last ``UNCONFIRMED_DAYS`` (pure)."""
    out = []
    for pid, (patient, course) in loaded.items():
        if patient.opted_out_at is not None:
            continue
        today = now.astimezone(zone(course.tz)).date()
        first = today - timedelta(days=DIGEST_DAYS)
        days = tuple(
            (d, day_status(course, records[pid], d, today))
            for d in (first + timedelta(days=i) for i in range(DIGEST_DAYS + 1))
        )
        reasons = []
        pct = percentage([Cycle(0, first, days)])
        if pct is not None and pct < DIGEST_THRESHOLD:
            reasons.append(f"adherence {pct:.0f}% over {DIGEST_DAYS} days")
        recent = today - timedelta(days=UNCONFIRMED_DAYS)
        unconfirmed = sum(1 for d, status in days if recent <= d < today and status == UNCONFIRMED)
        if unconfirmed >= UNCONFIRMED_AT_LEAST:
            reasons.append(f"{unconfirmed} doses unconfirmed in the last {UNCONFIRMED_DAYS} days")
        if reasons:
            out.append(Needs(pid, patient.name, tuple(reasons), pct))
    return out


async def silent(
    engine: AsyncEngine, now: datetime
) -> dict[str, tuple[str, datetime | None, str]]:
    """Patients not opted out, enrolled more than ``SILENT_FOR`` ago, sent a message in the
    last ``SILENT_FOR`` and who wrote nothing in it: id -> (name, their last text's time or
    None, time zone). One statement: the outbox's sent rows of the window (through its claim
    index, which starts with the status), and each patient's texts through their index."""
    p, o, i = t.patients.c, t.outbox.c, t.inbound.c
    since = now - SILENT_FOR
    last = select(func.max(i.received_at)).where(i.patient_id == p.id).scalar_subquery()
    query = select(p.id, p.name, p.tz, last.label("last")).where(
        p.opted_out_at.is_(None),
        p.created_at < since,
        p.id.in_(select(o.patient_id).where(o.status == SENT, o.sent_at >= since)),
        ~exists().where(i.patient_id == p.id, i.received_at >= since),
    )
    async with reading(engine) as conn:
        return {r.id: (r.name, r.last, r.tz) for r in await conn.execute(query)}


@dataclass(frozen=True)
class OpenAlert:
    alert: AlertRecord
    assigned: str  # who has it, by name when it is a member of staff; "" for nobody


@dataclass(frozen=True)
class TodayPage:
    desk: ConsoleDesk
    views: Views
    attention: Attention

    async def page(self, request: Request) -> Response:
        return await self.show(request)

    async def show(
        self, request: Request, *, errors: Mapping[int, str] | None = None,
        notes: Mapping[int, str] | None = None, problem: str = "",
    ) -> Response:  # fmt: skip
        """The page; ``errors`` (by alert id) and ``notes`` (what was typed) after a refused
        acknowledgement, ``problem`` for one about an alert no longer listed."""
        open_alerts = await self.desk.alerts.open_alerts(OPEN_SHOWN)
        names = {f"staff:{a.staff.id}": a.staff.name
                 for a in await StaffAccounts(self.desk.engine).everyone()}  # fmt: skip
        shown = [
            OpenAlert(a, "" if a.assigned_to is None
                      else f"{names[a.assigned_to]} ({a.assigned_to})"
                      if a.assigned_to in names else a.assigned_to)
            for a in open_alerts
        ]  # fmt: skip
        needs = await self.attention.needing()
        return self.views.page(
            request, "today.html", 400 if errors or problem else 200, title="Today",
            open_alerts=shown, errors=errors or {}, notes=notes or {}, problem=problem,
            done=DONE.get(request.query_params.get("done", ""), ""),
            me=f"staff:{request.state.staff.id}", needs=needs[:LOW_SHOWN],
            needs_total=len(needs), days=DIGEST_DAYS, threshold=int(DIGEST_THRESHOLD),
            unconfirmed_days=UNCONFIRMED_DAYS, unconfirmed_at_least=UNCONFIRMED_AT_LEAST,
            silent_days=SILENT_FOR.days,
        )  # fmt: skip
