"""What a nurse's preview shows: the plan of a date range merged with the outbox, so a message
that already left is shown as it was sent (never a re-rendering of a plan that has changed
since). Pure."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from messages.render import Profile, render
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Kind, Reminder
from scheduler.domain.outbox import OutboxRow, reminder_key

# Outbox rows that are history: their text is what the patient was sent (or was to be).
_HISTORY = ("sent", "sending", "failed", "expired")


def preview_items(
    course: Course,
    profile: Profile,
    planned: list[Reminder],
    rows: list[OutboxRow],
    records: dict[date, str],
    first: date,
    last: date,
) -> list[dict[str, object]]:
    """The preview of ``first``..``last``: each planned message, shown as its outbox row when
    it has one that already left (status and the text as sent, never a re-rendering), plus
    rows that left although the plan no longer holds them (an old break notice, a LATER, a
    correction). A dose whose day is recorded shows the record, not a reminder to come."""
    by_key = {r.key: r for r in rows if first <= r.local_date <= last}
    tz = zone(course.tz)
    items: list[dict[str, object]] = []
    shown: set[str] = set()
    for r in planned:
        key = reminder_key(r)
        row = by_key.get(key)
        if row is not None and row.status in _HISTORY:
            items.append(_row_item(row, tz))
        elif r.kind is Kind.DOSE and r.local_date in records:
            items.append(_item(r, profile) | {"status": f"recorded:{records[r.local_date]}"})
        else:
            items.append(_item(r, profile) | {"status": row.status if row else "planned"})
        shown.add(key)
    for row in by_key.values():
        if row.key not in shown and row.status in _HISTORY:
            items.append(_row_item(row, tz))
    items.sort(key=lambda i: (str(i["due_at"]), str(i["kind"])))
    return items


def _row_item(row: OutboxRow, tz: ZoneInfo) -> dict[str, object]:
    """An outbox row as a preview item, at its own local time (a follow-up of a 23:30 dose
    goes after midnight, the day after the dose it is about)."""
    local = row.due_at.astimezone(tz)
    return {
        "kind": row.kind,
        "local_date": local.date().isoformat(),
        "local_time": f"{local:%H:%M}",
        "due_at": row.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": row.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cycle": row.cycle,
        "day": row.day,
        "text": row.text,
        "status": row.status,
    }


def _item(r: Reminder, profile: Profile) -> dict[str, object]:
    return {
        "kind": r.kind.value,
        "local_date": r.local_date.isoformat(),
        "local_time": f"{r.local_time:%H:%M}",
        "due_at": r.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": r.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cycle": r.cycle,
        "day": r.day,
        "text": render(r, profile),
    }
