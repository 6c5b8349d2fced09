"""The plan: every message a course implies, for a range of local dates. Pure and deterministic.

Nothing is planned before the patient was enrolled, or for a patient who opted out. Each
message is unique per (kind, local date); the store adds the patient to make the outbox key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from scheduler.domain.calendar import (
    cycle_start,
    dose_day_given,
    in_treatment,
    is_dose_position,
    locate,
    next_dose_day,
    on_hold,
)
from scheduler.domain.localtime import after_quiet_hours, end_of_local_day, local_instant, zone
from scheduler.domain.model import Course, Kind, PlanSettings, Reminder
from scheduler.domain.pregnancy import Prompt, condom_schedule, prompt, test_schedule
from scheduler.domain.rules import RULES

DOSE_WINDOW = timedelta(hours=12)
# A notice sent at once (an end recorded late) still gets this long to reach the patient.
NOTICE_MIN_LIFE = timedelta(hours=12)
WEEKLY_BLOOD_TEST_WEEKS = 8


ONE_DAY = timedelta(days=1)


class _Calendar:
    """One course's regimen questions, answered once per date within one ``plan()`` call.

    Each planned day asks about itself, the day before, the day after and the blood-test lead
    day: memoising ``locate`` and friends (pure functions of the immutable course) saves most
    of the work. Same answers as the functions in ``scheduler.domain.calendar``, by construction.
    """

    __slots__ = ("_dose", "_regimen", "_where", "course", "last_dose_day", "start")

    def __init__(self, course: Course) -> None:
        self.course = course
        self.start = cycle_start(course, 1)
        self.last_dose_day = course.regimen.last_dose_day  # a max() over the set each time
        self._where: dict[date, tuple[int, int] | None] = {}
        self._regimen: dict[date, bool] = {}
        self._dose: dict[date, bool] = {}

    def locate(self, day: date) -> tuple[int, int] | None:
        try:
            return self._where[day]
        except KeyError:
            where = self._where[day] = locate(self.course, day)
            return where

    def on_regimen(self, day: date) -> bool:
        """As ``regimen.on_regimen``."""
        try:
            return self._regimen[day]
        except KeyError:
            pass
        found = self._regimen[day] = is_dose_position(self.course.regimen, self.locate(day))
        return found

    def is_dose_day(self, day: date) -> bool:
        """As ``regimen.is_dose_day``."""
        try:
            return self._dose[day]
        except KeyError:
            pass
        found = self._dose[day] = dose_day_given(self.course, day, lambda: self.on_regimen(day))
        return found


def plan(course: Course, settings: PlanSettings, first: date, last: date) -> list[Reminder]:
    """Every reminder on local dates ``first``..``last`` (inclusive), sorted by due time."""
    if course.opted_out or last < first:
        return []
    tz = zone(course.tz)
    cal = _Calendar(course)
    # Keyed by (kind, local date): Kind is a StrEnum, so this is the same key as Reminder.key.
    found: dict[tuple[str, date], Reminder] = {}
    day = first
    while day <= last:
        if _exists(day, tz):
            for r in _day(cal, settings, tz, day):
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


@lru_cache(maxsize=32768)
def _wall(day: date, at: time, tz: ZoneInfo) -> tuple[datetime, time, datetime]:
    """(due instant, local wall time to the minute, end of the local day) of ``at`` on ``day``.

    Cached: thousands of patients share a handful of zones, dose times and dates.
    """
    due = local_instant(day, at, tz)
    return (
        due,
        due.astimezone(tz).time().replace(second=0, microsecond=0),
        end_of_local_day(day, tz),
    )


def _notice(
    kind: Kind, day: date, settings: PlanSettings, tz: ZoneInfo, **facts: object
) -> Reminder:
    due, wall, expires = _wall(day, settings.notice_time, tz)
    return Reminder(
        kind=kind,
        local_date=day,
        due_at=due,
        expires_at=expires,
        local_time=wall,
        facts={"date": day, **facts},
    )


def _day(cal: _Calendar, settings: PlanSettings, tz: ZoneInfo, day: date) -> Iterator[Reminder]:
    course = cal.course
    start = cal.start
    where = cal.locate(day)
    if where is not None and cal.is_dose_day(day):
        n, d = where
        due, wall, _ = _wall(day, course.dose_time_on(day), tz)
        yield Reminder(
            kind=Kind.DOSE,
            local_date=day,
            due_at=due,
            expires_at=due + DOSE_WINDOW,
            local_time=wall,
            cycle=n,
            day=d,
            facts={"date": day, "of": cal.last_dose_day},
        )
    yield from _cycle_edges(cal, settings, tz, day, where)
    if _is_blood_test_day(cal, settings, day, start):
        booked = next((a for a in course.appointments if a.on == day), None)
        yield _notice(
            Kind.BLOOD_TEST,
            day,
            settings,
            tz,
            appointment=booked is not None,
            note=booked.note if booked else "",
            before_start=day < start,
        )
    if course.can_become_pregnant:
        test = _pregnancy_test_prompt(cal, day)
        if test is not None:
            yield _notice(
                Kind.PREGNANCY_TEST,
                day,
                settings,
                tz,
                before_start=test is Prompt.BEFORE_START,
                after_end=test is Prompt.AFTER_END,
                weekly=test is Prompt.WEEKLY,
                two_methods=RULES[course.rules].contraception_two_methods,
            )
    if course.can_become_pregnant or course.partner_can_become_pregnant:
        yield from _contraception(cal, settings, tz, day)


def _cycle_edges(
    cal: _Calendar,
    settings: PlanSettings,
    tz: ZoneInfo,
    day: date,
    where: tuple[int, int] | None,
) -> Iterator[Reminder]:
    """break_start on the first day of a cycle's closing break; cycle_start the day before."""
    course = cal.course
    if where is not None and in_treatment(course, day) and not on_hold(course, day):
        n, d = where
        if d == cal.last_dose_day + 1:
            nxt = cycle_start(course, n + 1)
            # Only a real closing break: one day off between dose days (every other day, or
            # 1,3,...,27/28 into the next cycle's day 1) is no break.
            if (nxt - day).days >= 2 and (course.end is None or nxt <= course.end):
                yield _notice(
                    Kind.BREAK_START,
                    day,
                    settings,
                    tz,
                    until=nxt - ONE_DAY,
                    next_cycle=n + 1,
                    next_start=nxt,
                )
    tomorrow = day + ONE_DAY
    nw = cal.locate(tomorrow)
    if nw is None or nw[1] != 1 or not cal.is_dose_day(tomorrow):
        return
    # Announce a cycle only after a break of 2+ days (or before cycle 1): continuous or
    # every-other-day dosing needs no notice.
    yesterday = day - ONE_DAY
    if nw[0] == 1 or not (cal.on_regimen(day) or cal.on_regimen(yesterday)):
        yield _notice(
            Kind.CYCLE_START,
            day,
            settings,
            tz,
            cycle=nw[0],
            start=tomorrow,
            dose_time=course.dose_time_on(tomorrow),
        )


def _is_blood_test_day(cal: _Calendar, settings: PlanSettings, day: date, start: date) -> bool:
    course = cal.course
    if course.appointments and any(a.on == day for a in course.appointments):
        return True
    if course.end is not None and day > course.end:
        return False
    lead = settings.blood_test_lead_days
    if day == start - timedelta(days=lead):
        return True
    offset = (day - start).days
    if 0 < offset < 7 * WEEKLY_BLOOD_TEST_WEEKS and offset % 7 == 0:
        return True
    ahead = day + timedelta(days=lead)
    where = cal.locate(ahead)
    return (
        where is not None
        and where[1] == 1
        and ahead >= start + timedelta(weeks=WEEKLY_BLOOD_TEST_WEEKS)
        and (course.end is None or ahead <= course.end)
    )


def _pregnancy_test_prompt(cal: _Calendar, day: date) -> Prompt | None:
    """Why ``day`` carries a pregnancy test, or None: see ``scheduler.domain.pregnancy``."""
    course = cal.course
    schedule = test_schedule(course.rules, course.irregular_periods)
    return prompt(course, schedule, day, cal.start, cal.locate)


def _contraception(
    cal: _Calendar, settings: PlanSettings, tz: ZoneInfo, day: date
) -> Iterator[Reminder]:
    """At most one contraception message on ``day`` (the outbox key is kind and date).

    28 days before starting; or, for a patient enrolled after that message was due, one soon
    after enrolment (the enrolment day at notice time, or at once when enrolled later, quiet
    hours allowing) unless enrolled after the end; and, for a man whose partner can become
    pregnant, condoms on the 4-weekly days of ``pregnancy.condom_schedule`` while in treatment.
    A patient who can become pregnant is reminded with each pregnancy test instead. The
    after-treatment message is ``_after_end``'s, dated after the end: never the same date.
    """
    course = cal.course
    start = cal.start
    rules = RULES[course.rules]
    before = start - timedelta(days=rules.contraception_before_start_days)
    # The enrolment message's local date is within a day of the enrolment's UTC date, or the
    # morning after: only those days need the (slower) exact answer.
    near_enrolment = -1 <= (day - course.enrolled_at.date()).days <= 2
    if day == before or near_enrolment:
        if course.enrolled_at <= _wall(before, settings.notice_time, tz)[0]:
            if day == before and (course.end is None or day <= course.end):
                facts = {"phase": "before", "start": start, **_who(course)}
                yield _notice(Kind.CONTRACEPTION, day, settings, tz, **facts)
                return
        elif near_enrolment:
            enrolled = _on_enrolment(course, settings, tz, start)
            if enrolled is not None and enrolled.local_date == day:
                yield enrolled
                return
    if (
        course.partner_can_become_pregnant
        and prompt(course, condom_schedule(), day, start, cal.locate) is Prompt.DURING
    ):
        yield _notice(Kind.CONTRACEPTION, day, settings, tz, phase="during", **_who(course))


def _who(course: Course) -> dict[str, bool]:
    """Whom a contraception message is for, and how their rule set words it."""
    return {
        "female": course.can_become_pregnant,
        "partner": course.partner_can_become_pregnant,
        "two_methods": RULES[course.rules].contraception_two_methods,
    }


def _on_enrolment(
    course: Course, settings: PlanSettings, tz: ZoneInfo, start: date
) -> Reminder | None:
    """The contraception message of a patient enrolled too late for the one before starting.

    Before the start it is that message, naming the start date; after it, phase "enrolled".
    """
    on = course.enrolled_at.astimezone(tz).date()
    notice = _at_once(_notice(Kind.CONTRACEPTION, on, settings, tz), course.enrolled_at, tz)
    day = notice.local_date
    if course.end is not None and day > course.end:
        return None  # the after-treatment message says what still applies
    phase: dict[str, object] = (
        {"phase": "before", "start": start} if day < start else {"phase": "enrolled"}
    )
    return Reminder(
        kind=notice.kind,
        local_date=day,
        due_at=notice.due_at,
        expires_at=notice.expires_at,
        local_time=notice.local_time,
        facts={"date": day, **phase, **_who(course)},
    )


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
        yield _at_once(
            _notice(
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
    yield _at_once(
        _notice(
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
    eve = _notice(
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


def _at_once(notice: Reminder, recorded: datetime | None, tz: ZoneInfo) -> Reminder:
    """``notice`` as planned, or, if recorded after its time, as soon as quiet hours allow."""
    if recorded is None or recorded <= notice.due_at:
        return notice
    due = after_quiet_hours(recorded, tz)
    day = due.astimezone(tz).date()
    return Reminder(
        kind=notice.kind,
        local_date=day,
        due_at=due,
        expires_at=max(end_of_local_day(day, tz), due + NOTICE_MIN_LIFE),
        local_time=due.astimezone(tz).time().replace(second=0, microsecond=0),
        facts=dict(notice.facts),
    )


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
