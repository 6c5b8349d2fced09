"""Nurse alerts as rows: raised, listed, acknowledged, assigned and escalated.

Acknowledging, assigning and escalating each write an audit row in the same transaction. A
note typed by staff keeps no patient's name, number or chat id in the audit trail (the alert
row keeps the note as typed, and ``lenabot patients forget`` scrubs it there).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler.domain.alerts import AlertRecord, is_urgent
from scheduler.domain.audit import SYSTEM, check_actor, identifiers, redact
from scheduler.ports import AuditLog
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import reading, unit_of_work, writing

MAX_NOTE = 500
# Escalation looks back this far: an alert older than this is in the console's open list,
# but is not paged again (e.g. after a worker was down for days).
ESCALATION_LOOK_BACK = timedelta(hours=24)


class AlertError(ValueError):
    """The alert cannot be handled that way (one sentence, shown to the person)."""


def _record(row: Row[Any]) -> AlertRecord:
    return AlertRecord(
        id=row.id, kind=row.kind, text=row.text, patient_id=row.patient_id,
        created_at=row.created_at, urgent=row.urgent, acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by, ack_note=row.ack_note,
        assigned_to=row.assigned_to, escalated_at=row.escalated_at,
    )  # fmt: skip


class SqlAlchemyAlerts:
    def __init__(self, engine: AsyncEngine, audit: AuditLog | None = None) -> None:
        self.engine = engine
        self.audit = audit if audit is not None else SqlAlchemyAudit(engine)

    async def add(self, kind: str, text: str, patient_id: str | None, at: datetime) -> AlertRecord:
        """Record an alert (urgent by its kind, ``scheduler.domain.alerts``), on its own."""
        urgent = is_urgent(kind)
        values = {"patient_id": patient_id, "kind": kind, "text": text, "created_at": at,
                  "urgent": urgent}  # fmt: skip
        async with writing(self.engine) as conn:
            found = await conn.execute(insert(t.alerts).values(values).returning(t.alerts.c.id))
            return AlertRecord(id=int(found.scalar_one()), kind=kind, text=text,
                               patient_id=patient_id, created_at=at, urgent=urgent)  # fmt: skip

    async def recent(self, limit: int = 50) -> list[AlertRecord]:
        """The latest alerts, newest first, handled or not."""
        query = select(t.alerts).order_by(t.alerts.c.id.desc()).limit(limit)
        async with reading(self.engine) as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def open_alerts(self, limit: int = 100) -> list[AlertRecord]:
        """Alerts nobody acknowledged: urgent ones first, newest first within each."""
        a = t.alerts.c
        query = (
            select(t.alerts)
            .where(a.acknowledged_at.is_(None))
            .order_by(a.urgent.desc(), a.created_at.desc(), a.id.desc())
            .limit(limit)
        )
        async with reading(self.engine) as conn:
            return [_record(r) for r in await conn.execute(query)]

    async def open_urgent(self) -> int:
        """How many urgent alerts nobody acknowledged (the console's banner)."""
        a = t.alerts.c
        query = select(func.count()).where(a.urgent.is_(True), a.acknowledged_at.is_(None))
        async with reading(self.engine) as conn:
            return int((await conn.execute(query)).scalar_one())

    async def get(self, alert_id: int) -> AlertRecord:
        async with reading(self.engine) as conn:
            return _record(await self._row(conn, alert_id))

    async def _row(self, conn: AsyncConnection, alert_id: int, lock: bool = False) -> Row[Any]:
        query = select(t.alerts).where(t.alerts.c.id == alert_id)
        row = (await conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise AlertError(f"there is no alert {alert_id}: see 'lenabot alerts --open'")
        return row

    async def acknowledge(
        self, alert_id: int, by: str, note: str = "", *, at: datetime
    ) -> AlertRecord:
        """``by`` (an actor: staff:<id>, cli:<user>, telegram:<id>) has it in hand; an alert is
        acknowledged once (escalation stops there)."""
        check_actor(by)
        note = " ".join(note.split())
        if len(note) > MAX_NOTE:
            raise AlertError(f"the note is {len(note)} characters: keep it to {MAX_NOTE}")
        async with unit_of_work(self.engine) as conn:
            row = await self._row(conn, alert_id, lock=True)
            if row.acknowledged_at is not None:
                raise AlertError(
                    f"alert {alert_id} was already acknowledged by {row.acknowledged_by} at "
                    f"{row.acknowledged_at:%Y-%m-%d %H:%M} UTC"
                )
            await conn.execute(
                update(t.alerts).where(t.alerts.c.id == alert_id)
                .values(acknowledged_at=at, acknowledged_by=by, ack_note=note or None)
            )  # fmt: skip
            after = {"alert": alert_id, "kind": row.kind, "acknowledged_by": by,
                     "note": await self._redacted(conn, row.patient_id, note)}  # fmt: skip
            await self.audit.record(
                "acknowledge", actor=by, at=at, patient_id=row.patient_id,
                before={"alert": alert_id, "acknowledged_by": None}, after=after,
            )  # fmt: skip
            return _record(await self._row(conn, alert_id))

    async def assign(
        self, alert_id: int, to: str, *, by: str | None = None, at: datetime
    ) -> AlertRecord:
        """Give an open alert to ``to`` (an actor, e.g. staff:7); ``by`` (default: ``to``
        itself, taking it on) is who did it."""
        check_actor(to)
        by = check_actor(by or to)
        if to == SYSTEM:
            raise AlertError("an alert is assigned to a person, not to the system")
        async with unit_of_work(self.engine) as conn:
            row = await self._row(conn, alert_id, lock=True)
            if row.acknowledged_at is not None:
                raise AlertError(
                    f"alert {alert_id} is already acknowledged by {row.acknowledged_by}: "
                    "nothing to assign"
                )
            if row.assigned_to == to:
                return _record(row)
            await conn.execute(
                update(t.alerts).where(t.alerts.c.id == alert_id).values(assigned_to=to)
            )
            await self.audit.record(
                "assign", actor=by, at=at, patient_id=row.patient_id,
                before={"alert": alert_id, "assigned_to": row.assigned_to},
                after={"alert": alert_id, "assigned_to": to},
            )  # fmt: skip
            return _record(await self._row(conn, alert_id))

    async def claim_escalations(self, now: datetime, after: timedelta) -> list[AlertRecord]:
        """Urgent alerts nobody acknowledged within ``after``, marked escalated (each once,
        whichever process asks first), with an audit row each."""
        a = t.alerts.c
        claim = (
            update(t.alerts)
            .where(
                a.urgent.is_(True),
                a.acknowledged_at.is_(None),
                a.escalated_at.is_(None),
                a.created_at <= now - after,
                a.created_at > now - ESCALATION_LOOK_BACK,
            )
            .values(escalated_at=now)
            .returning(*t.alerts.c)
        )
        async with unit_of_work(self.engine) as conn:
            claimed = sorted((_record(r) for r in await conn.execute(claim)), key=lambda r: r.id)
            for r in claimed:
                await self.audit.record(
                    "escalate", actor=SYSTEM, at=now, patient_id=r.patient_id,
                    before={"alert": r.id, "escalated_at": None},
                    after={"alert": r.id, "escalated_at": now},
                )  # fmt: skip
        return claimed

    async def _redacted(self, conn: AsyncConnection, patient_id: str | None, text: str) -> str:
        if not text or patient_id is None:
            return text
        p = t.patients.c
        row = (
            await conn.execute(
                select(p.name, p.phone, p.telegram_chat_id).where(p.id == patient_id)
            )
        ).first()
        if row is None:
            return text
        return redact(text, identifiers(row.name, row.phone, row.telegram_chat_id))
