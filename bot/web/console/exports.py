"""CSV exports: one patient's adherence day by day (``/patients/{id}/adherence.csv``), every
patient's adherence (``/adherence.csv``) and one patient's conversation
(``/patients/{id}/conversation.csv``).

Adherence is ``scheduler.domain.adherence`` as the patient page's calendar and ``lenabot
adherence`` work it out (``cycles``, ``percentage``), and over the last 4 weeks as the Today
page's list (``DIGEST_DAYS``). The conversation is every message either way, oldest first,
times in UTC, with what became of each message sent. Cells go through ``sheets`` (never a
formula). Each export writes an ``export`` row to the audit trail: who took what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.web.console.cycle_calendar import STATES
from bot.web.console.desk import ConsoleDesk
from bot.web.console.patient_list import today_in_course
from bot.web.console.sheets import csv_text, download
from bot.web.console.views import Views
from scheduler.domain.adherence import cycles, percentage, since
from scheduler.domain.guidance import LATE, MISSED, TAKEN, UNCONFIRMED
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Patient
from scheduler.services.care import course_state
from scheduler.services.confirmations import DIGEST_DAYS
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.repository import UnknownPatientError

PAGE = 500  # patients read at a time for the clinic's export
# Outbox rows that were (being) sent to the patient; pending and cancelled ones never left.
LEFT = ("sent", "sending", "failed", "expired")
CLINIC_HEADER = [
    "patient_id", "name", "channel", "state", "today", "start_date", "regimen",
    "adherence_4_weeks_percent", "adherence_course_percent", "taken", "late", "missed",
    "unconfirmed",
]  # fmt: skip
DAY_HEADER = ["patient_id", "cycle", "day_of_cycle", "date", "status", "meaning"]
THREAD_HEADER = ["at_utc", "direction", "kind", "status", "text"]


def _utc(when: datetime) -> str:
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def clinic_rows(
    loaded: Mapping[str, tuple[Patient, Course]], records: Mapping[str, Mapping[date, str]],
    now: datetime,
) -> list[list[str]]:  # fmt: skip
    """One row a patient (pure): state, today, adherence over 4 weeks and the whole course."""
    out = []
    for pid, (patient, course) in loaded.items():
        today = now.astimezone(zone(course.tz)).date()
        calendar = cycles(course, records[pid], today)
        recent = since(calendar, today - timedelta(days=DIGEST_DAYS))
        counts = [s for c in calendar for _, s in c.days]
        out.append([
            pid, patient.name, patient.channel.value, course_state(patient, course, today),
            today_in_course(patient, course, today), course.start.isoformat(),
            str(course.regimen), _pct(percentage(recent)), _pct(percentage(calendar)),
            *(str(counts.count(s)) for s in (TAKEN, LATE, MISSED, UNCONFIRMED)),
        ])  # fmt: skip
    return out


@dataclass(frozen=True)
class Exports:
    desk: ConsoleDesk
    views: Views

    async def _audit(self, request: Request, what: str, patient_id: str | None, n: int) -> None:
        await SqlAlchemyAudit(self.desk.engine).record(
            "export", actor=f"staff:{request.state.staff.id}", at=self.desk.clock.now(),
            patient_id=patient_id, after={"what": what, "rows": n},
        )  # fmt: skip

    def _stamp(self) -> str:
        return self.desk.clock.now().strftime("%Y%m%d-%H%M")

    async def clinic(self, request: Request) -> Response:
        """GET /adherence.csv: every patient, by id, read ``PAGE`` at a time."""
        courses, now = self.desk.courses, self.desk.clock.now()
        rows: list[list[str]] = []
        after = ""
        while ids := await courses.patient_ids(after, PAGE):
            after = ids[-1]
            loaded = await courses.load(ids)
            first = min(c.start for _, c in loaded.values()) - timedelta(days=1)
            records = await courses.dose_records_many(ids, first)
            rows += await asyncio.to_thread(clinic_rows, loaded, records, now)
        await self._audit(request, "adherence of every patient", None, len(rows))
        return download(csv_text(CLINIC_HEADER, rows), f"lenabot-adherence-{self._stamp()}.csv")

    async def adherence(self, request: Request) -> Response:
        """GET /patients/{id}/adherence.csv: every day of the course up to today."""
        pid = request.path_params["patient_id"]
        try:
            _, course = await self.desk.courses.load_one(pid)
        except UnknownPatientError:
            return self.views.not_found(request, "There is no patient with that id.")
        today = self.desk.clock.now().astimezone(zone(course.tz)).date()
        records = await self.desk.courses.dose_records(pid, course.start - timedelta(days=1))
        rows = [
            [pid, str(c.number), str(i + 1), on.isoformat(), status,
             STATES.get(status, (status,))[0]]
            for c in cycles(course, records, today) for i, (on, status) in enumerate(c.days)
            if on <= today
        ]  # fmt: skip
        await self._audit(request, "adherence", pid, len(rows))
        name = f"lenabot-adherence-{pid}-{self._stamp()}.csv"
        return download(csv_text(DAY_HEADER, rows), name)

    async def conversation(self, request: Request) -> Response:
        """GET /patients/{id}/conversation.csv: every message either way, oldest first."""
        pid = request.path_params["patient_id"]
        try:
            await self.desk.courses.get(pid)
        except UnknownPatientError:
            return self.views.not_found(request, "There is no patient with that id.")
        i = t.inbound.c
        entries: list[tuple[datetime, int, list[str]]] = []
        async with self.desk.engine.connect() as conn:
            wrote = await conn.execute(
                select(i.id, i.text, i.received_at).where(i.patient_id == pid).order_by(i.id)
            )
            for r in wrote:
                at = r.received_at
                entries.append((at, 0, [_utc(at), "from patient", "", "received", r.text]))
        for o in await self.desk.outbox.rows(pid, LEFT):
            at = o.sent_at or o.due_at
            status = o.delivery_status or o.status
            entries.append((at, 1, [_utc(at), "to patient", o.kind, status, o.text]))
        entries.sort(key=lambda e: (e[0], e[1]))
        rows = [e[2] for e in entries]
        await self._audit(request, "conversation", pid, len(rows))
        name = f"lenabot-conversation-{pid}-{self._stamp()}.csv"
        return download(csv_text(THREAD_HEADER, rows), name)
