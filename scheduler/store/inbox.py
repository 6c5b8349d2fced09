"""The Telegram inbox: updates stored before they are acknowledged, then claimed and handled.

The webhook (and the long poller) ``add`` each update in its own committed transaction before
Telegram hears 200 (or before the getUpdates offset moves past it); a repeated ``update_id`` is
a no-op. A pump then ``claim``s rows with the outbox's claim/lease pattern: each claim gets a
token ("<worker>#<random>"), only the earliest unfinished update of a chat can be claimed (so
never two of one chat at once, and in update order), and a claim older than the lease (its
process died) can be claimed again by anyone. ``done`` only counts under the claim's token.

``telegram_steps`` records what handling an update has done that must not be done again if
it is handled again (``bot.channels.telegram.journal``); done rows and their steps are
``prune``d after a retention.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.ports import InboxRow, StepTaken
from scheduler.store import tables as t
from scheduler.store.db import connecting, is_sqlite, writing

PENDING = "pending"
CLAIMED = "claimed"
DONE = "done"
FAILED = "failed"
_OFFSET_ROW = 1


class SqlAlchemyInbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = not is_sqlite(engine)

    async def add(self, update_id: int, chat_id: int | None, raw: str, now: datetime) -> bool:
        """Store an update (pending); False if this ``update_id`` is already stored."""
        values = dict(
            update_id=update_id, chat_id=chat_id, raw=raw, received_at=now, status=PENDING
        )
        ins = pg_insert if self.postgres else sqlite_insert
        stmt = (
            ins(t.telegram_inbox)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
        async with writing(self.engine) as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def claim(
        self, now: datetime, limit: int, worker: str, lease: timedelta
    ) -> list[InboxRow]:
        """Take up to ``limit`` updates, at most one a chat: each chat's earliest one that is
        pending, or claimed longer than ``lease`` ago (its worker died). In update order."""
        c = t.telegram_inbox.c
        earlier = t.telegram_inbox.alias("earlier")
        e = earlier.c
        token = f"{worker}#{secrets.token_hex(6)}"
        stale = now - lease
        claimable = or_(c.status == PENDING, and_(c.status == CLAIMED, c.claimed_at < stale))
        blocked = exists().where(
            e.chat_id == c.chat_id,
            e.update_id < c.update_id,
            e.status.in_([PENDING, CLAIMED]),
        )
        pick = select(c.id).where(claimable, ~blocked).order_by(c.update_id).limit(limit)
        values = dict(status=CLAIMED, claimed_by=token, claimed_at=now, attempts=c.attempts + 1)
        if self.postgres:
            picked = (
                pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
            )
            stmt = update(t.telegram_inbox).where(c.id == picked.c.id, claimable)
        else:
            stmt = update(t.telegram_inbox).where(c.id.in_(pick.scalar_subquery()), claimable)
        stmt_r = stmt.values(**values).returning(
            c.id, c.update_id, c.chat_id, c.raw, c.claimed_by, c.attempts
        )
        async with writing(self.engine) as conn:
            rows = [
                InboxRow(r.id, r.update_id, r.chat_id, r.raw, r.claimed_by, r.attempts)
                for r in await conn.execute(stmt_r)
            ]
        return sorted(rows, key=lambda r: r.update_id)

    async def renew(self, ids: list[int], worker: str, now: datetime) -> int:
        """Refresh claims still held under ``worker`` (a claim's token); how many were."""
        if not ids:
            return 0
        c = t.telegram_inbox.c
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.telegram_inbox)
                .where(c.id.in_(ids), c.status == CLAIMED, c.claimed_by == worker)
                .values(claimed_at=now)
            )
            return res.rowcount

    async def done(self, id: int, worker: str, now: datetime) -> bool:
        """Mark a claimed update handled; False if it is no longer claimed under ``worker``.
        Joins the caller's unit of work."""
        c = t.telegram_inbox.c
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.telegram_inbox)
                .where(c.id == id, c.status == CLAIMED, c.claimed_by == worker)
                .values(status=DONE, done_at=now)
            )
            return res.rowcount == 1

    async def release_stale(
        self, claimed_before: datetime, max_attempts: int
    ) -> list[tuple[int, int | None]]:
        """Claims older than the lease go back to pending; an update whose handling was
        started ``max_attempts`` times (it kills its process?) is failed instead, so it no
        longer holds up its chat. The (update id, chat id) of those failed now."""
        c = t.telegram_inbox.c
        old = and_(c.status == CLAIMED, c.claimed_at < claimed_before)
        async with writing(self.engine) as conn:
            failed = await conn.execute(
                update(t.telegram_inbox)
                .where(old, c.attempts >= max_attempts)
                .values(status=FAILED, claimed_by=None)
                .returning(c.update_id, c.chat_id)
            )
            gave_up = [(int(r.update_id), r.chat_id) for r in failed]
            await conn.execute(
                update(t.telegram_inbox).where(old).values(status=PENDING, claimed_by=None)
            )
            return gave_up

    async def step(self, update_id: int, step: int) -> str | None:
        """The result recorded for step ``step`` of handling ``update_id``; None if not done.
        Joins the caller's unit of work."""
        s = t.telegram_steps.c
        async with connecting(self.engine) as conn:
            found = await conn.scalar(
                select(s.result).where(s.update_id == update_id, s.step == step)
            )
        return None if found is None else str(found)

    async def record_step(self, update_id: int, step: int, result: str, now: datetime) -> None:
        """Record step ``step`` of handling ``update_id`` as done. Joins the caller's unit of
        work, so a step that is database work commits with it; a step recorded twice (two
        processes handling one update) raises ``StepTaken`` in the second."""
        try:
            async with writing(self.engine) as conn:
                await conn.execute(
                    insert(t.telegram_steps).values(
                        update_id=update_id, step=step, result=result, done_at=now
                    )
                )
        except IntegrityError as exc:
            raise StepTaken(f"step {step} of Telegram update {update_id}") from exc

    async def prune(self, done_before: datetime) -> int:
        """Delete updates handled before ``done_before``, and their steps; how many."""
        c = t.telegram_inbox.c
        s = t.telegram_steps.c
        old = and_(c.status == DONE, c.done_at < done_before)
        async with writing(self.engine) as conn:
            await conn.execute(
                delete(t.telegram_steps).where(s.update_id.in_(select(c.update_id).where(old)))
            )
            return (await conn.execute(delete(t.telegram_inbox).where(old))).rowcount

    async def status_of(self, update_id: int) -> tuple[str, int] | None:
        """(status, attempts) of a stored update, for tests and the CLI."""
        c = t.telegram_inbox.c
        async with connecting(self.engine) as conn:
            row = (
                await conn.execute(select(c.status, c.attempts).where(c.update_id == update_id))
            ).first()
        return None if row is None else (row.status, row.attempts)

    async def next_offset(self) -> int | None:
        """Long polling's next getUpdates offset, None before the first batch."""
        c = t.telegram_offset.c
        async with connecting(self.engine) as conn:
            found = await conn.scalar(select(c.next_offset).where(c.id == _OFFSET_ROW))
        return None if found is None else int(found)

    async def save_offset(self, offset: int, now: datetime) -> None:
        """Move the offset forward (never back). Joins the caller's unit of work, so the
        batch's updates and the offset past them commit together."""
        c = t.telegram_offset.c
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.telegram_offset)
                .where(c.id == _OFFSET_ROW, c.next_offset < offset)
                .values(next_offset=offset, updated_at=now)
            )
            if (
                res.rowcount == 0
                and await conn.scalar(select(c.id).where(c.id == _OFFSET_ROW)) is None
            ):
                await conn.execute(
                    insert(t.telegram_offset).values(
                        id=_OFFSET_ROW, next_offset=offset, updated_at=now
                    )
                )
