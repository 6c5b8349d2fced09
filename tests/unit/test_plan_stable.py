"""How long a plan stays the same: what lets the every-minute pass leave a patient alone.

``plan_for`` says until when its answer holds for a later ``now`` (same inputs). If that bound
were ever too late, the planner would miss a reminder entering the horizon or an expiry, so
these properties check it against planning afresh at instants up to the bound.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from messages.render import render_for
from scheduler.domain.model import ChannelKind, Course, Hold, Patient, PlanSettings, RuleSet
from scheduler.domain.outbox import Planned
from scheduler.domain.plan import plan_window, plan_window_until
from scheduler.services.materialise import LOOKBACK, plan_for
from tests.unit.builders import course, courses

HORIZON = timedelta(hours=48)
SETTINGS = PlanSettings()


def patient(c: Course, follow_ups: bool = True) -> Patient:
    return Patient(
        id="p1",
        name="Ann Smith",
        channel=ChannelKind.SMS,
        tz=c.tz,
        language="en-GB",
        rules=RuleSet.UK,
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
        follow_ups=follow_ups,
    )


def view(planned: list[Planned]) -> list[tuple[object, ...]]:
    """Everything the outbox stores of a plan (facts are not compared by Reminder.__eq__)."""
    return [(p.reminder, p.text, sorted(p.reminder.facts.items())) for p in planned]


nows = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2033, 6, 30), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(c=courses(), now=nows, fractions=st.lists(st.floats(0, 1), min_size=1, max_size=4))
def test_nothing_enters_the_window_before_the_bound(
    c: Course, now: datetime, fractions: list[float]
) -> None:
    start, end = now - LOOKBACK, now + HORIZON
    inside, bound = plan_window_until(c, SETTINGS, start, end)
    assert inside == plan_window(c, SETTINGS, start, end)
    assert bound >= end  # equal when a reminder is due exactly at the end
    for f in fractions:
        later = end + (bound - end) * f
        if later >= bound:
            continue
        assert plan_window(c, SETTINGS, start, later + timedelta(microseconds=1)) == inside


@settings(max_examples=150, deadline=None)
@given(
    c=courses(),
    now=nows,
    fractions=st.lists(st.floats(0, 1), min_size=1, max_size=4),
    taken=st.sets(st.integers(-3, 3), max_size=3),
)
def test_the_plan_is_the_same_at_any_instant_before_its_bound(
    c: Course, now: datetime, fractions: list[float], taken: set[int]
) -> None:
    records = {now.date() + timedelta(days=d): "taken" for d in taken}
    p = patient(c)
    planned, until = plan_for(p, c, SETTINGS, now, HORIZON, records, render=render_for)
    assert until >= now  # equal: something changes right after now, so never skip
    for f in [0.0, *fractions]:
        later = now + (until - now) * f
        if later >= until:
            later = until - timedelta(microseconds=1)
        if later < now:
            continue
        assert view(plan_for(p, c, SETTINGS, later, HORIZON, records, render=render_for)[0]) == view(planned)


def test_the_bound_is_the_next_dose_entering_the_horizon() -> None:
    # 21/28 from Mon 1 June 2026, 09:00 London (08:00 UTC); Wed 10 June 07:00 UTC.
    c = course()
    now = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
    planned, until = plan_for(patient(c, follow_ups=False), c, SETTINGS, now, HORIZON, {}, render=render_for)
    assert [p.reminder.local_date for p in planned] == [date(2026, 6, 10), date(2026, 6, 11)]
    # Friday's 08:00 UTC dose enters the 48 h horizon on Wednesday at 08:00 UTC, which is
    # also when Tuesday's dose (due Tue 08:00, 12 h window) has long expired.
    assert until == datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


def test_the_bound_is_an_expiry_when_that_comes_first() -> None:
    c = course()
    now = datetime(2026, 6, 10, 8, 30, tzinfo=UTC)  # Wednesday's dose due 08:00, expires 20:00
    planned, until = plan_for(patient(c, follow_ups=False), c, SETTINGS, now, HORIZON, {}, render=render_for)
    assert planned[0].reminder.local_date == date(2026, 6, 10)
    # Friday's dose entered at 08:00; Saturday's enters Thursday 08:00; Wednesday's expires first.
    assert until == datetime(2026, 6, 10, 20, 0, tzinfo=UTC)


def test_an_open_hold_far_ahead_still_bounds_the_plan() -> None:
    """No reminder at all for weeks: the bound stays within the planned dates."""
    c = course(holds=(Hold(start=date(2026, 6, 1)),))
    now = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
    planned, until = plan_for(patient(c), c, SETTINGS, now, HORIZON, {}, render=render_for)
    assert planned == []
    assert now < until <= now + timedelta(days=3)
    assert datetime.combine(date(2026, 6, 10), time(0), UTC) < until
