"""5. Memory: peak RSS of a service process (``build`` + the plan and dispatch jobs' work) with
N patients planned in one pass and a dispatch burst, in a fresh subprocess; with its planner
processes (``PLAN_PROCESSES``, default 2) counted in.

    python -m bench.memory URL BURST   ->  one JSON line (child side)
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from datetime import timedelta
from typing import Any

from bench.common import T0, bench_db, bulk_enrol, emit, loadavg
from scheduler.runtime.planners import peak_rss_kb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rss_mb() -> float:
    """Peak RSS of this process image (``VmHWM``, as the planners report theirs)."""
    return peak_rss_kb() / 1024


async def child(url: str, burst: int) -> dict[str, Any]:
    from bot.bootstrap import build
    from bot.settings import load_settings
    from scheduler.ports import Address, ManualClock, Outgoing

    class NullChannel:
        name = "sms"

        async def send(self, message: Outgoing) -> str:
            return "X" + message.ref

    null = NullChannel()
    clock = ManualClock(T0)
    settings = load_settings(_env_file=None, database_url=url, telegram_bot_token=None,
                             log_level="WARNING")  # fmt: skip
    service = build(settings, clock=clock, out=io.StringIO())
    service.dispatcher.resolve = lambda p: (null, Address(p.channel, p.phone or ""))
    after_build = _rss_mb()
    t0 = time.perf_counter()
    planned = await service.materialiser.everyone(clock.now())
    plan_s = time.perf_counter() - t0
    after_plan = _rss_mb()
    clock.set(T0 + timedelta(hours=3))  # the morning's doses are all due now
    batches = max(1, burst // service.dispatcher.batch)
    t0 = time.perf_counter()
    stats = await service.dispatcher.tick(max_batches=batches)
    send_s = time.perf_counter() - t0
    planners = service.materialiser.planners
    planner_mb = [u.peak_rss_kb / 1024 for u in await planners.usage()] if planners else []
    await service.close()
    # The service's own peak plus each planner process's peak: their sum bounds what the
    # service uses at any one moment (the peaks need not coincide).
    own = _rss_mb()
    return {
        "rows_planned": planned.inserted,
        "sent": stats.sent,
        "plan_s": round(plan_s, 2),
        "send_s": round(send_s, 2),
        "rss_after_build_mb": round(after_build, 1),
        "rss_after_plan_mb": round(after_plan, 1),
        "service_peak_rss_mb": round(own, 1),
        "planner_peak_rss_mb": [round(x, 1) for x in planner_mb],
        "peak_rss_mb": round(own + sum(planner_mb), 1),
    }


async def memory(backend: str, n: int, burst: int) -> None:
    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, n)
        await engine.dispose()
        root = ROOT
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.memory", db.url, str(burst),
            stdout=asyncio.subprocess.PIPE, cwd=root)
        out, _ = await proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"memory child exited {proc.returncode}")
        r = json.loads(out.decode().strip().splitlines()[-1])
        emit("memory", db=backend, patients=n, burst_limit=burst, **r, target="< 300 MB",
             met=r["peak_rss_mb"] < 300, load=loadavg())  # fmt: skip


if __name__ == "__main__":
    from bot.serve import tune_gc

    tune_gc()  # as `lenabot run` does
    print(json.dumps(asyncio.run(child(sys.argv[1], int(sys.argv[2])))))
