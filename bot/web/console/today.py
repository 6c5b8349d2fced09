"""``GET /``, Today: the alerts inbox (every alert nobody acknowledged, urgent first, newest
first, each with its Acknowledge and Assign-to-me forms: ``alert_actions``), then the patients
whose adherence over the last 4 weeks is below 90% (the weekly digest's rule, worked out the
same way).

The adherence list reads every patient's course and four weeks of dose records, a page of
2,000 at a time, and works each page out in a thread (about 3 s of CPU for 10,000 patients:
the event loop, and so the webhooks, must not wait on it); it is kept for ``KEEP_FOR`` so a
page reload does not read it all again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from bot.web.console.accounts import StaffAccounts
from bot.web.console.desk import ConsoleDesk
from bot.web.console.views import Views
from scheduler.domain.adherence import Cycle, day_status, percentage
from scheduler.domain.alerts import AlertRecord
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Patient
from scheduler.services.confirmations import DIGEST_DAYS, DIGEST_THRESHOLD

OPEN_SHOWN = 100
DONE = {
    "acknowledged": "Alert acknowledged: it is off the open list and is not sent again.",
    "assigned": "Alert assigned to you.",
}
LOW_SHOWN = 100
KEEP_FOR = timedelta(minutes=5)
PAGE = 2000


@dataclass(frozen=True)
class Low:
    patient_id: str
    name: str
    percent: float


@dataclass
class Attention:
    desk: ConsoleDesk
    _kept: tuple[datetime, list[Low]] | None = field(default=None, init=False)

    async def low_adherence(self) -> list[Low]:
        now = self.desk.clock.now()
        if self._kept is not None and timedelta(0) <= now - self._kept[0] < KEEP_FOR:
            return self._kept[1]
        courses = self.desk.courses
        low: list[Low] = []
        after = ""
        # A day early: the earliest "today" of any time zone is at most a day before UTC's.
        since = now.date() - timedelta(days=DIGEST_DAYS + 1)
        while ids := await courses.patient_ids(after, PAGE):
            after = ids[-1]
            loaded = await courses.load(ids)
            records = await courses.dose_records_many(ids, since)
            low += await asyncio.to_thread(_below, loaded, records, now)
        low.sort(key=lambda x: (x.percent, x.patient_id))
        self._kept = (now, low)
        return low


def _below(
    loaded: Mapping[str, tuple[Patient, Course]],
    records: Mapping[str, Mapping[date, str]],
    now: datetime,
) -> list[Low]:
    """The patients of one page below the threshold over the last ``DIGEST_DAYS`` (pure)."""
    low = []
    for pid, (patient, course) in loaded.items():
        if patient.opted_out_at is not None:
            continue
        today = now.astimezone(zone(course.tz)).date()
        first = today - timedelta(days=DIGEST_DAYS)
        days = tuple(
            (d, day_status(course, records[pid], d, today))
            for d in (first + timedelta(days=i) for i in range(DIGEST_DAYS + 1))
        )
        pct = percentage([Cycle(0, first, days)])
        if pct is not None and pct < DIGEST_THRESHOLD:
            low.append(Low(pid, patient.name, pct))
    return low


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
        low = await self.attention.low_adherence()
        return self.views.page(
            request, "today.html", 400 if errors or problem else 200, title="Today",
            open_alerts=shown, errors=errors or {}, notes=notes or {}, problem=problem,
            done=DONE.get(request.query_params.get("done", ""), ""),
            me=f"staff:{request.state.staff.id}", low=low[:LOW_SHOWN],
            low_total=len(low), days=DIGEST_DAYS, threshold=int(DIGEST_THRESHOLD),
        )  # fmt: skip
