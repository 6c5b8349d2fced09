"""What the outbox holds, as values: statuses, rows, send outcomes, planned messages. Pure.

Status moves pending -> sending -> sent | failed, or pending -> expired | cancelled. Only
pending rows are ever changed by re-planning; a row that left pending is history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from scheduler.domain.model import Reminder

PENDING, SENDING, SENT, FAILED, EXPIRED, CANCELLED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "expired",
    "cancelled",
)
PRIORITY_REPLY, PRIORITY_REMINDER = 0, 5
FINAL_DELIVERY = ("delivered", "undelivered", "failed", "read", "canceled")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    patient_id: str
    key: str
    kind: str
    local_date: date
    local_time: str
    text: str
    status: str
    due_at: datetime
    expires_at: datetime
    attempts: int
    priority: int
    callback_token: str | None = None
    provider_id: str | None = None
    delivery_status: str | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    claimed_by: str | None = None  # this claim's own token: "<worker>#<random>"
    reason: str | None = None  # why it was cancelled
    cycle: int | None = None
    day: int | None = None
    # An earlier attempt may have reached the provider without its answer being recorded.
    maybe_sent: bool = False


@dataclass(frozen=True)
class Finish:
    """What became of one claimed row: the values to set if it is still claimed by ``worker``.

    ``worker`` None only checks that the row is still being sent; the dispatcher always passes
    the claim's token.
    """

    row_id: int
    worker: str | None
    values: dict[str, Any]

    @classmethod
    def sent(
        cls, row_id: int, worker: str | None, provider_id: str, channel: str, now: datetime
    ) -> Finish:
        return cls(row_id, worker, dict(
            status=SENT, provider_id=provider_id[:64], channel=channel, sent_at=now,
            updated_at=now, last_error=None,
        ))  # fmt: skip

    @classmethod
    def retry(
        cls, row_id: int, worker: str | None, at: datetime, error: str, now: datetime,
        *, maybe_sent: bool = False,
    ) -> Finish:
        """Back to pending until ``at``. ``maybe_sent``: the attempt may have reached the
        provider unanswered, so the next one looks there first; never cleared by a retry."""
        values: dict[str, Any] = dict(
            status=PENDING, next_attempt_at=at, last_error=error[:300], claimed_by=None,
            updated_at=now,
        )
        if maybe_sent:
            values["maybe_sent"] = True
        return cls(row_id, worker, values)

    @classmethod
    def failed(cls, row_id: int, worker: str | None, error: str, now: datetime) -> Finish:
        return cls(row_id, worker, dict(status=FAILED, last_error=error[:300], updated_at=now))

    @classmethod
    def ended(
        cls, row_id: int, worker: str | None, status: str, now: datetime, reason: str | None = None
    ) -> Finish:
        """Expired or cancelled after the claim, before any send."""
        values: dict[str, Any] = dict(status=status, updated_at=now)
        if reason is not None:
            values["reason"] = reason[:200]
        return cls(row_id, worker, values)


def reminder_key(r: Reminder) -> str:
    return f"{r.kind.value}:{r.local_date.isoformat()}"


@dataclass(frozen=True)
class Planned:
    reminder: Reminder
    text: str


@dataclass
class SyncResult:
    inserted: int = 0
    updated: int = 0
    cancelled: int = 0
