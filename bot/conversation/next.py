"""The NEXT answer: today's place in the course and what is coming. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from messages.render import Profile, fmt_date, fmt_time, render_reply, reply_fragment
from scheduler.domain.calendar import locate, on_regimen
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Kind, PlanSettings, Reminder
from scheduler.domain.plan import plan

LOOK_AHEAD = timedelta(days=120)
# The look-ahead is planned a stretch at a time, stopping once every kind the answer names has
# been seen. A 21/28 course has all of them within one cycle, so the first stretch (a cycle
# and a week) nearly always answers; planning all 120 days cost several ms of CPU per NEXT.
STEP = timedelta(days=35)


def next_text(
    course: Course,
    profile: Profile,
    settings: PlanSettings,
    now: datetime,
    records: Mapping[date, str] | None = None,
) -> str:
    """The NEXT answer. A dose already recorded (``records``) is never named as the next one,
    and after the last dose day the answer says treatment has ended."""
    today = now.astimezone(zone(course.tz)).date()
    if course.end is not None and today > course.end:
        return render_reply("ended_next", profile, end=fmt_date(course.end))
    wanted: tuple[Kind, ...] = (Kind.DOSE, Kind.BREAK_START, Kind.BLOOD_TEST)
    if course.can_become_pregnant:  # only then are pregnancy tests planned (and named)
        wanted += (Kind.PREGNANCY_TEST,)
    recorded = frozenset(records or ())
    return answer(
        course,
        profile,
        today,
        firsts(course, settings, now, today, today + LOOK_AHEAD, wanted, recorded),
    )


def answer(course: Course, profile: Profile, today: date, first: dict[Kind, Reminder]) -> str:
    """The NEXT text for ``today``, given the first coming reminder of each kind."""

    def on(kind: Kind) -> date | None:
        found = first.get(kind)
        return found.local_date if found else None

    none = reply_fragment("none", profile)
    dose = first.get(Kind.DOSE)
    where = locate(course, today)
    if where and on_regimen(course, today) and where[1] <= course.regimen.cycle_length:
        today_text = reply_fragment("today_cycle", profile, cycle=where[0], day=where[1])
    elif where and (course.end is None or today <= course.end):
        today_text = reply_fragment("today_break", profile)
    else:
        today_text = ""
    brk, blood, preg = on(Kind.BREAK_START), on(Kind.BLOOD_TEST), on(Kind.PREGNANCY_TEST)
    pregnancy = (
        reply_fragment("pregnancy", profile, next_pregnancy=fmt_date(preg))
        if course.can_become_pregnant and preg
        else ""
    )
    return render_reply(
        "next",
        profile,
        today=today_text,
        next=f"{fmt_date(dose.local_date)} at {fmt_time(dose.local_time)}" if dose else none,
        next_break=fmt_date(brk) if brk else none,
        next_blood=fmt_date(blood) if blood else none,
        pregnancy=pregnancy,
    )


def firsts(
    course: Course,
    settings: PlanSettings,
    now: datetime,
    first: date,
    last: date,
    kinds: tuple[Kind, ...],
    recorded: frozenset[date] = frozenset(),
) -> dict[Kind, Reminder]:
    """For each of ``kinds``, the earliest-due unexpired reminder of local dates
    ``first``..``last`` (kinds with none are left out): what the first of each kind in
    ``plan(course, settings, first, last)`` would be, without planning the whole range. Doses
    of ``recorded`` dates are passed over.

    Exact because ``plan`` is local in dates (the reminders of a range are those of its days,
    whatever the rest of the range) and, for one kind, a later local date is a later due time
    (one wall time a day: dose time or notice time). So the first of a kind met, stretch by
    stretch, is the first overall. tests/unit/test_conversation_next.py checks this against
    the whole-range plan.
    """
    found: dict[Kind, Reminder] = {}
    start = first
    while start <= last and len(found) < len(kinds):
        end = min(last, start + STEP - timedelta(days=1))
        for r in plan(course, settings, start, end):
            if r.kind in kinds and r.kind not in found and r.expires_at > now:
                if r.kind is Kind.DOSE and r.local_date in recorded:
                    continue  # taken (or reported) already: not the next one
                found[r.kind] = r
        start = end + timedelta(days=1)
    return found
