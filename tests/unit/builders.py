"""Test data for the pure planning core: one course, overridable field by field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import strategies as st

from scheduler.domain.model import (
    Course,
    CycleDelay,
    Hold,
    Kind,
    PlanSettings,
    Regimen,
    Reminder,
    RuleSet,
)
from scheduler.domain.plan import plan

# Monday 1 June 2026: cycle 1 day 1 of the default course, far from any DST change.
START = date(2026, 6, 1)
SETTINGS = PlanSettings()


def course(**overrides: Any) -> Course:
    """A 21/28 course at 09:00 London starting on START, enrolled long before; override freely.

    ``regimen`` may be given as text (``"14/21"``).
    """
    fields: dict[str, Any] = {
        "start": START,
        "dose_time": time(9, 0),
        "tz": "Europe/London",
        "regimen": Regimen.parse("21/28"),
    }
    fields.update(overrides)
    # Enrolled well before anything the course plans, unless a test says otherwise.
    fields.setdefault(
        "enrolled_at", datetime.combine(fields["start"] - timedelta(days=400), time(0), UTC)
    )
    if isinstance(fields["regimen"], str):
        fields["regimen"] = Regimen.parse(fields["regimen"])
    return Course(**fields)


def plan_days(
    c: Course, first: date, days: int, settings: PlanSettings = SETTINGS
) -> list[Reminder]:
    """The plan for ``days`` local dates from ``first``."""
    return plan(c, settings, first, first + timedelta(days=days - 1))


def of_kind(reminders: Iterable[Reminder], kind: Kind) -> list[Reminder]:
    return [r for r in reminders if r.kind is kind]


def dates(reminders: Iterable[Reminder], kind: Kind) -> list[date]:
    """Local dates of the reminders of one kind, in plan order."""
    return [r.local_date for r in of_kind(reminders, kind)]


def day(n: int, origin: date = START) -> date:
    """The date ``n`` days after ``origin`` (negative: before)."""
    return origin + timedelta(days=n)


ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "America/Santiago",
)
REGIMENS = ("21/28", "continuous", "14/21", "days=1,3,5,...,27/28", "days=1-7,15-21/28", "5/7")


@st.composite
def courses(draw: st.DrawFn, **fixed: Any) -> Course:
    """Any plausible course: zone, start, dose time, regimen, people, holds, delays, end."""
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)))
    holds = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        begin = start + timedelta(days=draw(st.integers(min_value=-5, max_value=150)))
        length = draw(st.none() | st.integers(min_value=1, max_value=30))
        holds.append(Hold(start=begin, end=None if length is None else begin + timedelta(length)))
    delays = tuple(
        CycleDelay(cycle=draw(st.integers(min_value=1, max_value=6)),
                   days=draw(st.integers(min_value=1, max_value=14)))
        for _ in range(draw(st.integers(min_value=0, max_value=2)))
    )
    end = draw(st.none() | st.integers(min_value=0, max_value=200))
    fields: dict[str, Any] = {
        "start": start,
        "dose_time": time(draw(st.integers(0, 23)), draw(st.integers(0, 59))),
        "tz": draw(st.sampled_from(ZONES)),
        "regimen": draw(st.sampled_from(REGIMENS)),
        "rules": draw(st.sampled_from(RuleSet)),
        "can_become_pregnant": draw(st.booleans()),
        "partner_can_become_pregnant": draw(st.booleans()),
        "holds": tuple(holds),
        "delays": delays,
        "end": None if end is None else start + timedelta(days=end),
        "enrolled_at": datetime.combine(
            start + timedelta(days=draw(st.integers(min_value=-60, max_value=60))),
            time(draw(st.integers(0, 23))),
            tzinfo=UTC,
        ),
    }
    fields.update(fixed)
    return course(**fields)
