"""Who may use the nurse commands on Telegram: the ``nurses`` table plus NURSE_TELEGRAM_IDS."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.store import tables as t


@dataclass(frozen=True)
class Nurse:
    telegram_id: int
    name: str
    from_settings: bool = False


class NurseRoster:
    def __init__(self, engine: AsyncEngine, configured: Iterable[int] = ()) -> None:
        self.engine = engine
        self.configured = frozenset(configured)

    async def is_nurse(self, telegram_id: int | None) -> bool:
        if telegram_id is None:
            return False
        if telegram_id in self.configured:
            return True
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t.nurses.c.telegram_id).where(t.nurses.c.telegram_id == telegram_id)
                )
            ).first()
        return row is not None

    async def add(self, telegram_id: int, name: str, now: datetime) -> bool:
        """Add a nurse (True) or rename one already listed (False)."""
        async with self.engine.begin() as conn:
            res = await conn.execute(
                update(t.nurses).where(t.nurses.c.telegram_id == telegram_id).values(name=name)
            )
            if res.rowcount:
                return False
            await conn.execute(
                insert(t.nurses).values(telegram_id=telegram_id, name=name, created_at=now)
            )
            return True

    async def remove(self, telegram_id: int) -> bool:
        async with self.engine.begin() as conn:
            res = await conn.execute(delete(t.nurses).where(t.nurses.c.telegram_id == telegram_id))
            return bool(res.rowcount)

    async def everyone(self) -> list[Nurse]:
        """Nurses in the table, then those only named in NURSE_TELEGRAM_IDS."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.nurses.c.telegram_id, t.nurses.c.name).order_by(t.nurses.c.name)
            )
            listed = [Nurse(r.telegram_id, r.name) for r in rows]
        known = {n.telegram_id for n in listed}
        extra = [Nurse(i, "", from_settings=True) for i in sorted(self.configured - known)]
        return listed + extra

    async def chat_ids(self) -> list[int]:
        """Where nurse alerts go: a private chat's id is the user's id."""
        return [n.telegram_id for n in await self.everyone()]
