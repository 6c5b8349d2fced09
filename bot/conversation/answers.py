"""Answers to questions about the patient's own schedule: today's cycle and day, capsules left
this cycle, the dose time, the week off, the next blood and pregnancy tests. Pure: the course,
its dose records, ``now`` and the plan settings in, words out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from bot.conversation.next import LOOK_AHEAD, firsts, next_text
from messages.render import Profile, fmt_date, fmt_time, render_reply
from scheduler.domain.calendar import cycle_start, is_dose_day, locate, on_hold
from scheduler.domain.guidance import next_open_dose
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Kind, PlanSettings


def schedule_answer(
    what: str,
    course: Course,
    profile: Profile,
    settings: PlanSettings,
    now: datetime,
    records: Mapping[date, str],
) -> str:
    """The answer to one schedule question (``what``: see messages.understand.Reading)."""
    today = now.astimezone(zone(course.tz)).date()
    if course.end is not None and today > course.end and what != "pregnancy_test":
        return render_reply("ended_next", profile, end=fmt_date(course.end))
    if what == "cycle_day":
        return _cycle_day(course, profile, today)
    if what == "capsules_left":
        return _capsules_left(course, profile, today, records)
    if what == "dose_time":
        nxt = next_open_dose(course, records, today - timedelta(days=1), now)
        at = course.dose_time_on(nxt or today)
        when = fmt_date(nxt) if nxt else render_reply("no_next", profile)
        return render_reply("when_dose_time", profile, dose_time=fmt_time(at), next=when)
    kinds = {"break": Kind.BREAK_START, "blood_test": Kind.BLOOD_TEST,
             "pregnancy_test": Kind.PREGNANCY_TEST}  # fmt: skip
    if what in kinds:
        if what == "pregnancy_test" and not course.can_become_pregnant:
            return render_reply("when_no_pregnancy_tests", profile)
        if what == "break" and _in_break(course, today):
            nxt = next_open_dose(course, records, today, now)
            return render_reply(
                "when_in_break", profile, next=fmt_date(nxt) if nxt else _none(profile)
            )
        found = firsts(course, settings, now, today, today + LOOK_AHEAD, (kinds[what],))
        first = found.get(kinds[what])
        return render_reply(
            f"when_{what}", profile, date=fmt_date(first.local_date) if first else _none(profile)
        )
    return next_text(course, profile, settings, now, records)


def _none(profile: Profile) -> str:
    return render_reply("none_planned", profile)


def _in_break(course: Course, today: date) -> bool:
    where = locate(course, today)
    return where is not None and not is_dose_day(course, today) and not on_hold(course, today)


def _cycle_day(course: Course, profile: Profile, today: date) -> str:
    where = locate(course, today)
    if where is None:
        return render_reply("when_not_started", profile, start=fmt_date(course.start))
    n, d = where
    if on_hold(course, today):
        return render_reply("cycle_day_paused", profile, cycle=n, day=d)
    if is_dose_day(course, today):
        return render_reply("cycle_day_dose", profile, cycle=n, day=d)
    return render_reply("cycle_day_break", profile, cycle=n, day=d,
                        next=fmt_date(cycle_start(course, n + 1)))  # fmt: skip


def _capsules_left(
    course: Course, profile: Profile, today: date, records: Mapping[date, str]
) -> str:
    """Dose days left in the current cycle from today (today's only if not yet recorded)."""
    where = locate(course, today)
    if where is None:
        return render_reply("when_not_started", profile, start=fmt_date(course.start))
    n = where[0]
    end = cycle_start(course, n + 1)
    left = []
    day = today
    while day < end:
        if is_dose_day(course, day) and not (day == today and day in records):
            left.append(day)
        day += timedelta(days=1)
    if not left:
        return render_reply("capsules_left_none", profile, cycle=n, next=fmt_date(end))
    return render_reply(
        "capsules_left", profile, count=len(left), cycle=n, last=fmt_date(left[-1]),
        plural="" if len(left) == 1 else "s",
    )  # fmt: skip
