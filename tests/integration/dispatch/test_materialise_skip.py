"""The every-minute pass leaves alone only the patients whose plan cannot have changed.

Whatever it skips, a changed patient must still be re-planned at the next pass, a reminder
entering the horizon or expiring must still be handled on time, and a new process (or
``patient()``) must bring the outbox back to the plan.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from messages.render import render_for
from scheduler.domain.model import PlanSettings
from scheduler.domain.outbox import CANCELLED, EXPIRED, PENDING, Planned, SyncResult
from scheduler.ports import ManualClock
from scheduler.services.materialise import MAX_SKIP, Materialiser
from scheduler.store import tables as t
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import Enrol


class CountingOutbox(SqlAlchemyOutbox):
    """The real outbox, noting which patients each sync was asked to plan."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.synced: list[set[str]] = []

    async def sync(
        self, planned: dict[str, list[Planned]], window_from: datetime, now: datetime
    ) -> SyncResult:
        self.synced.append(set(planned))
        return await super().sync(planned, window_from, now)

    def take(self) -> set[str]:
        out = set().union(*self.synced) if self.synced else set()
        self.synced.clear()
        return out


def materialiser(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, **settings: Any
) -> tuple[Materialiser, CountingOutbox]:
    box = CountingOutbox(engine)
    return Materialiser(repo, box, PlanSettings(**settings), render=render_for), box


async def statuses(outbox: SqlAlchemyOutbox, pid: str) -> dict[str, str]:
    return {r.key: r.status for r in await outbox.rows(pid)}


async def test_an_unchanged_patient_is_skipped_until_something_enters_the_horizon(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    for pid in ("p1", "p2"):
        await enrol(pid)
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    first = await mat.everyone(clock.now())  # Wed 07:00 UTC; doses 08:00 UTC (09:00 London)
    assert first == SyncResult(inserted=4)
    assert box.take() == {"p1", "p2"}

    assert await mat.everyone(clock.advance(minutes=1)) == SyncResult()
    assert box.take() == set()  # nothing planned: nothing could have changed

    # Friday's 08:00 UTC dose enters the 48 h horizon at Wednesday 08:00 UTC.
    clock.set(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))
    assert await mat.everyone(clock.now()) == SyncResult()  # 08:00 itself: not yet inside
    clock.set(datetime(2026, 6, 10, 8, 1, tzinfo=UTC))
    assert await mat.everyone(clock.now()) == SyncResult(inserted=2)
    assert box.take() == {"p1", "p2"}


async def test_a_row_expires_at_the_first_pass_after_its_window(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    clock.set(datetime(2026, 6, 10, 8, 30, tzinfo=UTC))
    await mat.everyone(clock.now())
    await mat.everyone(clock.advance(minutes=1))
    box.take()

    clock.set(datetime(2026, 6, 10, 20, 0, tzinfo=UTC))  # Wednesday's dose window closes
    await mat.everyone(clock.now())
    assert box.take() == {"p1"}
    assert (await statuses(box, "p1"))["dose:2026-06-10"] == EXPIRED


async def test_a_course_changed_without_a_replan_is_replanned_at_the_next_pass(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    """E.g. another process changed it and died before re-planning."""
    for pid in ("p1", "p2"):
        await enrol(pid)
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    await mat.everyone(clock.now())
    box.take()

    await repo.update_course("p1", clock.now(), dose_time=time(10, 30))
    result = await mat.everyone(clock.advance(minutes=1))

    assert box.take() == {"p1"}
    assert result == SyncResult(updated=2)
    rows = await box.rows("p1")
    assert {r.local_time for r in rows} == {"10:30"}


async def test_patient_row_and_dose_record_changes_are_seen_by_the_next_pass(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    for pid in ("p1", "p2", "p3"):
        await enrol(pid)
    mat, box = materialiser(repo, engine)  # follow-ups on: 3 h after each dose
    await mat.everyone(clock.now())
    box.take()
    assert (await statuses(box, "p1"))["follow_up:2026-06-10"] == PENDING

    await repo.record_dose("p1", datetime(2026, 6, 10).date(), "taken", clock.now())
    await repo.set_follow_ups("p2", False)
    await mat.everyone(clock.advance(minutes=1))

    assert box.take() == {"p1", "p2"}
    assert (await statuses(box, "p1"))["follow_up:2026-06-10"] == CANCELLED
    assert (await statuses(box, "p2"))["follow_up:2026-06-10"] == CANCELLED
    assert (await statuses(box, "p3"))["follow_up:2026-06-10"] == PENDING


async def test_a_new_process_converges_and_patient_replans_whatever_was_remembered(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    await mat.everyone(clock.now())
    planned = await statuses(box, "p1")
    # Rows lost or changed behind the planner's back (an operator, a restore).
    async with engine.begin() as conn:
        await conn.execute(delete(t.outbox).where(t.outbox.c.key == "dose:2026-06-11"))
        await conn.execute(update(t.outbox).values(text="tampered"))

    await mat.everyone(clock.advance(minutes=1))  # this process vouches for p1: left alone
    assert "dose:2026-06-11" not in await statuses(box, "p1")

    restarted, _ = materialiser(repo, engine, follow_up_after=timedelta(0))
    result = await restarted.everyone(clock.advance(minutes=1))
    assert result == SyncResult(inserted=1, updated=1)
    assert await statuses(box, "p1") == planned

    async with engine.begin() as conn:
        await conn.execute(delete(t.outbox))
    assert await mat.patient("p1", clock.now()) == SyncResult(inserted=2)


async def test_nothing_is_trusted_longer_than_max_skip_or_when_the_clock_goes_back(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1", regimen="continuous")
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    await mat.everyone(clock.now())
    box.take()

    await mat.everyone(clock.now() - timedelta(minutes=1))
    assert box.take() == {"p1"}

    # Thursday 00:00 UTC: no dose enters or expires for a while, but MAX_SKIP has passed.
    clock.set(datetime(2026, 6, 10, 23, 0, tzinfo=UTC))
    await mat.everyone(clock.now())
    box.take()
    await mat.everyone(clock.advance(minutes=1))
    assert box.take() == set()
    await mat.everyone(clock.advance(MAX_SKIP))
    assert box.take() == {"p1"}


async def test_a_change_made_while_patient_runs_is_planned_before_it_returns(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    """Another process changes the course between our read and our write: plan again."""
    await enrol("p1")
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    real_sync = box.sync
    changed = False

    async def sync_after_a_change(*args: Any) -> SyncResult:
        nonlocal changed
        if not changed:
            changed = True
            await repo.update_course("p1", clock.now(), dose_time=time(11, 0))
        return await real_sync(*args)

    box.sync = sync_after_a_change  # type: ignore[method-assign, assignment]
    await mat.patient("p1", clock.now())

    assert {r.local_time for r in await box.rows("p1")} == {"11:00"}
    box.take()
    await mat.everyone(clock.advance(minutes=1))
    assert box.take() == set()  # what it remembers is the plan of the latest course


async def test_two_plans_of_one_patient_at_once_leave_nothing_remembered(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    """Which of two overlapping syncs wrote last is unknown: the next pass plans again."""
    await enrol("p1")
    mat, box = materialiser(repo, engine, follow_up_after=timedelta(0))
    real_sync = box.sync
    second_started = asyncio.Event()

    async def sync_in_turn(*args: Any) -> SyncResult:
        if box.synced:  # the second call: let the first one write after it
            second_started.set()
        else:
            box.synced.append(set())
            await second_started.wait()
        return await real_sync(*args)

    box.sync = sync_in_turn  # type: ignore[method-assign, assignment]
    await asyncio.gather(mat.patient("p1", clock.now()), mat.everyone(clock.now()))
    box.sync = real_sync  # type: ignore[method-assign]
    box.take()

    await mat.everyone(clock.advance(minutes=1))
    assert box.take() == {"p1"}
    await mat.everyone(clock.advance(minutes=1))
    assert box.take() == set()


# -- pages in flight ---------------------------------------------------------------------------


async def test_a_pass_with_pages_in_flight_plans_everyone_once(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    pids = [f"p{i}" for i in range(7)]
    for pid in pids:
        await enrol(pid)
    mat, box = materialiser(repo, engine)
    mat.page = 2  # four pages, two in flight at a time

    result = await mat.everyone(clock.now())

    assert sorted(len(s) for s in box.synced) == [1, 2, 2, 2]
    assert set().union(*box.synced) == set(pids)
    reference = Materialiser(repo, SqlAlchemyOutbox(engine), PlanSettings(), render=render_for)
    for pid in pids:  # the same rows as one patient planned on its own (nothing to change)
        again = await reference.patient(pid, clock.now())
        assert (again.inserted, again.updated, again.cancelled) == (0, 0, 0)
    assert result.inserted == len(await box.rows())


async def test_a_failed_page_fails_the_pass_and_stops_the_page_beside_it(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    for i in range(6):
        await enrol(f"p{i}")
    started, stopped = asyncio.Event(), asyncio.Event()

    class FailingSecondPage(CountingOutbox):
        async def sync(
            self, planned: dict[str, list[Planned]], window_from: datetime, now: datetime
        ) -> SyncResult:
            if "p0" in planned:  # the first page waits, in flight, until it is cancelled
                started.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    stopped.set()
                    raise
            await started.wait()
            raise RuntimeError("database gone")

    mat = Materialiser(repo, FailingSecondPage(engine), PlanSettings(), render=render_for)
    mat.page = 3

    try:
        await mat.everyone(clock.now())
    except RuntimeError as exc:
        assert str(exc) == "database gone"
    else:
        raise AssertionError("the pass did not fail")
    assert stopped.is_set()
