"""Missed-dose and dose-record decisions. Pure: the course, the records and ``now`` in.

The 12-hour rule (leaflet): less than 12 hours after the usual time, take it now; 12 hours or
more, skip it and take the next one at the usual time on the next dose day; never two at once.

Which dose a report is about: the day the patient names ("last night", "yesterday", "this
morning", a weekday) decides; without one, the dose whose 12-hour window is open, else
today's. A dose's time is the dose time in force that day (``Course.dose_time_on``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.domain.calendar import is_dose_day, next_dose_day
from scheduler.domain.localtime import local_instant, zone
from scheduler.domain.model import Course
from scheduler.domain.timing import DOSE_WINDOW

# Dose record statuses. TAKE_NOW marks "told to take it late"; TAKEN then becomes LATE.
# EXTRA: a capsule taken when none was due (a break or hold day, after the end, before the
# start, or after being told to skip it): never counted as taken, always told to the nurses.
TAKEN, LATE, MISSED, UNCONFIRMED, TAKE_NOW = "taken", "late", "missed", "unconfirmed", "take_now"
EXTRA = "extra"
DONE = (TAKEN, LATE, EXTRA)
# A night-time dose: "last night" means the dose whose time fell last night.
_EVENING, _EARLY_MORNING = time(17, 0), time(6, 0)


class Advice(enum.StrEnum):
    NOT_DUE_YET = "not_due_yet"
    TAKE_NOW = "take_now"
    SKIP = "skip"
    ALREADY_TAKEN = "already_taken"
    NO_DOSE_TODAY = "no_dose_today"
    NO_DOSE_THAT_DAY = "no_dose_that_day"
    RECORDED = "recorded"
    RECORDED_LATE = "recorded_late"
    EXTRA_CAPSULE = "extra_capsule"
    BEFORE_ENROLMENT = "before_enrolment"
    COURSE_ENDED = "course_ended"
    NOT_STARTED = "not_started"
    SNOOZED = "snoozed"
    TOO_LATE_TO_SNOOZE = "too_late_to_snooze"
    UNSURE = "unsure"
    INTEND = "intend"
    EXTRA_DOSE = "extra_dose"


@dataclass(frozen=True)
class Decision:
    advice: Advice
    dose_date: date | None = None
    record: str | None = None  # status to store for dose_date, if any
    facts: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def dose_due(course: Course, day: date) -> datetime:
    """The instant of ``day``'s dose, at the dose time in force that day."""
    return local_instant(day, course.dose_time_on(day), zone(course.tz))


def window_closes(course: Course, day: date) -> datetime:
    return dose_due(course, day) + DOSE_WINDOW


def _today(course: Course, now: datetime) -> date:
    return now.astimezone(zone(course.tz)).date()


def _open_dose(course: Course, now: datetime) -> date | None:
    """The dose day whose 12-hour window contains ``now`` (today's, or yesterday's late one)."""
    today = _today(course, now)
    for day in (today, today - timedelta(days=1)):
        if is_dose_day(course, day) and dose_due(course, day) <= now < window_closes(course, day):
            return day
    return None


def next_open_dose(
    course: Course, records: Mapping[date, str], after: date, now: datetime
) -> date | None:
    """The first dose day after ``after`` that is not recorded and whose window has not
    closed: the dose a "next dose" may name."""
    day: date | None = after
    while day is not None:
        day = next_dose_day(course, day)
        if day is not None and day not in records and now < window_closes(course, day):
            return day
    return None


def first_reminder(course: Course, now: datetime) -> tuple[date, time] | None:
    """The first dose whose time is still to come (its reminder will be sent): what a nurse
    is told at enrolment. A dose already due at enrolment is not reminded."""
    day: date | None = _today(course, now) - timedelta(days=1)
    while day is not None:
        day = next_dose_day(course, day)
        if day is not None and dose_due(course, day) >= now:
            return day, course.dose_time_on(day)
    return None


def _next(
    course: Course, records: Mapping[date, str], after: date, now: datetime
) -> dict[str, Any]:
    nxt = next_open_dose(course, records, after, now)
    return {"next_date": nxt, "next_time": course.dose_time_on(nxt) if nxt else None}


def day_meant(course: Course, now: datetime, named: str | None) -> date | None:
    """The local date of the dose a report names (``messages.intent.day_named``), or None when
    it names none. "Last night" is the dose whose time fell last night when doses are taken
    at night (17:00-06:00), else yesterday's; "this morning" is today's dose when it is a
    morning dose, else the dose whose window is open; a weekday is the latest such date."""
    if named is None:
        return None
    today = _today(course, now)
    yesterday = today - timedelta(days=1)
    if named == "today":
        return today
    if named == "yesterday":
        return yesterday
    if named == "last_night":
        for day in (today, yesterday):
            at = course.dose_time_on(day)
            night = at >= _EVENING or at < _EARLY_MORNING
            if night and dose_due(course, day) <= now and (day == yesterday or at < _EARLY_MORNING):
                return day
        return yesterday
    if named == "this_morning":
        if course.dose_time_on(today) < time(12, 0):
            return today
        return _open_dose(course, now) or today
    if named.startswith("weekday:"):
        back = (today.weekday() - int(named.split(":")[1])) % 7
        return today - timedelta(days=back)
    return None


def _before_enrolment(course: Course, day: date) -> bool:
    return day < course.enrolled_at.astimezone(zone(course.tz)).date()


def _nothing_due(
    course: Course, records: Mapping[date, str], today: date, now: datetime
) -> Decision:
    if course.end is not None and today > course.end:
        return Decision(Advice.COURSE_ENDED, facts={"end": course.end})
    facts = _next(course, records, today, now)
    if today < course.start:
        return Decision(
            Advice.NOT_STARTED,
            facts={"next_date": course.start, "next_time": course.dose_time_on(course.start)},
        )
    return Decision(Advice.NO_DOSE_TODAY, facts=facts)


def _extra(course: Course, records: Mapping[date, str], day: date, now: datetime) -> Decision:
    """A capsule taken when none was due: recorded as such, never as a dose taken. A second
    report of it is told it is recorded already: do not take another."""
    if records.get(day) == EXTRA:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, records, day, now))
    why = (
        "skipped" if is_dose_day(course, day)
        else "before_start" if day < course.start
        else "ended" if course.end is not None and day > course.end
        else "no_dose"
    )  # fmt: skip
    return Decision(
        Advice.EXTRA_CAPSULE,
        day,
        record=EXTRA,
        facts={**_next(course, records, max(day, _today(course, now)), now), "why": why},
    )


def on_missed(
    course: Course, records: Mapping[date, str], now: datetime, named: str | None = None
) -> Decision:
    today = _today(course, now)
    meant = day_meant(course, now, named)
    if meant is not None:
        return _missed_on(course, records, meant, now)
    open_day = _open_dose(course, now)
    if open_day is not None:
        return _missed_on(course, records, open_day, now)
    if is_dose_day(course, today):
        return _missed_on(course, records, today, now)
    return _nothing_due(course, records, today, now)


def _missed_on(course: Course, records: Mapping[date, str], day: date, now: datetime) -> Decision:
    """MISSED about the dose of ``day``."""
    if _before_enrolment(course, day):
        return Decision(Advice.BEFORE_ENROLMENT, day)
    if not is_dose_day(course, day):
        if day == _today(course, now):
            return _nothing_due(course, records, day, now)
        return Decision(Advice.NO_DOSE_THAT_DAY, day, facts=_next(course, records, day, now))
    if records.get(day) in DONE:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, records, day, now))
    due, closes = dose_due(course, day), window_closes(course, day)
    if now < due:
        return Decision(Advice.NOT_DUE_YET, day, facts={"dose_time": course.dose_time_on(day)})
    if now < closes:
        left = closes - now
        return Decision(
            Advice.TAKE_NOW,
            day,
            record=TAKE_NOW,
            facts={
                "until": closes.astimezone(zone(course.tz)),
                "hours_left": int(left.total_seconds() // 3600),
            },
        )
    return Decision(Advice.SKIP, day, record=MISSED, facts=_next(course, records, day, now))


def on_taken(
    course: Course, records: Mapping[date, str], now: datetime, named: str | None = None
) -> Decision:
    today = _today(course, now)
    day = day_meant(course, now, named)
    if day is None:
        day = _open_dose(course, now)
        if day is None and is_dose_day(course, today):
            day = today  # a little early, or replying after the window closed: today's dose
    if day is None:
        # Nothing due today and no day named: a capsule taken on a break or hold day, after
        # the end or before the start (the reply says how to report an earlier dose instead).
        return _extra(course, records, today, now)
    if _before_enrolment(course, day):
        return Decision(Advice.BEFORE_ENROLMENT, day)
    if not is_dose_day(course, day):
        return _extra(course, records, day, now)
    status = records.get(day)
    if status in DONE:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, records, day, now))
    if status == MISSED:
        return _extra(course, records, day, now)  # told to skip it: a capsule not due
    rest = {**records, day: TAKEN}
    if status == TAKE_NOW:
        return Decision(Advice.RECORDED_LATE, day, record=LATE, facts=_next(course, rest, day, now))
    return Decision(Advice.RECORDED, day, record=TAKEN, facts=_next(course, rest, day, now))


SNOOZE = timedelta(hours=1)


def on_later(course: Course, records: Mapping[date, str], now: datetime) -> Decision:
    """LATER: remind again in an hour, but only inside the dose's 12-hour window."""
    day = _open_dose(course, now)
    if day is None:
        return on_missed(course, records, now)  # not due yet, skipped, or no dose today
    if records.get(day) in DONE:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, records, day, now))
    closes = window_closes(course, day)
    local_close = closes.astimezone(zone(course.tz))
    if now + SNOOZE >= closes:
        return Decision(Advice.TOO_LATE_TO_SNOOZE, day, facts={"until": local_close})
    return Decision(Advice.SNOOZED, day, facts={"at": now + SNOOZE, "until": local_close})


def on_question(
    course: Course, records: Mapping[date, str], now: datetime, named: str | None = None
) -> Decision:
    """ "Can I take it now?", "do I take one today?": the missed-dose rule for the right day,
    answered without recording anything (the patient asked; they did not report)."""
    return replace(on_missed(course, records, now, named), record=None)


def _current(course: Course, records: Mapping[date, str], now: datetime) -> Decision | None:
    """The decision when no dose is in question now: already taken, or nothing due today."""
    today = _today(course, now)
    day = _open_dose(course, now) or (today if is_dose_day(course, today) else None)
    if day is None:
        return _nothing_due(course, records, today, now)
    if records.get(day) in DONE:
        return Decision(Advice.ALREADY_TAKEN, day, facts=_next(course, records, day, now))
    return None


def on_unsure(course: Course, records: Mapping[date, str], now: datetime) -> Decision:
    """ "Can't remember if I took it": the safe rule. Never take another to be sure: the next
    one at the usual time, and tell the team if it keeps happening. Nothing is recorded."""
    found = _current(course, records, now)
    if found is not None:
        return found
    d = on_question(course, records, now)
    if d.advice is Advice.NOT_DUE_YET:
        return d  # before today's time: nothing to be unsure about yet
    assert d.dose_date is not None
    return Decision(Advice.UNSURE, d.dose_date, facts=_next(course, records, d.dose_date, now))


def on_intend(course: Course, records: Mapping[date, str], now: datetime) -> Decision:
    """ "About to take it": not a report. Reply TAKEN once done, unless it is taken already,
    not due today, or its 12-hour window has closed (then: skip it)."""
    found = _current(course, records, now)
    if found is not None:
        return found
    d = on_question(course, records, now)
    if d.advice is Advice.SKIP:
        return d
    return Decision(Advice.INTEND, d.dose_date)


def on_extra(
    course: Course,
    records: Mapping[date, str],
    now: datetime,
    named: str | None = None,
    why: str = "count",
) -> Decision:
    """More than one capsule (``why``: count, two_days), someone else's (someone_else), one
    more after the day's dose (another): recorded as an extra capsule on the day it was taken
    (today, or the day named)."""
    day = day_meant(course, now, named) or _today(course, now)
    facts = {**_next(course, records, day, now), "why": why}
    return Decision(Advice.EXTRA_DOSE, day, record=EXTRA, facts=facts)


def on_late_taken(
    course: Course, records: Mapping[date, str], now: datetime, named: str | None = None
) -> Decision:
    """ "Forgot this morning, just took it now": one capsule, taken late, for the day's dose.
    Recorded as taken late (not as an extra capsule: nobody told them to skip it)."""
    d = on_taken(course, records, now, named)
    if (
        d.advice is Advice.RECORDED
        and d.dose_date is not None
        and dose_due(course, d.dose_date) <= now
    ):
        return replace(d, advice=Advice.RECORDED_LATE, record=LATE)
    return d
