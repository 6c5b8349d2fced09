"""Pregnancy prevention: tests and contraception reminders under the UK and US REMS rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.model import CycleDelay, Hold, Kind, RuleSet
from scheduler.plan import plan
from tests.unit.builders import SETTINGS, START, course, courses, dates, day, of_kind, plan_days


def pregnancy_test_dates(c, first: int = -40, last: int = 200) -> list[date]:
    return dates(plan(c, SETTINGS, day(first), day(last)), Kind.PREGNANCY_TEST)


# --- UK rules (the default) ---------------------------------------------------------------------


def test_uk_pregnancy_tests_3_days_before_start_then_every_28_days() -> None:
    c = course(can_become_pregnant=True)
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in (-3, 28, 56, 84, 112)]


def test_uk_pregnancy_test_before_start_says_so_and_comes_at_notice_time() -> None:
    reminders = plan_days(course(can_become_pregnant=True), day(-5), 5)
    (first,) = of_kind(reminders, Kind.PREGNANCY_TEST)
    assert first.local_date == date(2026, 5, 29)
    assert first.due_at == datetime(2026, 5, 29, 9, 0, tzinfo=UTC)  # 10:00 BST
    assert first.facts["before_start"] is True
    assert first.facts["after_end"] is False


def test_pregnancy_tests_continue_through_breaks_holds_and_delays() -> None:
    c = course(
        can_become_pregnant=True,
        holds=(Hold(start=day(20), end=day(60)),),
        delays=(CycleDelay(cycle=2, days=7), CycleDelay(cycle=4, days=14)),
    )
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in (-3, 28, 56, 84, 112)]


def test_last_pregnancy_test_is_28_days_after_the_end() -> None:
    c = course(can_become_pregnant=True, end=day(37))
    reminders = of_kind(plan(c, SETTINGS, day(-40), day(300)), Kind.PREGNANCY_TEST)
    assert [r.local_date for r in reminders] == [day(-3), day(28), day(65)]
    assert reminders[-1].facts["after_end"] is True
    assert reminders[-1].facts["before_start"] is False


def test_end_on_a_test_day_keeps_that_test_and_adds_the_one_after() -> None:
    c = course(can_become_pregnant=True, end=day(56))
    assert pregnancy_test_dates(c, last=300) == [day(n) for n in (-3, 28, 56, 84)]


def test_no_pregnancy_tests_for_a_patient_who_cannot_become_pregnant() -> None:
    for c in (course(), course(partner_can_become_pregnant=True, end=day(60)),
              course(rules=RuleSet.US_REMS, partner_can_become_pregnant=True)):
        assert pregnancy_test_dates(c, last=300) == []


# --- US REMS rules ------------------------------------------------------------------------------


def test_rems_two_tests_before_start_weekly_in_the_first_month_then_every_28_days() -> None:
    c = course(can_become_pregnant=True, rules=RuleSet.US_REMS)
    expected = (-14, -1, 7, 14, 21, 28, 56, 84, 112)
    assert pregnancy_test_dates(c, last=120) == [day(n) for n in expected]


def test_rems_last_test_is_28_days_after_the_end() -> None:
    c = course(can_become_pregnant=True, rules=RuleSet.US_REMS, end=day(17))
    assert pregnancy_test_dates(c, last=300) == [day(n) for n in (-14, -1, 7, 14, 45)]


@st.composite
def pregnant_courses(draw: st.DrawFn):
    """Courses for patients who can become pregnant; delays only after cycle 1."""
    c = draw(courses(can_become_pregnant=True, enrolled_at=datetime(2000, 1, 1, tzinfo=UTC)))
    delays = tuple(d for d in c.delays if d.cycle >= 2)
    return replace(c, delays=delays)


@settings(max_examples=50, deadline=None)
@given(c=pregnant_courses())
def test_pregnancy_tests_fall_exactly_on_the_rule_days(c) -> None:
    before = {RuleSet.UK: (-3,), RuleSet.US_REMS: (-14, -1)}[c.rules]
    early = {RuleSet.UK: (), RuleSet.US_REMS: (7, 14, 21, 28)}[c.rules]
    last = c.start + timedelta(days=400)
    during_until = c.end if c.end is not None else last
    expected = {c.start + timedelta(days=n) for n in before}
    expected |= {c.start + timedelta(days=n) for n in early}
    expected |= {c.start + timedelta(days=28 * k) for k in range(1, 16)}
    expected = {d for d in expected if d <= during_until}
    if c.end is not None:
        expected.add(c.end + timedelta(days=28))
    got = dates(plan(c, SETTINGS, c.start - timedelta(days=30), last), Kind.PREGNANCY_TEST)
    assert got == sorted(expected)


# --- Contraception ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("female", "partner"), [(True, False), (False, True), (True, True)]
)
def test_contraception_reminder_4_weeks_before_start(female: bool, partner: bool) -> None:
    c = course(can_become_pregnant=female, partner_can_become_pregnant=partner)
    (before,) = of_kind(plan(c, SETTINGS, day(-60), day(100)), Kind.CONTRACEPTION)
    assert before.local_date == day(-28)
    assert before.facts["phase"] == "before"
    assert before.facts["start"] == START
    assert (before.facts["female"], before.facts["partner"]) == (female, partner)


def test_no_contraception_reminders_when_nobody_can_become_pregnant() -> None:
    c = course(end=day(40))
    assert of_kind(plan(c, SETTINGS, day(-60), day(300)), Kind.CONTRACEPTION) == []


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
    c = course(rules=rules, can_become_pregnant=female, partner_can_become_pregnant=partner,
               end=end)
    after = [r for r in of_kind(plan(c, SETTINGS, day(-60), day(300)), Kind.CONTRACEPTION)
             if r.facts["phase"] == "after"]
    (reminder,) = after
    assert reminder.local_date == end + timedelta(days=1)
    assert reminder.local_time == time(10, 0)
    assert reminder.facts["until"] == end + timedelta(days=until)
    assert reminder.facts["condoms_until"] == end + timedelta(days=condoms_until)
    assert (reminder.facts["female"], reminder.facts["partner"]) == (female, partner)
