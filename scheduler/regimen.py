"""Which local dates are dose days: regimens, cycle/day numbers, breaks, holds and delays.

Pure. A course's cycles follow each other; a delay pushes day 1 of one cycle (and so every
later one) back, stretching the break before it. A hold removes doses without moving cycles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scheduler.model import Course

MAX_CYCLE_LENGTH = 366


class RegimenError(ValueError):
    pass


@dataclass(frozen=True)
class Regimen:
    """Dose on ``dose_days`` (1-based cycle days) of a ``cycle_length``-day cycle."""

    cycle_length: int
    dose_days: frozenset[int]

    def __post_init__(self) -> None:
        if not 1 <= self.cycle_length <= MAX_CYCLE_LENGTH:
            raise RegimenError(
                f"regimen cycle length must be 1 to {MAX_CYCLE_LENGTH} days, "
                f"not {self.cycle_length}"
            )
        if not self.dose_days:
            raise RegimenError("regimen has no dose day")
        bad = sorted(d for d in self.dose_days if not 1 <= d <= self.cycle_length)
        if bad:
            raise RegimenError(
                f"regimen dose day {bad[0]} is outside the {self.cycle_length}-day cycle"
            )

    @property
    def last_dose_day(self) -> int:
        return max(self.dose_days)

    @property
    def is_continuous(self) -> bool:
        return len(self.dose_days) == self.cycle_length

    def __str__(self) -> str:
        days = sorted(self.dose_days)
        if self.is_continuous and self.cycle_length == 28:
            return "continuous"
        if days == list(range(1, len(days) + 1)):
            return f"{len(days)}/{self.cycle_length}"
        return f"days={_compact(days)}/{self.cycle_length}"

    @classmethod
    def parse(cls, text: str) -> Regimen:
        """Parse ``21/28``, ``continuous``, ``days=1-21/28`` or ``days=1,3,5,...,27/28``."""
        raw = text.strip().lower().replace(" ", "").replace("\u2026", "...")
        if raw == "continuous":
            return cls(28, frozenset(range(1, 29)))
        simple = re.fullmatch(r"(\d{1,3})/(\d{1,3})", raw)
        if simple:
            on, length = int(simple[1]), int(simple[2])
            if on > length:
                raise RegimenError(f"regimen {text!r} has more dose days than cycle days")
            return cls(length, frozenset(range(1, on + 1)))
        pattern = re.fullmatch(r"days=([0-9,.\-]+)/(\d{1,3})", raw)
        if not pattern:
            raise RegimenError(
                f"regimen {text!r} is not understood: use 21/28, continuous, "
                "days=1-21/28 or days=1,3,5,...,27/28"
            )
        return cls(int(pattern[2]), frozenset(_expand_days(pattern[1], text)))


def _expand_days(spec: str, text: str) -> set[int]:
    parts = spec.split(",")
    days: set[int] = set()
    for i, part in enumerate(parts):
        if part == "...":
            # "a,b,...,z": continue the step b-a from b up to z.
            if (
                i < 2
                or i + 1 >= len(parts)
                or not all(p.isdigit() for p in (parts[i - 2], parts[i - 1], parts[i + 1]))
            ):
                raise RegimenError(
                    f"regimen {text!r}: '...' needs two numbers before and one after"
                )
            a, b, z = int(parts[i - 2]), int(parts[i - 1]), int(parts[i + 1])
            if b <= a or z < b:
                raise RegimenError(f"regimen {text!r}: '...' must continue an increasing series")
            if (z - b) % (b - a):
                # "1,3,...,28" would silently add day 28 to an every-other-day series.
                raise RegimenError(f"regimen {text!r}: {z} is not on the series {a},{b},...")
            days.update(range(b, z + 1, b - a))
        elif re.fullmatch(r"\d{1,3}-\d{1,3}", part):
            lo, hi = (int(x) for x in part.split("-"))
            if hi < lo:
                raise RegimenError(f"regimen {text!r}: range {part} runs backwards")
            days.update(range(lo, hi + 1))
        elif part.isdigit():
            days.add(int(part))
        else:
            raise RegimenError(f"regimen {text!r}: {part!r} is not a day number or range")
    return days


def _compact(days: list[int]) -> str:
    runs: list[str] = []
    start = prev = days[0]
    for d in [*days[1:], None]:
        if d is not None and d == prev + 1:
            prev = d
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if d is not None:
            start = prev = d
    return ",".join(runs)


# --- The calendar of one course -------------------------------------------------------------


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
