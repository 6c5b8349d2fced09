"""Which alerts are urgent, and an alert as the care team handles it.

Urgent: a person on the team must act now, whatever the hour, so the alert also goes by SMS
to every ALERT_SMS_TO number and is sent again, once, if nobody acknowledges it in time.

| kind | urgent | why |
|---|---|---|
| ``red_flag`` (a red flag, or a *possible* one the model found) | yes | the patient was told to call the team now; a possible one still needs a nurse to check |
| ``extra_capsule`` (a capsule when none was due, two at once, someone else's) | yes | the product treats every extra capsule as urgent (docs/PRODUCT.md) |
| ``opt_out`` | no | nothing is unsafe at once; the team follows it up in hours |
| ``two_missed``, ``digest`` | no | adherence, for the next working day |
| ``delivery_failed``, ``unreachable`` | no | reminders are not reaching someone: a call in working hours |
| ``inbound_failed`` | no | a message could not be read; one that showed a red flag is raised as ``red_flag`` |
| ``other_language`` | no | a text not in English with no warning word lenabot knows: a person reads it (the patient was told to call for anything urgent) |
| ``forgotten`` | no | a record of an erasure |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

URGENT_KINDS = frozenset({"red_flag", "extra_capsule"})
_LABELS = {"red_flag": "red flag", "extra_capsule": "extra capsule"}


def is_urgent(kind: str) -> bool:
    return kind in URGENT_KINDS


def label(kind: str, text: str) -> str:
    """The kind in words for a page ("red flag", "possible red flag"), from the kind and the
    opening of lenabot's own alert text, never from what the patient wrote."""
    if kind == "red_flag" and text.startswith("possible red flag"):
        return "possible red flag"
    return _LABELS.get(kind, kind.replace("_", " "))


@dataclass(frozen=True)
class AlertRecord:
    """An alert as the console shows it: what happened, and who is handling it."""

    id: int
    kind: str
    text: str
    patient_id: str | None
    created_at: datetime
    urgent: bool
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    assigned_to: str | None = None
    escalated_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None
