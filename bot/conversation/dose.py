"""What a text says about the capsule: the answer, the dose record to write and the alerts it
raises. Pure: the course, its dose records and ``now`` in; effects are added to ``Effects``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime

from bot.conversation.effects import Alert, DoseWrite, Effects
from bot.conversation.replies import Reply, Voice
from messages.render import render
from messages.understand import Reading
from scheduler.domain.adherence import previous_dose_day
from scheduler.domain.calendar import locate
from scheduler.domain.guidance import (
    EXTRA,
    MISSED,
    TAKE_NOW,
    Advice,
    Decision,
    on_extra,
    on_intend,
    on_late_taken,
    on_later,
    on_missed,
    on_question,
    on_taken,
    on_unsure,
)
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Kind, Reminder
from scheduler.domain.outbox import Planned
from scheduler.domain.safety import DOSE_KINDS

BAD_DAYS = (MISSED, "unconfirmed")


def dose(
    patient_id: str,
    course: Course,
    voice: Voice,
    doses: list[Reading],
    records: Mapping[date, str],
    now: datetime,
    effects: Effects,
) -> tuple[Reply, Mapping[date, str]]:
    """The one answer to what a text says about the capsule: an extra capsule first, then
    a report (taken, missed, both: taken late), then a question, a doubt, an intention or
    a snooze. What it records goes to ``effects``, with that day's messages cancelled; the
    dose records are returned as they stand after it."""
    kinds: set[str] = {r.kind for r in doses}
    if "later" in kinds and kinds <= {"later", "dose_question"}:
        return later(course, voice, records, now, effects), records
    if {"taken", "missed"} <= kinds:
        # Two doses, two days ("forgot yesterday's, took today's"): the miss first.
        missed = [r for r in doses if r.kind == "missed"]
        first, records = dose(patient_id, course, voice, missed, records, now, effects)
        rest = [r for r in doses if r.kind != "missed"]
        second, records = dose(patient_id, course, voice, rest, records, now, effects)
        return Reply(f"{first.text} {second.text}", second.intent, extras=second.extras), records
    named = next((r.day for r in doses if r.day), None)
    why = next((r.detail for r in doses if r.kind == "extra" and r.detail), "count")
    if why == "two_days":
        named = None  # "yesterday's and today's together": taken today
    late = any(r.kind == "taken" and r.detail == "late" for r in doses)
    decision = advise(kinds, course, records, now, named, why, late)
    if decision.advice is Advice.ALREADY_TAKEN and any(
        r.kind == "taken" and r.detail == "again" for r in doses
    ):
        # "Another one down", "took it again today" is the day's one capsule told as routine,
        # unless the day's dose is already recorded: then it is one more, the urgent answer.
        doses = [replace(r, kind="extra", detail="another") if r.kind == "taken" else r
                 for r in doses]  # fmt: skip
        kinds, why = {r.kind for r in doses}, "another"
        decision = advise(kinds, course, records, now, named, why, late)
    if decision.record and decision.dose_date:
        day = decision.dose_date
        # As a second read would find them: every day a report can name is within the days
        # read (``decide.since``).
        records = {**records, day: decision.record}
        # That day's reminder, follow-up and LATER nudges must not go now; a LATER the
        # patient asked for still goes after "take it now".
        kinds_off = DOSE_KINDS - {Kind.LATER.value} if decision.record == TAKE_NOW else DOSE_KINDS
        effects.doses.append(DoseWrite(day, decision.record, tuple(sorted(kinds_off)), records))
        if decision.record == MISSED:
            effects.alerts.extend(two_missed(patient_id, course, records, day))
        if decision.record == EXTRA:
            effects.alerts.append(extra_alert(patient_id, decision))
    if decision.advice is Advice.EXTRA_DOSE:
        reply = voice.urgent(next(r for r in doses if r.kind == "extra"))
    else:
        reply = Reply(voice.advice(decision, course), doses[0].kind)
    return Reply(
        reply.text,
        reply.intent,
        extras={"advice": decision.advice.value, "dose_date": decision.dose_date,
                "next_date": decision.facts.get("next_date")},
    ), records  # fmt: skip


def later(
    course: Course, voice: Voice, records: Mapping[date, str], now: datetime, effects: Effects
) -> Reply:
    """LATER: a nudge in a while, if the dose can still be taken then."""
    d = on_later(course, records, now)
    if d.advice is Advice.SNOOZED and d.dose_date is not None:
        where = locate(course, d.dose_date)
        at: datetime = d.facts["at"]
        reminder = Reminder(
            kind=Kind.LATER,
            local_date=d.dose_date,
            due_at=at,
            expires_at=d.facts["until"],
            local_time=at.astimezone(zone(course.tz)).time().replace(second=0, microsecond=0),
            cycle=where[0] if where else None,
            day=where[1] if where else None,
            facts={"date": d.dose_date, "of": course.regimen.last_dose_day},
        )
        effects.later = Planned(reminder, render(reminder, voice.profile))
    return Reply(
        voice.advice(d, course),
        "later",
        extras={"advice": d.advice.value, "dose_date": d.dose_date},
    )


def advise(
    kinds: set[str],
    course: Course,
    records: Mapping[date, str],
    now: datetime,
    named: str | None,
    why: str = "count",
    late: bool = False,
) -> Decision:
    if "extra" in kinds:
        return on_extra(course, records, now, named, why)
    if "taken" in kinds and late:
        return on_late_taken(course, records, now, named)
    if "taken" in kinds:
        return on_taken(course, records, now, named)
    if "missed" in kinds:
        return on_missed(course, records, now, named)
    if "unsure" in kinds:
        return on_unsure(course, records, now)
    if "dose_question" in kinds:
        return on_question(course, records, now, named)
    return on_intend(course, records, now)


def two_missed(
    patient_id: str, course: Course, records: Mapping[date, str], day: date
) -> list[Alert]:
    """The nurses hear when a missed day follows a missed or unconfirmed one."""
    prev = previous_dose_day(course, day)
    if prev is not None and records.get(prev) in BAD_DAYS:
        return [(
            "two_missed",
            f"patient {patient_id} has missed or not confirmed two dose days "
            f"in a row ({prev} and {day})",
            patient_id,
        )]  # fmt: skip
    return []


def extra_alert(patient_id: str, d: Decision) -> Alert:
    """The nurses hear of every capsule taken when none was due, with why none was."""
    why = {
        "skipped": "after being told to skip that dose",
        "no_dose": "on a day with no dose (a break or a pause)",
        "ended": "after the course ended",
        "before_start": "before the course started",
        "count": "more than one capsule at once",
        "two_days": "two days' capsules together",
        "someone_else": "someone else's capsule",
        "another": "another capsule after the day's dose",
    }[d.facts["why"]]
    return (
        "extra_capsule",
        f"patient {patient_id} reports a capsule taken when none was due: {d.dose_date}, {why}"
        + (
            ". Urgent: they were told to call the team now" if d.advice is Advice.EXTRA_DOSE else ""
        ),
        patient_id,
    )
