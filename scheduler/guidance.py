"""Missed-dose and dose-record decisions. Pure: the course, the records and ``now`` in.

The 12-hour rule (leaflet): less than 12 hours after the usual time, take it now; 12 hours or
more, skip it and take the next one at the usual time on the next dose day; never two at once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from scheduler.localtime import local_instant, zone
from scheduler.model import Course
from scheduler.plan import DOSE_WINDOW
from scheduler.regimen import is_dose_day, next_dose_day

# Dose record statuses. TAKE_NOW marks "told to take it late"; TAKEN then becomes LATE.
TAKEN, LATE, MISSED, UNCONFIRMED, TAKE_NOW = "taken", "late", "missed", "unconfirmed", "take_now"
DONE = (TAKEN, LATE)


class Advice(enum.StrEnum):
    NOT_DUE_YET = "not_due_yet"
    TAKE_NOW = "take_now"
    SKIP = "skip"
    ALREADY_TAKEN = "already_taken"
    NO_DOSE_TODAY = "no_dose_today"
    RECORDED = "recorded"
    RECORDED_LATE = "recorded_late"
    COURSE_ENDED = "course_ended"
    NOT_STARTED = "not_started"
    SNOOZED = "snoozed"
    TOO_LATE_TO_SNOOZE = "too_late_to_snooze"


@dataclass(frozen=True)
class Decision:
    advice: Advice
    dose_date: date | None = None
    record: str | None = None  # status to store for dose_date, if any
    facts: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _due(course: Course, day: date) -> datetime:
    return local_instant(day, course.dose_time, zone(course.tz))


def _open_dose(course: Course, now: datetime) -> date | None:
    """The dose day whose 12-hour window contains ``now`` (today's, or yesterday's late one)."""
    today = now.astimezone(zone(course.tz)).date()
    for day in (today, today - timedelta(days=1)):
        if is_dose_day(course, day) and _due(course, day) <= now < _due(course, day) + DOSE_WINDOW:
            return day
    return None


def _next(course: Course, after: date) -> dict[str, Any]:
    nxt = next_dose_day(course, after)
    return {"next_date": nxt, "dose_time": course.dose_time}


def _nothing_due(course: Course, today: date) -> Decision:
    if course.end is not None and today > course.end:
        return Decision(Advice.COURSE_ENDED, facts={"end": course.end})
    facts = _next(course, today)
    if today < course.start:
        return Decision(Advice.NOT_STARTED, facts={**facts, "next_date": course.start})
    return Decision(Advice.NO_DOSE_TODAY, facts=facts)


def on_missed(course: Course, records: Mapping[date, str], now: datetime) -> Decision:
    today = now.astimezone(zone(course.tz)).date()
    open_day = _open_dose(course, now)
    if open_day is not None:
        if records.get(open_day) in DONE:
            return Decision(Advice.ALREADY_TAKEN, open_day, facts=_next(course, open_day))
        left = _due(course, open_day) + DOSE_WINDOW - now
        return Decision(
            Advice.TAKE_NOW,
            open_day,
            record=TAKE_NOW,
            facts={
                "until": (_due(course, open_day) + DOSE_WINDOW).astimezone(zone(course.tz)),
                "hours_left": int(left.total_seconds() // 3600),
            },
        )
    if is_dose_day(course, today):
        if records.get(today) in DONE:
            return Decision(Advice.ALREADY_TAKEN, today, facts=_next(course, today))
        if now < _due(course, today):
            return Decision(Advice.NOT_DUE_YET, today, facts={"dose_time": course.dose_time})
        return Decision(Advice.SKIP, today, record=MISSED, facts=_next(course, today))
    return _nothing_due(course, today)


def on_taken(course: Course, records: Mapping[date, str], now: datetime) -> Decision:
    today = now.astimezone(zone(course.tz)).date()
    day = _open_dose(course, now)
    if day is None and is_dose_day(course, today):
        day = today  # a little early, or replying after the window closed: today's dose
    if day is None:
        return _nothing_due(course, today)
    if records.get(day) in DONE:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, day))
    status = LATE if records.get(day) in (TAKE_NOW, MISSED) else TAKEN
    advice = Advice.RECORDED_LATE if status == LATE else Advice.RECORDED
    return Decision(advice, day, record=status, facts=_next(course, day))


SNOOZE = timedelta(hours=1)


def on_later(course: Course, records: Mapping[date, str], now: datetime) -> Decision:
    """LATER: remind again in an hour, but only inside the dose's 12-hour window."""
    day = _open_dose(course, now)
    if day is None:
        return on_missed(course, records, now)  # not due yet, skipped, or no dose today
    if records.get(day) in DONE:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, day))
    closes = _due(course, day) + DOSE_WINDOW
    local_close = closes.astimezone(zone(course.tz))
    if now + SNOOZE >= closes:
        return Decision(Advice.TOO_LATE_TO_SNOOZE, day, facts={"until": local_close})
    return Decision(Advice.SNOOZED, day, facts={"at": now + SNOOZE, "until": local_close})
