"""The care-plan domain: frozen values with no I/O, shared by the planner, store and bot."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

MAX_CYCLE_LENGTH = 366


class RegimenError(ValueError):
    pass


@dataclass(frozen=True)
class Regimen:
    """Dose on ``dose_days`` (1-based cycle days) of a ``cycle_length``-day cycle."""

    cycle_length: int
    dose_days: frozenset[int]

    def __post_init__(self) -> None:
        if not 1 <= self.cycle_length <= MAX_CYCLE_LENGTH:
            raise RegimenError(
                f"regimen cycle length must be 1 to {MAX_CYCLE_LENGTH} days, "
                f"not {self.cycle_length}"
            )
        if not self.dose_days:
            raise RegimenError("regimen has no dose day")
        bad = sorted(d for d in self.dose_days if not 1 <= d <= self.cycle_length)
        if bad:
            raise RegimenError(
                f"regimen dose day {bad[0]} is outside the {self.cycle_length}-day cycle"
            )

    @property
    def last_dose_day(self) -> int:
        return max(self.dose_days)

    @property
    def is_continuous(self) -> bool:
        return len(self.dose_days) == self.cycle_length

    def __str__(self) -> str:
        days = sorted(self.dose_days)
        if self.is_continuous and self.cycle_length == 28:
            return "continuous"
        if days == list(range(1, len(days) + 1)):
            return f"{len(days)}/{self.cycle_length}"
        return f"days={_compact(days)}/{self.cycle_length}"

    @classmethod
    def parse(cls, text: str) -> Regimen:
        """Parse ``21/28``, ``continuous``, ``days=1-21/28`` or ``days=1,3,5,...,27/28``."""
        raw = text.strip().lower().replace(" ", "").replace("\u2026", "...")
        if raw == "continuous":
            return cls(28, frozenset(range(1, 29)))
        simple = re.fullmatch(r"(\d{1,3})/(\d{1,3})", raw)
        if simple:
            on, length = int(simple[1]), int(simple[2])
            if on > length:
                raise RegimenError(f"regimen {text!r} has more dose days than cycle days")
            return cls(length, frozenset(range(1, on + 1)))
        pattern = re.fullmatch(r"days=([0-9,.\-]+)/(\d{1,3})", raw)
        if not pattern:
            raise RegimenError(
                f"regimen {text!r} is not understood: use 21/28, continuous, "
                "days=1-21/28 or days=1,3,5,...,27/28"
            )
        return cls(int(pattern[2]), frozenset(_expand_days(pattern[1], text)))


def _expand_days(spec: str, text: str) -> set[int]:
    parts = spec.split(",")
    days: set[int] = set()
    for i, part in enumerate(parts):
        if part == "...":
            # "a,b,...,z": continue the step b-a from b up to z.
            if (
                i < 2
                or i + 1 >= len(parts)
                or not all(p.isdigit() for p in (parts[i - 2], parts[i - 1], parts[i + 1]))
            ):
                raise RegimenError(
                    f"regimen {text!r}: '...' needs two numbers before and one after"
                )
            a, b, z = int(parts[i - 2]), int(parts[i - 1]), int(parts[i + 1])
            if b <= a or z < b:
                raise RegimenError(f"regimen {text!r}: '...' must continue an increasing series")
            if (z - b) % (b - a):
                # "1,3,...,28" would silently add day 28 to an every-other-day series.
                raise RegimenError(f"regimen {text!r}: {z} is not on the series {a},{b},...")
            days.update(range(b, z + 1, b - a))
        elif re.fullmatch(r"\d{1,3}-\d{1,3}", part):
            lo, hi = (int(x) for x in part.split("-"))
            if hi < lo:
                raise RegimenError(f"regimen {text!r}: range {part} runs backwards")
            days.update(range(lo, hi + 1))
        elif part.isdigit():
            days.add(int(part))
        else:
            raise RegimenError(f"regimen {text!r}: {part!r} is not a day number or range")
    return days


def _compact(days: list[int]) -> str:
    runs: list[str] = []
    start = prev = days[0]
    for d in [*days[1:], None]:
        if d is not None and d == prev + 1:
            prev = d
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if d is not None:
            start = prev = d
    return ",".join(runs)


# --- The calendar of one course -------------------------------------------------------------


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
    MESSAGE = "message"  # the care team's own words, written on the console or the CLI


# The planner owns every kind but LATER (only a patient's LATER creates one), CHANGE (only a
# care action does) and MESSAGE (only a member of the team writes one; it has no template).
PLANNED_KINDS = frozenset(
    k.value for k in Kind if k not in (Kind.LATER, Kind.CHANGE, Kind.MESSAGE)
)


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
