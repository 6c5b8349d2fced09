"""Inbound SMS at 200 requests/s, several consecutive runs against one `lenabot web` (as
bench/inbound.py runs it), with the service's garbage collections logged (bench/serve.py,
``BENCH_GC_LOG``): each run's p99 and, for its slowest requests, the collections that were
running while they waited.

    python -m bench.inbound_stall --db postgres --runs 3 --rps 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from typing import Any

from bench.common import bench_db, bulk_enrol, emit, loadavg, pct


def _pauses(path: str) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


async def stall(backend: str, runs: int, rps: int, seconds: float) -> None:
    from bench.inbound import (
        _KEEP_ENV,
        PUBLIC_URL,
        SMS_PATIENTS,
        _cpu_s,
        _free_port,
        _load,
        _service,
        _sms_requests,
        plan_everyone,
    )  # fmt: skip
    from tests.fakes.server import serve_asgi
    from tests.fakes.twilio_api import FakeTwilioApi

    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, SMS_PATIENTS)
        await engine.dispose()
        await plan_everyone(db.url)  # as a running worker keeps it
        twilio = FakeTwilioApi()
        with tempfile.NamedTemporaryFile("w", suffix=".gc.jsonl", delete=False) as gclog:
            pass
        try:
            async with serve_asgi(twilio.app) as twilio_url:
                env = {
                    **{k: v for k, v in os.environ.items()
                       if not k.isupper() or k in _KEEP_ENV},
                    "DATABASE_URL": db.url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
                    "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_FROM": "+15005550006",
                    "TWILIO_API_BASE": twilio_url, "PUBLIC_URL": PUBLIC_URL,
                    "TEAM_PHONE": "+441632960999", "LOG_LEVEL": "WARNING",
                    "HOST": "127.0.0.1", "PORT": str(_free_port()), "BENCH_GC_LOG": gclog.name,
                }  # fmt: skip
                async with _service(env) as (app_url, pid):
                    await _load(app_url, 50, _sms_requests(100, twilio.auth_token,
                                                           twilio.account_sid))  # fmt: skip
                    for run in range(1, runs + 1):
                        n = int(rps * seconds)
                        reqs = _sms_requests(n, twilio.auth_token, twilio.account_sid)
                        cpu0 = _cpu_s(pid)
                        r = await _load(app_url, rps, reqs)
                        cpu = (_cpu_s(pid) - cpu0) * 1000 / n
                        lat, sent_at = r["latencies_ms"], r["sent_at"]
                        first, last = min(sent_at), max(sent_at) + max(lat) / 1000
                        gcs = [g for g in _pauses(gclog.name) if first <= g["at"] <= last]
                        slow = []
                        for ms, _, i in r["slowest"][:5]:
                            t0, t1 = sent_at[i], sent_at[i] + ms / 1000
                            during = [
                                g for g in gcs if g["at"] < t1 and g["at"] + g["ms"] / 1000 > t0
                            ]
                            slow.append({"ms": ms, "at_s": round(t0 - first, 3),
                                         "gc_ms": round(sum(g["ms"] for g in during), 1),
                                         "gc_generations": [g["generation"] for g in during]})  # fmt: skip
                        emit("inbound_stall", db=backend, run=run, rps=rps, requests=n,
                             achieved_rps=round(r["achieved_rps"], 1),
                             p50_ms=round(pct(lat, 50), 2), p99_ms=round(pct(lat, 99), 2),
                             max_ms=round(max(lat), 2), cpu_ms_per_req=round(cpu, 2),
                             errors=len(r["errors"]), full_gcs=sum(1 for g in gcs if g["generation"] == 2),
                             longest_gc_ms=max((g["ms"] for g in gcs), default=0.0),
                             slowest=slow, target="p99 < 50 ms", met=pct(lat, 99) < 50
                             and not r["errors"], load=loadavg())  # fmt: skip
        finally:
            os.unlink(gclog.name)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        prog="python -m bench.inbound_stall",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rps", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    asyncio.run(stall(a.db, a.runs, a.rps, a.seconds))
