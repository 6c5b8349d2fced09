"""Inbound texts as received, the intent each was read as, and the menus offered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from scheduler.store import tables as t
from scheduler.store.db import connecting, writing
from scheduler.store.repository.rows import RepositoryBase

# Built once, like the other statements every inbound message's calls make (see
# patients._BY_PHONE).
_INSERT_INBOUND = insert(t.inbound).returning(t.inbound.c.id)


class InboundStore(RepositoryBase):
    """Inbound texts; a menu offered is the intent "menu:<topic ids>"."""

    async def record_inbound(
        self, patient_id: str | None, channel: str, text: str, intent: str | None, now: datetime
    ) -> int:
        async with writing(self.engine) as conn:
            res = await conn.execute(
                _INSERT_INBOUND,
                {"patient_id": patient_id, "channel": channel, "text": text, "intent": intent,
                 "received_at": now},
            )  # fmt: skip
            return int(res.scalar_one())

    async def set_inbound_intent(self, inbound_id: int, intent: str) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(
                update(t.inbound).where(t.inbound.c.id == inbound_id).values(intent=intent[:200])
            )

    async def last_menu(self, patient_id: str, since: datetime) -> list[str]:
        """Topic ids of the numbered menu we last offered this patient, if recent."""
        c = t.inbound.c
        async with connecting(self.engine) as conn:
            intent = (
                await conn.execute(
                    select(c.intent)
                    .where(
                        c.patient_id == patient_id,
                        c.received_at >= since,
                        c.intent.startswith("menu:"),
                    )
                    .order_by(c.id.desc())
                    .limit(1)
                )
            ).scalar()
        return intent.removeprefix("menu:").split(",") if intent else []
