"""DST days in the patient's zone: no dose skipped or doubled, each where the product promises."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scheduler.domain.calendar import is_dose_day
from scheduler.domain.model import Appointment, Kind
from tests.unit.builders import REGIMENS, ZONES, course, dates, of_kind, plan_days


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def dose_on(tz: str, at: time, on: date):
    """The one dose reminder planned for ``on`` by a continuous course in ``tz``."""
    c = course(tz=tz, dose_time=at, regimen="continuous", start=on - timedelta(days=20))
    doses = of_kind(plan_days(c, on, 1), Kind.DOSE)
    assert len(doses) == 1, doses
    return doses[0]


# --- Spring forward: the dose time does not exist -----------------------------------------------


@pytest.mark.parametrize(
    ("tz", "at", "on", "local", "due"),
    [
        ("Europe/London", time(1, 30), date(2027, 3, 28), time(2, 0), utc(2027, 3, 28, 1, 0)),
        ("Europe/London", time(1, 0), date(2027, 3, 28), time(2, 0), utc(2027, 3, 28, 1, 0)),
        ("Europe/London", time(1, 59), date(2027, 3, 28), time(2, 0), utc(2027, 3, 28, 1, 0)),
        ("America/New_York", time(2, 30), date(2027, 3, 14), time(3, 0), utc(2027, 3, 14, 7, 0)),
        ("Australia/Lord_Howe", time(2, 15), date(2026, 10, 4), time(2, 30),
         utc(2026, 10, 3, 15, 30)),
    ],
)
def test_dose_time_in_the_spring_gap_moves_to_the_first_valid_minute(
    tz: str, at: time, on: date, local: time, due: datetime
) -> None:
    dose = dose_on(tz, at, on)
    assert dose.local_date == on
    assert dose.local_time == local
    assert dose.due_at == due
    assert dose.expires_at == due + timedelta(hours=12)


# --- Fall back: the dose time happens twice ------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "at", "on", "due"),
    [
        ("Europe/London", time(1, 30), date(2026, 10, 25), utc(2026, 10, 25, 0, 30)),  # BST
        ("America/New_York", time(1, 30), date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),  # EDT
        ("Australia/Lord_Howe", time(1, 45), date(2027, 4, 4), utc(2027, 4, 3, 14, 45)),
    ],
)
def test_dose_time_in_the_autumn_overlap_is_sent_once_at_the_first(
    tz: str, at: time, on: date, due: datetime
) -> None:
    c = course(tz=tz, dose_time=at, regimen="continuous", start=on - timedelta(days=20))
    doses = of_kind(plan_days(c, on - timedelta(days=1), 3), Kind.DOSE)
    assert [d.local_date for d in doses] == [on - timedelta(days=1), on, on + timedelta(days=1)]
    dose = doses[1]
    assert dose.due_at == due
    assert dose.local_time == at
    assert dose.due_at.astimezone(ZoneInfo(tz)).fold == 0


# --- Ordinary days keep the wall-clock time ------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "before", "after", "utc_before", "utc_after"),
    [
        # London spring: 09:00 GMT then 09:00 BST.
        ("Europe/London", date(2027, 3, 27), date(2027, 3, 29), 9, 8),
        # London autumn: 09:00 BST then 09:00 GMT.
        ("Europe/London", date(2026, 10, 24), date(2026, 10, 26), 8, 9),
        # New York spring: 09:00 EST then 09:00 EDT.
        ("America/New_York", date(2027, 3, 13), date(2027, 3, 15), 14, 13),
        # New York autumn: 09:00 EDT then 09:00 EST.
        ("America/New_York", date(2026, 10, 31), date(2026, 11, 2), 13, 14),
    ],
)
def test_dose_stays_at_the_same_local_time_across_a_clock_change(
    tz: str, before: date, after: date, utc_before: int, utc_after: int
) -> None:
    c = course(tz=tz, dose_time=time(9, 0), regimen="continuous", start=before - timedelta(20))
    doses = of_kind(plan_days(c, before, 3), Kind.DOSE)
    assert [d.local_date for d in doses] == [before, before + timedelta(days=1), after]
    assert {d.local_time for d in doses} == {time(9, 0)}
    assert doses[0].due_at.hour == utc_before
    assert doses[2].due_at.hour == utc_after
    assert doses[2].due_at - doses[0].due_at == timedelta(hours=48 + utc_after - utc_before)


# --- Notice expiry on a 23- or 25-hour day ------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "on", "due", "midnight", "hours"),
    [
        ("Europe/London", date(2027, 3, 28), utc(2027, 3, 28, 9), utc(2027, 3, 28, 0), 23),
        ("Europe/London", date(2026, 10, 25), utc(2026, 10, 25, 10), utc(2026, 10, 24, 23), 25),
        ("America/New_York", date(2027, 3, 14), utc(2027, 3, 14, 14), utc(2027, 3, 14, 5), 23),
        ("America/New_York", date(2026, 11, 1), utc(2026, 11, 1, 15), utc(2026, 11, 1, 4), 25),
    ],
)
def test_notice_on_a_clock_change_day_expires_at_the_end_of_that_local_day(
    tz: str, on: date, due: datetime, midnight: datetime, hours: int
) -> None:
    c = course(tz=tz, appointments=(Appointment(on=on),))
    (notice,) = of_kind(plan_days(c, on, 1), Kind.BLOOD_TEST)
    assert notice.due_at == due
    assert notice.local_time == time(10, 0)
    assert notice.expires_at - midnight == timedelta(hours=hours)


# --- Property: any zone, any dose time, around every clock change --------------------------------


def _noon_offset(tz: ZoneInfo, day: date) -> timedelta:
    offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
    assert offset is not None
    return offset


@cache
def clock_changes(name: str) -> tuple[date, ...]:
    """Local dates (2012-2035) on which ``name`` changes its UTC offset.

    Samoa's skipped day (30 December 2011) is a fixed example below, so that the random search
    stays reproducible.
    """
    tz = ZoneInfo(name)
    found, day = [], date(2012, 1, 1)
    previous = _noon_offset(tz, day)
    while day < date(2035, 12, 31):
        day += timedelta(days=1)
        offset = _noon_offset(tz, day)
        if offset != previous:
            found.append(day)
        previous = offset
    return tuple(found)


@st.composite
def around_a_clock_change(draw: st.DrawFn) -> tuple[str, date, time, str, int]:
    tz = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(clock_changes(tz)))
    at = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 1, 15, 29, 30, 45, 59])))
    return tz, change, at, draw(st.sampled_from(REGIMENS)), draw(st.integers(0, 60))


def test_every_zone_in_the_property_really_changes_its_clocks() -> None:
    for tz in ZONES:
        assert len(clock_changes(tz)) >= 4, tz


@settings(max_examples=120, deadline=None)
@given(case=around_a_clock_change())
# Samoa skipped Friday 30 December 2011 entirely (UTC-10 -> UTC+14).
@example(case=("Pacific/Apia", date(2011, 12, 31), time(9, 0), "continuous", 10))
@example(case=("Australia/Lord_Howe", date(2026, 10, 4), time(2, 0), "continuous", 10))
@example(case=("America/Santiago", date(2026, 9, 6), time(0, 0), "continuous", 10))
@example(case=("America/Santiago", date(2026, 4, 5), time(23, 30), "continuous", 10))
def test_never_two_dose_messages_on_one_local_date(case: tuple[str, date, time, str, int]) -> None:
    tz, change, at, regimen, lead = case
    zone = ZoneInfo(tz)
    c = course(tz=tz, dose_time=at, regimen=regimen, start=change - timedelta(days=lead))
    first = change - timedelta(days=3)
    doses = of_kind(plan_days(c, first, 7), Kind.DOSE)
    sent_on = [d.due_at.astimezone(zone).date() for d in doses]
    # One capsule message per local calendar date, on the date it is planned for.
    assert len(sent_on) == len(set(sent_on))
    assert sent_on == [d.local_date for d in doses]
    # And one for every dose day that exists on the wall calendar: none skipped.
    days = [first + timedelta(days=i) for i in range(7)]
    real = [d for d in days if datetime.combine(d, time(12, 0), zone).astimezone(UTC).astimezone(zone).date() == d]
    assert len(doses) == sum(is_dose_day(c, d) for d in real)
    for dose in doses:
        wall = dose.due_at.astimezone(zone)
        assert wall.fold == 0  # first occurrence of a repeated time
        if wall.time() != at:
            # Only a time that does not exist moves, to the first minute after the gap.
            just_before = (dose.due_at - timedelta(minutes=1)).astimezone(zone)
            assert wall.time() > at
            assert just_before.replace(tzinfo=None) < datetime.combine(dose.local_date, at)
        assert dose.expires_at == dose.due_at + timedelta(hours=12)


@settings(max_examples=40, deadline=None)
@given(case=around_a_clock_change())
def test_no_notice_is_lost_or_doubled_on_a_clock_change_day(
    case: tuple[str, date, time, str, int],
) -> None:
    tz, change, _, regimen, lead = case
    zone = ZoneInfo(tz)
    c = course(tz=tz, regimen=regimen, start=change - timedelta(days=lead),
               appointments=(Appointment(on=change),))
    reminders = plan_days(c, change - timedelta(days=1), 3)
    assert change in dates(reminders, Kind.BLOOD_TEST)
    for r in reminders:
        if r.kind is not Kind.DOSE:
            assert r.due_at.astimezone(zone).date() == r.local_date
            assert r.expires_at.astimezone(zone).date() == r.local_date + timedelta(days=1)
            assert r.expires_at.astimezone(zone).time() <= time(1, 0)


def test_a_calendar_day_the_zone_skips_gets_no_dose_and_does_not_break_the_plan() -> None:
    # Samoa went from Thursday 29 to Saturday 31 December 2011. The dose "for" the 30th must
    # not be sent at 00:00 on the 31st next to the 31st's own dose, and planning the 29th
    # (whose local day ends at the missing midnight) must not raise.
    c = course(tz="Pacific/Apia", regimen="continuous", start=date(2011, 12, 1),
               appointments=(Appointment(on=date(2011, 12, 29)),))
    reminders = plan_days(c, date(2011, 12, 28), 5)
    zone = ZoneInfo("Pacific/Apia")
    sent_on = [d.due_at.astimezone(zone).date() for d in of_kind(reminders, Kind.DOSE)]
    assert sent_on == [date(2011, 12, 28), date(2011, 12, 29), date(2011, 12, 31),
                       date(2012, 1, 1)]
    (test,) = of_kind(reminders, Kind.BLOOD_TEST)
    assert test.expires_at == datetime(2011, 12, 30, 10, 0, tzinfo=UTC)  # 00:00 on the 31st
