"""Follow-ups: one gentle nudge when a dose reminder has had no answer. Pure.

A dose with any record (taken, late, missed, told to take it now) gets no follow-up; recording
an answer re-plans, which cancels a follow-up still pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from scheduler.domain.localtime import zone
from scheduler.domain.model import Kind, Reminder


def follow_ups(
    doses: Iterable[Reminder], records: Mapping[date, str], after: timedelta, tz: str
) -> list[Reminder]:
    if after <= timedelta(0):
        return []
    out: list[Reminder] = []
    for dose in doses:
        if dose.kind is not Kind.DOSE or dose.local_date in records:
            continue
        due = dose.due_at + after
        if due >= dose.expires_at:
            continue  # the 12-hour window would close before the nudge
        local = due.astimezone(zone(tz)).time().replace(second=0, microsecond=0)
        # Spelled out rather than dataclasses.replace (slow): the dose with a new kind and time.
        out.append(
            Reminder(
                kind=Kind.FOLLOW_UP,
                local_date=dose.local_date,
                due_at=due,
                expires_at=dose.expires_at,
                local_time=local,
                cycle=dose.cycle,
                day=dose.day,
                facts=dict(dose.facts),
            )
        )
    return out
