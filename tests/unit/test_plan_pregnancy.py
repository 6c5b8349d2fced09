"""Pregnancy prevention: tests and contraception reminders under the UK and US REMS rules.

Sources: the leaflet (tests every 4 weeks and 4 weeks after; contraception 4 weeks before,
during and after; condoms for a week after; no blood donation for a week after), the UK
Pregnancy Prevention Programme (a negative test within 3 days before each supply) and the
REMS programme as summarised in docs/PRODUCT.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.render import Profile, render
from scheduler.domain.calendar import cycle_start
from scheduler.domain.model import Course, CycleDelay, Hold, Kind, Reminder, RuleSet
from scheduler.domain.plan import plan
from tests.unit.builders import SETTINGS, START, course, courses, dates, day, of_kind, plan_days

UK_GAP, REMS_IRREGULAR_GAP = 28, 14
PLAIN, DISCREET = Profile(name="Ann"), Profile(name="Ann", discreet=True)


def utc(year: int, month: int, day_: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day_, hour, minute, tzinfo=UTC)


def pregnancy_test_dates(c: Course, first: int = -40, last: int = 200) -> list[date]:
    return dates(plan(c, SETTINGS, day(first), day(last)), Kind.PREGNANCY_TEST)


def contraception(c: Course, first: int = -60, last: int = 300) -> list[Reminder]:
    return of_kind(plan(c, SETTINGS, day(first), day(last)), Kind.CONTRACEPTION)


def texts(r: Reminder) -> list[str]:
    return [render(r, PLAIN), render(r, DISCREET)]


# --- UK rules (the default): before each supply, never more than 28 days apart ------------------


def test_uk_pregnancy_tests_3_days_before_starting_and_before_day_1_of_every_cycle() -> None:
    c = course(can_become_pregnant=True)
    # Cycle n starts on day 28(n-1): the test is on day 28(n-1) - 3, never on day 1 itself.
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in (-3, 25, 53, 81, 109)]


def test_uk_pregnancy_test_before_start_says_so_and_comes_at_notice_time() -> None:
    reminders = plan_days(course(can_become_pregnant=True), day(-5), 5)
    (first,) = of_kind(reminders, Kind.PREGNANCY_TEST)
    assert first.local_date == date(2026, 5, 29)
    assert first.due_at == datetime(2026, 5, 29, 9, 0, tzinfo=UTC)  # 10:00 BST
    assert first.facts["before_start"] is True
    assert first.facts["after_end"] is False


def test_pregnancy_test_follows_a_cycle_delayed_by_7_days() -> None:
    c = course(can_become_pregnant=True, delays=(CycleDelay(cycle=2, days=7),))
    tests = pregnancy_test_dates(c, last=100)
    # Cycle 2 now starts on day 35, cycle 3 on day 63: tests 3 days before each. Day 25 (28
    # days after the test before starting) keeps the gap at 4 weeks until then.
    assert day(32) in tests and day(60) in tests
    assert tests == [day(n) for n in (-3, 25, 32, 60, 88)]


def test_a_hold_then_a_delayed_restart_never_leaves_more_than_28_days_without_a_test() -> None:
    c = course(
        can_become_pregnant=True,
        holds=(Hold(start=day(10), end=day(49)),),
        delays=(CycleDelay(cycle=2, days=21),),  # cycle 2 starts on day 49
    )
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in (-3, 25, 46, 74, 102)]


def test_a_35_day_cycle_gets_a_test_within_28_days_and_one_before_each_cycle() -> None:
    c = course(can_become_pregnant=True, regimen="days=1-21/35")
    tests = pregnancy_test_dates(c, last=110)
    assert tests == [day(n) for n in (-3, 25, 32, 60, 67, 95, 102)]
    assert max((b - a).days for a, b in pairwise(tests)) <= UK_GAP


def test_a_hold_alone_does_not_move_the_tests() -> None:
    held = course(can_become_pregnant=True, holds=(Hold(start=day(20), end=day(90)),))
    assert pregnancy_test_dates(held) == pregnancy_test_dates(course(can_become_pregnant=True))


def test_last_pregnancy_test_is_28_days_after_the_end() -> None:
    c = course(can_become_pregnant=True, end=day(37))
    reminders = of_kind(plan(c, SETTINGS, day(-40), day(300)), Kind.PREGNANCY_TEST)
    assert [r.local_date for r in reminders] == [day(-3), day(25), day(65)]
    assert reminders[-1].facts["after_end"] is True
    assert reminders[-1].facts["before_start"] is False


def test_no_test_for_a_cycle_that_starts_after_the_end() -> None:
    # Cycle 3 would start on day 56, after the last dose on day 52: no supply to test for.
    c = course(can_become_pregnant=True, end=day(52))
    assert pregnancy_test_dates(c, last=300) == [day(n) for n in (-3, 25, 80)]


def test_end_on_a_test_day_keeps_that_test_and_adds_the_one_after() -> None:
    c = course(can_become_pregnant=True, end=day(53))
    assert pregnancy_test_dates(c, last=300) == [day(n) for n in (-3, 25, 53, 81)]


def test_no_pregnancy_tests_for_a_patient_who_cannot_become_pregnant() -> None:
    for c in (
        course(),
        course(partner_can_become_pregnant=True, end=day(60)),
        course(rules=RuleSet.US_REMS, partner_can_become_pregnant=True),
    ):
        assert pregnancy_test_dates(c, last=300) == []


def test_irregular_periods_change_nothing_under_uk_rules() -> None:
    regular = course(can_become_pregnant=True)
    irregular = course(can_become_pregnant=True, irregular_periods=True)
    assert pregnancy_test_dates(irregular) == pregnancy_test_dates(regular)


# --- US REMS rules ------------------------------------------------------------------------------


def test_rems_two_tests_before_start_weekly_in_the_first_4_weeks_then_before_each_cycle() -> None:
    c = course(can_become_pregnant=True, rules=RuleSet.US_REMS)
    expected = (-14, -1, 7, 14, 21, 25, 28, 53, 81, 109)
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in expected]


def test_rems_weekly_tests_say_weekly_and_the_others_do_not() -> None:
    c = course(can_become_pregnant=True, rules=RuleSet.US_REMS)
    tests = of_kind(plan(c, SETTINGS, day(-20), day(60)), Kind.PREGNANCY_TEST)
    weekly = [r.local_date for r in tests if all("weekly" in t for t in texts(r))]
    assert weekly == [day(n) for n in (7, 14, 21, 28)]
    assert not [r for r in tests if r.local_date not in weekly and "weekly" in render(r, PLAIN)]


def test_rems_irregular_periods_give_a_test_at_least_every_14_days() -> None:
    c = course(can_become_pregnant=True, rules=RuleSet.US_REMS, irregular_periods=True)
    expected = (-14, -1, 7, 14, 21, 25, 28, 42, 53, 67, 81, 95, 109)
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in expected]


def test_rems_irregular_periods_keep_testing_every_14_days_through_a_hold() -> None:
    c = course(
        can_become_pregnant=True,
        rules=RuleSet.US_REMS,
        irregular_periods=True,
        holds=(Hold(start=day(30), end=day(100)),),
        delays=(CycleDelay(3, 28),),
    )
    tests = pregnancy_test_dates(c, first=0, last=120)
    assert max((b - a).days for a, b in pairwise(tests)) <= REMS_IRREGULAR_GAP
    assert day(81) in tests  # cycle 3 now starts on day 84


def test_rems_last_test_is_28_days_after_the_end() -> None:
    c = course(can_become_pregnant=True, rules=RuleSet.US_REMS, end=day(17))
    assert pregnancy_test_dates(c, last=300) == [day(n) for n in (-14, -1, 7, 14, 45)]


# --- Properties over any course ------------------------------------------------------------------


@st.composite
def pregnant_courses(draw: st.DrawFn) -> Course:
    """Any course of a patient who can become pregnant, with or without irregular periods."""
    c = draw(courses(can_become_pregnant=True))
    return replace(c, irregular_periods=draw(st.booleans()))


def gap_of(c: Course) -> int:
    irregular = c.rules is RuleSet.US_REMS and c.irregular_periods
    return REMS_IRREGULAR_GAP if irregular else UK_GAP


def walked_test_dates(c: Course, last: date) -> list[date]:
    """The rule as a clinician states it, by walking the course from before its start."""
    start = cycle_start(c, 1)
    before = {RuleSet.UK: (-3,), RuleSet.US_REMS: (-14, -1)}[c.rules]
    weekly = {RuleSet.UK: (), RuleSet.US_REMS: (7, 14, 21, 28)}[c.rules]
    until = min(last, c.end) if c.end is not None else last
    fixed = {start + timedelta(days=n) for n in (*before, *weekly)}
    n = 2
    while (first := cycle_start(c, n)) <= until + timedelta(days=3):
        if c.end is None or first <= c.end:
            fixed.add(first - timedelta(days=3))
        n += 1
    walked: list[date] = []
    for anchor in sorted(d for d in fixed if d <= until):
        while walked and (anchor - walked[-1]).days > gap_of(c):
            walked.append(walked[-1] + timedelta(days=gap_of(c)))
        walked.append(anchor)
    while walked and (walked[-1] + timedelta(days=gap_of(c))) <= until:
        walked.append(walked[-1] + timedelta(days=gap_of(c)))
    if c.end is not None:
        walked = [d for d in walked if d <= c.end] + [c.end + timedelta(days=28)]
    return [d for d in walked if d <= last]


@settings(max_examples=150, deadline=None)
@given(c=pregnant_courses())
def test_pregnancy_tests_are_the_walked_rule(c: Course) -> None:
    c = replace(c, enrolled_at=utc(2000, 1, 1))
    start = cycle_start(c, 1)
    last = start + timedelta(days=300)
    got = dates(plan(c, SETTINGS, start - timedelta(days=30), last), Kind.PREGNANCY_TEST)
    assert got == walked_test_dates(c, last)


@settings(max_examples=150, deadline=None)
@given(c=pregnant_courses())
def test_tests_in_treatment_are_never_more_than_the_gap_apart(c: Course) -> None:
    c = replace(c, enrolled_at=utc(2000, 1, 1))
    start = cycle_start(c, 1)
    last = start + timedelta(days=300)
    tests = dates(plan(c, SETTINGS, start - timedelta(days=30), last), Kind.PREGNANCY_TEST)
    until = min(last, c.end) if c.end is not None else last
    in_treatment = [d for d in tests if d <= until]
    for a, b in pairwise(in_treatment):
        if b >= start:
            assert (b - a).days <= gap_of(c), (a, b)
    # And no day of treatment is a gap or more after the latest test.
    if start <= until:
        assert in_treatment and (until - in_treatment[-1]).days < gap_of(c)
    # After the end: only the test 28 days after the last dose.
    if c.end is not None:
        assert [d for d in tests if d > c.end] == [
            d for d in [c.end + timedelta(days=28)] if d <= last
        ]


@settings(max_examples=150, deadline=None)
@given(c=pregnant_courses())
def test_every_cycle_in_treatment_has_a_test_3_days_before_day_1(c: Course) -> None:
    """Unless that test was due before the patient was enrolled."""
    always = replace(c, enrolled_at=utc(2000, 1, 1))
    last = cycle_start(c, 1) + timedelta(days=300)
    n = 2
    while (first := cycle_start(c, n)) <= last and (c.end is None or first <= c.end):
        test_day = first - timedelta(days=3)
        (test,) = of_kind(plan(always, SETTINGS, test_day, test_day), Kind.PREGNANCY_TEST)
        sent = of_kind(plan(c, SETTINGS, test_day, test_day), Kind.PREGNANCY_TEST)
        assert sent == ([test] if test.due_at >= c.enrolled_at else [])
        n += 1


@st.composite
def any_pregnancy_course(draw: st.DrawFn) -> Course:
    c = draw(courses())
    return replace(c, irregular_periods=draw(st.booleans()))


@settings(max_examples=100, deadline=None)
@given(c=any_pregnancy_course(), offset=st.integers(-60, 250), length=st.integers(1, 60))
def test_tests_and_contraception_of_a_range_are_those_of_its_days(
    c: Course, offset: int, length: int
) -> None:
    """plan() stays local in dates (bot.conversation.next.firsts relies on it)."""
    first = c.start + timedelta(days=offset)
    last = first + timedelta(days=length - 1)
    kinds = (Kind.PREGNANCY_TEST, Kind.CONTRACEPTION)
    whole = [(r.key, r.due_at, r.facts) for r in plan(c, SETTINGS, first, last) if r.kind in kinds]
    days = [
        (r.key, r.due_at, r.facts)
        for n in range(length)
        for r in plan(c, SETTINGS, first + timedelta(days=n), first + timedelta(days=n))
        if r.kind in kinds
    ]
    assert sorted(whole, key=str) == sorted(days, key=str)


# --- What the pregnancy-test prompt says ---------------------------------------------------------


@pytest.mark.parametrize("rules", list(RuleSet))
def test_every_test_before_the_end_reminds_the_patient_of_contraception(rules: RuleSet) -> None:
    end = day(100)
    c = course(can_become_pregnant=True, rules=rules, end=end)
    tests = of_kind(plan(c, SETTINGS, day(-20), day(140)), Kind.PREGNANCY_TEST)
    during = [r for r in tests if r.local_date <= end]
    assert len(during) >= 4
    for r in during:
        for text in texts(r):
            assert "contraception" in text, text
            if rules is RuleSet.US_REMS:
                assert "both forms of contraception" in text, text


def test_a_test_during_treatment_says_it_comes_before_more_capsules() -> None:
    (test,) = of_kind(plan_days(course(can_become_pregnant=True), day(25), 1), Kind.PREGNANCY_TEST)
    assert "before more capsules" in render(test, PLAIN)
    assert "Keep using contraception, breaks too" in render(test, PLAIN)


# --- Contraception ------------------------------------------------------------------------------


@pytest.mark.parametrize(("female", "partner"), [(True, False), (False, True), (True, True)])
def test_contraception_reminder_4_weeks_before_start(female: bool, partner: bool) -> None:
    c = course(can_become_pregnant=female, partner_can_become_pregnant=partner)
    (before,) = [r for r in contraception(c, last=100) if r.facts["phase"] == "before"]
    assert before.local_date == day(-28)
    assert before.facts["start"] == START
    assert (before.facts["female"], before.facts["partner"]) == (female, partner)


def test_no_contraception_reminders_when_nobody_can_become_pregnant() -> None:
    c = course(end=day(40))
    assert contraception(c) == []


@pytest.mark.parametrize(
    ("rules", "female", "partner", "until", "condoms_until"),
    [
        (RuleSet.UK, True, False, 28, 7),
        (RuleSet.UK, False, True, 28, 7),
        (RuleSet.US_REMS, False, True, 28, 28),
        (RuleSet.US_REMS, True, True, 28, 28),
    ],
)
def test_contraception_after_the_end_runs_to_the_rule_dates(
    rules: RuleSet, female: bool, partner: bool, until: int, condoms_until: int
) -> None:
    end = day(37)
    c = course(
        rules=rules, can_become_pregnant=female, partner_can_become_pregnant=partner, end=end
    )
    (reminder,) = [r for r in contraception(c) if r.facts["phase"] == "after"]
    assert reminder.local_date == end + timedelta(days=1)
    assert reminder.local_time == time(10, 0)
    assert reminder.facts["until"] == end + timedelta(days=until)
    assert reminder.facts["condoms_until"] == end + timedelta(days=condoms_until)
    assert (reminder.facts["female"], reminder.facts["partner"]) == (female, partner)


def test_rems_contraception_names_two_forms_at_the_same_time() -> None:
    rems = course(can_become_pregnant=True, rules=RuleSet.US_REMS, end=day(37))
    uk = replace(rems, rules=RuleSet.UK)
    for r in contraception(rems):
        for text in texts(r):
            assert "2 forms of contraception together" in text, text
    for r in contraception(uk):
        for text in texts(r):
            assert "effective contraception" in text and "2 forms" not in text, text


@pytest.mark.parametrize("rules", list(RuleSet))
def test_a_man_whose_partner_can_become_pregnant_is_reminded_of_condoms_during_treatment(
    rules: RuleSet,
) -> None:
    c = course(
        partner_can_become_pregnant=True,
        rules=rules,
        end=day(100),
        delays=(CycleDelay(cycle=3, days=7),),
    )
    during = [r for r in contraception(c) if r.facts["phase"] == "during"]
    # 3 days before each cycle (the third one delayed to day 63), at most 4 weeks apart.
    assert [r.local_date for r in during] == [day(n) for n in (25, 53, 60, 88)]
    for r in during:
        assert r.local_time == time(10, 0)
        for text in texts(r):
            assert "Use condoms during sex at all times" in text, text
            assert "No sperm donation" in text, text


def test_a_patient_who_can_become_pregnant_hears_of_contraception_with_each_test_instead() -> None:
    c = course(can_become_pregnant=True, end=day(100))
    assert [r.facts["phase"] for r in contraception(c)] == ["before", "after"]


def test_mid_course_enrolment_sends_one_contraception_message_at_once() -> None:
    enrolled = utc(2026, 7, 1, 12, 0)  # day 30, 13:00 BST
    c = course(can_become_pregnant=True, enrolled_at=enrolled)
    (message,) = contraception(c)
    assert (message.local_date, message.due_at) == (day(30), enrolled)
    assert message.expires_at >= enrolled + timedelta(hours=12)
    assert message.facts["phase"] == "enrolled"
    plain, discreet = texts(message)
    assert "Use effective contraception at all times" in plain and "lenalidomide" in plain
    assert "breaks and pauses too" in discreet and "lenalidomide" not in discreet


def test_mid_course_enrolment_before_notice_time_waits_for_it() -> None:
    c = course(partner_can_become_pregnant=True, enrolled_at=utc(2026, 7, 1, 6, 0))  # 07:00
    enrolled = [r for r in contraception(c) if r.facts["phase"] == "enrolled"]
    assert [(r.local_date, r.local_time) for r in enrolled] == [(day(30), time(10, 0))]
    assert "Use condoms during sex at all times" in render(enrolled[0], PLAIN)


def test_mid_course_enrolment_in_quiet_hours_waits_for_the_morning() -> None:
    c = course(can_become_pregnant=True, enrolled_at=utc(2026, 7, 1, 21, 30))  # 22:30 BST
    (message,) = contraception(c)
    assert (message.local_date, message.local_time) == (day(31), time(8, 0))


def test_enrolment_on_a_condom_reminder_day_sends_one_message_the_enrolment_one() -> None:
    # Day 25, 07:00 BST: the enrolment message and the day's condom reminder are both at 10:00.
    c = course(partner_can_become_pregnant=True, enrolled_at=utc(2026, 6, 26, 6, 0))
    messages = contraception(c, last=60)
    assert [(r.local_date, r.facts["phase"]) for r in messages] == [
        (day(25), "enrolled"),
        (day(53), "during"),
    ]


def test_enrolment_after_the_4_week_notice_but_before_starting_names_the_start() -> None:
    c = course(can_become_pregnant=True, enrolled_at=utc(2026, 5, 20, 12, 0))  # day -12
    (message,) = contraception(c, last=60)
    assert (message.local_date, message.due_at) == (day(-12), utc(2026, 5, 20, 12, 0))
    assert message.facts["phase"] == "before"
    assert "starts Mon 1 Jun" in render(message, PLAIN)


def test_enrolment_after_the_end_sends_no_enrolment_message() -> None:
    c = course(can_become_pregnant=True, end=day(20), enrolled_at=utc(2026, 6, 25, 12, 0))
    assert "enrolled" not in [r.facts["phase"] for r in contraception(c)]


def test_enrolment_before_the_4_week_notice_gets_that_notice_only() -> None:
    c = course(can_become_pregnant=True, enrolled_at=utc(2026, 5, 4, 8, 0))  # day -28, 09:00
    assert [(r.local_date, r.facts["phase"]) for r in contraception(c, last=60)] == [
        (day(-28), "before")
    ]


# --- After-care ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("rules", "days"), [(RuleSet.UK, 7), (RuleSet.US_REMS, 28)])
def test_no_blood_donation_for_a_week_uk_and_4_weeks_rems(rules: RuleSet, days: int) -> None:
    end = day(37)
    c = course(rules=rules, end=end)
    (after,) = of_kind(plan_days(c, end + timedelta(days=1), 1), Kind.AFTERCARE)
    allowed = end + timedelta(days=days + 1)
    assert after.facts["blood_donation_from"] == allowed
    assert f"No blood donation before {allowed:%a} {allowed.day} {allowed:%b}" in render(
        after, PLAIN
    )
