"""A clock the test moves by hand: implements ``scheduler.ports.Clock``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Aware UTC time that only moves when told to (``advance`` / ``set``)."""

    def __init__(self, start: datetime) -> None:
        self._now = self._check(start)

    @staticmethod
    def _check(when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        return when.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kw: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kw)``; never backwards."""
        step = delta if delta is not None else timedelta(**kw)
        if step < timedelta(0):
            raise ValueError("FakeClock never goes backwards")
        self._now += step
        return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (not before the current time)."""
        when = self._check(when)
        if when < self._now:
            raise ValueError("FakeClock never goes backwards")
        self._now = when
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"
