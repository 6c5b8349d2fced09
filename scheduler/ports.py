"""The ports the core needs from the outside world, named by role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from scheduler.domain.model import ChannelKind


class SendError(Exception):
    """A channel could not hand a message over. Subclasses say whether to try again."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Worth retrying (rate limit, 5xx, timeout); ``retry_after`` seconds if the provider said."""

    def __init__(
        self, reason: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


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
    """A clock that moves only when told: the demo's fast-forward, and tests."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = now.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError("ManualClock cannot go backwards")
        self._now = when.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.set(self._now + timedelta(**delta))
