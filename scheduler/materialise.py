"""Turn courses into outbox rows for a rolling horizon: the bridge from pure plan to store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from messages.render import Profile, render
from scheduler.followup import follow_ups
from scheduler.model import Course, Patient, PlanSettings
from scheduler.outbox import Planned, SqlAlchemyOutbox, SyncResult
from scheduler.plan import plan_window
from scheduler.repository import SqlAlchemyCourseRepository

# Non-dose messages live until the end of their local day, and a local day can be 26 hours
# away from "now" in UTC terms; looking this far back finds every row that may still be sent.
LOOKBACK = timedelta(hours=36)


def profile_of(patient: Patient) -> Profile:
    return Profile(name=patient.name, discreet=patient.discreet, language=patient.language)


def planned_for(
    patient: Patient,
    course: Course,
    settings: PlanSettings,
    now: datetime,
    horizon: timedelta,
    records: Mapping[date, str] | None = None,
) -> list[Planned]:
    """What should be in the outbox for this patient now: unexpired and due within the horizon."""
    profile = profile_of(patient)
    reminders = plan_window(course, settings, now - LOOKBACK, now + horizon)
    if patient.follow_ups and records is not None:
        reminders += follow_ups(reminders, records, settings.follow_up_after, course.tz)
    return [Planned(r, render(r, profile)) for r in reminders if r.expires_at > now]


@dataclass
class Materialiser:
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    settings: PlanSettings
    horizon: timedelta = timedelta(hours=48)
    page: int = 500

    async def patients(self, patient_ids: Sequence[str], now: datetime) -> SyncResult:
        loaded = await self.courses.load(patient_ids)
        records = await self.courses.dose_records_many(
            list(loaded), (now - LOOKBACK - timedelta(days=1)).date()
        )
        planned = {
            pid: planned_for(p, c, self.settings, now, self.horizon, records[pid])
            for pid, (p, c) in loaded.items()
        }
        return await self.outbox.sync(planned, now - LOOKBACK, now)

    async def patient(self, patient_id: str, now: datetime) -> SyncResult:
        return await self.patients([patient_id], now)

    async def everyone(self, now: datetime) -> SyncResult:
        total = SyncResult()
        after = ""
        while ids := await self.courses.patient_ids(after, self.page):
            r = await self.patients(ids, now)
            total.inserted += r.inserted
            total.updated += r.updated
            total.cancelled += r.cancelled
            after = ids[-1]
        return total
