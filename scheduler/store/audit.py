"""The audit trail: one row per change, written in the transaction of the change.

Rows are only ever inserted: triggers refuse UPDATE and DELETE on both databases
(``scheduler.store.tables``, migration 0007). ``before`` and ``after`` are JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.audit import check_actor
from scheduler.ports import AuditEntry, AuditLog
from scheduler.store import tables as t
from scheduler.store.db import reading, writing

MAX_LIMIT = 1000


def _default(value: object) -> object:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value the audit trail keeps")


def _dumps(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(dict(values), sort_keys=True, ensure_ascii=False, default=_default)


def _loads(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        row.id, row.at, row.actor, row.action, row.patient_id, _loads(row.before), _loads(row.after)
    )


class SqlAlchemyAudit:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(
        self,
        action: str,
        *,
        actor: str,
        at: datetime,
        patient_id: str | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a row, in the caller's unit of work if there is one; its id."""
        values = {
            "at": at,
            "actor": check_actor(actor),
            "action": action,
            "patient_id": patient_id,
            "before": _dumps(before),
            "after": _dumps(after),
        }
        async with writing(self.engine) as conn:
            result = await conn.execute(insert(t.audit).values(values).returning(t.audit.c.id))
            return int(result.scalar_one())

    async def entries(
        self,
        *,
        patient_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Newest first. ``actor`` is one actor (``cli:ann``) or a family (``cli``, ``staff``,
        ``telegram``); ``since`` is inclusive, ``until`` exclusive."""
        a = t.audit.c
        query = select(t.audit).order_by(a.id.desc())
        if patient_id is not None:
            query = query.where(a.patient_id == patient_id)
        if actor is not None:
            family = ":" not in actor and actor != "system"
            query = query.where(
                a.actor.startswith(f"{actor}:", autoescape=True) if family else a.actor == actor
            )
        if action is not None:
            query = query.where(a.action == action)
        if since is not None:
            query = query.where(a.at >= since)
        if until is not None:
            query = query.where(a.at < until)
        query = query.limit(max(1, min(limit, MAX_LIMIT))).offset(max(0, offset))
        async with reading(self.engine) as conn:
            return [_entry(r) for r in await conn.execute(query)]


def _conforms(store: SqlAlchemyAudit) -> AuditLog:
    """Never called: mypy checks here that the class satisfies the port."""
    return store
