"""Side by side: lenabot against the design most reminder bots use, one persistent
APScheduler 3.11 job per patient in a SQLAlchemy job store (the sync ``SQLAlchemyJobStore`` on a
SQLite file, ``AsyncIOScheduler``, a daily ``CronTrigger`` in the patient's zone).

Same machine, same run, each design in a fresh process of its own, on a SQLite file:

- ``enrol_s``: enrol N patients one at a time, while running. lenabot: ``CareTeam.enrol`` (the
  patient, the course, an audit row and the 48 h plan in the outbox, one transaction each);
  APScheduler: ``add_job`` of the patient's daily reminder (one committed row each).
- ``burst_s``: every patient's dose due in the same minute (continuous course, dose at the same
  instant in every zone): time from that instant until the last reminder was handed to an
  instant in-process channel (lenabot: the dispatcher's ticks, as the worker runs them; each
  reminder rendered and checked by the dispatcher's last safety check), and until the last job
  ran (APScheduler: the job function only counts). ``fired`` counts them; APScheduler's misses
  (``EVENT_JOB_MISSED``) are counted too, with a misfire grace of an hour.
- ``peak_rss_mb``: ``VmHWM`` of that process.

    python -m bench.apscheduler_cmp 10000
    python -m bench.apscheduler_cmp child lenabot N   (lenabot's side; one JSON line)
    python -m bench.aps_side N                        (APScheduler's side; one JSON line)
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.aps_side import peak_mb
from bench.common import ZONES, emit, loadavg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


async def lenabot_side(n: int, d: str) -> dict[str, Any]:
    from bench.dispatch import DUE, InstantChannel
    from bot.bootstrap import build
    from bot.conversation.validate import parse_regimen
    from bot.settings import load_settings
    from scheduler.domain.model import ChannelKind
    from scheduler.ports import Address, ManualClock
    from scheduler.services.care import Enrolment
    from scheduler.store.migrate import upgrade

    url = f"sqlite+aiosqlite:///{d}/lenabot.db"
    await asyncio.to_thread(upgrade, url, "head")
    clock = ManualClock(DUE - timedelta(hours=1))
    settings = load_settings(
        _env_file=None,
        database_url=url,
        telegram_bot_token=None,
        plan_processes=0,
        follow_up_after_minutes=0,
        log_level="WARNING",
    )
    service = build(settings, clock=clock, out=io.StringIO())
    channel = InstantChannel(clock)  # type: ignore[arg-type]  # any clock with now()
    service.dispatcher.resolve = lambda p: (channel, Address(p.channel, p.phone or ""))
    t0 = time.perf_counter()
    for i in range(n):
        tz = ZONES[i % len(ZONES)]
        await service.care.enrol(Enrolment(
            name=f"Patient {i}", tz=tz, start=date(2026, 6, 1),
            dose_time=DUE.astimezone(ZoneInfo(tz)).time(), regimen=parse_regimen("continuous"),
            channel=ChannelKind.SMS, phone=f"+4477{i:09d}"))  # fmt: skip
    enrol_s = time.perf_counter() - t0
    while (await service.dispatcher.tick()).claimed:  # what enrolment sends at once (none)
        pass
    channel.sends.clear()
    clock.set(DUE)
    t0 = time.perf_counter()
    while (await service.dispatcher.tick()).claimed:
        pass
    burst_s = time.perf_counter() - t0
    await service.close()
    return {"enrol_s": round(enrol_s, 2), "burst_s": round(burst_s, 2),
            "fired": sum(channel.sends.values()), "missed": 0,
            "peak_rss_mb": round(peak_mb(), 1)}  # fmt: skip


async def _child(side: str, n: int) -> dict[str, Any]:
    # The APScheduler side runs bench/aps_side.py, which imports nothing of lenabot's.
    args = (
        ["bench.aps_side", str(n)]
        if side == "aps"
        else ["bench.apscheduler_cmp", "child", side, str(n)]
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{side} side exited {proc.returncode}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def compare(n: int) -> None:
    sides = {}
    for side in ("lenabot", "aps"):
        sides[side] = r = await _child(side, n)
        emit("apscheduler", design="lenabot (outbox)" if side == "lenabot"
             else "APScheduler 3.11, a job per patient", patients=n, **r,
             load=loadavg())  # fmt: skip
    a, b = sides["aps"], sides["lenabot"]
    emit("apscheduler_ratio", patients=n, note="APScheduler / lenabot (> 1: lenabot better)",
         enrol_x=round(a["enrol_s"] / b["enrol_s"], 2),
         burst_x=round(a["burst_s"] / b["burst_s"], 2),
         rss_x=round(a["peak_rss_mb"] / b["peak_rss_mb"], 2), load=loadavg())  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "child":
        from bot.serve import tune_gc

        tune_gc()
        with tempfile.TemporaryDirectory(prefix="lenabench-aps-") as tmp:
            print(json.dumps(asyncio.run(lenabot_side(int(sys.argv[3]), tmp))))
    else:
        asyncio.run(compare(int(sys.argv[1])))
