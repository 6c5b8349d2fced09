"""The care-plan domain: frozen values with no I/O, shared by the planner, store and bot."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.regimen import Regimen


class Kind(enum.StrEnum):
    """What a scheduled message is about; part of its unique key."""

    DOSE = "dose"
    BREAK_START = "break_start"
    CYCLE_START = "cycle_start"
    BLOOD_TEST = "blood_test"
    PREGNANCY_TEST = "pregnancy_test"
    CONTRACEPTION = "contraception"
    AFTERCARE = "aftercare"
    HOLD = "hold"
    RESUME = "resume"
    FOLLOW_UP = "follow_up"  # one nudge when a dose has no answer yet
    LATER = "later"  # the patient asked to be reminded in an hour
    CHANGE = "change"  # a correction: the team changed a date the patient may have been told


# The planner owns every kind but LATER (only a patient's LATER creates one) and CHANGE (only a
# care action does).
PLANNED_KINDS = frozenset(k.value for k in Kind if k not in (Kind.LATER, Kind.CHANGE))


class RuleSet(enum.StrEnum):
    """Which pregnancy-prevention programme the patient follows."""

    UK = "uk"
    US_REMS = "us-rems"


class ChannelKind(enum.StrEnum):
    SMS = "sms"
    TELEGRAM = "telegram"


@dataclass(frozen=True)
class Hold:
    """Dosing interrupted from ``start`` (inclusive) until ``end`` (the restart date, exclusive)."""

    start: date
    end: date | None = None
    reason: str = ""
    created_at: datetime | None = None
    resumed_at: datetime | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class CycleDelay:
    """Day 1 of ``cycle`` (and so every later cycle) moves ``days`` later."""

    cycle: int
    days: int


@dataclass(frozen=True)
class Appointment:
    """A dated blood test a nurse booked, on top of the routine schedule."""

    on: date
    note: str = ""


@dataclass(frozen=True)
class EarlierDoseTime:
    """Before ``until`` (a local date), doses were at ``at``: the dose time in force then."""

    until: date
    at: time


@dataclass(frozen=True)
class Course:
    """One treatment course: everything the planner needs, nothing about the person."""

    start: date
    dose_time: time
    tz: str
    regimen: Regimen
    enrolled_at: datetime
    rules: RuleSet = RuleSet.UK
    can_become_pregnant: bool = False
    partner_can_become_pregnant: bool = False
    holds: tuple[Hold, ...] = ()
    delays: tuple[CycleDelay, ...] = ()
    appointments: tuple[Appointment, ...] = ()
    end: date | None = None
    opted_out: bool = False
    # US REMS: periods not regular, so pregnancy tests every 2 weeks instead of 4.
    irregular_periods: bool = False
    # When the end date was recorded: after-treatment messages due before it go at once.
    ended_at: datetime | None = None
    # Dose times in force before a change, oldest first (see ``dose_time_on``).
    earlier_dose_times: tuple[EarlierDoseTime, ...] = ()

    def dose_time_on(self, day: date) -> time:
        """The dose time in force on local date ``day``: a change applies from its date on,
        and the days before keep the time they had."""
        for earlier in self.earlier_dose_times:
            if day < earlier.until:
                return earlier.at
        return self.dose_time


@dataclass(frozen=True)
class PlanSettings:
    """Clinic-wide knobs for the planner."""

    notice_time: time = time(10, 0)
    blood_test_lead_days: int = 2
    follow_up_after: timedelta = timedelta(hours=3)  # zero: no follow-ups


@dataclass(frozen=True)
class Reminder:
    """One planned message. Unique per (patient, kind, local_date)."""

    kind: Kind
    local_date: date
    due_at: datetime
    expires_at: datetime
    local_time: time
    cycle: int | None = None
    day: int | None = None
    facts: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, date]:
        return (self.kind.value, self.local_date)


@dataclass(frozen=True)
class Patient:
    """A person on the service. ``phone`` / ``telegram_chat_id`` say where messages go."""

    id: str
    name: str
    channel: ChannelKind
    tz: str
    language: str
    rules: RuleSet
    created_at: datetime
    discreet: bool = False
    can_become_pregnant: bool = False
    partner_can_become_pregnant: bool = False
    phone: str | None = None
    telegram_chat_id: int | None = None
    opted_out_at: datetime | None = None
    follow_ups: bool = True
    irregular_periods: bool = False

    def __repr__(self) -> str:  # keep names and numbers out of tracebacks and logs
        return f"Patient({self.id})"
