"""Which dates of a course carry a pregnancy-test prompt (and a man's condom reminder). Pure.

A test is due before starting (the rule set's days), in the weekly first weeks (REMS), and
``lead`` days before day 1 of every later cycle that starts by the end (the supply it gates;
delays move it, holds do not), with no more than ``gap`` days between prompts while in
treatment: when the next of those is further away, a prompt comes ``gap`` days after the last.
One more comes 28 days after the last dose. Nothing else after the end.

Local in dates: whether a date has a prompt is decided from that date alone (the latest fixed
prompt on or before it is found with ``locate``, not by walking from the start), so a plan of
a range is the plans of its days, and a day costs one ``locate`` whatever the course's age.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from scheduler.domain.calendar import cycle_start
from scheduler.domain.model import Course, RuleSet
from scheduler.domain.rules import RULES

# (cycle, cycle day) of a date, or None before the start: ``regimen.locate`` or a memo of it.
Locate = Callable[[date], tuple[int, int] | None]


class Prompt(enum.StrEnum):
    """Why a date carries a prompt: it decides the wording."""

    BEFORE_START = "before_start"
    WEEKLY = "weekly"
    DURING = "during"
    AFTER_END = "after_end"


@dataclass(frozen=True)
class Schedule:
    """Prompt days of one rule set: fixed offsets from the start, cycle lead, maximum gap."""

    before_start: frozenset[int]
    weekly: frozenset[int]
    fixed: tuple[int, ...]  # before_start and weekly, descending
    lead: int
    gap: int
    after_end: int | None


@lru_cache(maxsize=8)
def test_schedule(rules: RuleSet, irregular_periods: bool = False) -> Schedule:
    """Pregnancy tests for a patient who can become pregnant, under ``rules``."""
    r = RULES[rules]
    gap = r.pregnancy_test_max_gap_days
    if irregular_periods and r.pregnancy_test_max_gap_irregular_days is not None:
        gap = r.pregnancy_test_max_gap_irregular_days
    return _schedule(
        r.pregnancy_tests_before_start,
        r.pregnancy_tests_weekly,
        r.pregnancy_test_lead_days,
        gap,
        r.pregnancy_test_after_end_days,
    )


@lru_cache(maxsize=1)
def condom_schedule() -> Schedule:
    """A man whose partner can become pregnant: reminded on the days a UK test would fall
    while in treatment (before each cycle, at most 4 weeks apart), under either rule set."""
    uk = RULES[RuleSet.UK]
    return _schedule(
        uk.pregnancy_tests_before_start,
        (),
        uk.pregnancy_test_lead_days,
        uk.pregnancy_test_max_gap_days,
        None,
    )


def _schedule(
    before: tuple[int, ...], weekly: tuple[int, ...], lead: int, gap: int, after: int | None
) -> Schedule:
    return Schedule(
        before_start=frozenset(before),
        weekly=frozenset(weekly),
        fixed=tuple(sorted({*before, *weekly}, reverse=True)),
        lead=lead,
        gap=gap,
        after_end=after,
    )


def prompt(
    course: Course, schedule: Schedule, day: date, start: date, locate: Locate
) -> Prompt | None:
    """The prompt ``day`` carries under ``schedule``, or None.

    ``start`` is day 1 of cycle 1 (delays included); ``locate`` places a date in the course.
    """
    end = course.end
    if end is not None:
        if schedule.after_end is not None and (day - end).days == schedule.after_end:
            return Prompt.AFTER_END
        if day > end:
            return None
    offset = (day - start).days
    if offset < 0:
        return Prompt.BEFORE_START if offset in schedule.before_start else None
    if offset in schedule.weekly:
        return Prompt.WEEKLY
    # The latest fixed prompt on or before the day, as days from the start. Past the fixed
    # ones (most days) it is the cycle anchor, and the rest of the search is skipped.
    latest = _latest_anchor(course, day, offset, start, schedule.lead, locate)
    if latest is None or (schedule.fixed and latest < schedule.fixed[0]):
        fixed = next((o for o in schedule.fixed if o <= offset), None)
        if fixed is not None and (latest is None or fixed > latest):
            latest = fixed
    if latest is None:
        return None
    return Prompt.DURING if (offset - latest) % schedule.gap == 0 else None


def _latest_anchor(
    course: Course, day: date, offset: int, start: date, lead: int, locate: Locate
) -> int | None:
    """The latest day on or before ``day`` (as days from ``start``) that is ``lead`` days
    before day 1 of a cycle after the first that starts by the end: no supply is needed for
    a cycle after it."""
    where = locate(day + timedelta(days=lead))
    if where is None:
        return None
    n, d = where
    first = offset + lead - (d - 1)  # cycle n's day 1, from the start
    end = course.end
    if end is not None:
        last = (end - start).days
        while first > last and n > 1:
            n -= 1
            first = (cycle_start(course, n) - start).days
        if first > last:
            return None
    return first - lead if n >= 2 else None
