"""Erasure: a patient's personal data forgotten, in one transaction."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from scheduler.domain.audit import identifiers, redact
from scheduler.store import tables as t
from scheduler.store.db import writing
from scheduler.store.repository.rows import RepositoryBase, UnknownPatientError

FORGOTTEN = "forgotten"
FORGOTTEN_TEXT = "[forgotten]"
# What a red-flag alert quotes of the patient's own words (bot.conversation.decide.red_flag).
_QUOTED = re.compile(r'They wrote: ".*', re.DOTALL)


class ErasureStore(RepositoryBase):
    """Forgetting a patient."""

    async def forget(self, patient_id: str, now: datetime) -> dict[str, int]:
        """Erase a patient's personal data, in one transaction; what was changed, counted.

        The name becomes "forgotten"; phone and Telegram chat id are cleared (so nothing
        inbound matches them any more); what they wrote and what we sent them are replaced
        by "[forgotten]"; their link codes go; their alerts lose the quoted words and any
        name, number or chat id, and so do hold reasons and appointment and acknowledgement
        notes; pending messages are cancelled; they are marked opted out. Ids, dates,
        statuses and the course itself stay (adherence, audit); the audit trail is never
        changed (it holds nothing personal). An alert row "patient X forgotten at T" records
        it, with no personal data; ``CareTeam.forget`` adds the audit row.
        """
        p, o, a = t.patients.c, t.outbox.c, t.alerts.c
        async with writing(self.engine) as conn:
            row = (
                await conn.execute(select(t.patients).where(p.id == patient_id).with_for_update())
            ).first()
            if row is None:
                raise UnknownPatientError(patient_id)
            await conn.execute(
                update(t.patients)
                .where(p.id == patient_id)
                .values(
                    name=FORGOTTEN,
                    phone=None,
                    telegram_chat_id=None,
                    opted_out_at=func.coalesce(p.opted_out_at, now),
                )
            )
            inbound = (
                await conn.execute(
                    update(t.inbound)
                    .where(t.inbound.c.patient_id == patient_id)
                    .values(text=FORGOTTEN_TEXT)
                )
            ).rowcount
            cancelled = (
                await conn.execute(
                    update(t.outbox)
                    .where(o.patient_id == patient_id, o.status == "pending")
                    .values(status="cancelled", updated_at=now, reason="patient forgotten")
                )
            ).rowcount
            messages = (
                await conn.execute(
                    update(t.outbox)
                    .where(o.patient_id == patient_id)
                    .values(text=FORGOTTEN_TEXT, last_error=None)
                )
            ).rowcount
            links = (
                await conn.execute(
                    delete(t.link_codes).where(t.link_codes.c.patient_id == patient_id)
                )
            ).rowcount
            if row.telegram_chat_id is not None:
                await conn.execute(
                    delete(t.link_failures).where(t.link_failures.c.chat_id == row.telegram_chat_id)
                )
            # Staff's free text (pause reasons, appointment and acknowledgement notes) loses
            # the name, each part of it, and the number, as the audit trail's copy already has.
            name = "" if row.name == FORGOTTEN else row.name
            named = identifiers(name, row.phone, row.telegram_chat_id)
            personal = [x for x in (row.phone, row.telegram_chat_id) if x is not None]
            personal = [str(x) for x in personal]
            if len(row.name.strip()) >= 3 and row.name != FORGOTTEN:
                personal.append(row.name.strip())
            scrubbed = 0
            query = select(a.id, a.text, a.ack_note).where(a.patient_id == patient_id)
            for alert in await conn.execute(query):
                clean = _QUOTED.sub(f"They wrote: {FORGOTTEN_TEXT}", alert.text)
                for value in personal:
                    clean = clean.replace(value, FORGOTTEN_TEXT)
                note = alert.ack_note and redact(alert.ack_note, named, FORGOTTEN_TEXT)
                if (clean, note) != (alert.text, alert.ack_note):
                    await conn.execute(
                        update(t.alerts).where(a.id == alert.id).values(text=clean, ack_note=note)
                    )
                    scrubbed += 1
            await self._scrub_notes(conn, patient_id, named)
            await conn.execute(
                insert(t.alerts).values(
                    patient_id=patient_id,
                    kind=FORGOTTEN,
                    text=f"patient {patient_id} forgotten at {now.isoformat()}",
                    created_at=now,
                )
            )
        return {
            "inbound": inbound,
            "messages": messages,
            "cancelled": cancelled,
            "link_codes": links,
            "alerts": scrubbed,
        }

    @staticmethod
    async def _scrub_notes(conn: AsyncConnection, patient_id: str, named: list[str]) -> None:
        """Hold reasons and appointment notes of the patient's course, without their name
        or number (the course itself stays)."""
        course = select(t.courses.c.id).where(t.courses.c.patient_id == patient_id)
        for table, column in ((t.holds, t.holds.c.reason), (t.appointments, t.appointments.c.note)):
            rows = await conn.execute(
                select(table.c.id, column).where(table.c.course_id.in_(course.scalar_subquery()))
            )
            for row_id, text in rows.all():
                clean = redact(text, named, FORGOTTEN_TEXT)
                if clean != text:
                    await conn.execute(
                        update(table).where(table.c.id == row_id).values({column.key: clean})
                    )
