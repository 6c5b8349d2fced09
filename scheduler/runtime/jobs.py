"""APScheduler 3.11 wiring: it only triggers; the outbox is the record of truth.

Jobs run in memory (no pickled job store), one instance at a time, coalescing missed runs.
``AsyncIOScheduler.start()`` must be called inside the running loop.

A database that cannot be reached fails every job on every tick. ``DatabaseWatch`` makes that
one line when it happens, at most one a minute while it lasts and one when it is back, and
spaces the jobs' attempts out (doubling, up to ``LONGEST_WAIT_S``) instead of a traceback
every dispatch interval. Any other failure is a bug: logged with its traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.ports import Clock
from scheduler.services.confirmations import Confirmations
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store.outage import unreachable

log = logging.getLogger(__name__)

ESCALATE_EVERY_S = 30.0  # how often unacknowledged urgent alerts are looked for
LONGEST_WAIT_S = 30.0  # between attempts while the database is away: how soon work resumes
SHUTDOWN_GRACE_S = 5.0  # in-flight sends finish within this at shutdown
REPORT_EVERY_S = 60.0  # "still unreachable" lines, at most this often
PRUNE_EVERY_S = 3600.0  # housekeeping


class Heartbeat:
    """When each job last finished, for /readyz."""

    def __init__(self) -> None:
        self.last: dict[str, datetime] = {}


class DatabaseWatch:
    """Whether the jobs reach the database, and when they may try again if not.

    Shared by every job of a process: an outage is one story, whichever job meets it.
    ``monotonic`` is the real clock (the jobs' injected ``Clock`` may stand still in tests).
    """

    def __init__(
        self,
        first_wait: float,
        *,
        longest_wait: float = LONGEST_WAIT_S,
        report_every: float = REPORT_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_wait = first_wait
        self.longest_wait = max(longest_wait, first_wait)
        self.report_every = report_every
        self.monotonic = monotonic
        self.down_since: float | None = None
        self.failures = 0  # attempts that failed (jobs failing together are one attempt)
        self.attempts = 0  # job runs that failed
        self.next_try = 0.0
        self._reported = 0.0

    def may_try(self) -> bool:
        return self.down_since is None or self.monotonic() >= self.next_try

    def failed(self, job: str, why: str) -> None:
        now = self.monotonic()
        self.attempts += 1
        if self.down_since is not None and now < self.next_try:
            return  # another job failing in the same attempt: counted and said already
        self.failures += 1
        wait = min(self.longest_wait, self.first_wait * 2 ** (self.failures - 1))
        self.next_try = now + wait
        if self.down_since is None:
            self.down_since = self._reported = now
            log.error(
                "%s job failed: the database is unreachable (%s); planning and sending wait "
                "for it, retrying with backoff (at most one line a minute until it is back)",
                job, why,
            )  # fmt: skip
        elif now - self._reported >= self.report_every:
            self._reported = now
            log.error(
                "the database is still unreachable after %.0f s (%s); %d job runs failed",
                now - self.down_since, why, self.attempts,
            )  # fmt: skip
        else:
            log.debug(
                "%s job: the database is still unreachable (%s); next try in %.2f s",
                job, why, wait,
            )  # fmt: skip

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning(
                "the database is reachable again after %.0f s: planning and sending resume",
                self.monotonic() - self.down_since,
            )
        self.down_since = None
        self.failures = self.attempts = 0


def _guarded(
    name: str,
    fn: Callable[[], Awaitable[object]],
    clock: Clock,
    beat: Heartbeat,
    watch: DatabaseWatch,
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if not watch.may_try():
            return  # the database is away: this tick waits for the backoff
        try:
            await fn()
        except Exception as exc:  # keep the scheduler alive; the next tick tries again
            why = unreachable(exc)
            if why is None:
                log.exception("%s job failed", name)
            else:
                watch.failed(name, why)
        else:
            watch.succeeded()
            beat.last[name] = clock.now()

    return run


def build_scheduler(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    clock: Clock,
    *,
    plan_every: float,
    dispatch_every: float,
    beat: Heartbeat,
    confirmations: Confirmations | None = None,
    watch: DatabaseWatch | None = None,
    escalate: Callable[[datetime], Awaitable[object]] | None = None,
    prune: Callable[[datetime], Awaitable[object]] | None = None,
) -> AsyncIOScheduler:
    """The jobs: plan, dispatch, and with ``confirmations`` the unanswered-dose sweep and the
    weekly digest; with ``escalate`` (``NurseAlerts.escalate``), urgent alerts nobody
    acknowledged are sent again; with ``prune``, housekeeping (old handled Telegram updates
    deleted) every ``PRUNE_EVERY_S`` from start-up. Every job takes ``now`` from ``clock``."""
    watch = watch or DatabaseWatch(first_wait=min(plan_every, dispatch_every))
    sched = AsyncIOScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    start = datetime.now(clock.now().tzinfo)
    sched.add_job(
        _guarded("plan", lambda: materialiser.everyone(clock.now()), clock, beat, watch),
        IntervalTrigger(seconds=plan_every),
        id="plan",
        next_run_time=start,
        **common,
    )
    sched.add_job(
        _guarded("dispatch", dispatcher.tick, clock, beat, watch),
        IntervalTrigger(seconds=dispatch_every),
        id="dispatch",
        next_run_time=start + timedelta(seconds=0.5),
        **common,
    )
    if confirmations is not None:
        sched.add_job(
            _guarded("confirm", lambda: confirmations.sweep(clock.now()), clock, beat, watch),
            IntervalTrigger(seconds=max(plan_every, 60)),
            id="confirm",
            **common,
        )
        # Monday morning, before clinics open in Europe.
        sched.add_job(
            _guarded("digest", lambda: confirmations.digest(clock.now()), clock, beat, watch),
            CronTrigger(day_of_week="mon", hour=7, minute=0, timezone="UTC"),
            id="digest",
            **common,
        )
    if escalate is not None:
        sched.add_job(
            _guarded("escalate", lambda: escalate(clock.now()), clock, beat, watch),
            IntervalTrigger(seconds=ESCALATE_EVERY_S),
            id="escalate",
            **common,
        )
    if prune is not None:
        sched.add_job(
            _guarded("prune", lambda: prune(clock.now()), clock, beat, watch),
            IntervalTrigger(seconds=PRUNE_EVERY_S),
            id="prune",
            next_run_time=start + timedelta(seconds=5),
            **common,
        )
    return sched


async def stop_jobs(dispatcher: Dispatcher, sched: AsyncIOScheduler) -> None:
    """Stop the jobs without dropping a send on the floor or leaving rows claimed.

    Pause first and let running jobs end: ``shutdown`` cancels them, which would cut in-flight
    sends short, and a job cancelled inside an SQLite transaction can hang the loop's close.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SHUTDOWN_GRACE_S
    sched.pause()
    try:
        await dispatcher.drain(SHUTDOWN_GRACE_S)
        while _running_jobs(sched) and loop.time() < deadline:  # noqa: ASYNC110 (no event to await)
            await asyncio.sleep(0.02)  # e.g. a re-plan in progress
    except Exception as exc:  # e.g. the database is down: the claim lease returns the rows later
        why = unreachable(exc)
        if why is None:
            log.exception("could not release claimed rows at shutdown")
        else:
            log.error(
                "could not release claimed rows at shutdown: the database is unreachable (%s); "
                "they return to pending after CLAIM_LEASE_SECONDS",
                why,
            )
    finally:
        sched.shutdown(wait=False)


def _running_jobs(sched: AsyncIOScheduler) -> int:
    # APScheduler 3 has no public "is a job running" call; each executor counts the running
    # instances of every job (what ``max_instances`` is checked against).
    executors: dict[str, Any] = getattr(sched, "_executors", {})
    return sum(sum(getattr(ex, "_instances", {}).values()) for ex in executors.values())
