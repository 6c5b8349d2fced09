"""What the outbox's role classes share: the engine they run on, and a row read as an OutboxRow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.outbox import OutboxRow


class OutboxBase:
    """The outbox table on one engine (PostgreSQL or SQLite): each role class adds what it does."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"


def _row(r: Row[Any]) -> OutboxRow:
    return OutboxRow(
        id=r.id,
        patient_id=r.patient_id,
        key=r.key,
        kind=r.kind,
        local_date=r.local_date,
        local_time=r.local_time,
        text=r.text,
        status=r.status,
        due_at=r.due_at,
        expires_at=r.expires_at,
        attempts=r.attempts,
        priority=r.priority,
        callback_token=r.callback_token,
        provider_id=r.provider_id,
        delivery_status=r.delivery_status,
        sent_at=r.sent_at,
        last_error=r.last_error,
        claimed_by=r.claimed_by,
        reason=r.reason,
        cycle=r.cycle,
        day=r.day,
        maybe_sent=r.maybe_sent,
    )
