"""Reads of the outbox: a row's status, rows, counts by status, the next due time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from scheduler.domain.outbox import PENDING, OutboxRow
from scheduler.store import tables as t
from scheduler.store.db import connecting
from scheduler.store.outbox.rows import OutboxBase, _row


class OutboxReading(OutboxBase):
    """Reads; none of them changes a row."""

    async def status_of(self, patient_id: str, key: str) -> str | None:
        """The status of the patient's row under ``key``, or None if there is none."""
        c = t.outbox.c
        async with connecting(self.engine) as conn:
            found: str | None = (
                await conn.execute(select(c.status).where(c.patient_id == patient_id, c.key == key))
            ).scalar()
            return found

    async def count_keys(self, patient_id: str, prefix: str) -> int:
        c = t.outbox.c
        async with connecting(self.engine) as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count()).where(
                            c.patient_id == patient_id, c.key.startswith(prefix)
                        )
                    )
                ).scalar_one()
            )

    async def rows(
        self, patient_id: str | None = None, statuses: Sequence[str] = ()
    ) -> list[OutboxRow]:
        c = t.outbox.c
        q = select(t.outbox).order_by(c.due_at, c.id)
        if patient_id is not None:
            q = q.where(c.patient_id == patient_id)
        if statuses:
            q = q.where(c.status.in_(list(statuses)))
        async with connecting(self.engine) as conn:
            return [_row(r) for r in await conn.execute(q)]

    async def counts(self) -> dict[str, int]:
        c = t.outbox.c
        async with connecting(self.engine) as conn:
            return {
                r.status: r.n
                for r in await conn.execute(
                    select(c.status, func.count().label("n")).group_by(c.status)
                )
            }

    async def next_due(self) -> datetime | None:
        c = t.outbox.c
        async with connecting(self.engine) as conn:
            found: datetime | None = (
                await conn.execute(select(func.min(c.next_attempt_at)).where(c.status == PENDING))
            ).scalar()
            return found
