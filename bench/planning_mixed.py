"""Planning on a clinic as it looks after a few months (bench/population.py: holds, delayed
cycles, appointments, US REMS patients, ended courses, recorded doses): the 48 h horizon for N
patients from an empty outbox, with the default 2 planner processes, as bench/planning.py
measures it on fresh enrolments; then the every-minute pass with nothing changed.

    python -m bench.planning_mixed --db sqlite --sizes 10000,100000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import timedelta

from bench.common import T0, bench_db, emit, loadavg
from bench.planning import timed_pass
from bench.population import mixed_population
from messages.render import render_for
from scheduler.domain.model import PlanSettings
from scheduler.runtime.planners import PlannerProcesses, PlannerSpec
from scheduler.services.materialise import Materialiser
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

TARGET_S = 10.0


async def planning_mixed(backend: str, n: int, runs: int = 3, processes: int = 2) -> None:
    times = [await _run(backend, n, processes, k) for k in range(1, runs + 1)]
    med = statistics.median(times)
    emit("planning_mixed_summary", db=backend, patients=n, processes=processes, runs=runs,
         median_s=round(med, 3), min_s=round(min(times), 3), max_s=round(max(times), 3),
         target="100k < 10 s (median)", met=(med < TARGET_S) if n >= 100_000 else None,
         load=loadavg())  # fmt: skip


async def _run(backend: str, n: int, processes: int, run: int) -> float:
    async with bench_db(backend) as db:
        engine = db.engine()
        horizon = timedelta(hours=48)
        planners = PlannerProcesses(PlannerSpec(db.url, PlanSettings(), horizon), processes)
        try:
            mix = await mixed_population(engine, n)
            mat = Materialiser(SqlAlchemyCourseRepository(engine), SqlAlchemyOutbox(engine),
                               PlanSettings(), horizon=horizon, planners=planners,
                               render=render_for)  # fmt: skip
            res, secs, cpu, rows = await timed_pass(mat, planners, engine)
            t0 = time.perf_counter()
            await mat.everyone(T0 + timedelta(minutes=1))
            steady = time.perf_counter() - t0
            emit("planning_mixed", db=backend, patients=n, processes=processes, run=run,
                 seconds=round(secs, 3), rows=rows, inserted=res.inserted,
                 cpu_s=round(cpu, 3), steady_s=round(steady, 3), **mix,
                 load=loadavg())  # fmt: skip
            return secs
        finally:
            await planners.close()
            await engine.dispose()


if __name__ == "__main__":
    from bot.serve import tune_gc

    tune_gc()
    ap = argparse.ArgumentParser(prog="python -m bench.planning_mixed", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    async def main() -> None:
        for size in [int(x) for x in a.sizes.split(",")]:
            await planning_mixed(a.db, size, a.runs)

    asyncio.run(main())
