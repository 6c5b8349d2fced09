"""Doses nobody answered, and the weekly adherence digest for nurses.

When a dose's 12-hour window closes with no TAKEN or MISSED, the day is recorded as
"unconfirmed"; a second missed or unconfirmed dose day in a row alerts the nurses, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select

from scheduler.domain.adherence import cycles, percentage, previous_dose_day, since
from scheduler.domain.guidance import MISSED, UNCONFIRMED
from scheduler.domain.localtime import zone
from scheduler.domain.outbox import EXPIRED, FAILED, SENT
from scheduler.store import tables as t
from scheduler.store.repository import SqlAlchemyCourseRepository

Alert = Callable[[str, str, str | None], Awaitable[None]]
LOOK_BACK = timedelta(days=3)
DIGEST_DAYS = 28
DIGEST_THRESHOLD = 90.0


@dataclass
class Confirmations:
    courses: SqlAlchemyCourseRepository
    alert: Alert

    async def sweep(self, now: datetime) -> int:
        """Record unanswered doses whose window has closed; alert on two bad days in a row."""
        o, d = t.outbox.c, t.dose_records.c
        answered = exists().where(and_(d.patient_id == o.patient_id, d.local_date == o.local_date))
        query = select(o.patient_id, o.local_date).where(
            o.kind == "dose",
            o.status.in_([SENT, EXPIRED, FAILED]),
            o.expires_at <= now,
            o.expires_at > now - LOOK_BACK,
            ~answered,
        )
        async with self.courses.engine.connect() as conn:
            found = (await conn.execute(query)).all()
        for pid, day in found:
            await self.courses.record_dose(pid, day, UNCONFIRMED, now)
            _, course = await self.courses.load_one(pid)
            prev = previous_dose_day(course, day)
            records = await self.courses.dose_records(pid, day - timedelta(days=60))
            if prev is not None and records.get(prev) in (MISSED, UNCONFIRMED):
                await self.alert(
                    "two_missed",
                    f"patient {pid} has missed or not confirmed two dose days "
                    f"in a row ({prev} and {day})",
                    pid,
                )
        return len(found)

    async def digest(self, now: datetime) -> str | None:
        """Patients below 90% over the last 4 weeks, for the nurses; None if nobody is."""
        low: list[tuple[float, str]] = []
        after = ""
        while ids := await self.courses.patient_ids(after, 500):
            after = ids[-1]
            loaded = await self.courses.load(ids)
            for pid, (patient, course) in loaded.items():
                if patient.opted_out_at is not None:
                    continue
                today = now.astimezone(zone(course.tz)).date()
                records = await self.courses.dose_records(pid, today - timedelta(days=400))
                recent = since(cycles(course, records, today), today - timedelta(DIGEST_DAYS))
                pct = percentage(recent)
                if pct is not None and pct < DIGEST_THRESHOLD:
                    low.append((pct, pid))
        if not low:
            return None
        listed = ", ".join(f"{pid} ({pct:.0f}%)" for pct, pid in sorted(low))
        text = (
            f"weekly adherence: {len(low)} patient(s) below {DIGEST_THRESHOLD:.0f}% "
            f"in the last {DIGEST_DAYS} days: {listed}"
        )
        await self.alert("digest", text, None)
        return text
