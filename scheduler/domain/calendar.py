"""Which local dates are dose days: regimens, cycle/day numbers, breaks, holds and delays.

Pure. A course's cycles follow each other; a delay pushes day 1 of one cycle (and so every
later one) back, stretching the break before it. A hold removes doses without moving cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from scheduler.domain.model import Course, Regimen


def cycle_start(course: Course, n: int) -> date:
    """Local date of day 1 of cycle ``n`` (1-based), delays included."""
    days = (n - 1) * course.regimen.cycle_length
    if course.delays:  # most courses have none: skip the sum (the planner calls this a lot)
        days += sum(d.days for d in course.delays if d.cycle <= n)
    return course.start + timedelta(days=days)


def locate(course: Course, day: date) -> tuple[int, int] | None:
    """(cycle, cycle day) of ``day``; the day may exceed the cycle length in a delayed break.

    None before day 1 of cycle 1. The end date is not applied here.
    """
    length = course.regimen.cycle_length
    if not course.delays:
        # Back-to-back cycles of one length: plain arithmetic, same answer as the search below.
        offset = (day - course.start).days
        if offset < 0:
            return None
        return offset // length + 1, offset % length + 1
    if day < cycle_start(course, 1):
        return None
    # Delays only push cycles later, so this guess is at or after the true cycle.
    n = (day - course.start).days // length + 1
    while n > 1 and cycle_start(course, n) > day:
        n -= 1
    return n, (day - cycle_start(course, n)).days + 1


def on_regimen(course: Course, day: date) -> bool:
    """True if the regimen puts a dose on ``day`` (holds and end ignored)."""
    return is_dose_position(course.regimen, locate(course, day))


def is_dose_position(regimen: Regimen, where: tuple[int, int] | None) -> bool:
    """True if (cycle, cycle day) ``where`` (from ``locate``) is a dose day of the regimen."""
    return where is not None and where[1] <= regimen.cycle_length and where[1] in regimen.dose_days


def on_hold(course: Course, day: date) -> bool:
    return bool(course.holds) and any(h.covers(day) for h in course.holds)


def in_treatment(course: Course, day: date) -> bool:
    return day >= cycle_start(course, 1) and (course.end is None or day <= course.end)


def is_dose_day(course: Course, day: date) -> bool:
    """True if the patient takes a capsule on ``day``: regimen, end date and holds applied."""
    return dose_day_given(course, day, lambda: on_regimen(course, day))


def dose_day_given(course: Course, day: date, on_regimen_today: Callable[[], bool]) -> bool:
    """``is_dose_day``, asking ``on_regimen_today`` (e.g. a memo) only within the course."""
    if course.end is not None and day > course.end:
        return False
    return on_regimen_today() and not on_hold(course, day)


def next_dose_day(course: Course, after: date, limit_days: int = 400) -> date | None:
    """The first dose day strictly after ``after``, or None within ``limit_days``."""
    day = after
    for _ in range(limit_days):
        day += timedelta(days=1)
        if course.end is not None and day > course.end:
            return None
        if is_dose_day(course, day):
            return day
    return None


def next_cycle(course: Course, today: date) -> int:
    """The number of the first cycle whose day 1 is after ``today``."""
    where = locate(course, today)
    return 1 if where is None else where[0] + 1
