"""Dispatch through the real Telegram client: the dispatcher, lenabot's Telegram channel and
python-telegram-bot 22 (its httpx client and lenabot's ``PriorityRateLimiter``) sending a burst
of N due dose reminders to FakeTelegramBotApi over loopback HTTP, one chat per message.

Two rows: ``limited`` is production (the limiter's 30 messages/s, Telegram's own limit, which
the fake enforces too), so it measures the limit, not the client; ``unlimited`` lifts the
limiter's window (and the fake's) to measure what the client itself sends a second. The
in-process instant channel and the Twilio client have their own rows (bench/dispatch.py).

    python -m bench.dispatch_clients --db sqlite --rows 600
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import time
from typing import Any, cast

from bench.common import OffsetClock, bench_db, bulk_enrol, bulk_outbox, emit, loadavg
from bench.dispatch import DUE
from bench.fake_process import FakeProcess
from scheduler.domain.model import ChannelKind

TOKEN = "123:BENCH"


async def dispatch_telegram(
    backend: str, n: int, *, limited: bool, fake_apart: bool = True
) -> None:
    """``fake_apart``: the fake Bot API runs in a process of its own (``bench.fake_process``),
    as Telegram is elsewhere; else in this process and event loop (the earlier figure)."""
    from bot.bootstrap import build
    from bot.channels.telegram.gateway import TelegramGateway
    from bot.settings import load_settings
    from tests.fakes.server import serve_asgi
    from tests.fakes.telegram_api import FakeTelegramBotApi

    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, n, channel="telegram", dose_at=DUE)
        await bulk_outbox(engine, n, DUE)
        await engine.dispose()
        got: dict[str, Any] = {}
        async with contextlib.AsyncExitStack() as stack:
            if fake_apart:
                fake = await stack.enter_async_context(
                    FakeProcess("telegram", token=TOKEN, limits=(30, 1) if limited else None)
                )
                api_url = fake.url
            else:
                tg = FakeTelegramBotApi(token=TOKEN)
                if limited:
                    tg.enforce_limits(30, 1)
                api_url = await stack.enter_async_context(serve_asgi(tg.app))
            clock = OffsetClock(DUE)
            settings = load_settings(
                _env_file=None, database_url=db.url, telegram_bot_token=TOKEN,
                telegram_api_base=api_url, public_url="", follow_up_after_minutes=0,
                team_phone="+441632960999", log_level="WARNING",
            )  # fmt: skip
            service = build(settings, clock=clock, out=io.StringIO())
            await service.start(inbound=False)
            try:
                gateway = cast(TelegramGateway, service.gateways[ChannelKind.TELEGRAM])
                if not limited:  # the client alone: no window, no per-chat second
                    gateway.limiter.overall_per_window = 1_000_000
                    gateway.limiter.per_chat_interval = 0.0
                clock.started = time.time()
                cpu0 = time.process_time()
                sent = 0
                while True:
                    stats = await service.dispatcher.tick()
                    sent += stats.sent
                    if not stats.claimed:
                        break
                wall = time.time() - clock.started
                cpu = time.process_time() - cpu0
            finally:
                await service.close()
            if not fake_apart:
                got = {"messages": len(tg.sent), "too_many_requests": tg.too_many_requests}
        if fake_apart:
            got = fake.result
        where = "its own process" if fake_apart else "the same process"
        emit("dispatch_client", db=backend, rows=n, workers=1,
             channel="telegram-ptb" + ("" if limited else " (limiter lifted)"),
             fake=where, sent=sent, api_messages=got.get("messages"), seconds=round(wall, 3),
             msg_per_s=round(sent / wall, 1), too_many_requests=got.get("too_many_requests"),
             cpu_s_per_1000=round(cpu / max(sent, 1) * 1000, 3),
             fake_cpu_s_per_1000=(round(got["cpu_s"] / max(sent, 1) * 1000, 3)
                                  if "cpu_s" in got else None),
             target=">= 1000 msg/s (1 worker)",
             met=None if limited else sent / wall >= 1000,
             note=f"the fake Bot API in {where}; CPU is this process's", load=loadavg())  # fmt: skip


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        prog="python -m bench.dispatch_clients",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--fake-inline", action="store_true",
                    help="serve the fake Bot API in this process (the figure before 12-04)")
    a = ap.parse_args()

    async def main() -> None:
        apart = not a.fake_inline
        await dispatch_telegram(a.db, a.rows, limited=False, fake_apart=apart)
        await dispatch_telegram(a.db, a.rows, limited=True, fake_apart=apart)

    asyncio.run(main())
