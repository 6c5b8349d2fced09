"""The outbox contract: the same tests on SQLite and on PostgreSQL.

Rows are made either by the real materialiser (enrolled courses, planned by ``plan.py``) or,
where a test needs exact times or priorities, by ``sync`` with hand-made plans or by insert.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler.domain.model import Kind, Reminder
from scheduler.domain.outbox import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Finish,
    OutboxRow,
    Planned,
    SyncResult,
)
from scheduler.ports import ManualClock
from scheduler.services.materialise import Materialiser
from scheduler.store import tables as t
from scheduler.store.outbox import NOT_PLANNED, SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import COURSE_START, T0, Enrol, TestDb, postgres_only

JUNE = date(2026, 6, 1)


def planned(
    day: int,
    due: datetime,
    *,
    expires: timedelta = timedelta(hours=12),
    text: str = "",
    kind: Kind = Kind.DOSE,
) -> Planned:
    """A hand-made plan entry for 2026-06-<day>, due at ``due``."""
    local_date = JUNE + timedelta(days=day - 1)
    reminder = Reminder(
        kind=kind,
        local_date=local_date,
        due_at=due,
        expires_at=due + expires,
        local_time=time(due.hour, due.minute),
        cycle=1,
        day=day,
    )
    return Planned(reminder, text or f"{kind.value} on {local_date}")


async def raw_row(
    engine: AsyncEngine, patient_id: str, key: str, due: datetime, **values: Any
) -> int:
    """Insert an outbox row directly (priorities and keys the planner does not make)."""
    row: dict[str, Any] = dict(
        patient_id=patient_id,
        key=key,
        kind="dose",
        local_date=due.date(),
        local_time="09:00",
        text=f"row {key}",
        priority=5,
        status=PENDING,
        due_at=due,
        expires_at=due + timedelta(hours=12),
        next_attempt_at=due,
        attempts=0,
        callback_token=secrets.token_urlsafe(24),
        created_at=T0,
        updated_at=T0,
    )
    row.update(values)
    async with engine.begin() as conn:
        result = await conn.execute(insert(t.outbox).values(**row).returning(t.outbox.c.id))
        return int(result.scalar_one())


async def snapshot(engine: AsyncEngine) -> dict[int, dict[str, Any]]:
    """Every outbox row, every column, by id."""
    async with engine.connect() as conn:
        return {r.id: dict(r._mapping) for r in await conn.execute(select(t.outbox))}


def by_key(rows: list[OutboxRow]) -> dict[str, OutboxRow]:
    return {r.key: r for r in rows}


# -- sync ----------------------------------------------------------------------------------


async def test_sync_is_idempotent(
    materialiser: Materialiser,
    outbox: SqlAlchemyOutbox,
    engine: AsyncEngine,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    for pid in ("p1", "p2", "p3"):
        await enrol(pid)
    materialiser.page = 2  # more than one page of patients

    first = await materialiser.everyone(clock.now())
    before = await snapshot(engine)
    second = await materialiser.everyone(clock.now())

    # 48 h from Wed 08:00 London: today's and tomorrow's 09:00 doses, for each of 3 patients.
    assert first == SyncResult(inserted=6)
    assert second == SyncResult()
    assert await snapshot(engine) == before
    rows = await outbox.rows("p1")
    assert [(r.key, r.status, r.due_at) for r in rows] == [
        ("dose:2026-06-10", PENDING, datetime(2026, 6, 10, 8, tzinfo=UTC)),
        ("dose:2026-06-11", PENDING, datetime(2026, 6, 11, 8, tzinfo=UTC)),
    ]
    assert len({r["callback_token"] for r in before.values()}) == 6


async def test_each_pass_hands_freed_memory_back(
    materialiser: Materialiser, enrol: Enrol, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A week of passes held +20 MB freed but kept by malloc (bench/soak.py): each pass trims.
    import scheduler.services.materialise as materialise

    trims: list[int] = []
    monkeypatch.setattr(materialise, "release_freed_memory", lambda: trims.append(1) or True)
    await enrol("p1")
    await materialiser.everyone(clock.now())
    await materialiser.everyone(clock.now())
    assert trims == [1, 1]


async def test_sync_later_adds_only_the_new_horizon(
    materialiser: Materialiser, outbox: SqlAlchemyOutbox, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    await materialiser.patient("p1", clock.now())
    ids = {r.key: r.id for r in await outbox.rows("p1")}

    now = clock.advance(days=1)
    assert await outbox.expire(now) == 1  # as every dispatch tick does: yesterday's dose
    result = await materialiser.patient("p1", now)

    assert result == SyncResult(inserted=1)
    rows = by_key(await outbox.rows("p1"))
    assert {k: r.status for k, r in rows.items()} == {
        "dose:2026-06-10": EXPIRED,
        "dose:2026-06-11": PENDING,
        "dose:2026-06-12": PENDING,
    }
    assert all(rows[k].id == ids[k] for k in ids)


async def test_replanning_records_an_unsent_past_row_as_expired_not_cancelled(
    materialiser: Materialiser, outbox: SqlAlchemyOutbox, enrol: Enrol, clock: ManualClock
) -> None:
    """If no dispatch tick ran (worker down), a reminder whose window passed was *missed*.

    The plan no longer lists it (it has expired), but calling it "cancelled" would say "the
    plan changed" and hide a missed dose reminder from anything that counts expired rows.
    """
    await enrol("p1")
    await materialiser.patient("p1", clock.now())

    await materialiser.patient("p1", clock.advance(days=1))  # no expire() in between

    rows = by_key(await outbox.rows("p1"))
    assert rows["dose:2026-06-10"].status == EXPIRED


async def test_a_hold_cancels_stale_pending_rows_and_ending_it_replans_them(
    materialiser: Materialiser,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.patient("p1", clock.now())
    before = by_key(await outbox.rows("p1"))

    await repo.add_hold("p1", date(2026, 6, 11), "low counts", clock.now())
    paused = await materialiser.patient("p1", clock.now())
    rows = by_key(await outbox.rows("p1"))

    assert paused == SyncResult(cancelled=1)
    assert rows["dose:2026-06-10"] == before["dose:2026-06-10"]  # before the hold: untouched
    assert rows["dose:2026-06-11"].status == CANCELLED
    assert rows["dose:2026-06-11"].reason == NOT_PLANNED
    # Recorded less than a day before its eve: no eve notice; the care action's correction
    # tells the patient at once (tests/integration/test_corrections.py).
    assert "hold:2026-06-10" not in rows

    # The nurse resumes the same day: the cancelled dose is planned again (same row).
    await repo.end_hold("p1", date(2026, 6, 11), date(2026, 6, 11), clock.advance(minutes=5))
    resumed = await materialiser.patient("p1", clock.now())
    rows = by_key(await outbox.rows("p1"))

    assert resumed.updated == 1 and resumed.cancelled == 0
    again = rows["dose:2026-06-11"]
    assert again.status == PENDING and again.reason is None
    assert again.id == before["dose:2026-06-11"].id
    assert again.callback_token == before["dose:2026-06-11"].callback_token
    assert again.attempts == 0


async def test_a_dose_time_change_moves_pending_rows(
    materialiser: Materialiser,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.patient("p1", clock.now())
    before = by_key(await outbox.rows("p1"))

    await repo.update_course("p1", clock.now(), dose_time=time(18, 30))
    result = await materialiser.patient("p1", clock.now())
    rows = by_key(await outbox.rows("p1"))

    assert result == SyncResult(updated=2)
    for key, day in (("dose:2026-06-10", 10), ("dose:2026-06-11", 11)):
        assert rows[key].id == before[key].id
        assert rows[key].status == PENDING
        assert rows[key].due_at == datetime(2026, 6, day, 17, 30, tzinfo=UTC)
        assert rows[key].expires_at == datetime(2026, 6, day + 1, 5, 30, tzinfo=UTC)
        assert rows[key].local_time == "18:30"
    # ... and they are claimed at the new time, not the old one.
    assert await outbox.claim(datetime(2026, 6, 10, 8, 1, tzinfo=UTC), 10, "w") == []
    claimed = await outbox.claim(datetime(2026, 6, 10, 17, 30, tzinfo=UTC), 10, "w")
    assert [r.key for r in claimed] == ["dose:2026-06-10"]


async def test_ending_the_course_cancels_later_doses_and_plans_aftercare(
    materialiser: Materialiser,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.patient("p1", clock.now())

    await repo.update_course("p1", clock.now(), end_date=date(2026, 6, 10))
    result = await materialiser.patient("p1", clock.now())
    rows = by_key(await outbox.rows("p1"))

    assert result.cancelled == 1
    assert rows["dose:2026-06-10"].status == PENDING
    assert rows["dose:2026-06-11"].status == CANCELLED
    assert rows["aftercare:2026-06-11"].status == PENDING


async def test_opting_out_cancels_every_pending_row(
    materialiser: Materialiser,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.patient("p1", clock.now())
    await repo.set_opted_out("p1", clock.now())

    result = await materialiser.everyone(clock.now())

    assert result == SyncResult(cancelled=2)
    assert {r.status for r in await outbox.rows("p1")} == {CANCELLED}


async def test_replanning_never_touches_rows_that_left_pending(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    # Days 10..13 due now; day 14 due in a minute, for a minute.
    plan = [planned(d, now) for d in range(10, 14)] + [
        planned(14, now + timedelta(minutes=1), expires=timedelta(minutes=1))
    ]
    await outbox.sync({"p1": plan}, now - timedelta(hours=36), now)
    claimed = by_key(await outbox.claim(now, 10, "w1"))
    assert sorted(claimed) == [f"dose:2026-06-{d}" for d in range(10, 14)]
    token = claimed["dose:2026-06-10"].claimed_by
    # Outcomes are recorded together, as the dispatcher records them; one of them carries a
    # token that is not this claim's and changes nothing.
    await outbox.finish_many([
        Finish.sent(claimed["dose:2026-06-10"].id, token, "SM1", "sms", now),
        Finish.failed(claimed["dose:2026-06-11"].id, token, "bad number", now),
        Finish.retry(claimed["dose:2026-06-12"].id, token, now + timedelta(hours=1), "429", now),
        Finish.failed(claimed["dose:2026-06-13"].id, "w1#stale", "not ours", now),
    ])  # fmt: skip
    # dose:2026-06-13 stays 'sending'; dose:2026-06-14 expires:
    clock.advance(minutes=3)
    assert await outbox.expire(clock.now()) == 1
    statuses = {r.key: r.status for r in await outbox.rows("p1")}
    assert statuses == {
        "dose:2026-06-10": SENT,
        "dose:2026-06-11": FAILED,
        "dose:2026-06-12": PENDING,
        "dose:2026-06-13": SENDING,
        "dose:2026-06-14": EXPIRED,
    }
    history = {
        k: v
        for k, v in (await snapshot(engine)).items()
        if v["status"] in (SENT, FAILED, SENDING, EXPIRED)
    }
    assert len(history) == 4

    # A changed plan (new times and words for every day) and then an empty plan.
    moved = [
        replace(
            p,
            text="changed",
            reminder=replace(
                p.reminder,
                due_at=p.reminder.due_at + timedelta(hours=3),
                expires_at=p.reminder.expires_at + timedelta(hours=3),
            ),
        )
        for p in plan
    ]
    changed = await outbox.sync({"p1": moved}, clock.now() - timedelta(hours=36), clock.now())
    emptied = await outbox.sync({"p1": []}, clock.now() - timedelta(hours=36), clock.now())

    assert changed == SyncResult(updated=1)  # only the pending (retrying) row follows the plan
    assert emptied == SyncResult(cancelled=1)
    after = await snapshot(engine)
    assert {k: after[k] for k in history} == history
    assert {r.key: r.status for r in await outbox.rows("p1")}["dose:2026-06-12"] == CANCELLED


async def test_one_row_per_patient_and_key(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    await enrol("p2")
    await raw_row(engine, "p1", "dose:2026-06-10", clock.now())
    await raw_row(engine, "p2", "dose:2026-06-10", clock.now())  # another patient: fine

    with pytest.raises(IntegrityError):
        await raw_row(engine, "p1", "dose:2026-06-10", clock.now() + timedelta(hours=1))
    assert len(await outbox.rows("p1")) == 1


async def test_callback_tokens_are_unique(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    await raw_row(engine, "p1", "a", clock.now(), callback_token="tok")
    with pytest.raises(IntegrityError):
        await raw_row(engine, "p1", "b", clock.now(), callback_token="tok")


@postgres_only
async def test_concurrent_replanning_of_the_same_patient_does_not_fail(
    db: TestDb, enrol: Enrol, clock: ManualClock, engine: AsyncEngine
) -> None:
    """Two processes re-plan the same patient at once (the periodic job and a nurse's change).

    Forced interleaving: A has inserted but not committed when B reads; B then inserts the
    same keys. SQLite cannot interleave like this (one writer, BEGIN IMMEDIATE); PostgreSQL
    can, and a plain INSERT would fail B's whole sync with a unique violation (its cancels
    and updates for every other patient in the batch lost with it).
    """
    await enrol("p1")
    now = clock.now()
    plan = {"p1": [planned(10, now), planned(11, now + timedelta(days=1))]}
    a = _Gated(db.make_engine(), hold_commit=True)
    b = _Gated(db.make_engine())
    outbox_a = SqlAlchemyOutbox(a)  # type: ignore[arg-type]
    outbox_b = SqlAlchemyOutbox(b)  # type: ignore[arg-type]

    task_a = asyncio.create_task(outbox_a.sync(plan, now - timedelta(hours=36), now))
    await a.waiting.wait()  # A inserted, not committed
    task_b = asyncio.create_task(outbox_b.sync(plan, now - timedelta(hours=36), now))
    await b.first_statement_done.wait()  # B has read the (still empty) outbox
    a.release.set()
    results = await asyncio.gather(task_a, task_b, return_exceptions=True)

    assert not [r for r in results if isinstance(r, BaseException)], results
    rows = await SqlAlchemyOutbox(engine).rows("p1")
    assert sorted(r.key for r in rows) == ["dose:2026-06-10", "dose:2026-06-11"]


class _Gated:
    """An AsyncEngine stand-in that lets a test interleave two transactions exactly."""

    def __init__(self, engine: AsyncEngine, *, hold_commit: bool = False) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.hold_commit = hold_commit
        self.waiting = asyncio.Event()  # set when a held transaction is ready to commit
        self.release = asyncio.Event()
        self.first_statement_done = asyncio.Event()

    def connect(self) -> Any:
        return self.engine.connect()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Any]:
        async with self.engine.begin() as conn:
            yield _SignallingConnection(conn, self.first_statement_done)
            if self.hold_commit:
                self.waiting.set()
                await self.release.wait()


class _SignallingConnection:
    def __init__(self, conn: AsyncConnection, done: asyncio.Event) -> None:
        self._conn = conn
        self._done = done

    async def execute(self, *args: Any, **kw: Any) -> Any:
        result = await self._conn.execute(*args, **kw)
        self._done.set()
        return result


# -- claim -----------------------------------------------------------------------------------


async def test_claim_takes_only_due_unexpired_pending_rows_once(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    due = await raw_row(engine, "p1", "due", now - timedelta(minutes=5))
    future = await raw_row(engine, "p1", "future", now + timedelta(minutes=5))
    await raw_row(
        engine, "p1", "expired", now - timedelta(hours=2), expires_at=now
    )  # expiry is exclusive: gone at ``now``
    await raw_row(engine, "p1", "cancelled", now - timedelta(minutes=5), status=CANCELLED)

    claimed = await outbox.claim(now, 10, "w1")

    assert [r.id for r in claimed] == [due]
    row = claimed[0]
    assert (row.status, row.attempts) == (SENDING, 1)
    async with engine.connect() as conn:
        db_row = (await conn.execute(select(t.outbox).where(t.outbox.c.id == due))).one()
    assert (db_row.status, db_row.claimed_at) == (SENDING, now)
    assert db_row.claimed_by is not None and db_row.claimed_by.startswith("w1#")
    assert await outbox.claim(now, 10, "w2") == []  # claimed once only

    later = await outbox.claim(clock.advance(minutes=5), 10, "w2")
    assert [r.id for r in later] == [future]


async def test_claim_honours_priority_then_time_and_the_limit(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    old_reminder = await raw_row(engine, "p1", "r-old", now - timedelta(hours=1))
    new_reminder = await raw_row(engine, "p1", "r-new", now - timedelta(minutes=1))
    reply = await raw_row(engine, "p1", "reply", now, priority=0)

    first = await outbox.claim(now, 2, "w1")
    second = await outbox.claim(now, 2, "w1")

    assert [r.id for r in first] == [reply, old_reminder]
    assert [r.id for r in second] == [new_reminder]


@postgres_only
async def test_rows_claimed_but_not_yet_committed_are_skipped_by_other_workers(
    db: TestDb, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    """Claims are atomic: forced interleaving, no timing luck.

    Worker A's claim has updated its rows but not committed when worker B claims: B must
    neither wait for A (SKIP LOCKED) nor take A's rows. (On SQLite every transaction takes
    the write lock up front, so there is no such moment to test.)
    """
    await enrol("p1")
    now = clock.now()
    for i in range(6):
        await raw_row(engine, "p1", f"k{i}", now - timedelta(minutes=10 - i))
    a = _Gated(db.make_engine(), hold_commit=True)
    outbox_a = SqlAlchemyOutbox(a)  # type: ignore[arg-type]
    outbox_b = SqlAlchemyOutbox(db.make_engine())

    task_a = asyncio.create_task(outbox_a.claim(now, 3, "A"))
    await a.waiting.wait()
    try:
        got_b = await asyncio.wait_for(outbox_b.claim(now, 10, "B"), timeout=10)
    finally:
        a.release.set()
    got_a = await task_a

    ids_a, ids_b = {r.id for r in got_a}, {r.id for r in got_b}
    assert ids_a and not ids_a & ids_b
    assert len(ids_a | ids_b) == 6
    owner = {r.id: r for r in await outbox_b.rows("p1")}
    assert all(owner[i].status == SENDING for i in ids_a | ids_b)


async def test_claim_never_returns_more_than_the_limit(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    """PostgreSQL pitfall: ``id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` may be
    planned as a nested-loop semi-join that rescans the subquery for every outer row; each
    rescan skips the rows this statement already updated, so one claim takes every due row
    (seen here with 3 and 30 rows on fresh tables). Batches stop bounding the work, one
    worker hoards the queue, and a hoard that takes longer than the lease to send is released
    to other workers while still being sent.
    """
    await enrol("p1")
    now = clock.now()
    for i in range(30):
        await raw_row(engine, "p1", f"k{i:02d}", now - timedelta(minutes=30 - i))

    first = await outbox.claim(now, 10, "w1")

    assert len(first) == 10
    assert [r.key for r in first] == [f"k{i:02d}" for i in range(10)]
    assert (await outbox.counts()) == {SENDING: 10, PENDING: 20}


async def test_expire_marks_only_pending_rows_past_expiry(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    late = await raw_row(engine, "p1", "late", now - timedelta(hours=13))  # expired 1 h ago
    edge = await raw_row(engine, "p1", "edge", now - timedelta(hours=12))  # expires now
    live = await raw_row(engine, "p1", "live", now - timedelta(hours=11))
    sending = await raw_row(
        engine,
        "p1",
        "sending",
        now - timedelta(hours=13),
        status=SENDING,
        claimed_at=now - timedelta(minutes=1),
        claimed_by="w",
    )

    assert await outbox.expire(now) == 2
    assert await outbox.expire(now) == 0

    status = {r.id: r.status for r in await outbox.rows("p1")}
    assert status == {late: EXPIRED, edge: EXPIRED, live: PENDING, sending: SENDING}


async def test_release_stale_returns_only_old_claims(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    old = await raw_row(engine, "p1", "old", now - timedelta(hours=1))
    new = await raw_row(engine, "p1", "new", now - timedelta(minutes=5))
    assert [r.id for r in await outbox.claim(now - timedelta(minutes=10), 10, "dead")] == [old]
    assert [r.id for r in await outbox.claim(now - timedelta(minutes=1), 10, "alive")] == [new]

    released = await outbox.release_stale(now - timedelta(minutes=5), now)

    assert released == 1
    rows = {r.id: r for r in await outbox.rows("p1")}
    assert (rows[old].status, rows[new].status) == (PENDING, SENDING)
    assert "interrupted" in (rows[old].last_error or "")
    # The dead worker can no longer record an outcome for it; the next claim gets it again.
    assert not await outbox.finish(Finish.sent(old, "dead", "SM1", "sms", now))
    again = await outbox.claim(now, 10, "w2")
    assert [(r.id, r.attempts) for r in again] == [(old, 2)]
    # The dead worker may have handed it to the provider: the next attempt looks there first.
    assert [r.maybe_sent for r in again] == [True]
    assert not rows[new].maybe_sent


async def test_shutdown_marks_only_the_sends_cut_off_as_maybe_sent(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    cut, unstarted, other = [await raw_row(engine, "p1", k, now) for k in ("cut", "un", "oth")]
    mine = await outbox.claim(now, 2, "w1")
    assert {r.id for r in mine} == {cut, unstarted}
    await outbox.claim(now, 1, "w2")  # another worker's claim is not touched

    assert await outbox.release_worker("w1", now, [cut, other]) == 2

    rows = {r.id: r for r in await outbox.rows("p1")}
    assert {i: (r.status, r.maybe_sent) for i, r in rows.items()} == {
        cut: (PENDING, True), unstarted: (PENDING, False), other: (SENDING, False)
    }
    assert "mid-send" in (rows[cut].last_error or "")


async def test_a_retry_that_may_have_reached_the_provider_stays_marked_until_sent(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    rid = await raw_row(engine, "p1", "k", now)
    [first] = await outbox.claim(now, 1, "w1")
    assert not first.maybe_sent
    assert await outbox.finish(Finish.retry(rid, first.claimed_by, now, "timeout", now,
                                            maybe_sent=True))
    [second] = await outbox.claim(now, 1, "w1")
    assert second.maybe_sent
    # A later attempt refused outright (a 429) says nothing about the first: still marked.
    assert await outbox.finish(Finish.retry(rid, second.claimed_by, now, "429", now))
    [third] = await outbox.claim(now, 1, "w1")
    assert third.maybe_sent


async def test_marks_need_the_claiming_worker_and_a_sending_row(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    now = clock.now()
    rid = await raw_row(engine, "p1", "k", now)
    assert not await outbox.finish(Finish.sent(rid, None, "SM1", "sms", now))  # pending
    [claimed] = await outbox.claim(now, 1, "w1")
    token = claimed.claimed_by
    assert token is not None and token.startswith("w1#")

    assert not await outbox.finish(Finish.sent(rid, "w2", "SM1", "sms", now))
    # Another claim of the same worker (an older tick) cannot finish this one either.
    assert not await outbox.finish(Finish.sent(rid, "w1", "SM1", "sms", now))
    assert await outbox.finish(Finish.sent(rid, token, "SM1", "sms", now))
    assert not await outbox.finish(Finish.failed(rid, token, "late", now))  # history

    row = (await outbox.rows("p1"))[0]
    assert (row.status, row.provider_id, row.sent_at, row.last_error) == (SENT, "SM1", now, None)


class _LostConnections:
    """Fails the next ``n`` outcome writes as a lost connection would (the driver's error,
    raised where the statement meets the connection), then lets them through."""

    def __init__(self, engine: AsyncEngine, n: int) -> None:
        self.left, self.tried = n, 0
        event.listen(engine.sync_engine, "before_cursor_execute", self.before)

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX") and "sent_at" in statement:
            self.tried += 1
            if self.left:
                self.left -= 1
                raise OperationalError(statement, {}, ConnectionResetError("connection lost"))


async def _one_claimed(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, now: datetime
) -> tuple[int, OutboxRow]:
    await enrol("p1")
    rid = await raw_row(engine, "p1", "k", now)
    [claimed] = await outbox.claim(now, 1, "w1")
    return rid, claimed


async def test_sent_outcomes_are_recorded_through_many_lost_connections(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    """The send happened: giving up after a few tries would leave the row claimed, and the
    lease would send it again."""
    now = clock.now()
    rid, claimed = await _one_claimed(outbox, engine, enrol, now)
    lost = _LostConnections(engine, 4)  # the old limit was 3 tries
    assert await outbox.finish(Finish.sent(rid, claimed.claimed_by, "SM1", "sms", now))
    assert lost.tried == 5
    assert (await outbox.rows("p1"))[0].status == SENT


async def test_recording_outcomes_gives_up_after_its_patience(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    now = clock.now()
    rid, claimed = await _one_claimed(outbox, engine, enrol, now)
    lost = _LostConnections(engine, 1_000)
    with pytest.raises(OperationalError):
        await outbox.finish_many([Finish.sent(rid, claimed.claimed_by, "SM1", "sms", now)], 0.2)
    assert 2 <= lost.tried < 10  # tried again, with waits between tries
    assert (await outbox.rows("p1"))[0].status == SENDING  # the lease brings it back


async def test_set_delivery_by_callback_token(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    await raw_row(engine, "p1", "k", clock.now(), callback_token="tok-1")

    assert await outbox.set_delivery("tok-1", "delivered", clock.now())
    assert not await outbox.set_delivery("no-such-token", "delivered", clock.now())
    assert (await outbox.rows("p1"))[0].delivery_status == "delivered"


async def test_next_due_and_counts(
    outbox: SqlAlchemyOutbox, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    assert await outbox.next_due() is None
    now = clock.now()
    await raw_row(engine, "p1", "a", now + timedelta(minutes=30))
    await raw_row(engine, "p1", "b", now + timedelta(minutes=10, microseconds=7))
    await raw_row(engine, "p1", "c", now - timedelta(days=1), status=SENT)

    nxt = await outbox.next_due()
    assert nxt == now + timedelta(minutes=10, microseconds=7)
    assert nxt is not None and nxt.tzinfo is UTC
    assert await outbox.counts() == {PENDING: 2, SENT: 1}
    rows = await outbox.rows("p1", statuses=[PENDING])
    assert [r.key for r in rows] == ["b", "a"]
    assert all(r.due_at.tzinfo is UTC and r.expires_at.tzinfo is UTC for r in rows)


async def test_each_test_has_a_database_of_its_own(db: TestDb, engine: AsyncEngine) -> None:
    """The fixtures' isolation: on PostgreSQL the engine works in this test's schema only."""
    if not db.postgres:
        assert db.url.endswith("/lenabot.db")
        return
    async with engine.connect() as conn:
        assert (await conn.execute(text("select current_schema()"))).scalar() == db.schema
        assert (await conn.execute(text("show timezone"))).scalar() == "Pacific/Chatham"
        tables = (
            await conn.execute(
                text("select count(*) from information_schema.tables where table_schema = :s"),
                {"s": db.schema},
            )
        ).scalar()
    assert tables == len(t.metadata.tables)


async def test_a_late_sent_report_never_overwrites_delivered(
    outbox: SqlAlchemyOutbox, enrol, materialiser, clock
) -> None:  # type: ignore[no-untyped-def]
    await enrol("p1")
    await materialiser.patient("p1", clock.now())
    row = (await outbox.rows("p1"))[0]
    assert row.callback_token
    assert await outbox.set_delivery(row.callback_token, "delivered", clock.now())
    assert not await outbox.set_delivery(row.callback_token, "sent", clock.now())
    assert (await outbox.rows("p1"))[0].delivery_status == "delivered"
    assert await outbox.set_delivery(row.callback_token, "failed", clock.now())
    assert not await outbox.set_delivery("no-such-token", "delivered", clock.now())


async def test_a_sparse_batch_never_touches_patients_outside_it(
    materialiser: Materialiser,
    outbox: SqlAlchemyOutbox,
    enrol: Enrol,
    clock: ManualClock,
    repo: SqlAlchemyCourseRepository,
) -> None:
    ids = [f"p{n:02d}" for n in range(50)]
    for pid in ids:
        await enrol(pid)
    await materialiser.everyone(clock.now())
    # The odd patients' courses end, but only the even ones are re-planned in this batch: the
    # odd ones lie inside the batch's id range and must keep their rows untouched.
    for pid in ids[1::2]:
        await repo.update_course(pid, clock.now(), end_date=COURSE_START)
    result = await materialiser.patients(ids[::2], clock.now())
    assert result.cancelled == 0 and result.inserted == 0
    for pid in ids[1::2]:
        assert {r.status for r in await outbox.rows(pid)} == {PENDING}
