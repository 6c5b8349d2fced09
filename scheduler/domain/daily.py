"""What the calendar puts on one local date (dose, cycle edges, tests, contraception). Pure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from scheduler.domain.calendar import (
    cycle_start,
    dose_day_given,
    is_dose_position,
    locate,
    on_hold,
)
from scheduler.domain.model import Course, Kind, PlanSettings, Reminder
from scheduler.domain.pregnancy import Prompt, condom_schedule, prompt, test_schedule
from scheduler.domain.rules import RULES
from scheduler.domain.timing import DOSE_WINDOW, ONE_DAY, at_once, notice_on, slot

WEEKLY_BLOOD_TEST_WEEKS = 8


class Calendar:
    """One course's regimen questions, answered once per date within one ``plan.plan()`` call.

    Each planned day asks about itself, the day before, the day after and the blood-test lead
    day: memoising ``locate`` and friends (pure functions of the immutable course) saves most
    of the work. Same answers as the functions in ``scheduler.domain.calendar``, by construction.
    """

    __slots__ = (
        "_blood", "_dose", "_regimen", "_where", "course", "end", "last_dose_day", "start"
    )

    def __init__(self, course: Course) -> None:
        self.course = course
        self.start = cycle_start(course, 1)
        self.end = course.end
        self.last_dose_day = course.regimen.last_dose_day  # a max() over the set each time
        self._where: dict[date, tuple[int, int] | None] = {}
        self._regimen: dict[date, bool] = {}
        self._dose: dict[date, bool] = {}
        self._blood: tuple[int, date, timedelta, date] | None = None

    def in_treatment(self, day: date) -> bool:
        """As ``calendar.in_treatment``, with day 1 of cycle 1 worked out once."""
        return day >= self.start and (self.end is None or day <= self.end)

    def blood_test_dates(self, lead: int) -> tuple[date, timedelta, date]:
        """For ``lead`` days' notice: the day before the start that carries a blood test, the
        lead as a timedelta, and the first cycle day 1 after the weekly tests (worked out once
        a plan, not each day)."""
        known = self._blood
        if known is None or known[0] != lead:
            ahead = timedelta(days=lead)
            known = self._blood = (
                lead, self.start - ahead, ahead,
                self.start + timedelta(weeks=WEEKLY_BLOOD_TEST_WEEKS),
            )  # fmt: skip
        return known[1], known[2], known[3]

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


def messages_on(
    cal: Calendar, settings: PlanSettings, tz: ZoneInfo, day: date
) -> Iterator[Reminder]:
    course = cal.course
    start = cal.start
    where = cal.locate(day)
    if where is not None and cal.is_dose_day(day):
        n, d = where
        due, wall, _ = slot(day, course.dose_time_on(day), tz)
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
        yield notice_on(
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
            yield notice_on(
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
    cal: Calendar,
    settings: PlanSettings,
    tz: ZoneInfo,
    day: date,
    where: tuple[int, int] | None,
) -> Iterator[Reminder]:
    """break_start on the first day of a cycle's closing break; cycle_start the day before."""
    course = cal.course
    # The day-number test first: it is false on all but one day a cycle.
    if (
        where is not None
        and where[1] == cal.last_dose_day + 1
        and cal.in_treatment(day)
        and not on_hold(course, day)
    ):
        n = where[0]
        nxt = cycle_start(course, n + 1)
        # Only a real closing break: one day off between dose days (every other day, or
        # 1,3,...,27/28 into the next cycle's day 1) is no break.
        if (nxt - day).days >= 2 and (course.end is None or nxt <= course.end):
            yield notice_on(
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
        yield notice_on(
            Kind.CYCLE_START,
            day,
            settings,
            tz,
            cycle=nw[0],
            start=tomorrow,
            dose_time=course.dose_time_on(tomorrow),
        )


def _is_blood_test_day(cal: Calendar, settings: PlanSettings, day: date, start: date) -> bool:
    course = cal.course
    if course.appointments and any(a.on == day for a in course.appointments):
        return True
    end = cal.end
    if end is not None and day > end:
        return False
    before_start, lead, after_weekly = cal.blood_test_dates(settings.blood_test_lead_days)
    if day == before_start:
        return True
    offset = (day - start).days
    if 0 < offset < 7 * WEEKLY_BLOOD_TEST_WEEKS and offset % 7 == 0:
        return True
    ahead = day + lead
    where = cal.locate(ahead)
    return (
        where is not None
        and where[1] == 1
        and ahead >= after_weekly
        and (end is None or ahead <= end)
    )


def _pregnancy_test_prompt(cal: Calendar, day: date) -> Prompt | None:
    """Why ``day`` carries a pregnancy test, or None: see ``scheduler.domain.pregnancy``."""
    course = cal.course
    schedule = test_schedule(course.rules, course.irregular_periods)
    return prompt(course, schedule, day, cal.start, cal.locate)


def _contraception(
    cal: Calendar, settings: PlanSettings, tz: ZoneInfo, day: date
) -> Iterator[Reminder]:
    """At most one contraception message on ``day`` (the outbox key is kind and date).

    28 days before starting; or, for a patient enrolled after that message was due, one soon
    after enrolment (the enrolment day at notice time, or at once when enrolled later, quiet
    hours allowing) unless enrolled after the end; and, for a man whose partner can become
    pregnant, condoms on the 4-weekly days of ``pregnancy.condom_schedule`` while in treatment.
    A patient who can become pregnant is reminded with each pregnancy test instead. The
    after-treatment message is ``plan._after_end``'s, dated after the end: never the same date.
    """
    course = cal.course
    start = cal.start
    rules = RULES[course.rules]
    before = start - timedelta(days=rules.contraception_before_start_days)
    # The enrolment message's local date is within a day of the enrolment's UTC date, or the
    # morning after: only those days need the (slower) exact answer.
    near_enrolment = -1 <= (day - course.enrolled_at.date()).days <= 2
    if day == before or near_enrolment:
        if course.enrolled_at <= slot(before, settings.notice_time, tz)[0]:
            if day == before and (course.end is None or day <= course.end):
                facts = {"phase": "before", "start": start, **_who(course)}
                yield notice_on(Kind.CONTRACEPTION, day, settings, tz, **facts)
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
        yield notice_on(Kind.CONTRACEPTION, day, settings, tz, phase="during", **_who(course))


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
    notice = at_once(notice_on(Kind.CONTRACEPTION, on, settings, tz), course.enrolled_at, tz)
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
