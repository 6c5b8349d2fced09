"""The audit trail's values: who acted, and a course's values as an audit row keeps them.

An audit row outlives ``lenabot patients forget`` (rows are never updated or deleted), so it
must never hold personal data: a course's values here have no name, phone number, Telegram
chat or patient's words, and the free text nurses type (a pause reason, an appointment note)
has the patient's name, number and chat id taken out before it is kept (``redact``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from scheduler.domain.model import Course, Patient

SYSTEM = "system"
# staff:<id> (the web console), cli:<os user>, telegram:<user id>, or system.
_ACTOR = re.compile(r"system|staff:[^\s]{1,64}|cli:[^\s]{1,64}|telegram:\d{1,20}")
REDACTED = "[patient]"


class ActorError(ValueError):
    """Not an actor the audit trail knows."""


def check_actor(actor: str) -> str:
    if not _ACTOR.fullmatch(actor):
        raise ActorError(
            f"actor {actor!r} is not one of staff:<id>, cli:<user>, telegram:<user id>, system"
        )
    return actor


def identifiers(name: str, phone: str | None, chat_id: int | None) -> list[str]:
    """What names a patient in free text: their name (whole and each part of 3 letters or
    more), their phone number (E.164: ``redact`` finds it however it is written) and their
    Telegram chat id."""
    found: list[str] = []
    name = name.strip()
    if len(name) >= 3:
        found.append(name)
        found += [part for part in re.split(r"[\s,.'-]+", name) if len(part) >= 3]
    if phone:
        found.append(phone)
    if chat_id is not None:
        found.append(str(chat_id))
    return found


def of_patient(patient: Patient) -> list[str]:
    return identifiers(patient.name, patient.phone, patient.telegram_chat_id)


_NUMBER = re.compile(r"\+?\d[\d\s().-]*\d")
_E164 = re.compile(r"\+\d{7,15}")


def redact(text: str, personal: Iterable[str], replacement: str = REDACTED) -> str:
    """``text`` with every one of ``personal`` (whole words, any case) replaced; a phone
    number (E.164) in any form that ends in its last 9 digits ("07700 900123",
    "+44 7700-900123")."""
    for value in sorted(set(personal), key=len, reverse=True):
        if _E164.fullmatch(value):
            tail = value[-9:]

            def number(m: re.Match[str], tail: str = tail) -> str:
                return replacement if tail in re.sub(r"\D", "", m.group()) else m.group()

            text = _NUMBER.sub(number, text)
        else:
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", replacement, text, flags=re.I)
    return text


def course_values(patient: Patient, course: Course) -> dict[str, Any]:
    """Everything the care team can change about a course, in JSON types, free text redacted.

    Earlier dose times are left out: ``dose_time`` before and after already says it.
    """
    personal = of_patient(patient)
    return {
        "channel": patient.channel.value,
        "tz": course.tz,
        "language": patient.language,
        "rules": course.rules.value,
        "start": course.start.isoformat(),
        "regimen": str(course.regimen),
        "dose_time": f"{course.dose_time:%H:%M}",
        "end": course.end.isoformat() if course.end else None,
        "holds": [
            {
                "from": h.start.isoformat(),
                "until": h.end.isoformat() if h.end else None,
                "reason": redact(h.reason, personal),
            }
            for h in course.holds
        ],
        "delays": [{"cycle": d.cycle, "days": d.days} for d in course.delays],
        "appointments": [
            {"blood_test": a.on.isoformat(), "note": redact(a.note, personal)}
            for a in course.appointments
        ],
        "can_become_pregnant": patient.can_become_pregnant,
        "partner_can_become_pregnant": patient.partner_can_become_pregnant,
        "irregular_periods": patient.irregular_periods,
        "discreet": patient.discreet,
        "follow_ups": patient.follow_ups,
        "opted_out": patient.opted_out_at is not None,
    }


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values that differ, before and after (a key missing on one side is None there)."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _shown(x: Any) -> str:
    return x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)


def describe(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    """A row's change in one line (``lenabot audit``, the console's Audit page): ``key:
    before -> after`` for each value that changed, or ``key=value`` for a row with no before
    (an enrolment, a link issued)."""
    after = after or {}
    if before is None:
        return "; ".join(f"{k}={_shown(val)}" for k, val in after.items())
    keys = list(dict.fromkeys([*before, *after]))
    return "; ".join(
        f"{k}: {_shown(before.get(k))} -> {_shown(after.get(k))}"
        if k in before
        else f"{k}={_shown(after[k])}"
        for k in keys
    )
