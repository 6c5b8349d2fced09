"""``sync`` inserts new rows below SQLAlchemy's statement layer (a speed-up for planning passes).

What it stores must be exactly what a plain ``insert(t.outbox)`` stored before, value for
value and, on SQLite, storage class for storage class: these tests insert the same plan both
ways, into two patients, and compare the raw column values.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.model import Kind, Reminder
from scheduler.domain.outbox import (
    PENDING,
    PRIORITY_REMINDER,
    SENT,
    OutboxRow,
    Planned,
    reminder_key,
)
from scheduler.store import tables as t
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.outbox.inserts import _callback_tokens
from tests.conftest import T0, Enrol

LONDON = ZoneInfo("Europe/London")
KOLKATA = timezone(timedelta(hours=5, minutes=30))
# Compared as stored; id, patient_id and the random callback token differ by design.
COMPARED = [c.name for c in t.outbox.c if c.name not in ("id", "patient_id", "callback_token")]


def _reminder(n: int, due: datetime, **kw: Any) -> Reminder:
    fields: dict[str, Any] = dict(
        kind=Kind.DOSE,
        local_date=date(2026, 1, 1) + timedelta(days=n),  # a key of its own
        due_at=due,
        expires_at=due + timedelta(hours=12),
        local_time=time(due.hour, due.minute),
        cycle=1,
        day=n,
    )
    fields.update(kw)
    return Reminder(**fields)


def _plan() -> list[Planned]:
    """Values that could trip a hand-made encoding: DST edges, zones, microseconds, text."""
    ambiguous = datetime(2026, 10, 25, 1, 30, tzinfo=LONDON)  # the clocks go back at 02:00 BST
    dues = [
        T0,
        T0,  # a repeated instant: one memo entry serves both
        T0.astimezone(KOLKATA),  # the same instant again, in another zone
        T0 + timedelta(microseconds=1),
        T0 + timedelta(seconds=59, microseconds=999_999),
        ambiguous,  # 00:30 UTC
        ambiguous.replace(fold=1),  # 01:30 UTC: equal to the one above in Python, not in time
        datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),  # just before spring forward
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:00 BST
        datetime(2026, 3, 29, 2, 30, tzinfo=LONDON),  # a wall time that does not exist
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2099, 1, 1, tzinfo=KOLKATA),
    ]
    texts = [
        "",
        "plain",
        "Take your tablet \U0001f48a now",
        "\u041f\u0440\u0438\u043c\u0438\u0442\u0435 \u0442\u0430\u0431\u043b\u0435\u0442\u043a\u0443",  # Cyrillic
        "e\u0301 combining, \u00e9 precomposed",
        "quotes ' \" and \\ backslash; -- not a comment",
        "line\nbreaks\r\nand\ttabs",
        "\u202eright-to-left override",
        "\u4e2d\u6587 " * 500,  # long
        "%s %(x)s $1 :name ? placeholders",
        "\u00a0non-breaking\u2009spaces",
        "\U0001f1ec\U0001f1e7 flag",
    ]
    plan = [
        Planned(_reminder(i, due), txt)
        for i, (due, txt) in enumerate(zip(dues, texts, strict=True))
    ]
    plan.append(
        Planned(
            _reminder(
                len(plan),
                T0,
                kind=Kind.BLOOD_TEST,
                cycle=None,
                day=None,
                local_time=time(23, 59),
                expires_at=T0 + timedelta(days=3, microseconds=7),
            ),
            "no cycle, no day",
        )
    )
    return plan


def _reference_row(pid: str, p: Planned, now: datetime) -> dict[str, Any]:
    """A new row exactly as ``sync`` built it for SQLAlchemy's executemany before."""
    r = p.reminder
    return dict(
        patient_id=pid,
        key=reminder_key(r),
        kind=r.kind.value,
        local_date=r.local_date,
        local_time=r.local_time.strftime("%H:%M"),
        cycle=r.cycle,
        day=r.day,
        text=p.text,
        priority=PRIORITY_REMINDER,
        status=PENDING,
        due_at=r.due_at,
        expires_at=r.expires_at,
        next_attempt_at=r.due_at,
        attempts=0,
        callback_token=f"ref-{pid}-{reminder_key(r)}",
        created_at=now,
        updated_at=now,
    )


async def _stored(engine: AsyncEngine, pid: str) -> dict[str, tuple[Any, ...]]:
    """Each row's compared columns as the database holds them, by key.

    SQLite: ``quote()`` shows the storage class too ('...' text, bare integers, NULL).
    PostgreSQL: the text form of each value (one session, so one time zone for all).
    """
    sqlite = engine.dialect.name == "sqlite"
    cols = ", ".join(f"quote({c})" if sqlite else f"CAST({c} AS TEXT)" for c in COMPARED)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(f"SELECT key, {cols} FROM outbox WHERE patient_id = :pid"), {"pid": pid}
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _comparable(rows: list[OutboxRow]) -> dict[str, dict[str, Any]]:
    out = {}
    for r in rows:
        fields = dict(vars(r))
        for name in ("id", "patient_id", "callback_token"):
            del fields[name]
        out[r.key] = fields
    return out


async def test_sync_stores_new_rows_exactly_as_sqlalchemy_did(
    engine: AsyncEngine, outbox: SqlAlchemyOutbox, enrol: Enrol
) -> None:
    await enrol("ref")
    await enrol("fast")
    plan = _plan()
    now = datetime(2026, 10, 25, 1, 15, 0, 123_456, tzinfo=LONDON).replace(fold=1)
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox), [_reference_row("ref", p, now) for p in plan])

    result = await outbox.sync({"fast": plan}, now - timedelta(hours=36), now)

    assert result.inserted == len(plan)
    reference, fast = await _stored(engine, "ref"), await _stored(engine, "fast")
    assert len(reference) == len(plan)
    assert fast == reference
    assert _comparable(await outbox.rows("fast")) == _comparable(await outbox.rows("ref"))
    # The two DST-overlap instants stayed an hour apart (no memo mixed them up).
    rows = {r.key: r for r in await outbox.rows("fast")}
    fold0, fold1 = (rows[reminder_key(plan[i].reminder)].due_at for i in (5, 6))
    assert fold1 - fold0 == timedelta(hours=1)
    tokens = [r.callback_token for r in rows.values()]
    assert len(set(tokens)) == len(tokens)
    assert all(
        tok is not None and re.fullmatch(r"[0-9a-f]{11}[A-Za-z0-9_-]{32}", tok) for tok in tokens
    )


async def test_a_key_already_stored_is_not_overwritten_nor_counted(
    engine: AsyncEngine, outbox: SqlAlchemyOutbox, enrol: Enrol
) -> None:
    """The insert itself meets the existing key (as when a concurrent planner got there first).

    A sent row that expired before the sync's window is not read by ``sync``, so ``sync``
    tries to insert its key again: the stored row must win and the count must leave it out.
    """
    await enrol("fast")
    plan = _plan()
    now = T0 + timedelta(days=3)
    window_from = now - timedelta(hours=36)
    taken = plan[3]
    old = _reference_row("fast", taken, T0) | dict(
        text="sent long ago",
        status=SENT,
        due_at=window_from - timedelta(hours=20),
        expires_at=window_from - timedelta(hours=8),
        attempts=1,
        callback_token="already-there",
    )
    async with engine.begin() as conn:
        await conn.execute(insert(t.outbox), [old])
    before = await _stored(engine, "fast")

    result = await outbox.sync({"fast": plan}, window_from, now)

    assert result.inserted == len(plan) - 1
    after = await _stored(engine, "fast")
    key = reminder_key(taken.reminder)
    assert after[key] == before[key]
    assert len(after) == len(plan)
    kept = next(r for r in await outbox.rows("fast") if r.key == key)
    assert (kept.text, kept.status, kept.callback_token) == ("sent long ago", SENT, "already-there")
    # Nothing left to insert the second time round.
    assert (await outbox.sync({"fast": plan}, window_from, now)).inserted == 0


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_callback_tokens_are_url_safe_unpadded_and_distinct(n: int) -> None:
    tokens = _callback_tokens(n)
    assert len(tokens) == n == len(set(tokens))
    assert all(re.fullmatch(r"[0-9a-f]{11}[A-Za-z0-9_-]{32}", tok) for tok in tokens)
    assert all(len(tok) == t.outbox.c.callback_token.type.length for tok in tokens)


def test_callback_tokens_start_with_the_time_so_later_ones_sort_after() -> None:
    earlier = _callback_tokens(50, now_ms=1_781_000_000_000)
    later = _callback_tokens(50, now_ms=1_781_000_000_001)
    assert all(tok.startswith(f"{1_781_000_000_000:011x}") for tok in earlier)
    assert max(earlier) < min(later)  # each pass appends to the token index
    assert len({tok[11:] for tok in earlier + later}) == 100  # the random parts differ
