"""Soak drill: one simulated day of 1,000 patients (the CI size of ``python -m bench soak``).

bench/soak.py drives the real planner, outbox, dispatcher (to a recording in-process channel),
conversation, care actions and confirmations on a SQLite file with a ``ManualClock``: patients
of 21/28, 14/21, continuous and custom regimens in seven time zones answer their reminders
(TAKEN on time and hours late, MISSED, LATER, questions, NEXT, red flags), nurses pause, delay
cycles and end courses, and the service is torn down and rebuilt twice, mid-day.

Proves: the dose-safety invariants (bench/invariants.py, shared with the state machine) hold
over every message the channel received and every reply; every message that fell due was sent
exactly once, or expired, or was cancelled with a reason; every red flag reached the nurses'
alerts; RSS stayed within 15 MB after the first 12 simulated hours.
"""

from __future__ import annotations

import time

import pytest

from bench.soak_report import soak

pytestmark = [pytest.mark.drill, pytest.mark.timeout(240)]


async def test_a_simulated_day_of_1000_patients_keeps_every_promise() -> None:
    started = time.monotonic()
    tally, verdict, lines = await soak("sqlite", 1000, 1)
    wall = time.monotonic() - started
    report = "\n".join(lines)
    assert verdict.problems == {
        "sent once or expired": [], "red flags alerted": [], "memory flat": []
    }, report  # fmt: skip
    assert verdict.ok
    # The run did what the checks are about: the day was lived, not skipped.
    assert len(tally.restarts) == 2, report
    assert tally.sent_by_kind["dose"] >= 700, report
    assert tally.sent_by_kind["follow_up"] > 0 and tally.sent_by_kind["change"] > 0, report
    assert tally.replies_checked >= 800, report
    assert {"taken", "missed", "later", "red_flag", "topic"} <= set(tally.intents), report
    assert verdict.red_flags_sent >= 5, report
    assert verdict.red_flags_alerted == verdict.red_flags_sent, report
    assert {"pause", "delay_cycle", "end"} <= set(tally.nurse), report
    assert verdict.rows_by_status["sent"] == sum(tally.sent_by_kind.values()), report
    assert verdict.rows_by_status["cancelled"] > 0, report  # TAKEN before a follow-up
    print(f"\nsoak drill: {wall:.1f} s wall\n{report}")
