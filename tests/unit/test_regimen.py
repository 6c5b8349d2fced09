"""Which local dates are dose days: regimens, cycle numbers, breaks, holds, delays and the end."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.domain.calendar import (
    cycle_start,
    is_dose_day,
    locate,
    next_cycle,
    next_dose_day,
    on_regimen,
)
from scheduler.domain.model import CycleDelay, Hold, Regimen, RegimenError
from tests.unit.builders import START, course, day

starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def regimens(draw: st.DrawFn) -> Regimen:
    length = draw(st.integers(min_value=1, max_value=60))
    days = draw(st.sets(st.integers(min_value=1, max_value=length), min_size=1))
    return Regimen(length, frozenset(days))


def dose_days_in(c, first: date, n: int) -> list[date]:
    every = (first + timedelta(days=i) for i in range(n))
    return [d for d in every if is_dose_day(c, d)]


# --- The default 21/28 regimen ----------------------------------------------------------------


def test_default_cycle_doses_on_days_1_to_21_and_rests_on_days_22_to_28() -> None:
    c = course()
    for cycle in range(3):
        first = day(28 * cycle)
        assert all(is_dose_day(c, first + timedelta(days=d)) for d in range(21))
        assert not any(is_dose_day(c, first + timedelta(days=d)) for d in range(21, 28))


@settings(max_examples=40, deadline=None)
@given(start=starts, cycles=st.integers(min_value=1, max_value=6))
def test_every_default_cycle_has_exactly_21_dose_days_whatever_the_start(
    start: date, cycles: int
) -> None:
    c = course(start=start)
    for n in range(1, cycles + 1):
        first = cycle_start(c, n)
        doses = dose_days_in(c, first, 28)
        assert doses == [first + timedelta(days=i) for i in range(21)]
        assert [locate(c, d) for d in doses] == [(n, i) for i in range(1, 22)]


def test_nothing_is_due_before_cycle_1_day_1() -> None:
    c = course()
    assert locate(c, day(-1)) is None
    assert not is_dose_day(c, day(-1))
    assert locate(c, START) == (1, 1)


# --- Other regimens ---------------------------------------------------------------------------


def test_continuous_regimen_doses_every_day_with_no_break() -> None:
    regimen = Regimen.parse("continuous")
    assert regimen == Regimen.parse("28/28") == Regimen(28, frozenset(range(1, 29)))
    c = course(regimen=regimen)
    assert dose_days_in(c, START, 120) == [day(i) for i in range(120)]
    assert locate(c, day(28)) == (2, 1)


def test_days_range_pattern_means_the_same_as_21_of_28() -> None:
    assert Regimen.parse("days=1-21/28") == Regimen.parse("21/28")
    assert Regimen.parse(" Days = 1-21 / 28 ") == Regimen.parse("21/28")


def test_every_other_day_pattern_doses_on_odd_cycle_days_only() -> None:
    regimen = Regimen.parse("days=1,3,5,...,27/28")
    assert regimen.dose_days == frozenset(range(1, 28, 2))
    c = course(regimen=regimen)
    doses = dose_days_in(c, START, 56)
    assert len(doses) == 28
    # 48 hours apart, including across the cycle boundary (day 27 -> next day 1).
    assert all((b - a).days == 2 for a, b in pairwise(doses))


def test_14_of_21_cycles_are_21_days_long_with_a_7_day_break() -> None:
    c = course(regimen="14/21")
    assert cycle_start(c, 2) == day(21)
    assert cycle_start(c, 3) == day(42)
    doses = dose_days_in(c, START, 42)
    assert doses == [day(i) for i in range(14)] + [day(21 + i) for i in range(14)]


def test_split_pattern_doses_in_two_blocks() -> None:
    c = course(regimen="days=1-7,15-21/28")
    assert dose_days_in(c, START, 28) == [day(i) for i in [*range(7), *range(14, 21)]]


@settings(max_examples=60, deadline=None)
@given(regimen=regimens())
def test_a_regimen_written_out_reads_back_the_same(regimen: Regimen) -> None:
    assert Regimen.parse(str(regimen)) == regimen


@settings(max_examples=40, deadline=None)
@given(regimen=regimens(), start=starts, cycles=st.integers(min_value=1, max_value=4))
def test_any_regimen_doses_exactly_on_its_cycle_days(
    regimen: Regimen, start: date, cycles: int
) -> None:
    c = course(regimen=regimen, start=start)
    span = regimen.cycle_length * cycles
    expected = [
        start + timedelta(days=i)
        for i in range(span)
        if i % regimen.cycle_length + 1 in regimen.dose_days
    ]
    assert dose_days_in(c, start, span) == expected


# --- Errors a nurse can hit when typing a regimen ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "not understood"),
        ("three weeks on", "not understood"),
        ("21", "not understood"),
        ("21/", "not understood"),
        ("days=1-21", "not understood"),
        ("0/28", "no dose day"),
        ("29/28", "more dose days than cycle days"),
        ("days=30/28", "dose day 30 is outside the 28-day cycle"),
        ("days=0,1/28", "dose day 0 is outside the 28-day cycle"),
        ("days=1-29/28", "dose day 29 is outside the 28-day cycle"),
        ("days=21-1/28", "range 21-1 runs backwards"),
        ("days=1,,3/28", "'' is not a day number or range"),
        ("days=1--3/28", "is not a day number or range"),
        ("days=1,...,9/28", "'...' needs two numbers before and one after"),
        ("days=1,3,.../28", "'...' needs two numbers before and one after"),
        ("days=5,3,...,9/28", "'...' must continue an increasing series"),
        ("0/0", "cycle length must be 1 to 366 days"),
        ("days=1/400", "cycle length must be 1 to 366 days"),
    ],
)
def test_bad_regimen_text_is_refused_with_a_clear_reason(text: str, says: str) -> None:
    with pytest.raises(RegimenError, match="regimen") as caught:
        Regimen.parse(text)
    assert says in str(caught.value)


def test_regimen_error_names_the_text_and_the_accepted_forms() -> None:
    with pytest.raises(RegimenError) as caught:
        Regimen.parse("weekly")
    message = str(caught.value)
    assert "'weekly'" in message
    for form in ("21/28", "continuous", "days=1-21/28", "days=1,3,5,...,27/28"):
        assert form in message


def test_regimen_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Regimen.parse("nonsense")


def test_series_must_end_on_its_own_step() -> None:
    # "1,3,...,28" is not every 48 hours: taken literally it adds day 28 straight after
    # day 27, three capsules on consecutive days across the cycle boundary (27, 28, 1).
    with pytest.raises(RegimenError, match="series"):
        Regimen.parse("days=1,3,...,28/28")


def test_series_may_be_written_with_a_typographic_ellipsis() -> None:
    # Word processors turn "..." into "\u2026"; the parser means to accept both.
    assert Regimen.parse("days=1,3,\u2026,27/28") == Regimen.parse("days=1,3,...,27/28")


# --- Delays, holds and the end ----------------------------------------------------------------


def test_delay_moves_day_1_of_that_cycle_and_every_later_cycle() -> None:
    c = course(delays=(CycleDelay(cycle=2, days=7),))
    assert cycle_start(c, 1) == START
    assert cycle_start(c, 2) == day(35)
    assert cycle_start(c, 3) == day(63)
    # The break of cycle 1 stretches to 14 days: day 29..35 belong to cycle 1 with no dose.
    assert locate(c, day(34)) == (1, 35)
    assert not on_regimen(c, day(28))
    assert dose_days_in(c, day(21), 14) == []
    assert is_dose_day(c, day(35))


def test_delays_add_up() -> None:
    c = course(delays=(CycleDelay(cycle=2, days=7), CycleDelay(cycle=3, days=3)))
    assert cycle_start(c, 2) == day(35)
    assert cycle_start(c, 3) == day(66)
    assert cycle_start(c, 4) == day(94)


@settings(max_examples=40, deadline=None)
@given(
    start=starts,
    delayed=st.integers(min_value=1, max_value=5),
    days=st.integers(min_value=1, max_value=21),
)
def test_a_delayed_cycle_still_has_21_doses_and_earlier_cycles_are_unchanged(
    start: date, delayed: int, days: int
) -> None:
    plain = course(start=start)
    c = course(start=start, delays=(CycleDelay(cycle=delayed, days=days),))
    before = cycle_start(plain, delayed)
    assert dose_days_in(c, start, (before - start).days) == dose_days_in(
        plain, start, (before - start).days
    )
    first = cycle_start(c, delayed)
    assert first == before + timedelta(days=days)
    assert dose_days_in(c, before, days) == []
    assert dose_days_in(c, first, 28) == [first + timedelta(days=i) for i in range(21)]


def test_hold_removes_doses_from_its_start_until_the_restart_date() -> None:
    c = course(holds=(Hold(start=day(9), end=day(16)),))
    assert dose_days_in(c, START, 21) == [day(i) for i in [*range(9), *range(16, 21)]]
    # A hold does not move the cycles.
    assert cycle_start(c, 2) == day(28)


def test_open_hold_removes_every_later_dose() -> None:
    c = course(holds=(Hold(start=day(9)),))
    assert dose_days_in(c, START, 200) == [day(i) for i in range(9)]


def test_no_dose_after_the_end_date() -> None:
    c = course(end=day(37))
    doses = dose_days_in(c, START, 120)
    assert doses[-1] == day(37)
    assert next_dose_day(c, day(37)) is None


def test_next_dose_day_skips_the_break_and_holds() -> None:
    c = course(holds=(Hold(start=day(28), end=day(30)),))
    assert next_dose_day(c, day(5)) == day(6)
    assert next_dose_day(c, day(20)) == day(30)


def test_next_cycle_is_the_first_cycle_starting_after_today() -> None:
    c = course()
    assert next_cycle(c, day(-5)) == 1
    assert next_cycle(c, START) == 2
    assert next_cycle(c, day(27)) == 2
    assert next_cycle(c, day(28)) == 3
