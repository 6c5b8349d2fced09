"""Planner processes: a pass shared by them writes exactly what one process writes.

Real processes (spawned), real databases: each planner opens its own engine on this test's
SQLite file or PostgreSQL schema. Small pages (5 patients) make a small clinic span several.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import select as io_select
import signal
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from datetime import date, timedelta
from datetime import time as dtime
from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from messages.render import render_for
from scheduler.domain.model import PlanSettings
from scheduler.domain.outbox import SyncResult
from scheduler.ports import ManualClock
from scheduler.runtime.planners import PlannerProcessError, PlannerProcesses, PlannerSpec
from scheduler.services.materialise import Materialiser
from scheduler.store import tables as t
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import Enrol, TestDb

PAGE = 5
SETTINGS = PlanSettings()
HORIZON = timedelta(hours=48)
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
REGIMENS = ["21/28", "continuous", "days=1,3,...,27/28", "14/21"]


@pytest.fixture
async def planners(db: TestDb) -> AsyncIterator[PlannerProcesses]:
    spec = PlannerSpec(db.url, SETTINGS, HORIZON, engine_options=db.engine_options())
    pool = PlannerProcesses(spec, 2)
    try:
        yield pool
    finally:
        await pool.close()


async def enrol_clinic(enrol: Enrol, n: int) -> list[str]:
    """n patients across zones, regimens, dose times, start dates and pregnancy flags."""
    pids = [f"p{i:03d}" for i in range(n)]
    for i, pid in enumerate(pids):
        await enrol(
            pid,
            start=date(2026, 5, 1) + timedelta(days=(i * 7) % 40),
            dose_time=dtime(8 + i % 13, 15 + 30 * (i % 2)),  # never due in 07:00-07:10 UTC
            regimen=REGIMENS[i % len(REGIMENS)],
            tz=ZONES[i % len(ZONES)],
            can_become_pregnant=i % 3 == 0,
            discreet=i % 5 == 0,
        )
    return pids


async def rows(engine: AsyncEngine) -> set[tuple[Any, ...]]:
    """Every outbox row, less what is unique to one insert (id, token, timestamps)."""
    c = t.outbox.c
    cols = [c.patient_id, c.key, c.kind, c.local_date, c.local_time, c.cycle, c.day, c.text,
            c.status, c.due_at, c.expires_at, c.next_attempt_at]  # fmt: skip
    async with engine.connect() as conn:
        return {tuple(r) for r in await conn.execute(select(*cols))}


def materialiser(engine: AsyncEngine, planners: PlannerProcesses | None) -> Materialiser:
    repo = SqlAlchemyCourseRepository(engine)
    return Materialiser(
        repo, SqlAlchemyOutbox(engine), SETTINGS, horizon=HORIZON, page=PAGE, planners=planners, render=render_for
    )


async def test_a_pass_in_planner_processes_writes_what_one_process_writes(
    engine: AsyncEngine, enrol: Enrol, clock: ManualClock, planners: PlannerProcesses
) -> None:
    await enrol_clinic(enrol, 23)  # 5 pages, the last one short
    alone = await materialiser(engine, None).everyone(clock.now())
    expected = await rows(engine)
    assert alone.inserted == len(expected) > 23
    async with engine.begin() as conn:
        await conn.execute(delete(t.outbox))

    shared = materialiser(engine, planners)
    assert await shared.everyone(clock.now()) == alone
    assert await rows(engine) == expected
    used = await planners.usage()
    assert (
        len(used) == 2
        and len({u.pid for u in used}) == 2
        and os.getpid() not in {u.pid for u in used}
    )


async def test_planners_remember_what_they_synced_and_replan_what_changed(
    engine: AsyncEngine,
    repo: SqlAlchemyCourseRepository,
    enrol: Enrol,
    clock: ManualClock,
    planners: PlannerProcesses,
) -> None:
    await enrol_clinic(enrol, 12)
    mat = materialiser(engine, planners)
    assert (await mat.everyone(clock.now())).inserted > 12
    # Nothing changed: each page went to the planner that planned it, which skips it.
    assert await mat.everyone(clock.advance(minutes=1)) == SyncResult()
    # A changed course is noticed by the planner holding it, and only that course is planned.
    unchanged = await rows(engine)
    await repo.update_course("p007", clock.now(), dose_time=dtime(18, 0))
    assert await mat.everyone(clock.advance(minutes=1)) != SyncResult()
    before = await rows(engine)
    assert {r[0] for r in before ^ unchanged} == {"p007"}
    assert await materialiser(engine, None).everyone(clock.now()) == SyncResult()
    assert await rows(engine) == before  # one process agrees with what the planners wrote


async def test_a_clinic_of_one_page_is_planned_in_the_service_process(
    engine: AsyncEngine, enrol: Enrol, clock: ManualClock, planners: PlannerProcesses
) -> None:
    await enrol_clinic(enrol, PAGE)
    mat = materialiser(engine, planners)
    assert (await mat.everyone(clock.now())).inserted > PAGE
    assert await planners.usage() == []  # none started
    # Grown past a page: the planners take over, starting from a plan they agree with.
    await enrol("p999")
    assert (await mat.everyone(clock.advance(minutes=1))).inserted > 0
    assert len(await planners.usage()) == 2
    # Shrunk back to one page: planned here again, and the planners are stopped.
    async with engine.begin() as conn:
        await conn.execute(delete(t.patients).where(t.patients.c.id == "p999"))
    assert await mat.everyone(clock.advance(minutes=1)) == SyncResult()
    assert await planners.usage() == []


async def planned_clinic(
    engine: AsyncEngine, enrol: Enrol, clock: ManualClock, planners: PlannerProcesses
) -> tuple[Materialiser, set[tuple[Any, ...]], tuple[int, int]]:
    """12 patients planned by two planners: the materialiser, the rows, the planners' pids."""
    await enrol_clinic(enrol, 12)
    mat = materialiser(engine, planners)
    await mat.everyone(clock.now())
    first, second = [u.pid for u in await planners.usage()]
    return mat, await rows(engine), (first, second)


async def test_a_planner_found_dead_is_replaced_before_the_next_pass(
    engine: AsyncEngine, enrol: Enrol, clock: ManualClock, planners: PlannerProcesses
) -> None:
    mat, expected, (dead, alive) = await planned_clinic(engine, enrol, clock, planners)
    os.kill(dead, signal.SIGKILL)
    assert await asyncio.to_thread(_exits_within, dead, 10)
    found = planners._planners[0]
    assert found is not None
    await found.reader  # the service has seen it go (between passes, it has a minute to)
    await mat.everyone(clock.advance(minutes=1))  # a new planner 0, with no memory yet
    assert [u.pid for u in await planners.usage()][1] == alive
    assert dead not in {u.pid for u in await planners.usage()}
    assert await rows(engine) == expected  # nothing lost, nothing doubled
    await enrol("p999")  # on the last page: planner 0's
    assert (await mat.everyone(clock.advance(minutes=1))).inserted > 0
    assert {r[0] for r in await rows(engine) - expected} == {"p999"}


async def test_a_planner_that_dies_mid_pass_fails_that_pass_only(
    db: TestDb, engine: AsyncEngine, enrol: Enrol, clock: ManualClock, planners: PlannerProcesses
) -> None:
    mat, expected, (dead, alive) = await planned_clinic(engine, enrol, clock, planners)
    # New patients on each planner's first page, so both have rows to write there and cannot:
    # the outbox is locked.
    for pid in ("p000a", "p005a", "p999"):
        await enrol(pid)
    blocker = db.make_engine()
    async with blocker.connect() as lock:
        if db.postgres:  # reads go on; writes wait
            await lock.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
        else:  # this transaction takes SQLite's write lock (BEGIN IMMEDIATE)
            await lock.execute(text("SELECT 1"))
        pass_ = asyncio.create_task(mat.everyone(clock.advance(minutes=1)))
        planner = planners._planners
        deadline = time.monotonic() + 10
        for _ in itertools.count():  # until both hold their first page of this pass, stuck
            if all(p is not None and p.waiting for p in planner) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0)
        assert all(p is not None and p.waiting for p in planner)
        os.kill(dead, signal.SIGKILL)
        with pytest.raises(PlannerProcessError, match="planner process 0 died"):
            await pass_
        await lock.rollback()
    # Planner 1 finishes the page it had when the pass failed; its answer is dropped and it
    # stays in step: the next answer it gives is its usage, not that page's counts.
    pids = [u.pid for u in await planners.usage()]
    assert alive in pids and dead not in pids
    await mat.everyone(clock.advance(minutes=1))
    pids = [u.pid for u in await planners.usage()]
    assert len(pids) == 2 and pids[1] == alive and dead not in pids
    after = await rows(engine)
    assert expected <= after and {r[0] for r in after - expected} == {"p000a", "p005a", "p999"}


ORPHAN = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import timedelta
    from scheduler.domain.model import PlanSettings
    from scheduler.runtime.planners import PlannerProcesses, PlannerSpec

    async def main():
        spec = PlannerSpec(sys.argv[1], PlanSettings(), timedelta(hours=48))
        pool = PlannerProcesses(spec, 2)
        for k in range(2):
            await pool.plan(k, [], __import__("datetime").datetime.now().astimezone())
        print(" ".join(str(u.pid) for u in await pool.usage()), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _exits_within(pid: int, seconds: float) -> bool:
    """Wait for a process that is not our child to end (a pidfd turns readable then)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(io_select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfds")
async def test_planners_exit_when_their_service_is_killed(db: TestDb, engine: AsyncEngine) -> None:
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ORPHAN, db.url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert service.stdout is not None
        pids = [int(x) for x in (await service.stdout.readline()).split()]
        assert len(pids) == 2
    finally:
        service.kill()
        await service.wait()
    for pid in pids:
        assert await asyncio.to_thread(_exits_within, pid, 10), "a planner outlived its service"
