"""Turn courses into outbox rows for a rolling horizon: the bridge from pure plan to store."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from scheduler.domain.followup import follow_ups
from scheduler.domain.model import Course, Kind, Patient, PlanSettings
from scheduler.domain.outbox import Planned, SyncResult
from scheduler.domain.plan import plan_window_until
from scheduler.ports import Planners, Renderer
from scheduler.runtime.heap import release_freed_memory
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

# Non-dose messages live until the end of their local day, and a local day can be 26 hours
# away from "now" in UTC terms; looking this far back finds every row that may still be sent.
LOOKBACK = timedelta(hours=36)
# A patient left alone by the every-minute pass is still planned in full at least this often
# (30 to 60 minutes, spread by patient id so the whole list does not come due at once): a bound
# on anything the skip cannot see, such as outbox rows changed behind the planner's back.
MAX_SKIP = timedelta(minutes=60)
# A re-plan on request checks its inputs did not change while it ran, at most this many times.
REPLAN_ROUNDS = 3
# Pages of a pass in flight at once: one page is planned (CPU, in this thread) while the
# database works on the previous one (in the server, or SQLite's thread without the GIL).
PIPELINE_PAGES = 2
# Pages in flight a planner process. Page k always goes to planner k % count (so each keeps a
# useful memory), so a planner that falls behind holds up the pass once it holds every page in
# flight: with 2 a planner the faster one idled, and 100k patients took 20 s instead of 16 s.
PLANNER_PAGES = 4


def plan_for(
    patient: Patient,
    course: Course,
    settings: PlanSettings,
    now: datetime,
    horizon: timedelta,
    records: Mapping[date, str] | None = None,
    *,
    render: Renderer,
) -> tuple[list[Planned], datetime]:
    """What should be in the outbox for this patient now (unexpired, due within the horizon),
    and until when (exclusive) it stays the answer for a later ``now``.

    With the same inputs, the answer at a later ``now`` differs only when a reminder
    enters the horizon, one expires, or one falls out of the look-back window. The bound is the
    first of those moments; the caller must still check that ``now`` did not go backwards.
    """
    reminders, entering = plan_window_until(course, settings, now - LOOKBACK, now + horizon)
    until = entering - horizon
    for r in reminders:
        until = min(until, r.due_at + LOOKBACK)
    if records:
        # A recorded dose (taken early, late, an extra capsule, told to take it now) has no
        # reminder left to send: the sync cancels one still pending.
        reminders = [r for r in reminders if r.kind is not Kind.DOSE or r.local_date not in records]
    if patient.follow_ups and records is not None:
        reminders += follow_ups(reminders, records, settings.follow_up_after, course.tz)
    kept = []
    for r in reminders:
        if r.expires_at > now:
            kept.append(Planned(r, render(r, patient)))
            until = min(until, r.expires_at)
    return kept, until


def _fingerprint(patient: Patient, course: Course, records: Mapping[date, str]) -> int:
    """Everything the plan of one patient depends on, hashed (64 bits: a collision is ~2^-64)."""
    return hash((patient, course, frozenset(records.items())))


# What this process synced for one patient: (fingerprint of the inputs, when, and until when
# nothing changes). A plain tuple of an int and two datetimes, which the garbage collector
# stops tracking: with one object per patient, a class here made every full collection walk
# 100k more objects (about 4 s of a 100k-patient pass).
_Fresh = tuple[int, datetime, datetime]
# Patients with their courses, and their dose records: what a re-plan reads.
_Inputs = tuple[Mapping[str, tuple[Patient, Course]], Mapping[str, Mapping[date, str]]]


@dataclass
class Materialiser:
    """Keeps each patient's pending outbox rows equal to their plan for the rolling horizon.

    The every-minute pass (``everyone``) reads every patient's inputs from the database but
    plans and syncs only those whose plan may have changed since this process last synced it:
    inputs changed (course, holds, delays, appointments, patient row, dose records), a
    reminder entered the horizon or expired, the clock went backwards, or ``MAX_SKIP`` passed.
    The memory of what was synced is per process and only ever lets a pass skip work; a new
    process starts empty and plans everyone, and the outbox stays the record of truth.

    With ``planners``, a pass over more than one page of patients is shared by planner
    processes (``scheduler.runtime.planners``), each with a memory of its own; re-plans on request
    (``patient``, ``patients``) always run here.
    """

    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    settings: PlanSettings
    horizon: timedelta = timedelta(hours=48)
    page: int = 2000
    planners: Planners | None = None
    render: Renderer = field(kw_only=True)  # the words of each message (messages.render)
    _fresh: dict[str, _Fresh] = field(default_factory=dict, init=False, repr=False)
    # Patients some call of this process is planning right now, and those two calls planned at
    # once: who synced last is unknown then, so neither may vouch for the outbox afterwards.
    _busy: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _overlapped: set[str] = field(default_factory=set, init=False, repr=False)
    # Whether the last pass ran in planner processes: a pass that changes over forgets the
    # memory of the other way, which no longer sees every sync of its patients.
    _in_planners: bool = field(default=False, init=False, repr=False)

    async def patients(
        self, patient_ids: Sequence[str], now: datetime, *, skip_fresh: bool = False
    ) -> SyncResult:
        """Re-plan these patients; with ``skip_fresh``, leave out those provably unchanged."""
        result, _ = await self._patients(patient_ids, now, skip_fresh)
        return result

    async def patient(self, patient_id: str, now: datetime) -> SyncResult:
        """Re-plan one patient now (after a change), whatever this process remembers.

        If the patient's inputs changed while this ran (another process recorded something
        between our read and our write), plan again: the last write must be of the latest
        inputs, or a pass elsewhere that already planned those could leave a stale plan be.
        """
        total = SyncResult()
        for _ in range(REPLAN_ROUNDS):
            r, stale = await self._patients([patient_id], now, False, verify=True)
            _add(total, r)
            if not stale:
                break
        return total

    async def patient_as_loaded(
        self, patient: Patient, course: Course, records: Mapping[date, str], now: datetime
    ) -> SyncResult:
        """Re-plan one patient from inputs the caller has just read, and changed, in the unit of
        work it is in (``scheduler.store.db.unit_of_work``), with the course row locked
        (``load_one(lock=True)``): nothing is read again, so the re-plan after a dose report
        costs the outbox's read and write alone.

        No check that the inputs changed meanwhile, as ``patient`` makes: the unit holds the
        write lock (SQLite) or the course row (PostgreSQL), and its plan commits with the
        change it follows, or not at all. ``records`` may reach further back than a pass reads.
        """
        since = self._since(now)
        kept = {d: s for d, s in records.items() if d >= since}
        given = {patient.id: (patient, course)}, {patient.id: kept}
        result, _ = await self._patients([patient.id], now, False, given=given)
        return result

    async def everyone(self, now: datetime) -> SyncResult:
        """One pass over every patient, page by page: ``PIPELINE_PAGES`` pages in flight here,
        or ``PLANNER_PAGES`` a planner process.

        Pages are disjoint ranges of patient ids, so pages in flight never touch the same
        patient's rows. If a page fails, the pass stops and fails (the next pass retries).
        """
        total = SyncResult()
        first = await self.courses.patient_ids("", self.page)
        nxt = await self.courses.patient_ids(first[-1], self.page) if first else []
        planners = self.planners if nxt else None
        if (planners is not None) != self._in_planners:
            self._in_planners = planners is not None
            self._fresh.clear()
            if self.planners is not None:
                await self.planners.close()
        in_flight = PIPELINE_PAGES if planners is None else PLANNER_PAGES * planners.count
        pages = _pages(self.courses, first, nxt, self.page)
        running: set[asyncio.Task[SyncResult]] = set()
        try:
            k = 0
            async for ids in pages:
                while len(running) >= in_flight:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        _add(total, task.result())
                if planners is None:
                    job = self.patients(ids, now, skip_fresh=True)
                else:
                    job = planners.plan(k, ids, now)
                running.add(asyncio.create_task(job))
                k += 1
            while running:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    _add(total, task.result())
        finally:
            for task in running:  # the pass failed or was cancelled: stop the other pages
                task.cancel()
            if running:
                await asyncio.wait(running)
        release_freed_memory()  # the pass's garbage back to the system (scheduler/runtime/heap.py)
        return total

    async def _patients(
        self,
        patient_ids: Sequence[str],
        now: datetime,
        skip_fresh: bool,
        verify: bool = False,
        given: _Inputs | None = None,
    ) -> tuple[SyncResult, bool]:
        for pid in patient_ids:
            n = self._busy[pid] = self._busy.get(pid, 0) + 1
            if n > 1:
                self._overlapped.add(pid)
        try:
            loaded: Mapping[str, tuple[Patient, Course]]
            records: Mapping[str, Mapping[date, str]]
            if given is None:
                loaded = await self.courses.load(patient_ids)
                records = await self._records(list(loaded), now)
            else:
                loaded, records = given
            basis = (self.settings, self.horizon)
            planned: dict[str, list[Planned]] = {}
            fresh: dict[str, _Fresh] = {}
            for pid, (p, c) in loaded.items():
                fp = hash((basis, _fingerprint(p, c, records[pid])))
                known = self._fresh.get(pid)
                if (
                    skip_fresh
                    and known is not None
                    and known[0] == fp
                    and known[1] <= now < known[2]
                ):
                    continue
                planned[pid], until = plan_for(
                    p, c, self.settings, now, self.horizon, records[pid], render=self.render
                )
                cap = now + MAX_SKIP * (0.5 + (zlib.crc32(pid.encode()) % 1000) / 2000)
                fresh[pid] = (fp, now, min(until, cap))
            for pid in planned:
                self._fresh.pop(pid, None)  # until the sync below has succeeded
            result = await self.outbox.sync(planned, now - LOOKBACK, now)
            stale = False
            if verify and planned:
                again = await self.courses.load(list(planned))
                records = await self._records(list(again), now)
                for pid, (p, c) in again.items():
                    if hash((basis, _fingerprint(p, c, records[pid]))) != fresh[pid][0]:
                        fresh.pop(pid)
                        stale = True
            for pid, entry in fresh.items():
                if pid not in self._overlapped:
                    self._fresh[pid] = entry
            return result, stale
        finally:
            for pid in patient_ids:
                n = self._busy[pid] - 1
                if n:
                    self._busy[pid] = n
                else:
                    del self._busy[pid]
                    if pid in self._overlapped:
                        self._overlapped.discard(pid)
                        self._fresh.pop(pid, None)
            for pid in set(patient_ids) & self._overlapped:
                self._fresh.pop(pid, None)

    async def _records(self, patient_ids: list[str], now: datetime) -> dict[str, dict[date, str]]:
        return await self.courses.dose_records_many(patient_ids, self._since(now))

    @staticmethod
    def _since(now: datetime) -> date:
        """The first local date whose dose records a plan at ``now`` can depend on."""
        return (now - LOOKBACK - timedelta(days=1)).date()


async def _pages(
    courses: SqlAlchemyCourseRepository, first: list[str], nxt: list[str], size: int
) -> AsyncIterator[list[str]]:
    """The pages of patient ids, the first two already read."""
    for ids in (first, nxt):
        if ids:
            yield ids
    after = nxt[-1] if nxt else ""
    while after and (ids := await courses.patient_ids(after, size)):
        yield ids
        after = ids[-1]


def _add(total: SyncResult, r: SyncResult) -> None:
    total.inserted += r.inserted
    total.updated += r.updated
    total.cancelled += r.cancelled
