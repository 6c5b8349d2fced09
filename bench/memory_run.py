"""Memory of the real ``lenabot run`` process: uvicorn, the worker's jobs, the PTB application
and the Twilio client started (against FakeTwilioApi and FakeTelegramBotApi on 127.0.0.1),
with N patients, and of each planner process it starts.

The service is started as production starts it (``python -m bench.serve run``: ``lenabot run``
with the clock moved to T0). It is watched from outside, through ``/proc``: every 0.2 s the
service's ``VmRSS`` and ``VmHWM`` and those of its child processes (the planners), from start-up
until its second plan pass has finished (the first pass plans every patient from an empty
outbox; the second is the every-minute pass, here every ``PLAN_EVERY_S``) and at least
``WATCH_S`` seconds of dispatching have gone by (the doses due at T0 and the overdue ones still
in their window go out through the real Twilio client).

    python -m bench.memory_run --db sqlite --sizes 1000,10000,100000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from typing import Any

from bench.common import bench_db, bulk_enrol, emit, loadavg

PLAN_EVERY_S = 15.0
WATCH_S = 20.0
TOKEN = "123:BENCH"
SECRET = "bench-secret"
TARGET_MB = 100.0


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of a process, in KiB (empty once it has gone)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
    return kids


class Watch:
    """Peaks of the service process and of every child it started, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.service_hwm = 0
        self.service_rss: list[int] = []
        self.service_last: dict[str, int] = {}
        self.children_hwm: dict[int, int] = {}

    def sample(self) -> None:
        s = _status_kb(self.pid)
        if s:
            self.service_hwm = max(self.service_hwm, s["VmHWM"])
            self.service_rss.append(s["VmRSS"])
            self.service_last = s
        for kid in _children(self.pid):
            k = _status_kb(kid)
            if k:
                self.children_hwm[kid] = max(self.children_hwm.get(kid, 0), k["VmHWM"])


async def memory_run(backend: str, n: int) -> None:
    import httpx

    from bench.inbound import _KEEP_ENV, _free_port, _service
    from tests.fakes.server import serve_asgi
    from tests.fakes.telegram_api import FakeTelegramBotApi
    from tests.fakes.twilio_api import FakeTwilioApi

    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, n)
        await engine.dispose()
        twilio, tg = FakeTwilioApi(), FakeTelegramBotApi(token=TOKEN)
        async with serve_asgi(twilio.app) as twilio_url, serve_asgi(tg.app) as tg_url:
            env = {
                **{k: v for k, v in os.environ.items() if not k.isupper() or k in _KEEP_ENV},
                "DATABASE_URL": db.url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_FROM": "+15005550006",
                "TWILIO_API_BASE": twilio_url, "PUBLIC_URL": "https://lenabot.example/clinic",
                "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_BASE": tg_url, "TEAM_PHONE": "+441632960999",
                "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1", "PORT": str(_free_port()),
                "PLAN_INTERVAL_SECONDS": str(PLAN_EVERY_S),
            }  # fmt: skip
            started = time.monotonic()
            async with _service(env, command="run") as (app_url, pid):
                watch = Watch(pid)
                plans: list[str] = []
                first_plan_s = None
                async with httpx.AsyncClient(base_url=app_url, timeout=30) as http:
                    while True:
                        watch.sample()
                        last: dict[str, Any] = (await http.get("/readyz")).json().get("last", {})
                        if "plan" in last and (not plans or plans[-1] != last["plan"]):
                            plans.append(last["plan"])
                            if first_plan_s is None:
                                first_plan_s = time.monotonic() - started
                                watched_from = time.monotonic()
                        if len(plans) >= 2 and time.monotonic() - watched_from >= WATCH_S:
                            break
                        if time.monotonic() - started > 900:
                            raise RuntimeError("no second plan pass within 15 minutes")
                        await asyncio.sleep(0.2)  # sampling interval
                watch.sample()
            planners = [round(kb / 1024, 1) for kb in watch.children_hwm.values()]
            peak = watch.service_hwm / 1024
            emit("memory_run", db=backend, patients=n, command="lenabot run",
                 first_plan_s=round(first_plan_s or 0.0, 1), plan_passes=len(plans),
                 sms_sent=len(twilio.messages),
                 service_rss_mb=round(watch.service_rss[-1] / 1024, 1),
                 service_peak_rss_mb=round(peak, 1), planner_peak_rss_mb=planners,
                 service_anon_mb=round(watch.service_last.get("RssAnon", 0) / 1024, 1),
                 service_file_mb=round(watch.service_last.get("RssFile", 0) / 1024, 1),
                 target="service < 100 MB, each planner < 100 MB",
                 met=peak < TARGET_MB and max(planners, default=0.0) < TARGET_MB,
                 load=loadavg())  # fmt: skip


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        prog="python -m bench.memory_run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--sizes", default="1000,10000,100000")
    a = ap.parse_args()

    async def main() -> None:
        for size in [int(x) for x in a.sizes.split(",")]:
            await memory_run(a.db, size)

    asyncio.run(main())
