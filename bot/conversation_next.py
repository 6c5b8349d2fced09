"""The NEXT answer: today's place in the course and what is coming. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from messages.render import Profile, fmt_date, fmt_time, render_reply, reply_fragment
from scheduler.localtime import zone
from scheduler.model import Course, Kind, PlanSettings
from scheduler.plan import plan
from scheduler.regimen import locate, on_regimen

LOOK_AHEAD = timedelta(days=120)


def next_text(course: Course, profile: Profile, settings: PlanSettings, now: datetime) -> str:
    today = now.astimezone(zone(course.tz)).date()
    ahead = [r for r in plan(course, settings, today, today + LOOK_AHEAD) if r.expires_at > now]

    def first(kind: Kind) -> date | None:
        return next((r.local_date for r in ahead if r.kind is kind), None)

    none = reply_fragment("none", profile)
    dose = next((r for r in ahead if r.kind is Kind.DOSE), None)
    where = locate(course, today)
    if where and on_regimen(course, today) and where[1] <= course.regimen.cycle_length:
        today_text = reply_fragment("today_cycle", profile, cycle=where[0], day=where[1])
    elif where and (course.end is None or today <= course.end):
        today_text = reply_fragment("today_break", profile)
    else:
        today_text = ""
    brk, blood, preg = first(Kind.BREAK_START), first(Kind.BLOOD_TEST), first(Kind.PREGNANCY_TEST)
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
