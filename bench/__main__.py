"""`make bench` / `python -m bench`: lenabot's benchmarks. One JSON line per figure, then a table.

    python -m bench --quick                      # smoke run, well under a minute
    python -m bench --db both --only planning,dispatch --sizes 1000,10000,100000
    python -m bench console                      # = --only console: the patients page
    python -m bench soak --patients 10000 --days 7   # the simulated week (bench/soak.py)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
from collections.abc import Coroutine
from typing import Any

from bench.common import RESULTS, emit, loadavg

ALL = ["planning", "dispatch", "limits", "inbound", "memory", "console", "e2e", "memory_run",
       "apscheduler", "planning_mixed", "dispatch_clients"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--sizes", help="planning sizes, comma-separated (default 1000,10000,100000)")
    ap.add_argument("--planning-runs", type=int, default=3,
                    help="first passes per size, each on a fresh database; judged on the median")
    ap.add_argument("--dispatch-sizes", help="dispatch burst sizes (default 10000,100000)")
    ap.add_argument("--workers", default="1,2,4", help="PostgreSQL dispatch worker processes")
    ap.add_argument("--dispatch-concurrency", type=int, default=16,
                    help="Dispatcher.concurrency per worker (the product default is 16)")
    ap.add_argument("--twilio-size", type=int, default=2000)
    ap.add_argument("--limits-burst", type=int, default=750,
                    help="Telegram burst size (750 = 25 s at 30/s)")
    ap.add_argument("--rates", default="50,100,200", help="inbound requests/s")
    ap.add_argument("--inbound-seconds", type=float, default=10.0)
    ap.add_argument("--memory-patients", type=int, default=100_000)
    ap.add_argument("--memory-burst", type=int, default=20_000)
    ap.add_argument("--console-patients", type=int, default=10_000)
    ap.add_argument("--console-sessions", type=int, default=20,
                    help="signed-in console sessions asking for pages at once")
    ap.add_argument("--console-requests", type=int, default=50,
                    help="timed patients pages per console session")
    ap.add_argument("--console-think", default="0,1",
                    help="seconds each console session waits between pages, comma-separated "
                         "(0: a stress test, every session always waiting on an answer)")
    ap.add_argument("--telegram-size", type=int, default=600,
                    help="rows sent through the real Telegram client (bench.dispatch_clients)")
    ap.add_argument("--e2e-rates", default="20,100", help="Telegram updates/s, end to end")
    ap.add_argument("--e2e-seconds", type=float, default=10.0)
    ap.add_argument("--run-sizes", help="`lenabot run` memory sizes (default 1000,10000,100000)")
    ap.add_argument("--aps-patients", type=int, default=10_000,
                    help="patients for the APScheduler comparison")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("benches", nargs="*", metavar="BENCH", help="the same as --only")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    a = ap.parse_args(argv)
    if a.quick:
        a.sizes = a.sizes or "200"
        a.planning_runs = 1
        a.dispatch_sizes = a.dispatch_sizes or "300"
        a.workers = "1,2"
        a.twilio_size = min(a.twilio_size, 50)
        a.limits_burst = min(a.limits_burst, 45)
        a.rates = "50"
        a.inbound_seconds = 2.0
        a.memory_patients = min(a.memory_patients, 500)
        a.memory_burst = min(a.memory_burst, 200)
        a.console_patients = min(a.console_patients, 300)
        a.console_sessions = min(a.console_sessions, 4)
        a.console_requests = min(a.console_requests, 5)
        a.console_think = "0"
        a.telegram_size = min(a.telegram_size, 40)
        a.e2e_rates = "20"
        a.e2e_seconds = 2.0
        a.run_sizes = a.run_sizes or "300"
        a.aps_patients = min(a.aps_patients, 300)
    a.sizes = [int(x) for x in (a.sizes or "1000,10000,100000").split(",")]
    a.dispatch_sizes = [int(x) for x in (a.dispatch_sizes or "10000,100000").split(",")]
    a.workers = [int(x) for x in a.workers.split(",")]
    a.rates = [int(x) for x in a.rates.split(",")]
    a.console_think = [float(x) for x in a.console_think.split(",")]
    if a.benches:
        a.only = ",".join([*(a.only.split(",") if a.only else []), *a.benches])
    a.e2e_rates = [int(x) for x in a.e2e_rates.split(",")]
    a.run_sizes = [int(x) for x in (a.run_sizes or "1000,10000,100000").split(",")]
    a.only = a.only.split(",") if a.only else ALL
    unknown = set(a.only) - set(ALL)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    a.dbs = ["sqlite", "postgres"] if a.db == "both" else [a.db]
    return a


async def main(a: argparse.Namespace) -> int:
    from bench import dispatch, limits, memory, planning

    failures = 0

    async def step(name: str, coro: Coroutine[Any, Any, Any]) -> None:
        nonlocal failures
        try:
            await coro
        except Exception as exc:  # one broken figure must not hide the others
            failures += 1
            emit("error", step=name, error=f"{type(exc).__name__}: {exc}"[:300])

    emit("machine", nproc=os.cpu_count(), python=platform.python_version(), load=loadavg())
    for db in a.dbs:
        if "planning" in a.only:
            for n in a.sizes:
                await step(f"planning {db} {n}",
                           planning.planning(db, n, runs=a.planning_runs))
        if "dispatch" in a.only:
            for n in a.dispatch_sizes:
                for w in a.workers if db == "postgres" else [1]:
                    await step(f"dispatch {db} {n}x{w}",
                               dispatch.dispatch_burst(
                                   db, n, w, concurrency=a.dispatch_concurrency))
            if a.twilio_size:
                await step(f"dispatch twilio {db}", dispatch.dispatch_twilio(db, a.twilio_size))
        if "inbound" in a.only:
            from bench import inbound

            await step(f"inbound {db}",
                       inbound.inbound(db, a.rates, a.inbound_seconds))
        if "memory" in a.only:
            await step(f"memory {db}",
                       memory.memory(db, a.memory_patients, a.memory_burst))
        if "console" in a.only:
            from bench import console

            for think in a.console_think:
                await step(f"console {db} think {think}", console.console(
                    db, a.console_patients, a.console_sessions, a.console_requests, think))
        if "planning_mixed" in a.only:
            from bench import planning_mixed

            for n in a.sizes:
                await step(f"planning_mixed {db} {n}",
                           planning_mixed.planning_mixed(db, n, runs=a.planning_runs))
        if "dispatch_clients" in a.only:
            from bench import dispatch_clients

            for limited in (False, True):
                await step(f"dispatch_clients {db}", dispatch_clients.dispatch_telegram(
                    db, a.telegram_size, limited=limited))
        if "e2e" in a.only:
            from bench import e2e

            await step(f"e2e {db}", e2e.e2e(db, a.e2e_rates, a.e2e_seconds))
        if "memory_run" in a.only:
            from bench import memory_run

            for n in a.run_sizes:
                await step(f"memory_run {db} {n}", memory_run.memory_run(db, n))
    if "apscheduler" in a.only:
        from bench import apscheduler_cmp

        await step("apscheduler", apscheduler_cmp.compare(a.aps_patients))
    if "limits" in a.only:
        await step("limits", limits.limits(a.limits_burst))
    table()
    return 1 if failures else 0


COLUMNS = {
    "planning": ["db", "patients", "processes", "run", "rows", "seconds", "rows_per_s", "cpu_s"],
    "planning_summary": ["db", "patients", "runs", "median_s", "min_s", "max_s", "met"],
    "planning_steady": ["db", "patients", "seconds"],
    "replan_one": ["db", "patients", "median_ms", "max_ms", "met"],
    "dispatch": ["db", "rows", "workers", "msg_per_s", "late_p50_s", "late_p99_s",
                 "cpu_s_per_1000", "exactly_once", "met"],
    "dispatch_twilio": ["db", "rows", "fake", "sent", "msg_per_s", "cpu_s_per_1000",
                        "fake_cpu_s_per_1000"],
    "limits": ["sent", "seconds", "achieved_per_s", "allowed_per_s", "share_429",
               "reply_p99_s", "replies"],
    "inbound": ["db", "kind", "rps", "achieved_rps", "p50_ms", "p99_ms", "cpu_ms_per_req",
                "errors", "replies", "met"],
    "memory": ["db", "patients", "rows_planned", "sent", "rss_after_build_mb",
               "service_peak_rss_mb", "planner_peak_rss_mb", "peak_rss_mb", "met"],
    "console": ["db", "patients", "sessions", "think_s", "requests", "rps", "p50_ms", "p95_ms", "p99_ms",
                "cpu_ms_per_req", "errors", "met"],
    "planning_mixed": ["db", "patients", "run", "rows", "seconds", "cpu_s", "steady_s", "holds",
                       "cycle_delays", "appointments", "us_rems", "ended", "dose_records"],
    "planning_mixed_summary": ["db", "patients", "runs", "median_s", "min_s", "max_s", "met"],
    "dispatch_client": ["db", "rows", "channel", "fake", "sent", "msg_per_s",
                        "too_many_requests", "cpu_s_per_1000", "fake_cpu_s_per_1000", "met"],
    "inbound_stall": ["db", "run", "rps", "achieved_rps", "p50_ms", "p99_ms", "max_ms",
                      "cpu_ms_per_req", "errors", "longest_gc_ms", "met"],
    "e2e_telegram": ["db", "rps", "updates", "achieved_rps", "answered", "ack_p99_ms", "p50_s",
                     "p99_s", "max_s", "cpu_ms_per_update", "met"],
    "memory_run": ["db", "patients", "first_plan_s", "sms_sent", "service_rss_mb",
                   "service_peak_rss_mb", "planner_peak_rss_mb", "met"],
    "apscheduler": ["design", "patients", "enrol_s", "burst_s", "fired", "missed",
                    "peak_rss_mb"],
    "apscheduler_ratio": ["patients", "enrol_x", "burst_x", "rss_x"],
    "error": ["step", "error"],
}  # fmt: skip


def table() -> None:
    print("\n== lenabot benchmarks ==")
    for bench, cols in COLUMNS.items():
        recs = [r for r in RESULTS if r["bench"] == bench]
        if not recs:
            continue
        print(f"\n{bench}")
        rows = [["" if r.get(c) is None else str(r.get(c)) for c in cols] for r in recs]
        widths = [max(len(c), *(len(x[i]) for x in rows)) for i, c in enumerate(cols)]
        print("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
        for x in rows:
            print("  " + "  ".join(v.ljust(w) for v, w in zip(x, widths, strict=True)))
    sys.stdout.flush()


if __name__ == "__main__":
    from bot.serve import tune_gc

    tune_gc()  # as `lenabot run` and `lenabot worker` do; the worker subprocesses too
    if sys.argv[1:2] == ["soak"]:
        from bench.soak_report import main as soak_main

        sys.exit(soak_main(sys.argv[2:]))
    args = parse()
    sys.exit(asyncio.run(main(args)))
