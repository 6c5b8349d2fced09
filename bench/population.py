"""A clinic as it looks after a few months, on top of ``bench.common.bulk_enrol``: the inputs
that make planning work harder than a fresh enrolment, in the proportions below (per patient,
drawn independently with a fixed seed; stated in bench/RESULTS.md).

| what | share of patients |
|---|---|
| US REMS rules (``us-rems``) | 20%; of those who can become pregnant, 30% with irregular periods |
| course ended in the past (``end_date`` 1-60 days ago, recorded) | 8% |
| course ending within the horizon (today or in 1-2 days) | 2% |
| on a hold now (started 1-10 days ago, open-ended) | 6% |
| a past hold, resumed | 4% |
| a delayed cycle (7 days, cycle 1 or 2) | 12%, and 3% with a second delay of 3 days |
| a blood test booked in the next 3 days | 15% |
| a blood test booked in the past month | 10% |
| an earlier dose time (changed 3 days ago) | 5% |
| opted out | 2% |
| dose records for each of the last 7 days | every patient not ended or opted out: taken 85%, late 5%, missed 5%, unconfirmed 5% |
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import time as dtime
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam as _b
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import T0, analyze, bulk_enrol
from scheduler.store import tables as t

CHUNK = 5000
TODAY = T0.date()  # 10 June 2026; every zone's local date at 07:00 UTC but Sydney's (same day)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for lo in range(0, len(rows), CHUNK):
        yield rows[lo : lo + CHUNK]


async def mixed_population(engine: AsyncEngine, n: int, seed: int = 11) -> dict[str, int]:
    """Enrol n patients (``bulk_enrol``), then add the table above; how many rows of each."""
    await bulk_enrol(engine, n)
    rng = random.Random(seed)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(t.courses.c.id, t.courses.c.patient_id, t.patients.c.can_become_pregnant)
                .join(t.patients, t.patients.c.id == t.courses.c.patient_id)
                .order_by(t.courses.c.id)
            )
        ).all()
    made = t0 = T0 - timedelta(days=1)
    rems, ended, ending, opted, course_end = [], [], [], [], []
    holds, delays, appts, times, doses = [], [], [], [], []
    for cid, pid, fertile in rows:
        u = rng.random
        if u() < 0.20:
            rems.append({"b_id": pid, "b_irr": bool(fertile) and u() < 0.30})
        r, gone = u(), False
        if r < 0.08:
            end = TODAY - timedelta(days=rng.randint(1, 60))
            course_end.append({"b_cid": cid, "b_end": end, "b_at": T0 - timedelta(days=1)})
            ended.append(pid)
            gone = True
        elif r < 0.10:
            end = TODAY + timedelta(days=rng.randint(0, 2))
            course_end.append({"b_cid": cid, "b_end": end, "b_at": t0})
            ending.append(pid)
        if u() < 0.02:
            opted.append(pid)
            gone = True
        h = u()
        if h < 0.06:
            holds.append(dict(course_id=cid, start_date=TODAY - timedelta(days=rng.randint(1, 10)),
                              end_date=None, reason="neutrophils", created_at=made,
                              resumed_at=None))  # fmt: skip
        elif h < 0.10:
            start = TODAY - timedelta(days=rng.randint(15, 40))
            holds.append(dict(course_id=cid, start_date=start, end_date=start + timedelta(days=7),
                              reason="rash", created_at=made, resumed_at=made))  # fmt: skip
        if u() < 0.12:
            delays.append(dict(course_id=cid, cycle=rng.choice((1, 2)), days=7, created_at=made))
            if u() < 0.25:
                delays.append(dict(course_id=cid, cycle=3, days=3, created_at=made))
        a = u()
        if a < 0.15:
            on = TODAY + timedelta(days=rng.randint(0, 3))
            appts.append(dict(course_id=cid, kind="blood_test", on_date=on, note="",
                              created_at=made))  # fmt: skip
        elif a < 0.25:
            on = TODAY - timedelta(days=rng.randint(1, 30))
            appts.append(dict(course_id=cid, kind="blood_test", on_date=on, note="",
                              created_at=made))  # fmt: skip
        if u() < 0.05:
            times.append(dict(course_id=cid, until_date=TODAY - timedelta(days=3),
                              dose_time=dtime(rng.choice((7, 10, 22)), 0), created_at=made))  # fmt: skip
        if gone:
            continue
        for back in range(1, 8):
            s = u()
            status = ("taken" if s < 0.85 else "late" if s < 0.90
                      else "missed" if s < 0.95 else "unconfirmed")  # fmt: skip
            day = TODAY - timedelta(days=back)
            doses.append(dict(patient_id=pid, local_date=day, status=status,
                              recorded_at=T0 - timedelta(days=back - 1)))  # fmt: skip
    async with engine.begin() as conn:
        if rems:
            for part in _chunks(rems):
                await conn.execute(
                    update(t.patients)
                    .where(t.patients.c.id == _b("b_id"))
                    .values(rules="us-rems", irregular_periods=_b("b_irr")),
                    part,
                )
        for part in _chunks(course_end):
            await conn.execute(
                update(t.courses)
                .where(t.courses.c.id == _b("b_cid"))
                .values(end_date=_b("b_end"), end_recorded_at=_b("b_at")),
                part,
            )
        for pid_part in _chunks([{"b_id": p} for p in opted]):
            await conn.execute(
                update(t.patients).where(t.patients.c.id == _b("b_id")).values(opted_out_at=t0),
                pid_part,
            )
        for table, values in ((t.holds, holds), (t.cycle_delays, delays),
                              (t.appointments, appts), (t.dose_times, times),
                              (t.dose_records, doses)):  # fmt: skip
            for part in _chunks(values):
                await conn.execute(insert(table), part)
    await analyze(engine, "patients", "courses", "holds", "cycle_delays", "appointments",
                  "dose_times", "dose_records")  # fmt: skip
    return {"us_rems": len(rems), "ended": len(ended), "ending": len(ending),
            "opted_out": len(opted), "holds": len(holds), "cycle_delays": len(delays),
            "appointments": len(appts), "dose_times": len(times),
            "dose_records": len(doses)}  # fmt: skip
