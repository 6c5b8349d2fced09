"""`python -m bench --quick` runs and prints its figures as JSON lines (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_quick_bench_prints_planning_and_dispatch_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--db", "sqlite", "--only",
         "planning,dispatch"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    by_bench: dict[str, dict[str, object]] = {}
    for f in figures:
        by_bench.setdefault(str(f["bench"]), f)
    assert "error" not in by_bench, by_bench.get("error")
    assert {"seconds", "rows", "rows_per_s", "patients"} <= set(by_bench["planning"])
    assert {"median_ms", "patients"} <= set(by_bench["replan_one"])
    dispatch = by_bench["dispatch"]
    assert {"msg_per_s", "late_p50_s", "late_p99_s", "cpu_s_per_1000"} <= set(dispatch)
    assert dispatch["exactly_once"] is True
    assert {"msg_per_s", "sent"} <= set(by_bench["dispatch_twilio"])
    assert "== lenabot benchmarks ==" in done.stdout


def test_quick_inbound_bench_drives_the_real_service_process() -> None:
    """bench.inbound starts `lenabot web` (bench.serve) and loads it from another process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--db", "sqlite", "--only", "inbound"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    inbound = {str(f["kind"]): f for f in figures if f["bench"] == "inbound"}
    assert not [f for f in figures if f["bench"] == "error"], figures
    assert set(inbound) == {"twilio_sms", "telegram"}
    for f in inbound.values():
        assert f["errors"] == 0 and f["requests"] == 100, f
        assert float(f["cpu_ms_per_req"]) > 0  # read from the service process
    # Every Telegram update was answered through the fake Bot API (100 warm-up, 100 timed).
    assert inbound["telegram"]["replies"] == 200


def test_quick_console_bench_signs_in_and_reads_patients_pages() -> None:
    """bench.console starts `lenabot web`, signs nurses in through the form (CSRF token and
    all) and times the patients page; every page answered 200."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "console", "--quick", "--db", "sqlite"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert not [f for f in figures if f["bench"] == "error"], figures
    [console] = [f for f in figures if f["bench"] == "console"]
    assert console["errors"] == 0 and console["requests"] == 4 * 5, console
    assert console["p50_ms"] <= console["p95_ms"] <= console["p99_ms"]
    assert float(console["cpu_ms_per_req"]) > 0  # read from the service process
    assert isinstance(console["met"], bool)
