"""The plan: every message a course implies, for a range of local dates. Pure and deterministic.

Nothing is planned before the patient was enrolled, or for a patient who opted out. Each
message is unique per (kind, local date); the store adds the patient to make the outbox key.
What the calendar puts on each date is ``scheduler.domain.daily``'s; the notices dated by when
something was recorded (holds, resumes, the end of treatment) are here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from scheduler.domain.calendar import next_dose_day
from scheduler.domain.daily import Calendar, messages_on
from scheduler.domain.localtime import end_of_local_day, local_instant, zone
from scheduler.domain.model import Course, Kind, PlanSettings, Reminder
from scheduler.domain.rules import RULES
from scheduler.domain.timing import ONE_DAY, at_once, notice_on


def plan(course: Course, settings: PlanSettings, first: date, last: date) -> list[Reminder]:
    """Every reminder on local dates ``first``..``last`` (inclusive), sorted by due time."""
    if course.opted_out or last < first:
        return []
    tz = zone(course.tz)
    cal = Calendar(course)
    # Keyed by (kind, local date): Kind is a StrEnum, so this is the same key as Reminder.key.
    found: dict[tuple[str, date], Reminder] = {}
    day = first
    while day <= last:
        if _exists(day, tz):
            for r in messages_on(cal, settings, tz, day):
                found.setdefault((r.kind, r.local_date), r)
        day += ONE_DAY
    for r in _notices(course, settings, tz):
        if first <= r.local_date <= last:
            found.setdefault((r.kind, r.local_date), r)
    enrolled = course.enrolled_at
    kept = [r for r in found.values() if r.due_at >= enrolled]
    # Kind is a StrEnum: it orders exactly as its value does.
    kept.sort(key=lambda r: (r.due_at, r.kind))
    return kept


def plan_window(
    course: Course, settings: PlanSettings, start: datetime, end: datetime
) -> list[Reminder]:
    """Reminders due in the UTC window [start, end), e.g. the outbox horizon."""
    return plan_window_until(course, settings, start, end)[0]


def plan_window_until(
    course: Course, settings: PlanSettings, start: datetime, end: datetime
) -> tuple[list[Reminder], datetime]:
    """``plan_window``, and the instant before which no other reminder is due after ``end``.

    Moving ``end`` forward to any instant up to that bound (exclusive) lets no new reminder
    into the window: what the outbox planner needs to know to leave a patient alone.
    Reminders of a local date are due on that date, so those of dates after the ones planned
    here are due no earlier than the end of the last planned date.
    """
    tz = zone(course.tz)
    # A day either side: notices and DST moves can put a local date's message across midnight.
    first = start.astimezone(tz).date() - ONE_DAY
    last = end.astimezone(tz).date() + ONE_DAY
    inside: list[Reminder] = []
    bound = end_of_local_day(last, tz)
    for r in plan(course, settings, first, last):
        if r.due_at < start:
            continue
        if r.due_at < end:
            inside.append(r)
        elif r.due_at < bound:
            bound = r.due_at
    return inside, bound


@lru_cache(maxsize=8192)
def _exists(day: date, tz: ZoneInfo) -> bool:
    """False for a calendar day the zone skipped (Pacific/Apia, 30 December 2011)."""
    return local_instant(day, time(0, 0), tz).astimezone(tz).date() == day


def _after_end(course: Course, settings: PlanSettings, tz: ZoneInfo) -> Iterator[Reminder]:
    """After-treatment messages: the day after the last dose day at notice time or, when the
    end was recorded later than that (a past end date), as soon as quiet hours allow."""
    if course.end is None:
        return
    end = course.end
    rules = RULES[course.rules]
    female = course.can_become_pregnant
    partner = course.partner_can_become_pregnant
    day = end + ONE_DAY
    if female or partner:
        yield at_once(
            notice_on(
                Kind.CONTRACEPTION,
                day,
                settings,
                tz,
                phase="after",
                female=female,
                partner=partner,
                until=end + timedelta(days=rules.contraception_after_end_days),
                condoms_until=end + timedelta(days=rules.partner_condoms_after_end_days),
                two_methods=rules.contraception_two_methods,
            ),
            course.ended_at,
            tz,
        )
    yield at_once(
        notice_on(
            Kind.AFTERCARE,
            day,
            settings,
            tz,
            last_dose=end,
            blood_donation_from=end + timedelta(days=rules.no_blood_donation_after_end_days + 1),
            live_vaccines_from=add_months(end, rules.no_live_vaccines_after_end_months),
        ),
        course.ended_at,
        tz,
    )


def _notices(course: Course, settings: PlanSettings, tz: ZoneInfo) -> Iterator[Reminder]:
    """Notices dated by when something was recorded rather than by the calendar alone.

    Hold and resume notices come the day before they take effect, when the nurse's change was
    recorded at least a day before that: a later change is told at once by the correction the
    care action sends (``scheduler.domain.corrections``), and a second notice would only repeat it.
    The restart notice names the first real dose day after the hold: a hold that ends in a
    break must not tell the patient to take capsules on a break day. Nothing of a hold that
    starts after the course's end is announced.
    """
    for hold in course.holds:
        if course.end is not None and hold.start > course.end:
            continue
        eve = _eve(Kind.HOLD, hold.start, hold.created_at, settings, tz, course)
        if eve is not None:
            yield eve
        if hold.end is not None:
            restart = next_dose_day(course, hold.end - timedelta(days=1))
            if restart is not None:
                eve = _eve(Kind.RESUME, restart, hold.resumed_at, settings, tz, course)
                if eve is not None:
                    yield eve
    yield from _after_end(course, settings, tz)


def _eve(
    kind: Kind,
    effective: date,
    recorded: datetime | None,
    settings: PlanSettings,
    tz: ZoneInfo,
    course: Course,
) -> Reminder | None:
    """The notice the day before ``effective``, if the change was recorded a day before it."""
    eve = notice_on(
        kind,
        effective - timedelta(days=1),
        settings,
        tz,
        effective=effective,
        dose_time=course.dose_time_on(effective),
    )
    if recorded is None or recorded + ONE_DAY <= eve.due_at:
        return eve
    return None


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the month's last day."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover
