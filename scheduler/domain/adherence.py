"""Adherence: what happened on each day of a course, and how much was taken. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from scheduler.domain.calendar import cycle_start, is_dose_day, on_hold, on_regimen
from scheduler.domain.guidance import EXTRA, LATE, MISSED, TAKEN, UNCONFIRMED
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course

# One letter a day for the calendar.
MARKS = {
    TAKEN: "T",
    LATE: "L",
    MISSED: "M",
    UNCONFIRMED: "U",
    # A capsule taken when none was due: after being told to skip that day's dose (counted
    # as that dose missed), or on a day with no dose (break, hold, after the end: not counted).
    EXTRA: "X",
    "extra_off": "X",
    "take_now": "?",
    "break": "-",
    "hold": "H",
    "future": ".",
    "open": "o",
    "before_enrolment": "_",
}


def previous_dose_day(course: Course, day: date, limit_days: int = 60) -> date | None:
    d = day
    for _ in range(limit_days):
        d -= timedelta(days=1)
        if d < course.start:
            return None
        if is_dose_day(course, d):
            return d
    return None


@dataclass(frozen=True)
class Cycle:
    number: int
    start: date
    days: tuple[tuple[date, str], ...]  # (date, status) for each day of the cycle


def day_status(course: Course, records: Mapping[date, str], day: date, today: date) -> str:
    if records.get(day) == EXTRA:
        return EXTRA if is_dose_day(course, day) else "extra_off"
    if not is_dose_day(course, day):
        return "hold" if on_hold(course, day) and on_regimen(course, day) else "break"
    if day in records:
        return records[day]
    if day < course.enrolled_at.astimezone(zone(course.tz)).date():
        return "before_enrolment"  # we never reminded them: not ours to count
    if day > today:
        return "future"
    return "open" if day == today else UNCONFIRMED


def cycles(course: Course, records: Mapping[date, str], today: date) -> list[Cycle]:
    """Every cycle from the start to today (or the end), day by day."""
    last = min(today, course.end) if course.end else today
    out: list[Cycle] = []
    n = 1
    while (first := cycle_start(course, n)) <= last:
        nxt = cycle_start(course, n + 1)
        days = []
        d = first
        while d < nxt and (course.end is None or d <= course.end):
            days.append((d, day_status(course, records, d, today)))
            d += timedelta(days=1)
        out.append(Cycle(n, first, tuple(days)))
        n += 1
    return out


def percentage(all_cycles: list[Cycle]) -> float | None:
    """Doses taken (on time or late) out of dose days already past; None if none yet.

    An extra capsule on a dose day (taken after being told to skip it) counts as that dose
    missed; one on a day with no dose ("extra_off") is no dose day at all."""
    counted = [
        s for c in all_cycles for _, s in c.days if s in (TAKEN, LATE, MISSED, UNCONFIRMED, EXTRA)
    ]
    if not counted:
        return None
    return 100.0 * sum(s in (TAKEN, LATE) for s in counted) / len(counted)


def since(all_cycles: list[Cycle], first: date) -> list[Cycle]:
    """The same calendar, limited to days from ``first`` (e.g. the last 4 weeks)."""
    return [
        Cycle(c.number, c.start, tuple((d, s) for d, s in c.days if d >= first)) for c in all_cycles
    ]
