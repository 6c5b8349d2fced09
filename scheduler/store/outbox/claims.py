"""Claims on the outbox: rows taken atomically for sending, renewed, finished or released."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError

from scheduler.domain.outbox import (
    CANCELLED,
    EXPIRED,
    FINAL_DELIVERY,
    PENDING,
    SENDING,
    Finish,
    OutboxRow,
)
from scheduler.store import tables as t
from scheduler.store.db import writing
from scheduler.store.outbox.rows import OutboxBase, _row

# The package's name, as before the split: log settings and the database drill name it.
log = logging.getLogger("scheduler.store.outbox")


# Recording sends' outcomes keeps trying on fresh connections for this long by default (the
# dispatcher passes most of its lease): sends that happened but stayed unrecorded would be
# released after the lease and sent again.
FINISH_PATIENCE_S = 30.0
FINISH_BACKOFF_S = (0.05, 0.5)  # first wait between tries, and the longest


class OutboxClaiming(OutboxBase):
    """Claims: each claimed row is sent at most once, by the worker holding its token."""

    async def claim(self, now: datetime, limit: int, worker: str) -> list[OutboxRow]:
        """Atomically take up to ``limit`` due, unexpired rows for this worker.

        Each claim gets its own token ("<worker>#<random>", in the rows' ``claimed_by``): an
        older tick of the same worker can then never renew or finish a row claimed again since.
        """
        c = t.outbox.c
        token = f"{worker}#{secrets.token_hex(6)}"
        pick = (
            select(c.id)
            .where(c.status == PENDING, c.next_attempt_at <= now, c.expires_at > now)
            .order_by(c.priority, c.next_attempt_at, c.id)
            .limit(limit)
        )
        values = dict(
            status=SENDING,
            claimed_at=now,
            claimed_by=token,
            attempts=c.attempts + 1,
            updated_at=now,
        )
        if self.postgres:
            # Workers skip each other's locked rows instead of queueing behind them. The pick
            # is a MATERIALIZED CTE: as an IN (subquery) PostgreSQL may run it more than once
            # and claim more than `limit` rows.
            picked = (
                pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
            )
            stmt = (
                update(t.outbox)
                .where(c.id == picked.c.id, c.status == PENDING)
                .values(**values)
                .returning(*t.outbox.c)
            )
        else:
            stmt = (
                update(t.outbox)
                .where(c.id.in_(pick.scalar_subquery()), c.status == PENDING)
                .values(**values)
                .returning(*t.outbox.c)
            )
        async with writing(self.engine) as conn:
            rows = [_row(r) for r in await conn.execute(stmt)]
        return sorted(rows, key=lambda r: (r.priority, r.due_at, r.id))

    async def cancel_claimed(self, rows: Sequence[tuple[int, str, str]], now: datetime) -> int:
        """Cancel claimed rows before they are sent: (row id, claim token, reason) each; a row
        no longer claimed under that token is left alone. Joins a unit of work (the claim's)."""
        if not rows:
            return 0
        c = t.outbox.c
        async with writing(self.engine) as conn:
            await conn.execute(
                update(t.outbox)
                .where(
                    c.id == bindparam("b_id"),
                    c.status == SENDING,
                    c.claimed_by == bindparam("b_token"),
                )
                .values(status=CANCELLED, reason=bindparam("b_reason"), updated_at=now),
                [{"b_id": i, "b_token": token, "b_reason": why[:200]} for i, token, why in rows],
            )
        return len(rows)

    async def renew_many(self, row_ids: Sequence[int], worker: str, now: datetime) -> set[int]:
        """Refresh the claim on these rows; returns the ids still claimed under ``worker``."""
        if not row_ids:
            return set()
        c = t.outbox.c
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(c.id.in_(list(row_ids)), c.status == SENDING, c.claimed_by == worker)
                .values(claimed_at=now)
                .returning(c.id)
            )
            return {r.id for r in res}

    async def finish_many(
        self, outcomes: Sequence[Finish], patience: float = FINISH_PATIENCE_S
    ) -> int:
        """Record many claimed rows' outcomes in one transaction (a dispatcher's group commit).

        Each update is conditional on the row still being claimed under the outcome's token, so
        a row taken over meanwhile is left alone, and replaying the whole transaction after a
        lost connection cannot change a row twice. Returns 1 or 0 for a single outcome (was it
        still ours?) and the number written for several (drivers do not all count those).

        The sends have already happened, so a failed write is tried again, each time on a new
        connection, with growing waits, for up to ``patience`` seconds: a connection killed
        once (server restart, ``pg_terminate_backend``) is the common case, but in the database
        drill three quick tries in a row met killed sessions, and the rows they left claimed
        were sent again after the lease.
        """
        if not outcomes:
            return 0
        groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
        for f in outcomes:
            one = {"b_id": f.row_id, **{f"b_{k}": v for k, v in f.values.items()}}
            if f.worker is not None:
                one["b_worker"] = f.worker
            groups.setdefault((f.worker is not None, tuple(sorted(f.values))), []).append(one)
        deadline = time.monotonic() + patience
        wait, longest = FINISH_BACKOFF_S
        while True:
            try:
                return await self._write_outcomes(groups)
            except (DBAPIError, OSError) as exc:  # OSError: the server refused a new connection
                if time.monotonic() + wait > deadline:
                    raise
                log.warning(
                    "recording %d outcomes failed (%s); retrying", len(outcomes), type(exc).__name__
                )
                await asyncio.sleep(wait)
                wait = min(longest, wait * 2)

    async def _write_outcomes(
        self, groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]]
    ) -> int:
        c = t.outbox.c
        done = 0
        async with self.engine.connect() as conn:
            try:
                async with conn.begin():
                    for (claimed, cols), params in groups.items():
                        cond = [c.id == bindparam("b_id"), c.status == SENDING]
                        if claimed:
                            cond.append(c.claimed_by == bindparam("b_worker"))
                        values: dict[str, Any] = {k: bindparam(f"b_{k}") for k in cols}
                        stmt = update(t.outbox).where(*cond).values(values)
                        if len(params) == 1:
                            done += (await conn.execute(stmt, params[0])).rowcount
                        else:  # executemany: drivers do not all report a row count for it
                            await conn.execute(stmt, params)
                            done += len(params)
            except DBAPIError:
                # Not every error of a connection killed mid-operation reads as a disconnect
                # (asyncpg: "cannot switch to state 11; another operation is in progress"):
                # such a connection must not go back to the pool for the next try.
                await conn.invalidate()
                raise
        return done

    async def finish(self, outcome: Finish) -> bool:
        """Record one claimed row's outcome; False if the row is no longer claimed that way."""
        return await self.finish_many([outcome]) == 1

    async def expire(self, now: datetime) -> int:
        """Pending rows whose moment has passed become expired: never sent late."""
        c = t.outbox.c
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(c.status == PENDING, c.expires_at <= now)
                .values(status=EXPIRED, updated_at=now)
            )
            return res.rowcount

    async def release_stale(self, claimed_before: datetime, now: datetime) -> int:
        """Claims older than the lease (a worker died) go back to pending, marked
        ``maybe_sent``: the dead worker may have handed any of them to the provider before it
        could record the answer, so each is looked for there before it goes again (H11)."""
        c = t.outbox.c
        return await self._release(
            c.claimed_at < claimed_before, now, "released after an interrupted send",
            maybe_sent=True,
        )

    async def release_worker(
        self, worker: str, now: datetime, cut_off: Sequence[int] = ()
    ) -> int:
        """A worker shutting down hands its unsent claims straight back to pending; the rows
        in ``cut_off`` (sends cancelled while with the provider) are marked ``maybe_sent``."""
        c = t.outbox.c
        mine = c.claimed_by.startswith(f"{worker}#", autoescape=True)
        released = 0
        if cut_off:
            released += await self._release(
                and_(mine, c.id.in_(list(cut_off))), now, "released at shutdown mid-send",
                maybe_sent=True,
            )
        return released + await self._release(mine, now, "released at shutdown")

    async def _release(self, which: Any, now: datetime, why: str, *, maybe_sent: bool = False
                       ) -> int:
        c = t.outbox.c
        values: dict[str, Any] = dict(
            status=PENDING, claimed_by=None, next_attempt_at=now, updated_at=now, last_error=why
        )
        if maybe_sent:
            values["maybe_sent"] = True
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox).where(c.status == SENDING, which).values(**values)
            )
            return res.rowcount

    async def set_delivery(self, token: str, status: str, now: datetime) -> bool:
        """Record a provider's delivery report. A late "sent" never overwrites "delivered"."""
        c = t.outbox.c
        cond = [c.callback_token == token]
        if status not in FINAL_DELIVERY:
            cond.append(or_(c.delivery_status.is_(None), c.delivery_status.not_in(FINAL_DELIVERY)))
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox).where(*cond).values(delivery_status=status[:20], updated_at=now)
            )
            return res.rowcount == 1
