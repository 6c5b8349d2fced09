"""2. Dispatch: a 09:00 burst of N due rows through an instant in-process channel (1/2/4 worker
processes on PostgreSQL, exactly-once checked), and a smaller burst through the real
TwilioChannel to the fake Twilio API over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing as mp
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    OffsetClock,
    bench_db,
    bulk_enrol,
    bulk_outbox,
    emit,
    loadavg,
    pct,
)  # fmt: skip
from scheduler.ports import Address, Outgoing
from scheduler.services.dispatch import Dispatcher

DUE = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


class InstantChannel:
    """Hands every message over at once; counts sends per row and their lateness."""

    name = "sms"

    def __init__(self, clock: OffsetClock) -> None:
        self.clock = clock
        self.sends: Counter[str] = Counter()
        self.late: list[float] = []

    async def send(self, message: Outgoing) -> str:
        self.sends[message.ref] += 1
        self.late.append((self.clock.now() - DUE).total_seconds())
        return f"X{message.ref}"


def _worker(url: str, started: float, out: Any, batch: int, concurrency: int) -> None:
    from bot.serve import tune_gc

    tune_gc()  # as `lenabot worker` does

    async def go() -> dict[str, Any]:
        from scheduler.store.db import make_engine
        from scheduler.store.outbox import SqlAlchemyOutbox
        from scheduler.store.repository import SqlAlchemyCourseRepository

        engine = make_engine(url)
        await asyncio.sleep(max(0.0, started - time.time()))  # all start on the same instant
        clock = OffsetClock(DUE, started)
        channel = InstantChannel(clock)
        d = Dispatcher(SqlAlchemyOutbox(engine), SqlAlchemyCourseRepository(engine),
                       resolve=lambda p: (channel, Address(p.channel, p.phone or "")),
                       clock=clock, batch=batch, concurrency=concurrency)  # fmt: skip
        cpu0 = time.process_time()
        while (await d.tick()).claimed:
            pass
        cpu = time.process_time() - cpu0
        wall = time.time() - started
        await engine.dispose()
        return {"sends": dict(channel.sends), "late": channel.late, "cpu": cpu, "wall": wall}

    try:
        out.put(asyncio.run(go()))
    except BaseException as exc:  # the parent must hear of it, not wait forever
        out.put({"error": f"{type(exc).__name__}: {exc}"[:500]})
        raise


async def dispatch_burst(backend: str, n: int, workers: int, batch: int = 100,
                         concurrency: int = 16) -> None:
    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, n, dose_at=DUE)
        await bulk_outbox(engine, n, DUE)
        await engine.dispose()
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        started = time.time() + 3.0  # time for the workers to import and connect
        procs = [ctx.Process(target=_worker, args=(db.url, started, q, batch, concurrency))
                 for _ in range(workers)]  # fmt: skip
        for p in procs:
            p.start()
        results = [await asyncio.to_thread(q.get, True, 1800) for _ in procs]
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise RuntimeError(errors[0])
        for p in procs:
            p.join()
        total: Counter[str] = Counter()
        late: list[float] = []
        for r in results:
            total.update(r["sends"])
            late += r["late"]
        wall = max(r["wall"] for r in results)
        cpu = sum(r["cpu"] for r in results)
        dupes = sum(1 for c in total.values() if c > 1)
        sent = sum(total.values())
        rate = sent / wall
        emit("dispatch", db=backend, rows=n, workers=workers, channel="in-process",
             sent=sent, distinct=len(total), duplicates=dupes, exactly_once=(
                 len(total) == n and dupes == 0), seconds=round(wall, 3),
             msg_per_s=round(rate, 1), late_p50_s=round(pct(late, 50), 3),
             late_p99_s=round(pct(late, 99), 3),
             cpu_s_per_1000=round(cpu / max(sent, 1) * 1000, 3), batch=batch,
             concurrency=concurrency, target=">= 1000 msg/s (1 worker)",
             met=(rate >= 1000) if workers == 1 else None, load=loadavg())  # fmt: skip


async def dispatch_twilio(backend: str, n: int, *, fake_apart: bool = True) -> None:
    """The real TwilioChannel (twilio 9 async client) to FakeTwilioApi on 127.0.0.1;
    ``fake_apart``: the fake in a process of its own (``bench.fake_process``), as Twilio is
    elsewhere; else in this process and event loop (the figure before 12-04)."""
    from bench.fake_process import FakeProcess
    from bot.bootstrap import build
    from bot.settings import load_settings
    from tests.fakes.server import serve_asgi
    from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilioApi

    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, n, dose_at=DUE)
        await bulk_outbox(engine, n, DUE)
        await engine.dispose()
        got: dict[str, Any] = {}
        async with contextlib.AsyncExitStack() as stack:
            if fake_apart:
                fake = await stack.enter_async_context(FakeProcess("twilio"))
                api_url = fake.url
            else:
                twilio = FakeTwilioApi()
                api_url = await stack.enter_async_context(serve_asgi(twilio.app))
            clock = OffsetClock(DUE)
            settings = load_settings(
                _env_file=None, database_url=db.url, twilio_account_sid=DEFAULT_ACCOUNT_SID,
                twilio_auth_token=DEFAULT_AUTH_TOKEN, twilio_from="+15005550006",
                twilio_api_base=api_url, public_url="https://lenabot.example",
                telegram_bot_token=None, follow_up_after_minutes=0, team_phone="+441632960999",
            )  # fmt: skip
            service = build(settings, clock=clock, out=io.StringIO())
            await service.start(inbound=False)
            try:
                clock.started = time.time()
                cpu0 = time.process_time()
                stats = await service.dispatcher.tick()
                wall = time.time() - clock.started
                cpu = time.process_time() - cpu0
            finally:
                await service.close()
            if not fake_apart:
                got = {"messages": len(twilio.messages)}
        if fake_apart:
            got = fake.result
        where = "its own process" if fake_apart else "the same process"
        emit("dispatch_twilio", db=backend, rows=n, workers=1, channel="twilio-http", fake=where,
             sent=stats.sent, api_messages=got.get("messages"), retried=stats.retried,
             failed=stats.failed, seconds=round(wall, 3), msg_per_s=round(stats.sent / wall, 1),
             cpu_s_per_1000=round(cpu / max(stats.sent, 1) * 1000, 3),
             fake_cpu_s_per_1000=(round(got["cpu_s"] / max(stats.sent, 1) * 1000, 3)
                                  if "cpu_s" in got else None),
             note=f"the fake Twilio in {where}; CPU is this process's", load=loadavg())  # fmt: skip
