"""The issue-15 figures' benchmarks run end to end in their smoke sizes (no timing asserted):
each drives what it claims to measure and reports every message it counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def _quick(only: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--db", "sqlite", "--only", only],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert not [f for f in figures if f["bench"] == "error"], figures
    return figures


def _one(figures: list[dict[str, Any]], bench: str) -> list[dict[str, Any]]:
    found = [f for f in figures if f["bench"] == bench]
    assert found, f"no {bench} figure in {figures}"
    return found


def test_telegram_end_to_end_client_dispatch_and_the_apscheduler_comparison() -> None:
    figures = _quick("e2e,dispatch_clients,apscheduler,planning_mixed")
    (e2e,) = _one(figures, "e2e_telegram")
    # Every update posted to the real webhook was answered at the fake Bot API, and timed.
    assert e2e["rps"] == 20 and e2e["updates"] == 40 and e2e["answered"] == 40, e2e
    assert e2e["post_errors"] == 0 and 0 < e2e["p50_s"] <= e2e["p99_s"], e2e
    clients = {f["channel"]: f for f in _one(figures, "dispatch_client")}
    assert set(clients) == {"telegram-ptb", "telegram-ptb (limiter lifted)"}, clients
    for f in clients.values():  # every due row went through PTB to the fake API, once
        assert f["sent"] == f["api_messages"] == f["rows"] == 40, f
        # The fake ran in its own process, which reported its CPU apart from the client's.
        assert f["fake"] == "its own process" and f["fake_cpu_s_per_1000"] > 0, f
    sides = {f["design"]: f for f in _one(figures, "apscheduler")}
    assert len(sides) == 2
    for f in sides.values():  # both designs fired every patient's reminder of the burst
        assert f["fired"] == f["patients"] == 300 and f["missed"] == 0, f
        assert f["burst_s"] >= 0 and f["peak_rss_mb"] > 0, f
    (ratio,) = _one(figures, "apscheduler_ratio")
    assert {"enrol_x", "burst_x", "rss_x"} <= set(ratio)
    mixed = _one(figures, "planning_mixed")[0]
    # The population has every kind of input the planner reads.
    for kind in ("holds", "cycle_delays", "appointments", "us_rems", "ended", "dose_records"):
        assert mixed[kind] > 0, (kind, mixed)
    assert mixed["rows"] > 0


def test_memory_of_the_real_lenabot_run_process() -> None:
    (f,) = _one(_quick("memory_run"), "memory_run")
    assert f["command"] == "lenabot run" and f["patients"] == 300, f
    assert f["plan_passes"] >= 2 and f["service_peak_rss_mb"] > 0, f
    assert f["sms_sent"] > 0, f  # the real Twilio client sent the due doses to the fake
