"""The plan: every message a course implies, on the right dates, once, in order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from messages.render import Profile, render
from scheduler.domain.model import (
    Appointment,
    CycleDelay,
    EarlierDoseTime,
    Hold,
    Kind,
    PlanSettings,
)
from scheduler.domain.plan import add_months, plan, plan_window
from tests.unit.builders import (
    SETTINGS,
    START,
    course,
    courses,
    dates,
    day,
    of_kind,
    plan_days,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- Doses, breaks and cycle notices -----------------------------------------------------------


def test_default_course_sends_21_dose_reminders_per_cycle_and_none_in_the_break() -> None:
    reminders = plan_days(course(), START, 84)
    doses = of_kind(reminders, Kind.DOSE)
    assert len(doses) == 63
    assert [(r.cycle, r.day) for r in doses] == [
        (n, d) for n in (1, 2, 3) for d in range(1, 22)
    ]
    break_days = {day(28 * n + d) for n in range(3) for d in range(21, 28)}
    assert not break_days & {r.local_date for r in doses}


def test_dose_reminder_is_at_the_usual_local_time_with_cycle_day_and_date() -> None:
    doses = of_kind(plan_days(course(), day(30), 1), Kind.DOSE)
    assert len(doses) == 1
    dose = doses[0]
    assert (dose.cycle, dose.day) == (2, 3)
    assert dose.local_date == date(2026, 7, 1)
    assert dose.local_time == time(9, 0)
    assert dose.due_at == utc(2026, 7, 1, 8, 0)  # 09:00 BST
    assert dose.facts["date"] == date(2026, 7, 1)
    assert dose.facts["of"] == 21


def test_break_start_on_day_22_and_cycle_start_the_day_before_day_1() -> None:
    reminders = plan_days(course(), day(-5), 90)
    breaks = of_kind(reminders, Kind.BREAK_START)
    assert [r.local_date for r in breaks] == [day(21), day(49), day(77)]
    assert breaks[0].facts["until"] == day(27)
    assert breaks[0].facts["next_cycle"] == 2
    assert breaks[0].facts["next_start"] == day(28)
    starts = of_kind(reminders, Kind.CYCLE_START)
    assert [r.local_date for r in starts] == [day(-1), day(27), day(55), day(83)]
    assert [r.facts["cycle"] for r in starts] == [1, 2, 3, 4]
    assert starts[1].facts["start"] == day(28)
    assert starts[1].local_time == time(10, 0)
    assert starts[1].due_at == utc(2026, 6, 28, 9, 0)  # notice time 10:00 BST


def test_continuous_course_announces_only_the_first_cycle_and_no_break() -> None:
    reminders = plan_days(course(regimen="continuous"), day(-5), 120)
    assert len(of_kind(reminders, Kind.DOSE)) == 115
    assert of_kind(reminders, Kind.BREAK_START) == []
    assert dates(reminders, Kind.CYCLE_START) == [day(-1)]


def test_every_other_day_course_gets_no_break_notice() -> None:
    # Day 28 of "days=1,3,...,27/28" is the same 48-hour gap as every other: no break.
    reminders = plan_days(course(regimen="days=1,3,5,...,27/28"), START, 84)
    assert len(of_kind(reminders, Kind.DOSE)) == 42
    assert of_kind(reminders, Kind.BREAK_START) == []


def test_14_of_21_course_breaks_on_day_15() -> None:
    reminders = plan_days(course(regimen="14/21"), START, 42)
    assert len(of_kind(reminders, Kind.DOSE)) == 28
    assert dates(reminders, Kind.BREAK_START) == [day(14), day(35)]
    assert dates(reminders, Kind.CYCLE_START) == [day(20), day(41)]


# --- Holds ------------------------------------------------------------------------------------


def test_holds_remove_doses_but_keep_pregnancy_tests_and_blood_tests() -> None:
    hold = Hold(start=day(14), end=day(35))
    held = plan_days(course(can_become_pregnant=True, holds=(hold,)), START, 60)
    free = plan_days(course(can_become_pregnant=True), START, 60)
    dose_dates = dates(held, Kind.DOSE)
    assert not [d for d in dose_dates if hold.start <= d < hold.end]
    assert set(dates(free, Kind.DOSE)) - set(dose_dates) == {
        d for d in dates(free, Kind.DOSE) if hold.start <= d < hold.end
    }
    assert day(13) in dose_dates and day(35) in dose_dates
    assert dates(held, Kind.PREGNANCY_TEST) == dates(free, Kind.PREGNANCY_TEST)
    assert day(25) in dates(held, Kind.PREGNANCY_TEST)  # 3 days before cycle 2, in the hold
    assert dates(held, Kind.BLOOD_TEST) == dates(free, Kind.BLOOD_TEST)
    assert {day(14), day(21), day(28)} <= set(dates(held, Kind.BLOOD_TEST))


def test_hold_keeps_cycle_numbers_when_doses_restart() -> None:
    held = plan_days(course(holds=(Hold(start=day(14), end=day(35)),)), START, 60)
    first_back = next(r for r in of_kind(held, Kind.DOSE) if r.local_date >= day(35))
    assert (first_back.local_date, first_back.cycle, first_back.day) == (day(35), 2, 8)


def test_no_break_or_cycle_notice_while_on_hold() -> None:
    held = plan_days(course(holds=(Hold(start=day(14), end=day(35)),)), START, 60)
    assert day(21) not in dates(held, Kind.BREAK_START)
    assert day(27) not in dates(held, Kind.CYCLE_START)


def test_hold_and_resume_are_announced_the_day_before_at_notice_time() -> None:
    hold = Hold(start=day(14), end=day(35))
    reminders = plan_days(course(holds=(hold,)), START, 60)
    (paused,) = of_kind(reminders, Kind.HOLD)
    (resumed,) = of_kind(reminders, Kind.RESUME)
    assert paused.local_date == day(13)
    assert paused.due_at == utc(2026, 6, 14, 9, 0)  # 10:00 BST
    assert paused.facts["effective"] == day(14)
    assert resumed.local_date == day(34)
    assert resumed.due_at == utc(2026, 7, 5, 9, 0)
    assert resumed.facts["effective"] == day(35)
    assert resumed.facts["dose_time"] == time(9, 0)


def test_hold_recorded_less_than_a_day_before_its_eve_notice_is_left_to_the_correction() -> None:
    # The care action tells the patient at once (scheduler.domain.corrections); an eve notice an hour
    # or two later would only say it again.
    hold = Hold(
        start=day(14),
        end=day(35),
        created_at=utc(2026, 6, 14, 8, 0),  # day 13, 09:00 BST: the eve notice is at 10:00
        resumed_at=utc(2026, 7, 6, 7, 30),  # the restart day itself, 08:30 BST
    )
    reminders = plan_days(course(holds=(hold,)), START, 60)
    assert of_kind(reminders, Kind.HOLD) == []
    assert of_kind(reminders, Kind.RESUME) == []
    earlier = Hold(start=day(14), created_at=utc(2026, 6, 13, 9, 0))  # exactly a day before
    assert dates(plan_days(course(holds=(earlier,)), START, 60), Kind.HOLD) == [day(13)]


def test_a_pause_after_the_end_is_never_announced() -> None:
    c = course(end=day(10), holds=(Hold(start=day(14), end=day(20)),))
    reminders = plan_days(c, START, 60)
    assert of_kind(reminders, Kind.HOLD) == [] and of_kind(reminders, Kind.RESUME) == []


def test_a_past_end_sends_the_after_treatment_messages_when_recorded_outside_quiet_hours() -> None:
    end = day(20)
    # Recorded on day 30 at 22:30 BST: quiet hours, so the next morning at 08:00.
    c = course(end=end, ended_at=utc(2026, 7, 1, 21, 30), can_become_pregnant=True)
    reminders = plan_days(c, START, 60)
    (after,) = of_kind(reminders, Kind.AFTERCARE)
    (contra,) = of_kind(reminders, Kind.CONTRACEPTION)
    for r in (after, contra):
        assert (r.local_date, r.due_at, r.local_time) == (day(31), utc(2026, 7, 2, 7, 0), time(8))
        assert r.expires_at >= r.due_at + timedelta(hours=12)
    assert after.facts["last_dose"] == end
    # Recorded before the day after the end: planned as usual, at notice time that day.
    on_time = course(end=end, ended_at=utc(2026, 6, 10, 12, 0))
    (usual,) = of_kind(plan_days(on_time, START, 60), Kind.AFTERCARE)
    assert (usual.local_date, usual.due_at) == (day(21), utc(2026, 6, 22, 9, 0))


def test_dose_time_in_force_each_day_after_a_change() -> None:
    c = course(
        dose_time=time(20, 0), earlier_dose_times=(EarlierDoseTime(day(5), time(9, 0)),)
    )
    doses = of_kind(plan_days(c, START, 8), Kind.DOSE)
    assert [r.local_time for r in doses] == [time(9)] * 5 + [time(20)] * 3


def test_hold_recorded_early_is_announced_the_day_before() -> None:
    hold = Hold(start=day(14), created_at=utc(2026, 6, 2, 12, 0))
    (paused,) = of_kind(plan_days(course(holds=(hold,)), START, 60), Kind.HOLD)
    assert (paused.local_date, paused.due_at) == (day(13), utc(2026, 6, 14, 9, 0))


def test_resume_notice_names_the_next_dose_day_when_the_hold_ends_in_a_break() -> None:
    # Held from cycle 1 day 15; the team sets the restart for Thu 25 Jun, which is day 25,
    # a break day. The next capsule is cycle 2 day 1, Mon 29 Jun: telling the patient to
    # restart on the 25th would have them take capsules through the rest of the break.
    c = course(holds=(Hold(start=day(14), end=day(24)),))
    reminders = plan_days(c, START, 40)
    assert dates(reminders, Kind.DOSE)[14] == day(28)
    (resumed,) = of_kind(reminders, Kind.RESUME)
    for variant in (False, True):
        text = render(resumed, Profile(name="Ann", discreet=variant))
        assert "Thu 25 Jun" not in text
        assert "Mon 29 Jun" in text


def test_open_hold_has_no_resume_notice_and_no_further_doses() -> None:
    reminders = plan_days(course(holds=(Hold(start=day(14)),)), START, 120)
    assert of_kind(reminders, Kind.RESUME) == []
    assert max(dates(reminders, Kind.DOSE)) == day(13)


# --- Delays -----------------------------------------------------------------------------------


def test_delay_shifts_the_cycle_and_stretches_the_break() -> None:
    reminders = plan_days(course(delays=(CycleDelay(cycle=2, days=7),)), START, 100)
    doses = of_kind(reminders, Kind.DOSE)
    cycle2 = [r.local_date for r in doses if r.cycle == 2]
    assert cycle2 == [day(35 + i) for i in range(21)]
    assert not [r for r in doses if day(21) <= r.local_date < day(35)]
    (first_break, second_break) = of_kind(reminders, Kind.BREAK_START)[:2]
    assert first_break.local_date == day(21)
    assert first_break.facts["until"] == day(34)
    assert first_break.facts["next_start"] == day(35)
    assert second_break.local_date == day(56)
    assert dates(reminders, Kind.CYCLE_START)[:2] == [day(34), day(62)]


def test_delay_moves_the_pre_cycle_blood_test() -> None:
    delayed = plan_days(course(delays=(CycleDelay(cycle=3, days=7),)), START, 100)
    tests = dates(delayed, Kind.BLOOD_TEST)
    assert day(61) in tests  # 2 days before the delayed cycle 3 (day 63)
    assert day(54) not in tests
    assert day(89) in tests  # cycle 4 moves too


# --- The end of treatment ---------------------------------------------------------------------


def test_end_stops_doses_and_starts_aftercare_the_next_day() -> None:
    end = day(37)  # cycle 2 day 10, Wed 8 Jul 2026
    reminders = plan_days(course(end=end), START, 300)
    assert max(dates(reminders, Kind.DOSE)) == end
    (after,) = of_kind(reminders, Kind.AFTERCARE)
    assert after.local_date == date(2026, 7, 9)
    assert after.facts["last_dose"] == end
    assert after.facts["blood_donation_from"] == date(2026, 7, 16)  # not within a week
    assert after.facts["live_vaccines_from"] == date(2027, 1, 8)  # 6 months
    # Cycle 2 still starts before the end; its break and a cycle 3 never come.
    assert dates(reminders, Kind.BREAK_START) == [day(21)]
    assert dates(reminders, Kind.CYCLE_START) == [day(27)]


def test_routine_blood_tests_stop_at_the_end() -> None:
    reminders = plan_days(course(end=day(37)), day(-5), 300)
    assert dates(reminders, Kind.BLOOD_TEST) == [day(n) for n in (-2, 7, 14, 21, 28, 35)]


def test_a_cycle_that_would_start_after_the_end_has_no_blood_test_or_notice() -> None:
    # Ends on the last day of cycle 2's break: cycle 3 (day 56) never starts.
    reminders = plan_days(course(end=day(55)), day(-5), 300)
    assert day(54) not in dates(reminders, Kind.BLOOD_TEST)
    assert day(55) not in dates(reminders, Kind.CYCLE_START)
    assert day(49) not in dates(reminders, Kind.BREAK_START)


def test_aftercare_dates_clamp_to_the_end_of_short_months() -> None:
    (after,) = of_kind(plan_days(course(end=date(2026, 8, 31)), START, 200), Kind.AFTERCARE)
    assert after.facts["live_vaccines_from"] == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 10, 31), 6) == date(2027, 4, 30)
    assert add_months(date(2026, 7, 15), 6) == date(2027, 1, 15)


# --- Blood tests ------------------------------------------------------------------------------


def test_blood_tests_before_start_weekly_for_8_weeks_then_before_each_cycle() -> None:
    reminders = plan_days(course(), day(-10), 130)
    expected = [-2, 7, 14, 21, 28, 35, 42, 49, 54, 82, 110]
    assert dates(reminders, Kind.BLOOD_TEST) == [day(n) for n in expected]
    first = of_kind(reminders, Kind.BLOOD_TEST)[0]
    assert first.facts["before_start"] is True
    assert first.due_at == utc(2026, 5, 30, 9, 0)


def test_blood_test_lead_days_come_from_the_settings() -> None:
    reminders = plan_days(course(), day(-10), 130, PlanSettings(blood_test_lead_days=5))
    expected = [-5, 7, 14, 21, 28, 35, 42, 49, 51, 79, 107]
    assert dates(reminders, Kind.BLOOD_TEST) == [day(n) for n in expected]


def test_nurse_appointments_are_reminded_with_their_note() -> None:
    booked = (Appointment(on=day(3), note="Ward 5, 08:30."), Appointment(on=day(14)))
    reminders = plan_days(course(appointments=booked), START, 20)
    tests = {r.local_date: r for r in of_kind(reminders, Kind.BLOOD_TEST)}
    assert tests[day(3)].facts["appointment"] is True
    assert tests[day(3)].facts["note"] == "Ward 5, 08:30."
    # Booked on a routine day: one reminder, the booked one.
    assert tests[day(14)].facts["appointment"] is True
    assert sorted(tests) == [day(3), day(7), day(14)]


# --- Enrolment, windows and expiry ------------------------------------------------------------


def test_enrolled_mid_course_plans_nothing_due_before_enrolment() -> None:
    enrolled = utc(2026, 7, 1, 12, 0)  # day 30, after that day's 09:00 BST dose
    reminders = plan_days(course(enrolled_at=enrolled, can_become_pregnant=True), day(-40), 100)
    assert reminders
    assert all(r.due_at >= enrolled for r in reminders)
    first_dose = of_kind(reminders, Kind.DOSE)[0]
    assert (first_dose.local_date, first_dose.cycle, first_dose.day) == (day(31), 2, 4)
    assert dates(reminders, Kind.BLOOD_TEST)[0] == day(35)


def test_a_reminder_due_exactly_at_enrolment_is_kept() -> None:
    reminders = plan_days(course(enrolled_at=utc(2026, 7, 1, 8, 0)), day(30), 1)
    assert dates(reminders, Kind.DOSE) == [day(30)]


def test_plan_window_includes_its_start_and_excludes_its_end() -> None:
    # Doses at 08:00 UTC (09:00 BST); the window runs from day 9's dose to day 11's.
    window = plan_window(course(), SETTINGS, utc(2026, 6, 10, 8, 0), utc(2026, 6, 12, 8, 0))
    assert [(r.kind, r.local_date) for r in window] == [
        (Kind.DOSE, day(9)),
        (Kind.DOSE, day(10)),
    ]


@settings(max_examples=40, deadline=None)
@given(
    c=courses(),
    offset_hours=st.integers(min_value=-24 * 40, max_value=24 * 200),
    hours=st.integers(min_value=0, max_value=72),
)
def test_plan_window_returns_exactly_the_reminders_due_in_the_window(
    c, offset_hours: int, hours: int
) -> None:
    start = datetime.combine(c.start, time(0), tzinfo=UTC) + timedelta(hours=offset_hours)
    end = start + timedelta(hours=hours)
    everything = plan(c, SETTINGS, c.start - timedelta(days=60), c.start + timedelta(days=220))
    window = plan_window(c, SETTINGS, start, end)
    assert window == [r for r in everything if start <= r.due_at < end]


def test_dose_expires_12_hours_after_it_is_due() -> None:
    for dose in of_kind(plan_days(course(), START, 60), Kind.DOSE):
        assert dose.expires_at - dose.due_at == timedelta(hours=12)


def test_notice_expires_at_the_end_of_its_local_day() -> None:
    booked = (Appointment(on=day(3)),)
    (test,) = of_kind(plan_days(course(appointments=booked), day(3), 1), Kind.BLOOD_TEST)
    assert test.expires_at == utc(2026, 6, 4, 23, 0)  # midnight BST


# --- Whole-plan properties --------------------------------------------------------------------


def test_opted_out_course_plans_nothing() -> None:
    c = course(opted_out=True, can_become_pregnant=True, end=day(40))
    assert plan_days(c, day(-40), 200) == []


def test_empty_range_plans_nothing() -> None:
    assert plan(course(), SETTINGS, day(10), day(9)) == []


@settings(max_examples=40, deadline=None)
@given(c=courses())
def test_plan_is_deterministic_sorted_unique_and_after_enrolment(c) -> None:
    first, last = c.start - timedelta(days=40), c.start + timedelta(days=200)
    once = plan(c, SETTINGS, first, last)
    again = plan(c, SETTINGS, first, last)
    assert once == again
    assert [r.facts for r in once] == [r.facts for r in again]
    assert [r.due_at for r in once] == sorted(r.due_at for r in once)
    assert len({r.key for r in once}) == len(once)
    assert all(r.due_at >= c.enrolled_at for r in once)
    assert all(first <= r.local_date <= last for r in once)
    assert all(r.expires_at > r.due_at for r in once)


@settings(max_examples=40, deadline=None)
@given(c=courses())
def test_nothing_routine_is_planned_after_the_end_except_aftercare(c) -> None:
    if c.end is None:
        c = replace(c, end=c.start + timedelta(days=50))
    reminders = plan(c, SETTINGS, c.start - timedelta(days=40), c.start + timedelta(days=300))
    after_end = {r.kind for r in reminders if r.local_date > c.end}
    # Hold notices follow the nurse's dates; after-treatment messages are the point.
    allowed = {Kind.AFTERCARE, Kind.CONTRACEPTION, Kind.PREGNANCY_TEST, Kind.HOLD, Kind.RESUME}
    assert after_end <= allowed
