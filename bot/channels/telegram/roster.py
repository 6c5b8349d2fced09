"""Who may use the nurse commands on Telegram: the ``nurses`` table plus NURSE_TELEGRAM_IDS.

Adding, renaming and removing a nurse each append an audit row (``nurse_add``,
``nurse_remove``) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.audit import SYSTEM
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import unit_of_work


@dataclass(frozen=True)
class Nurse:
    telegram_id: int
    name: str
    from_settings: bool = False


class NurseRoster:
    def __init__(self, engine: AsyncEngine, configured: Iterable[int] = ()) -> None:
        self.engine = engine
        self.configured = frozenset(configured)
        self.audit = SqlAlchemyAudit(engine)

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

    async def add(self, telegram_id: int, name: str, now: datetime, *, actor: str = SYSTEM) -> bool:
        """Add a nurse (True) or rename one already listed (False)."""
        n = t.nurses.c
        async with unit_of_work(self.engine) as conn:
            old = (await conn.execute(select(n.name).where(n.telegram_id == telegram_id))).first()
            if old is not None:
                await conn.execute(update(t.nurses).where(n.telegram_id == telegram_id)
                                   .values(name=name))  # fmt: skip
            else:
                await conn.execute(
                    insert(t.nurses).values(telegram_id=telegram_id, name=name, created_at=now)
                )
            if old is None or old.name != name:
                await self.audit.record(
                    "nurse_add", actor=actor, at=now,
                    before=None if old is None else {"telegram_id": telegram_id, "name": old.name},
                    after={"telegram_id": telegram_id, "name": name},
                )  # fmt: skip
            return old is None

    async def remove(self, telegram_id: int, now: datetime, *, actor: str = SYSTEM) -> bool:
        n = t.nurses.c
        async with unit_of_work(self.engine) as conn:
            old = (await conn.execute(select(n.name).where(n.telegram_id == telegram_id))).first()
            if old is None:
                return False
            await conn.execute(delete(t.nurses).where(n.telegram_id == telegram_id))
            await self.audit.record(
                "nurse_remove", actor=actor, at=now,
                before={"telegram_id": telegram_id, "name": old.name}, after=None,
            )  # fmt: skip
            return True

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
