"""The outbox: planned messages as rows, claimed atomically, each sent at most once.

Status moves pending -> sending -> sent | failed, or pending -> expired | cancelled. Only
pending rows are ever changed by re-planning; a row that left pending is history.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Dialect, Row, String, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler.domain.model import PLANNED_KINDS
from scheduler.domain.outbox import (
    CANCELLED,
    EXPIRED,
    FINAL_DELIVERY,
    PENDING,
    PRIORITY_REMINDER,
    SENDING,
    Finish,
    OutboxRow,
    Planned,
    SyncResult,
    reminder_key,
)
from scheduler.ports import OutboxClaims, OutboxExtras
from scheduler.store import tables as t
from scheduler.store.db import connecting, patients_param, unit_of_work, writing

log = logging.getLogger(__name__)

# Recording sends' outcomes keeps trying on fresh connections for this long by default (the
# dispatcher passes most of its lease): sends that happened but stayed unrecorded would be
# released after the lease and sent again.
FINISH_PATIENCE_S = 30.0
FINISH_BACKOFF_S = (0.05, 0.5)  # first wait between tries, and the longest


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
    )


# The columns a new planned row is inserted with (the rest are NULL until it is claimed).
_NEW_COLUMNS = (
    "patient_id", "key", "kind", "local_date", "local_time", "cycle", "day", "text", "priority",
    "status", "due_at", "expires_at", "next_attempt_at", "attempts", "callback_token",
    "created_at", "updated_at",
)  # fmt: skip
_TOKEN_BYTES = 24  # the random part of a callback token: 32 URL-safe characters


def _callback_tokens(n: int, now_ms: int | None = None) -> list[str]:
    """``n`` callback tokens: the time in milliseconds as 11 hex digits, then 24 random bytes
    URL-safe encoded as ``secrets.token_urlsafe(24)`` makes them (43 characters, unpadded).

    The time first makes a planning pass append to the tokens' unique index, where random
    tokens wrote all over it: on PostgreSQL that index cost about a third of the server's
    work in planning 100k patients. The 192 random bits keep a token unguessable; the time
    says only when the row was planned. The random parts come from one urandom call: 24 bytes
    are a whole number of base64 groups, so each 32-character slice of one long encoding is
    exactly the encoding of its own 24 bytes.
    """
    stamp = f"{(time.time_ns() // 1_000_000 if now_ms is None else now_ms):011x}"[-11:]
    width = _TOKEN_BYTES * 4 // 3
    encoded = base64.urlsafe_b64encode(os.urandom(_TOKEN_BYTES * n)).decode("ascii")
    return [stamp + encoded[i : i + width] for i in range(0, width * n, width)]


@dataclass(frozen=True)
class _FastInsert:
    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]  # per column of _NEW_COLUMNS


@lru_cache(maxsize=64)
def _fast_insert(dialect: Dialect, same: tuple[bool, ...] = ()) -> _FastInsert:
    """The insert of new planned rows for this dialect, and the bind processors of its values.

    The processors are SQLAlchemy's own (``UTCDateTime`` to naive UTC, then SQLite's DATETIME
    string; SQLite's DATE string; none for PostgreSQL's dates): the rows are stored exactly
    as an ``insert(t.outbox)`` would store them.

    On PostgreSQL, the columns ``same`` marks (one value for every row: the status, the
    priority, ``now``...) are sent as that one value rather than an array of copies.
    """
    cols = [t.outbox.c[name] for name in _NEW_COLUMNS]
    same = same or (False,) * len(cols)
    q = dialect.identifier_preparer
    names = ", ".join(q.quote(c.name) for c in cols)
    into = f"INSERT INTO {q.format_table(t.outbox)} ({names})"
    conflict = f"ON CONFLICT ({q.quote('patient_id')}, {q.quote('key')}) DO NOTHING"
    if dialect.name == "postgresql":
        # SQLAlchemy text with named parameters (see _insert_new): one array per column that
        # varies, one value for each of the others.
        varying = [c for c, one in zip(cols, same, strict=True) if not one]
        arrays = ", ".join(f"CAST(:{c.name} AS {_pg_type(c, dialect)}[])" for c in varying)
        picks = ", ".join(
            f"CAST(:{c.name} AS {_pg_type(c, dialect)})" if one else f"u.{q.quote(c.name)}"
            for c, one in zip(cols, same, strict=True)
        )
        unnested = ", ".join(q.quote(c.name) for c in varying)
        sql = f"{into} SELECT {picks} FROM unnest({arrays}) AS u({unnested}) {conflict}"
    else:  # driver SQL, qmark parameters
        sql = f"{into} VALUES ({', '.join('?' for _ in cols)}) {conflict}"
    return _FastInsert(
        sql, tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols)
    )


def _pg_type(col: Column[Any], dialect: Dialect) -> str:
    """The PostgreSQL type one parameter of the ``unnest`` insert is cast to."""
    # VARCHAR without its length: an explicit cast to varchar(n) silently truncates, while
    # storing an over-long value in the column fails, as it always has.
    typ = String() if isinstance(col.type, String) and col.type.length else col.type
    return str(typ.compile(dialect=dialect))


def _bound(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` applied to every value, but computed once per distinct value.

    Due and expiry times repeat across thousands of patients (a few dose times; one ``now``).
    An aware datetime with fold=1 compares equal to its fold=0 twin in the same zone although
    it is another instant: those are processed every time, never memoised.
    """
    memo: dict[Any, Any] = {}
    out: list[Any] = []
    for v in values:
        if getattr(v, "fold", 0):
            out.append(process(v))
            continue
        try:
            out.append(memo[v])
        except KeyError:
            memo[v] = bound = process(v)
            out.append(bound)
    return out


def _existing(who: Any) -> Any:
    """The rows of some patients a re-plan may change or must know of (see ``sync``)."""
    c = t.outbox.c
    return (
        select(c.id, c.patient_id, c.key, c.kind, c.status, c.due_at, c.expires_at, c.text)
        .where(who)
        .where(or_(c.status == PENDING, c.expires_at > bindparam("b_from")))
    )


# Statements a re-plan after every dose report runs, built once (see repository._BY_PHONE).
_EXISTING_FEW = _existing(t.outbox.c.patient_id.in_(bindparam("b_ids", expanding=True)))
_EXISTING_RANGE = _existing(
    t.outbox.c.patient_id.between(bindparam("b_first"), bindparam("b_last"))
)
_CANCEL_DAY = (
    update(t.outbox)
    .where(
        t.outbox.c.patient_id == bindparam("b_patient"),
        t.outbox.c.local_date == bindparam("b_day"),
        t.outbox.c.kind.in_(bindparam("b_kinds", expanding=True)),
        t.outbox.c.status == PENDING,
    )
    .values(status=CANCELLED, updated_at=bindparam("b_now"), reason=bindparam("b_reason"))
)
# Why the planner cancelled a pending row: its key is no longer in the plan.
NOT_PLANNED = "no longer in the plan"


class SqlAlchemyOutbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"

    def unit_of_work(self) -> AbstractAsyncContextManager[object]:
        return unit_of_work(self.engine)

    async def sync(
        self, planned: dict[str, list[Planned]], window_from: datetime, now: datetime
    ) -> SyncResult:
        """Make the pending rows of these patients match their plan (idempotent).

        New keys are inserted; pending or cancelled rows whose plan changed are updated back to
        pending; pending rows no longer planned are cancelled. Rows already claimed, sent,
        failed or expired are never touched, so re-planning can never resend a message.
        """
        result = SyncResult()
        if not planned:
            return result
        c = t.outbox.c
        async with writing(self.engine) as conn:
            ranged, who = patients_param(list(planned))
            query = _EXISTING_RANGE if ranged else _EXISTING_FEW
            existing: dict[tuple[str, str], Any] = {
                (r.patient_id, r.key): r
                for r in await conn.execute(query, {**who, "b_from": window_from})
                if r.patient_id in planned  # a range may hold patients not in this batch
            }
            new: list[tuple[str, str, Planned]] = []
            changes: list[dict[str, Any]] = []
            wanted: set[tuple[str, str]] = set()
            for pid, items in planned.items():
                for p in items:
                    k = (pid, reminder_key(p.reminder))
                    wanted.add(k)
                    row = existing.get(k)
                    if row is None:
                        new.append((pid, k[1], p))
                    elif row.status in (PENDING, CANCELLED) and (
                        row.status == CANCELLED
                        or row.due_at != p.reminder.due_at
                        or row.expires_at != p.reminder.expires_at
                        or row.text != p.text
                    ):
                        changes.append(
                            {
                                "b_id": row.id,
                                "b_status": row.status,
                                "b_due_at": p.reminder.due_at,
                                "b_expires_at": p.reminder.expires_at,
                                "b_text": p.text,
                                "b_local_time": p.reminder.local_time.strftime("%H:%M"),
                            }
                        )
            if changes:
                # One executemany instead of a statement per row: a DST change or a new
                # catalogue text touches every patient's rows at once. Each update is still
                # conditional on the status read above, so a row claimed meanwhile is left alone.
                await conn.execute(
                    update(t.outbox)
                    .where(c.id == bindparam("b_id"), c.status == bindparam("b_status"))
                    .values(
                        status=PENDING,
                        due_at=bindparam("b_due_at"),
                        expires_at=bindparam("b_expires_at"),
                        next_attempt_at=bindparam("b_due_at"),
                        text=bindparam("b_text"),
                        attempts=0,
                        local_time=bindparam("b_local_time"),
                        last_error=None,
                        reason=None,
                        updated_at=now,
                    ),
                    changes,
                )
                result.updated += len(changes)
            if new:
                tokens = _callback_tokens(len(new))
                result.inserted = await self._insert_new(
                    conn,
                    [
                        self._new_values(pid, key, p, now, token)
                        for (pid, key, p), token in zip(new, tokens, strict=True)
                    ],
                )
            stale = [
                r
                for k, r in existing.items()
                if r.status == PENDING and k not in wanted and r.kind in PLANNED_KINDS
            ]
            # A row whose moment passed unsent is history ("expired"), not a plan change.
            for status, ids, reason in (
                (EXPIRED, [r.id for r in stale if r.expires_at <= now], None),
                (CANCELLED, [r.id for r in stale if r.expires_at > now], NOT_PLANNED),
            ):
                if ids:
                    await conn.execute(
                        update(t.outbox)
                        .where(c.id.in_(ids), c.status == PENDING)
                        .values(status=status, updated_at=now, reason=reason)
                    )
            result.cancelled = sum(1 for r in stale if r.expires_at > now)
        return result

    async def _insert_new(self, conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> int:
        """Insert these ``_NEW_COLUMNS`` rows unless their key exists; returns how many were.

        Another planner may insert the same key at the same moment: the key decides, and a row
        skipped on conflict is not counted (the statement's row count, not ``len(rows)``).

        A planning pass inserts hundreds of thousands of rows, and SQLAlchemy's executemany
        spends more client CPU binding them one value at a time (type processors, parameter
        dicts, insertmanyvalues batches) than the database spends storing them. So the values
        go to the driver directly, column by column through SQLAlchemy's own bind processors
        (each distinct value processed once): PostgreSQL gets one ``unnest`` of a binary array
        per column, SQLite one prepared statement stepped per row (sqlite3 executemany).
        """
        plan = _fast_insert(self.engine.dialect)
        columns = [
            values if process is None else _bound(values, process)
            for values, process in zip(zip(*rows, strict=True), plan.processors, strict=True)
        ]
        if self.postgres:
            # One statement, so SQLAlchemy's per-statement cost does not matter: plain
            # ``execute`` (text parameters are untyped and reach asyncpg as they are). Five of
            # the columns hold one value for every row of a pass: each goes once, not as an
            # array (asyncpg encoding the arrays was a tenth of a planner's CPU).
            same = tuple(len(v) > 1 and v.count(v[0]) == len(v) for v in columns)
            sql = _fast_insert(self.engine.dialect, same).sql
            values = {
                name: v[0] if one else list(v)
                for name, v, one in zip(_NEW_COLUMNS, columns, same, strict=True)
            }
            res = await conn.execute(text(sql), values)
        else:
            # A list of tuples: sqlite3's own executemany; its row count is the total inserted.
            res = await conn.exec_driver_sql(plan.sql, list(zip(*columns, strict=True)))
        return res.rowcount

    @staticmethod
    def _new_values(
        pid: str, key: str, p: Planned, now: datetime, callback_token: str
    ) -> tuple[Any, ...]:
        """A new planned row's values, in the order of ``_NEW_COLUMNS``."""
        r = p.reminder
        return (
            pid, key, r.kind.value, r.local_date, r.local_time.strftime("%H:%M"), r.cycle, r.day,
            p.text, PRIORITY_REMINDER, PENDING, r.due_at, r.expires_at, r.due_at, 0,
            callback_token, now, now,
        )  # fmt: skip

    @staticmethod
    def _new(pid: str, p: Planned, now: datetime) -> dict[str, Any]:
        r = p.reminder
        values = SqlAlchemyOutbox._new_values(pid, reminder_key(r), p, now, _callback_tokens(1)[0])
        return dict(zip(_NEW_COLUMNS, values, strict=True))

    async def add_extra(
        self,
        patient_id: str,
        planned: Planned,
        key: str,
        now: datetime,
        priority: int = PRIORITY_REMINDER,
    ) -> bool:
        """A message the planner does not own (LATER, a correction): inserted once under
        ``key``."""
        row = self._new(patient_id, planned, now) | {"key": key, "priority": priority}
        ins = (pg_insert if self.postgres else sqlite_insert)(t.outbox)
        async with writing(self.engine) as conn:
            res = await conn.execute(
                ins.values(**row)
                .on_conflict_do_nothing(index_elements=["patient_id", "key"])
                .returning(t.outbox.c.id)
            )
            return res.first() is not None

    async def cancel_day(
        self, patient_id: str, day: date, kinds: Sequence[str], reason: str, now: datetime
    ) -> int:
        """Cancel the patient's pending ``kinds`` rows of local date ``day``, saying why."""
        async with writing(self.engine) as conn:
            res = await conn.execute(
                _CANCEL_DAY,
                {"b_patient": patient_id, "b_day": day, "b_kinds": list(kinds), "b_now": now,
                 "b_reason": reason[:200]},
            )  # fmt: skip
            return res.rowcount

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

    async def cancel_pending(self, patient_id: str, now: datetime, reason: str) -> int:
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.patient_id == patient_id, t.outbox.c.status == PENDING)
                .values(status=CANCELLED, updated_at=now, reason=reason[:200])
            )
            return res.rowcount

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
        """Claims older than the lease (a worker died) go back to pending."""
        c = t.outbox.c
        return await self._release(
            c.claimed_at < claimed_before, now, "released after an interrupted send"
        )

    async def release_worker(self, worker: str, now: datetime) -> int:
        """A worker shutting down hands its unsent claims straight back to pending."""
        mine = t.outbox.c.claimed_by.startswith(f"{worker}#", autoescape=True)
        return await self._release(mine, now, "released at shutdown")

    async def _release(self, which: Any, now: datetime, why: str) -> int:
        c = t.outbox.c
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(c.status == SENDING, which)
                .values(
                    status=PENDING,
                    claimed_by=None,
                    next_attempt_at=now,
                    updated_at=now,
                    last_error=why,
                )
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


def _conforms(store: SqlAlchemyOutbox) -> tuple[OutboxClaims, OutboxExtras]:
    """Never called: mypy checks here that the class satisfies the ports the services use."""
    return store, store
