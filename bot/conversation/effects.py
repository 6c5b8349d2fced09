"""What answering a message changes, as values (``decide`` says what), and the write phase
that applies it in the message's unit of work (``apply``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from scheduler.domain.model import Course, Patient
from scheduler.domain.outbox import Planned
from scheduler.ports import OutboxExtras, PatientRecords
from scheduler.services.care import CareTeam

Alert = tuple[str, str, str | None]  # Alerts.alert's (kind, text, patient id)


@dataclass(frozen=True)
class DoseWrite:
    """A dose record, that day's pending messages of ``cancel`` kinds cancelled, and the
    re-plan from ``records``: the dose records as they stand once this one is written."""

    day: date
    status: str
    cancel: tuple[str, ...]
    records: Mapping[date, str]


@dataclass
class Effects:
    """What a message changes, in the order it is applied, and the nurse alerts it raises
    (pushed after the unit of work, in order)."""

    opt_out: str | None = None  # how the patient opted out, for the nurses' alert
    opt_in: bool = False
    doses: list[DoseWrite] = field(default_factory=list)
    later: Planned | None = None  # a LATER nudge the patient asked for
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class Inbound:
    """The text as received, recorded with ``intent``: how it was read, or the menu offered."""

    patient_id: str
    channel: str
    text: str
    intent: str


async def apply(
    inbound: Inbound,
    effects: Effects,
    loaded: tuple[Patient, Course] | None,
    now: datetime,
    *,
    courses: PatientRecords,
    outbox: OutboxExtras,
    care: CareTeam,
) -> None:
    """Record the text and apply ``effects``; ``loaded`` is the patient and course as the read
    phase loaded them, which a dose record needs (the re-plan starts from them). The caller
    holds the unit of work: it all commits together, or not at all."""
    pid = inbound.patient_id
    await courses.record_inbound(pid, inbound.channel, inbound.text, inbound.intent, now)
    if effects.opt_out is not None:
        alert = await care.opt_out(pid, now, effects.opt_out)
        effects.alerts.append((alert.kind, alert.text, alert.patient_id))
    if effects.opt_in:
        await care.opt_in(pid)  # and re-plans, from the course as it now stands
    for dose in effects.doses:
        assert loaded is not None
        await courses.record_dose(pid, dose.day, dose.status, now)
        await outbox.cancel_day(
            pid, dose.day, list(dose.cancel), f"dose recorded ({dose.status})", now
        )
        # Re-plan from what this message has read and recorded, in its transaction (see
        # Conversation.handle_from): a cancelled row stays cancelled, and nothing of that day
        # is planned.
        await care.materialiser.patient_as_loaded(*loaded, dose.records, now)
    if effects.later is not None:
        day = effects.later.reminder.local_date
        # A read in the write phase: the key numbers the LATERs asked for that day, and which
        # day that is only the decision knows.
        n = await outbox.count_keys(pid, f"later:{day}") + 1
        await outbox.add_extra(pid, effects.later, f"later:{day}:{n}", now)
