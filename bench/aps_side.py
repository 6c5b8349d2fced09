"""The APScheduler side of bench/apscheduler_cmp.py, in a process of its own that imports
nothing of lenabot's (only APScheduler 3.11 and SQLAlchemy), so that its peak RSS is the
design's own: one persistent job per patient in the sync ``SQLAlchemyJobStore`` on a SQLite
file, under ``AsyncIOScheduler``.

    python -m bench.aps_side N   ->  one JSON line: enrol_s, burst_s, fired, missed, peak_rss_mb
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# bench.common.ZONES (not imported: it would bring lenabot's store along).
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
         "Australia/Sydney", "America/Los_Angeles", "UTC"]  # fmt: skip


def peak_mb() -> float:
    """``VmHWM`` of this process, in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


FIRED: list[float] = []  # wall-clock times of the APScheduler jobs that ran
_DONE = asyncio.Event()
_TARGET = 0


async def enrolled(patient_id: str) -> None:
    """The enrolment phase's daily job: a reminder nobody counts (some may fall due)."""


async def remind(patient_id: str) -> None:
    """The APScheduler job: a reminder handed to an instant channel (counted)."""
    FIRED.append(time.time())
    if len(FIRED) >= _TARGET:
        _DONE.set()


async def side(n: int, d: str) -> dict[str, Any]:
    global _TARGET
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger

    missed: list[str] = []

    def scheduler(name: str) -> AsyncIOScheduler:
        s = AsyncIOScheduler(timezone="UTC", job_defaults={
            "misfire_grace_time": 3600, "coalesce": True, "max_instances": 1})  # fmt: skip
        s.add_jobstore(SQLAlchemyJobStore(url=f"sqlite:///{d}/{name}.db"))
        s.add_listener(lambda e: missed.append(e.job_id), EVENT_JOB_MISSED)
        s.start()
        return s

    # Enrolment: each patient's reminder at a time of their own, in their zone.
    s = scheduler("enrol")
    t0 = time.perf_counter()
    for i in range(n):
        s.add_job(enrolled, CronTrigger(hour=8 + i % 12, minute=(i * 7) % 60,
                                      timezone=ZONES[i % len(ZONES)]),
                  args=[f"b{i:08d}"], id=f"b{i:08d}", replace_existing=True)  # fmt: skip
    enrol_s = time.perf_counter() - t0
    s.shutdown(wait=True)
    # The burst: N reminders due at one instant F, far enough ahead for their enrolment.
    _TARGET = n
    due = (datetime.now(UTC) + timedelta(seconds=enrol_s * 1.5 + 11)).replace(microsecond=0)
    s = scheduler("burst")
    for i in range(n):
        local = due.astimezone(ZoneInfo(ZONES[i % len(ZONES)]))
        s.add_job(remind, CronTrigger(hour=local.hour, minute=local.minute, second=local.second,
                                      timezone=ZONES[i % len(ZONES)]),
                  args=[f"b{i:08d}"], id=f"b{i:08d}", replace_existing=True)  # fmt: skip
    if time.time() > due.timestamp():
        raise RuntimeError("the burst's jobs were not all stored before their instant")
    try:
        await asyncio.wait_for(_DONE.wait(), timeout=due.timestamp() - time.time() + 1800)
    except TimeoutError:
        pass
    s.shutdown(wait=False)
    burst_s = (max(FIRED) - due.timestamp()) if FIRED else float("nan")
    return {"enrol_s": round(enrol_s, 2), "burst_s": round(burst_s, 2), "fired": len(FIRED),
            "missed": len(missed), "peak_rss_mb": round(peak_mb(), 1)}  # fmt: skip


if __name__ == "__main__":
    import logging

    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)  # misses are counted instead
    with tempfile.TemporaryDirectory(prefix="lenabench-aps-") as tmp:
        print(json.dumps(asyncio.run(side(int(sys.argv[1]), tmp))))
