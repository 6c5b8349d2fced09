"""Planning writes to the outbox: a plan's rows made to match it, extra messages, cancels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scheduler.domain.model import PLANNED_KINDS
from scheduler.domain.outbox import (
    CANCELLED,
    EXPIRED,
    PENDING,
    PRIORITY_REMINDER,
    Planned,
    SyncResult,
    reminder_key,
)
from scheduler.store import tables as t
from scheduler.store.db import patients_param, writing
from scheduler.store.outbox.inserts import _NEW_COLUMNS, _bound, _callback_tokens, _fast_insert
from scheduler.store.outbox.rows import OutboxBase


def _existing(who: Any) -> Any:
    """The rows of some patients a re-plan may change or must know of (see ``sync``)."""
    c = t.outbox.c
    return (
        select(c.id, c.patient_id, c.key, c.kind, c.status, c.due_at, c.expires_at, c.text)
        .where(who)
        .where(or_(c.status == PENDING, c.expires_at > bindparam("b_from")))
    )


# Statements a re-plan after every dose report runs, built once (see
# repository.patients._BY_PHONE).
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
        # Written so that no index can serve it: SQLite (no statistics) otherwise searched
        # ix_outbox_claim by status, every pending row of every patient, on every dose report
        # (found by the soak, bench/soak.py: its first hour at 10k patients took 174 s of CPU,
        # 42 s since); this way it searches the patient's own rows (uq_outbox_patient_key).
        t.outbox.c.status.concat("") == PENDING,
    )
    .values(status=CANCELLED, updated_at=bindparam("b_now"), reason=bindparam("b_reason"))
)
# Why the planner cancelled a pending row: its key is no longer in the plan.
NOT_PLANNED = "no longer in the plan"


class OutboxPlanning(OutboxBase):
    """Planning writes: only pending rows are ever changed by re-planning."""

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
        values = OutboxPlanning._new_values(pid, reminder_key(r), p, now, _callback_tokens(1)[0])
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

    async def cancel_pending(self, patient_id: str, now: datetime, reason: str) -> int:
        async with writing(self.engine) as conn:
            res = await conn.execute(
                update(t.outbox)
                .where(t.outbox.c.patient_id == patient_id, t.outbox.c.status == PENDING)
                .values(status=CANCELLED, updated_at=now, reason=reason[:200])
            )
            return res.rowcount
