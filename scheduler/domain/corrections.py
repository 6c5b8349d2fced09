"""Corrections: when the team changes a course, the patient is told at once, naming the new date.

Pure. A nurse's change (pause, resume, delay a cycle, end, dose time, an appointment) may
contradict something the patient was already told ("Cycle 2 starts Thu 10 Dec"), so every
change sends one message saying what is now true. It goes at once, or at 08:00 local when
made during quiet hours (21:00-08:00), unless the change touches a dose the patient could
take before then: that one is told at once, whatever the hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.domain.calendar import cycle_start, is_dose_day, next_dose_day
from scheduler.domain.guidance import dose_due, window_closes
from scheduler.domain.localtime import after_quiet_hours, zone
from scheduler.domain.model import Course, Kind, Reminder

# A correction stays worth sending for a day; after that the next message says what is true.
LIFETIME = timedelta(hours=24)


def correction(
    change: str, before: Course, after: Course, now: datetime, **facts: Any
) -> Reminder:
    """The message telling the patient of ``change`` (``change_<change>`` in the catalogue),
    due at once or after quiet hours (see the module docstring)."""
    tz = zone(after.tz)
    later = after_quiet_hours(now, tz)
    due = now if later == now or touches_dose(before, after, now, later) else later
    local = due.astimezone(tz)
    return Reminder(
        kind=Kind.CHANGE,
        local_date=local.date(),
        due_at=due,
        expires_at=due + LIFETIME,
        local_time=local.time().replace(second=0, microsecond=0),
        facts={"change": change, "date": local.date(), **facts},
    )


def touches_dose(before: Course, after: Course, now: datetime, until: datetime) -> bool:
    """True if a dose the patient could take between ``now`` and ``until`` (its 12-hour
    window overlaps them) is not the same dose in both courses: added, removed or moved."""
    tz = zone(after.tz)
    day = now.astimezone(tz).date() - timedelta(days=1)
    last = until.astimezone(tz).date()
    while day <= last:
        both = [
            (dose_due(c, day), window_closes(c, day)) if is_dose_day(c, day) else None
            for c in (before, after)
        ]
        if both[0] != both[1]:
            for found in both:
                if found is not None and found[0] < until and found[1] > now:
                    return True
        day += timedelta(days=1)
    return False


def delay_facts(before: Course, after: Course, cycle: int, today: date) -> dict[str, Any]:
    """What a cycle delay changes: the cycle's old and new first day, and the last capsule
    the patient still takes before it (None: no capsules until then)."""
    new = cycle_start(after, cycle)
    last: date | None = None
    day = next_dose_day(after, today - timedelta(days=1))
    while day is not None and day < new:
        last = day
        day = next_dose_day(after, day)
    return {"cycle": cycle, "old": cycle_start(before, cycle), "new": new, "last": last}


def first_dose_at(
    course: Course, at: time, records: Mapping[date, str], today: date, sent: frozenset[date]
) -> date | None:
    """The first dose day from ``today`` taken at ``at``: not recorded, not already reminded."""
    day: date | None = today - timedelta(days=1)
    for _ in range(400):
        day = next_dose_day(course, day) if day is not None else None
        if day is None:
            return None
        if course.dose_time_on(day) == at and day not in records and day not in sent:
            return day
    return None
