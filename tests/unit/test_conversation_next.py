"""NEXT plans its look-ahead a stretch at a time: the answer must be the one a plan of the
whole 120 days gives, for any course and any moment."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation.next import LOOK_AHEAD, STEP, answer, firsts, next_text
from messages.render import Profile, fmt_date, render_reply
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Kind, PlanSettings
from scheduler.domain.plan import plan
from tests.unit.builders import SETTINGS, START, course, courses

PROFILE = Profile(name="Ann Smith", discreet=False, language="en-GB")
KINDS = (Kind.DOSE, Kind.BREAK_START, Kind.BLOOD_TEST, Kind.PREGNANCY_TEST)


def whole_range_next_text(
    course: Course, profile: Profile, settings: PlanSettings, now: datetime
) -> str:
    """NEXT from one plan of all 120 days (the reference): the first of each kind in it."""
    today = now.astimezone(zone(course.tz)).date()
    if course.end is not None and today > course.end:
        return render_reply("ended_next", profile, end=fmt_date(course.end))
    ahead = [r for r in plan(course, settings, today, today + LOOK_AHEAD) if r.expires_at > now]
    kinds = KINDS if course.can_become_pregnant else KINDS[:3]
    return answer(course, profile, today, {k: r for k in kinds for r in ahead[::-1] if r.kind is k})


moments = st.datetimes(
    min_value=datetime(2023, 10, 1), max_value=datetime(2033, 6, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(c=courses(), now=moments, notice=st.integers(0, 23), lead=st.integers(0, 5))
def test_next_text_is_the_whole_range_answer(
    c: Course, now: datetime, notice: int, lead: int
) -> None:
    s = PlanSettings(notice_time=time(notice, 0), blood_test_lead_days=lead)
    assert next_text(c, PROFILE, s, now) == whole_range_next_text(c, PROFILE, s, now)


@settings(max_examples=200, deadline=None)
@given(c=courses(), offset=st.integers(-60, 400), hour=st.integers(0, 23))
def test_next_text_near_the_course(c: Course, offset: int, hour: int) -> None:
    """Moments around the course itself, where every kind of message is close."""
    now = datetime.combine(c.start + timedelta(days=offset), time(hour), UTC)
    assert next_text(c, PROFILE, SETTINGS, now) == whole_range_next_text(c, PROFILE, SETTINGS, now)


@settings(max_examples=200, deadline=None)
@given(c=courses(), offset=st.integers(-60, 300), hour=st.integers(0, 23))
def test_firsts_match_the_whole_plan(c: Course, offset: int, hour: int) -> None:
    now = datetime.combine(c.start + timedelta(days=offset), time(hour), UTC)
    today = now.astimezone(zone(c.tz)).date()
    ahead = [r for r in plan(c, SETTINGS, today, today + LOOK_AHEAD) if r.expires_at > now]
    expected = {k: r for k in KINDS for r in ahead[::-1] if r.kind is k}  # first wins
    assert firsts(c, SETTINGS, now, today, today + LOOK_AHEAD, KINDS) == expected


def test_a_continuous_course_is_looked_at_to_the_end() -> None:
    """No break ever comes, so every stretch is planned, and the answer says none."""
    c = course(regimen="continuous")
    now = datetime.combine(START + timedelta(days=3), time(7), UTC)
    text = next_text(c, PROFILE, SETTINGS, now)
    assert text == whole_range_next_text(c, PROFILE, SETTINGS, now)
    assert LOOK_AHEAD > STEP  # more than one stretch is involved


def test_next_never_names_a_dose_already_recorded() -> None:
    c = course(regimen="continuous")
    now = datetime(2026, 6, 5, 7, 0, tzinfo=UTC)  # 08:00 London, before the 09:00 dose
    assert "Next dose: Fri 5 Jun at 09:00" in next_text(c, PROFILE, SETTINGS, now)
    taken_early = next_text(c, PROFILE, SETTINGS, now, {now.date(): "taken"})
    assert "Next dose: Sat 6 Jun at 09:00" in taken_early


def test_next_after_the_end_says_treatment_has_ended() -> None:
    c = course(end=START + timedelta(days=20))
    now = datetime.combine(START + timedelta(days=22), time(12), UTC)
    text = next_text(c, PROFILE, SETTINGS, now)
    assert text.startswith("Your lenalidomide course ended on Sun 21 Jun: take no more capsules")
