"""The ports the core needs from the outside world, named by role.

Services are typed on these Protocols, never on the SQLAlchemy classes; mypy checks that the
store's classes satisfy them (the ``_conforms`` function at the end of each store module). Each Protocol lists only what
one kind of caller uses, so a fake for a test implements a few methods, not the whole store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from scheduler.domain.alerts import AlertRecord
from scheduler.domain.model import ChannelKind, Course, Patient, Reminder
from scheduler.domain.outbox import PRIORITY_REMINDER, Finish, OutboxRow, Planned, SyncResult


class SendError(Exception):
    """A channel could not hand a message over. Subclasses say whether to try again."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Worth retrying (rate limit, 5xx, timeout); ``retry_after`` seconds if the provider said."""

    def __init__(
        self, reason: str, *, code: str | None = None, retry_after: float | None = None,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after
        # The attempt may have reached the provider (no answer, a gateway error): the row is
        # marked so that the next attempt, in whichever process, looks for it there first.
        self.maybe_sent = maybe_sent


class PermanentSendError(SendError):
    """Never worth retrying (bad number, blocked bot); ``opted_out`` when the person said STOP."""

    def __init__(self, reason: str, *, code: str | None = None, opted_out: bool = False) -> None:
        super().__init__(reason, code=code)
        self.opted_out = opted_out


@dataclass(frozen=True)
class Address:
    channel: ChannelKind
    to: str

    def __repr__(self) -> str:  # never print a phone number or chat id by accident
        return f"Address({self.channel.value}, <redacted>)"


@dataclass(frozen=True)
class Outgoing:
    """One message for a channel to deliver."""

    ref: str
    patient_id: str
    address: Address
    text: str
    expires_at: datetime
    local_label: str  # e.g. "2026-12-01 09:00 Europe/London", for the console and logs
    callback_token: str | None = None
    kind: str | None = None  # the outbox row's kind ("dose", ...), e.g. for reply buttons
    # An earlier attempt may have reached the provider unanswered (a timeout, or a worker that
    # died between the send and its record): a channel that can look for it there does, and
    # returns its id instead of sending it again. Earlier attempts were all at or after
    # ``due_at``, the row's planned moment.
    maybe_sent: bool = False
    due_at: datetime | None = None


class Channel(Protocol):
    """Delivers a message; returns the provider's id or raises a SendError."""

    name: str

    async def send(self, message: Outgoing) -> str: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told, never backwards: the demo's fast-forward, and tests."""

    def __init__(self, now: datetime) -> None:
        self._now = self._aware(now)

    @staticmethod
    def _aware(when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        return when.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (not before the current time); the new time."""
        when = self._aware(when)
        if when < self._now:
            raise ValueError("ManualClock cannot go backwards")
        self._now = when
        return when

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move on by ``delta`` or ``timedelta(**parts)``; the new time."""
        return self.set(self._now + (delta if delta is not None else timedelta(**parts)))

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


class Renderer(Protocol):
    """The words of a planned message for this patient (``messages.render.render_for``)."""

    def __call__(self, reminder: Reminder, patient: Patient, /) -> str: ...


class UnitOfWork(Protocol):
    def unit_of_work(self) -> AbstractAsyncContextManager[object]:
        """One transaction for every store call this task makes inside the block."""
        ...


class OutboxClaims(UnitOfWork, Protocol):
    """What the dispatcher does to the outbox: claim due rows, record each outcome."""

    async def claim(self, now: datetime, limit: int, worker: str) -> list[OutboxRow]: ...
    async def cancel_claimed(self, rows: Sequence[tuple[int, str, str]], now: datetime) -> int: ...
    async def renew_many(self, row_ids: Sequence[int], worker: str, now: datetime) -> set[int]: ...
    async def finish_many(self, outcomes: Sequence[Finish], patience: float = ...) -> int: ...
    async def expire(self, now: datetime) -> int: ...
    async def release_stale(self, claimed_before: datetime, now: datetime) -> int: ...
    async def release_worker(
        self, worker: str, now: datetime, cut_off: Sequence[int] = ()
    ) -> int: ...


class OutboxExtras(Protocol):
    """Messages outside the plan (corrections, nudges) and cancelling a day's dose messages."""

    async def add_extra(
        self, patient_id: str, planned: Planned, key: str, now: datetime,
        priority: int = PRIORITY_REMINDER,
    ) -> bool: ...  # fmt: skip
    async def cancel_day(
        self, patient_id: str, day: date, kinds: Sequence[str], reason: str, now: datetime
    ) -> int: ...
    async def count_keys(self, patient_id: str, prefix: str) -> int: ...
    async def cancel_pending(self, patient_id: str, now: datetime, reason: str) -> int: ...


class CourseReader(Protocol):
    """Patients and their courses as the dispatcher reads them, many at a time."""

    async def get_many(self, patient_ids: Iterable[str]) -> dict[str, Patient]: ...
    async def load(
        self, patient_ids: Sequence[str], *, scattered: bool = False
    ) -> dict[str, tuple[Patient, Course]]: ...
    async def dose_records_many(
        self, patient_ids: Sequence[str], since: date, *, scattered: bool = False
    ) -> dict[str, dict[date, str]]: ...


class PatientRecords(UnitOfWork, Protocol):
    """One patient's course, dose records and texts, as a conversation reads and writes them."""

    async def load_one(self, patient_id: str, *, lock: bool = False) -> tuple[Patient, Course]: ...
    async def dose_records(self, patient_id: str, since: date) -> dict[date, str]: ...
    async def record_dose(self, patient_id: str, day: date, status: str, now: datetime) -> None: ...
    async def record_inbound(
        self, patient_id: str | None, channel: str, text: str, intent: str | None, now: datetime
    ) -> int: ...
    async def set_inbound_intent(self, inbound_id: int, intent: str) -> None: ...
    async def last_menu(self, patient_id: str, since: datetime) -> list[str]: ...


@dataclass(frozen=True)
class Alert:
    """Something the care team must hear: a red flag, an opt-out, a failed delivery."""

    kind: str
    text: str
    patient_id: str | None = None


class Alerts(Protocol):
    """Tell the care team: recorded first, then pushed to every nurse chat there is."""

    async def alert(self, kind: str, text: str, patient_id: str | None = None) -> None: ...

    async def record(self, kind: str, text: str, patient_id: str | None = None) -> AlertRecord:
        """Only the record (``alert`` = ``record`` then ``push``); joins a unit of work."""
        ...

    async def push(self, record: AlertRecord) -> None: ...


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail: who did what to whom, and the values before and after."""

    id: int
    at: datetime
    actor: str  # staff:<id>, cli:<os user>, telegram:<user id> or system
    action: str  # enrol, pause, resume, delay_cycle, set_dose_time, end, appointment, ...
    patient_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditLog(Protocol):
    """The append-only audit trail (``scheduler.store.audit.SqlAlchemyAudit``).

    ``record`` joins the caller's unit of work, so the row commits with the change it
    describes or not at all. Nothing personal goes in (``scheduler.domain.audit``)."""

    async def record(
        self,
        action: str,
        *,
        actor: str,
        at: datetime,
        patient_id: str | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> int: ...

    async def entries(
        self,
        *,
        patient_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]: ...


class Planners(Protocol):
    """Planner processes that plan pages of patients each in a memory of its own
    (``scheduler.runtime.planners.PlannerProcesses``)."""

    count: int

    async def plan(self, page: int, patient_ids: list[str], now: datetime) -> SyncResult: ...
    async def close(self) -> None: ...


class StepTaken(Exception):
    """A step of handling an inbound update was recorded by another process meanwhile (its
    claim had lapsed): that process answers; this one stops."""


@dataclass(frozen=True)
class InboxRow:
    """One inbound Telegram update as stored (``raw``: its JSON), claimed for handling."""

    id: int
    update_id: int
    chat_id: int | None
    raw: str
    claimed_by: str
    attempts: int


class Inbox(Protocol):
    """Inbound Telegram updates, stored before they are acknowledged and then handled once
    each, in order per chat (``scheduler.store.inbox.SqlAlchemyInbox``)."""

    async def add(self, update_id: int, chat_id: int | None, raw: str, now: datetime) -> bool: ...
    async def claim(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[InboxRow]: ...
    async def renew(self, ids: list[int], worker: str, now: datetime) -> int: ...
    async def done(self, id: int, worker: str, now: datetime) -> bool: ...
    async def release_stale(
        self, claimed_before: datetime, max_attempts: int
    ) -> list[tuple[int, int | None]]: ...
    async def step(self, update_id: int, step: int) -> str | None: ...
    async def record_step(self, update_id: int, step: int, result: str, now: datetime) -> None: ...
    async def prune(self, done_before: datetime) -> int: ...
    async def next_offset(self) -> int | None: ...
    async def save_offset(self, offset: int, now: datetime) -> None: ...
