"""Missed-dose guidance and dose records: the 12-hour rule at its exact edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.domain.guidance import (
    EXTRA,
    LATE,
    MISSED,
    TAKE_NOW,
    TAKEN,
    Advice,
    day_meant,
    next_open_dose,
    on_missed,
    on_taken,
)
from scheduler.domain.model import Course, EarlierDoseTime, Hold
from tests.unit.builders import START, course

LONDON = ZoneInfo("Europe/London")


def at(day: date, hh: int, mm: int = 0, tz: ZoneInfo = LONDON, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, fold=fold), tz).astimezone(UTC)


DAY5 = START + timedelta(days=4)  # cycle 1 day 5, a dose day, 09:00 London (BST: 08:00 UTC)


def test_missed_before_the_dose_time_says_not_due_yet() -> None:
    d = on_missed(course(), {}, at(DAY5, 8, 59))
    assert d.advice is Advice.NOT_DUE_YET and d.facts["dose_time"] == time(9, 0)
    assert d.record is None


@pytest.mark.parametrize(
    ("hh", "mm", "advice"),
    [
        (9, 0, Advice.TAKE_NOW),  # right at the usual time
        (20, 59, Advice.TAKE_NOW),  # 11:59 after
        (21, 0, Advice.SKIP),  # exactly 12:00 after: skip
        (21, 1, Advice.SKIP),  # 12:01 after
    ],
)
def test_twelve_hour_rule_edges(hh: int, mm: int, advice: Advice) -> None:
    d = on_missed(course(), {}, at(DAY5, hh, mm))
    assert d.advice is advice
    assert d.dose_date == DAY5
    assert d.record == (TAKE_NOW if advice is Advice.TAKE_NOW else MISSED)


def test_missed_more_than_12_hours_says_skip_and_names_the_next_dose_day() -> None:
    d = on_missed(course(), {}, at(DAY5, 22))
    assert d.advice is Advice.SKIP and d.facts["next_date"] == DAY5 + timedelta(days=1)


def test_skip_on_the_last_dose_day_of_a_cycle_names_the_next_cycle() -> None:
    day21 = START + timedelta(days=20)
    d = on_missed(course(), {}, at(day21, 22))
    assert d.advice is Advice.SKIP and d.facts["next_date"] == START + timedelta(days=28)


def test_late_evening_dose_window_crosses_midnight() -> None:
    c = course(dose_time=time(22, 0))
    after_midnight = at(DAY5 + timedelta(days=1), 9, 59)  # 11:59 after yesterday's 22:00
    d = on_missed(c, {}, after_midnight)
    assert d.advice is Advice.TAKE_NOW and d.dose_date == DAY5
    d = on_missed(c, {}, at(DAY5 + timedelta(days=1), 10, 0))  # 12:00 after: window shut
    assert d.advice is Advice.NOT_DUE_YET and d.dose_date == DAY5 + timedelta(days=1)


def test_already_taken_says_do_not_take_another() -> None:
    d = on_missed(course(), {DAY5: TAKEN}, at(DAY5, 11))
    assert d.advice is Advice.ALREADY_TAKEN and d.record is None


def test_taken_after_take_now_is_recorded_late() -> None:
    c = course()
    assert on_taken(c, {DAY5: TAKE_NOW}, at(DAY5, 15)).record == LATE
    assert on_taken(c, {}, at(DAY5, 9, 30)).record == TAKEN


def test_second_taken_says_already_recorded() -> None:
    d = on_taken(course(), {DAY5: TAKEN}, at(DAY5, 10))
    assert d.advice is Advice.ALREADY_TAKEN and d.record is None


def test_taken_before_todays_time_records_yesterdays_dose_while_its_window_is_open() -> None:
    c = course(dose_time=time(20, 0))
    d = on_taken(c, {}, at(DAY5 + timedelta(days=1), 7, 59))  # 11:59 after yesterday's 20:00
    assert d.record == TAKEN and d.dose_date == DAY5
    d = on_taken(c, {DAY5: TAKEN}, at(DAY5 + timedelta(days=1), 7, 59))
    assert d.advice is Advice.ALREADY_TAKEN and d.dose_date == DAY5


def test_taken_a_little_early_counts_for_today() -> None:
    d = on_taken(course(), {}, at(DAY5, 8, 30))
    assert d.record == TAKEN and d.dose_date == DAY5


@pytest.mark.parametrize(
    ("when", "advice"),
    [
        (START + timedelta(days=23), Advice.NO_DOSE_TODAY),  # break day
        (START - timedelta(days=3), Advice.NOT_STARTED),
    ],
)
def test_no_capsule_due_says_when_the_next_one_is(when: date, advice: Advice) -> None:
    c = course()
    d = on_missed(c, {}, at(when, 12))
    assert d.advice is advice and d.record is None
    assert d.facts["next_date"] == (
        START + timedelta(days=28) if advice is Advice.NO_DOSE_TODAY else START
    )


@pytest.mark.parametrize(
    ("c", "when", "why"),
    [
        (course(), START + timedelta(days=23), "no_dose"),  # break day
        (course(), START - timedelta(days=3), "before_start"),
        (course(holds=(Hold(start=DAY5),)), DAY5, "no_dose"),  # on hold
        (course(end=DAY5), DAY5 + timedelta(days=3), "ended"),
    ],
)
def test_a_capsule_taken_when_none_was_due_is_an_extra_never_a_dose(
    c: Course, when: date, why: str
) -> None:
    d = on_taken(c, {}, at(when, 12))
    assert (d.advice, d.record, d.dose_date, d.facts["why"]) == (
        Advice.EXTRA_CAPSULE, EXTRA, when, why
    )


def test_taken_after_being_told_to_skip_is_an_extra_not_taken_late() -> None:
    d = on_taken(course(), {DAY5: MISSED}, at(DAY5, 22, 30))
    assert (d.advice, d.record, d.dose_date) == (Advice.EXTRA_CAPSULE, EXTRA, DAY5)
    assert d.facts["next_date"] == DAY5 + timedelta(days=1)


def test_a_second_report_after_an_extra_says_already_recorded() -> None:
    d = on_taken(course(), {DAY5: EXTRA}, at(DAY5, 23))
    assert d.advice is Advice.ALREADY_TAKEN and d.record is None
    brk = START + timedelta(days=23)
    for named in (None, "today"):
        d = on_taken(course(), {brk: EXTRA}, at(brk, 15), named)
        assert (d.advice, d.record) == (Advice.ALREADY_TAKEN, None)


@pytest.mark.parametrize(
    ("dose", "now", "named", "meant"),
    [
        # An evening dose: "last night" is yesterday's, never tonight's.
        (time(23, 30), at(DAY5, 10), "last_night", DAY5 - timedelta(days=1)),
        (time(23, 30), at(DAY5, 1), "last_night", DAY5 - timedelta(days=1)),
        # A dose at 00:15: "last night" at breakfast is today's date.
        (time(0, 15), at(DAY5, 9), "last_night", DAY5),
        # A morning dose taken late last night: yesterday's.
        (time(9, 0), at(DAY5, 8), "last_night", DAY5 - timedelta(days=1)),
        (time(9, 0), at(DAY5, 12), "this_morning", DAY5),
        (time(23, 30), at(DAY5, 8), "this_morning", DAY5 - timedelta(days=1)),  # window open
        (time(9, 0), at(DAY5, 12), "yesterday", DAY5 - timedelta(days=1)),
        (time(9, 0), at(DAY5, 12), "today", DAY5),
        (time(9, 0), at(DAY5, 12), f"weekday:{(DAY5 - timedelta(days=2)).weekday()}",
         DAY5 - timedelta(days=2)),
        (time(9, 0), at(DAY5, 12), f"weekday:{DAY5.weekday()}", DAY5),
        (time(9, 0), at(DAY5, 12), None, None),
    ],
)
def test_the_day_a_report_names_picks_the_dose(
    dose: time, now: datetime, named: str | None, meant: date | None
) -> None:
    assert day_meant(course(dose_time=dose), now, named) == meant


def test_taken_last_night_is_not_filed_against_tonights_dose() -> None:
    c = course(dose_time=time(23, 30))
    d = on_taken(c, {}, at(DAY5, 10), "last_night")
    assert (d.record, d.dose_date) == (TAKEN, DAY5 - timedelta(days=1))
    # The next dose named is tonight's, which is still to come.
    assert (d.facts["next_date"], d.facts["next_time"]) == (DAY5, time(23, 30))


def test_missed_yesterday_whose_window_closed_says_skip_and_never_two() -> None:
    d = on_missed(course(), {}, at(DAY5, 12), "yesterday")
    assert (d.advice, d.record, d.dose_date) == (Advice.SKIP, MISSED, DAY5 - timedelta(days=1))
    # Today's 09:00 dose is not recorded and its window is open: it is the next one.
    assert d.facts["next_date"] == DAY5


def test_missed_last_night_inside_the_window_says_take_it_now() -> None:
    c = course(dose_time=time(23, 30))
    d = on_missed(c, {}, at(DAY5, 2), "last_night")
    assert (d.advice, d.record, d.dose_date) == (
        Advice.TAKE_NOW, TAKE_NOW, DAY5 - timedelta(days=1)
    )


def test_a_report_for_a_day_before_enrolment_records_nothing() -> None:
    c = course(enrolled_at=at(DAY5, 7))
    for decide in (on_taken, on_missed):
        d = decide(c, {}, at(DAY5, 12), "yesterday")
        assert (d.advice, d.record) == (Advice.BEFORE_ENROLMENT, None)


def test_missed_a_break_day_says_no_capsule_was_due_then() -> None:
    brk = START + timedelta(days=23)
    d = on_missed(course(), {}, at(brk + timedelta(days=1), 12), "yesterday")
    assert (d.advice, d.record, d.dose_date) == (Advice.NO_DOSE_THAT_DAY, None, brk)


def test_a_dose_time_change_keeps_the_old_time_for_the_days_before() -> None:
    # Until today doses were at 21:00; from today at 09:00. Yesterday's 21:00 dose is open
    # until 09:00 today: at 08:00 a MISSED is about it, and it is still inside its window.
    c = course(dose_time=time(9, 0), earlier_dose_times=(EarlierDoseTime(DAY5, time(21, 0)),))
    d = on_missed(c, {}, at(DAY5, 8))
    assert (d.advice, d.dose_date) == (Advice.TAKE_NOW, DAY5 - timedelta(days=1))
    assert d.facts["until"].time() == time(9, 0)


def test_next_dose_never_names_a_recorded_dose() -> None:
    c = course(regimen="continuous")
    tomorrow = DAY5 + timedelta(days=1)
    # Tomorrow already reported (e.g. a capsule taken after midnight, filed early).
    d = on_taken(c, {tomorrow: TAKEN}, at(DAY5, 10))
    assert d.facts["next_date"] == DAY5 + timedelta(days=2)
    assert next_open_dose(c, {DAY5: TAKEN}, DAY5 - timedelta(days=1), at(DAY5, 8)) == tomorrow


def test_on_hold_no_capsule_is_due_and_the_restart_is_named() -> None:
    c = course(holds=(Hold(start=DAY5, end=DAY5 + timedelta(days=3)),))
    d = on_missed(c, {}, at(DAY5, 12))
    assert d.advice is Advice.NO_DOSE_TODAY and d.facts["next_date"] == DAY5 + timedelta(days=3)
    open_hold = course(holds=(Hold(start=DAY5),))
    assert on_missed(open_hold, {}, at(DAY5, 12)).facts["next_date"] is None


def test_after_the_course_ended_says_so() -> None:
    c = course(end=DAY5)
    d = on_missed(c, {}, at(DAY5 + timedelta(days=2), 12))
    assert d.advice is Advice.COURSE_ENDED and d.facts["end"] == DAY5


def test_dst_spring_forward_day_measures_12_real_hours() -> None:
    # London, Sunday 28 March 2027: 01:00 GMT -> 02:00 BST. A 00:30 dose is 00:30 GMT.
    c = course(start=date(2027, 3, 22), dose_time=time(0, 30))
    change = date(2027, 3, 28)
    due = at(change, 0, 30)
    assert on_missed(c, {}, due + timedelta(hours=11, minutes=59)).advice is Advice.TAKE_NOW
    assert on_missed(c, {}, due + timedelta(hours=12)).advice is Advice.SKIP
    # 12 real hours after 00:30 GMT is 13:30 BST, not 12:30.
    assert (due + timedelta(hours=12)).astimezone(LONDON).time() == time(13, 30)


def test_dst_fall_back_day_uses_the_first_occurrence() -> None:
    # New York, Sunday 1 November 2026: 01:30 happens twice; the dose is at the first one.
    ny = ZoneInfo("America/New_York")
    c = course(tz="America/New_York", start=date(2026, 10, 26), dose_time=time(1, 30))
    change = date(2026, 11, 1)
    first = at(change, 1, 30, ny, fold=0)
    second = at(change, 1, 30, ny, fold=1)
    assert second - first == timedelta(hours=1)
    assert on_missed(c, {}, first + timedelta(hours=11, minutes=59)).advice is Advice.TAKE_NOW
    assert on_missed(c, {}, first + timedelta(hours=12)).advice is Advice.SKIP


def test_a_patient_in_another_timezone_is_judged_on_their_own_clock() -> None:
    # 09:00 in Sydney is 22:00 UTC the day before (AEST, UTC+10 in June).
    sydney = ZoneInfo("Australia/Sydney")
    c = course(tz="Australia/Sydney")
    due = at(DAY5, 9, 0, sydney)
    assert due.hour == 23  # AEST is UTC+10 in June
    assert on_missed(c, {}, due - timedelta(minutes=1)).advice is Advice.NOT_DUE_YET
    assert on_missed(c, {}, due + timedelta(hours=3)).advice is Advice.TAKE_NOW
    assert on_missed(c, {}, due + timedelta(hours=12)).advice is Advice.SKIP


@settings(max_examples=150, deadline=None)
@given(
    minutes=st.integers(0, 36 * 60),
    dose=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    tz=st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"]),
)
def test_never_advises_taking_a_dose_already_recorded_or_two_at_once(
    minutes: int, dose: time, tz: str
) -> None:
    c = course(tz=tz, dose_time=dose, regimen="continuous")
    now = at(DAY5, 0, 0, ZoneInfo(tz)) + timedelta(minutes=minutes)
    records = {DAY5 - timedelta(days=1): TAKEN, DAY5: TAKEN, DAY5 + timedelta(days=1): TAKEN}
    assert on_missed(c, records, now).advice in (
        Advice.ALREADY_TAKEN, Advice.NOT_DUE_YET, Advice.SKIP
    )
    d = on_missed(c, {}, now)
    if d.advice is Advice.TAKE_NOW:
        assert d.dose_date is not None
        # Only within 12 hours of that day's own dose time.
        due = datetime.combine(d.dose_date, dose, ZoneInfo(tz)).astimezone(UTC)
        assert timedelta(0) <= now - due < timedelta(hours=12)
