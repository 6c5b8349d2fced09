"""APScheduler 3.11 wiring: it only triggers; the outbox is the record of truth.

Jobs run in memory (no pickled job store), one instance at a time, coalescing missed runs.
``AsyncIOScheduler.start()`` must be called inside the running loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.confirmations import Confirmations
from scheduler.dispatch import Dispatcher
from scheduler.materialise import Materialiser
from scheduler.ports import Clock

log = logging.getLogger(__name__)


class Heartbeat:
    """When each job last finished, for /readyz."""

    def __init__(self) -> None:
        self.last: dict[str, datetime] = {}


def _guarded(
    name: str, fn: Callable[[], Awaitable[object]], clock: Clock, beat: Heartbeat
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await fn()
        except Exception:  # keep the scheduler alive; the next tick tries again
            log.exception("%s job failed", name)
        else:
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
) -> AsyncIOScheduler:
    sched = AsyncIOScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    start = datetime.now(clock.now().tzinfo)
    sched.add_job(
        _guarded("plan", lambda: materialiser.everyone(clock.now()), clock, beat),
        IntervalTrigger(seconds=plan_every),
        id="plan",
        next_run_time=start,
        **common,
    )
    sched.add_job(
        _guarded("dispatch", dispatcher.tick, clock, beat),
        IntervalTrigger(seconds=dispatch_every),
        id="dispatch",
        next_run_time=start + timedelta(seconds=0.5),
        **common,
    )
    if confirmations is not None:
        sched.add_job(
            _guarded("confirm", lambda: confirmations.sweep(clock.now()), clock, beat),
            IntervalTrigger(seconds=max(plan_every, 60)),
            id="confirm",
            **common,
        )
        # Monday morning, before clinics open in Europe.
        sched.add_job(
            _guarded("digest", lambda: confirmations.digest(clock.now()), clock, beat),
            CronTrigger(day_of_week="mon", hour=7, minute=0, timezone="UTC"),
            id="digest",
            **common,
        )
    return sched
