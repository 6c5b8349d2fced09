"""Telegram end to end: from the webhook POST to the reply arriving at the Bot API.

The service is ``lenabot web`` as production runs it (bench/serve.py), with the real Telegram
channel (PTB + lenabot's ``PriorityRateLimiter``) answering through ``FakeTelegramBotApi``,
which enforces Telegram's 30 messages/s overall and 1/s per chat. Updates are posted to the
public webhook (``POST /telegram`` with the secret header) from a second process
(bench/load.py, open loop) at a fixed rate, one update per chat in a run; the latency of an
update is the time from its POST being sent (load process) to the first message to its chat
accepted by the fake API (this process), both on the wall clock of this machine. Only the
public entry points are used, so the figure holds however the service queues the update
between the two.

    python -m bench.e2e --db sqlite --rates 20,100 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from bench.common import bench_db, bulk_enrol, emit, loadavg, pct

TOKEN = "123:BENCH"
SECRET = "bench-secret"
PATIENTS = 2500  # linked Telegram chats: every update in a run comes from a chat of its own
FIRST_CHAT = 100_000
TEXTS = ["/next", "what about a rash?"]


def timed_api(token: str) -> Any:
    """A FakeTelegramBotApi that notes when (``time.time()``) each message to a chat was
    accepted (a 429 is not a delivery)."""
    from starlette.requests import Request
    from starlette.responses import Response

    from tests.fakes.telegram_api import FakeTelegramBotApi

    class TimedBotApi(FakeTelegramBotApi):
        def __init__(self) -> None:
            super().__init__(token=token)
            self.arrived: dict[int, list[float]] = {}

        async def _send_message(self, request: Request, params: dict[str, Any]) -> Response:
            response = await super()._send_message(request, params)  # raises on 400/403/429
            chat = int(params["chat_id"])
            self.arrived.setdefault(chat, []).append(time.time())
            return response

    return TimedBotApi()


def _updates(chats: range, rate_tag: int) -> list[list[Any]]:
    from tests.fakes.telegram_updates import make_text_update

    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    return [["/telegram", headers, json.dumps(make_text_update(
                chat, TEXTS[i % len(TEXTS)], update_id=rate_tag * 1_000_000 + i + 1))]
            for i, chat in enumerate(chats)]  # fmt: skip


async def e2e(backend: str, rates: list[int], seconds: float) -> None:
    from bench.inbound import _KEEP_ENV, _cpu_s, _free_port, _load, _service, plan_everyone
    from tests.fakes.server import serve_asgi

    needed = sum(int(r * seconds) for r in rates) + 50
    if needed > PATIENTS:
        raise ValueError(f"{needed} updates need as many chats; at most {PATIENTS}")
    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, PATIENTS, start_at=FIRST_CHAT - 100_000, channel="telegram")
        await engine.dispose()
        await plan_everyone(db.url)  # as a running worker keeps it
        tg = timed_api(TOKEN)
        tg.enforce_limits(30, 1)
        async with serve_asgi(tg.app) as tg_url:
            env = {
                **{k: v for k, v in os.environ.items() if not k.isupper() or k in _KEEP_ENV},
                "DATABASE_URL": db.url, "PUBLIC_URL": "https://lenabot.example/clinic",
                "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_BASE": tg_url, "TEAM_PHONE": "+441632960999",
                "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1", "PORT": str(_free_port()),
            }  # fmt: skip
            async with _service(env) as (app_url, pid):
                first = FIRST_CHAT
                warm = _updates(range(first, first + 50), 9)  # warm caches and pools
                await _load(app_url, 10, warm)
                await _answers(tg, range(first, first + 50), within=60)
                first += 50
                for k, rate in enumerate(rates):
                    await _settle(tg, within=60)
                    n = int(rate * seconds)
                    chats = range(first, first + n)
                    first += n
                    cpu0 = _cpu_s(pid)
                    r = await _load(app_url, rate, _updates(chats, k + 1))
                    answered = await _answers(tg, chats, within=n / 25 + 60)
                    lat = [tg.arrived[c][0] - sent for c, sent in zip(chats, r["sent_at"],
                                                                      strict=True)
                           if c in tg.arrived]  # fmt: skip
                    emit("e2e_telegram", db=backend, rps=rate, updates=n,
                         achieved_rps=round(r["achieved_rps"], 1), answered=answered,
                         post_errors=len(r["errors"]),
                         ack_p99_ms=round(pct(r["latencies_ms"], 99), 2),
                         p50_s=round(pct(lat, 50), 3), p99_s=round(pct(lat, 99), 3),
                         max_s=round(max(lat, default=float("nan")), 3),
                         cpu_ms_per_update=round((_cpu_s(pid) - cpu0) * 1000 / n, 2),
                         too_many_requests=tg.too_many_requests,
                         target="p99 < 1 s at 20/s",
                         met=(pct(lat, 99) < 1.0 and answered == n and not r["errors"])
                         if rate == 20 else None, load=loadavg())  # fmt: skip


async def _settle(tg: Any, within: float) -> None:
    """Until no message has reached the fake API for a second (the previous run's tail)."""
    deadline = time.monotonic() + within
    seen = -1
    while len(tg.sent) != seen and time.monotonic() < deadline:
        seen = len(tg.sent)
        await asyncio.sleep(1.0)  # a benchmark between runs, not a test's synchronisation


async def _answers(tg: Any, chats: range, within: float) -> int:
    """Wait until every chat of the run has had its answer (or ``within`` s); how many had."""
    deadline = time.monotonic() + within
    while True:
        answered = sum(1 for c in chats if c in tg.arrived)
        if answered == len(chats) or time.monotonic() > deadline:
            return answered
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        prog="python -m bench.e2e",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--rates", default="20,100")
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    asyncio.run(e2e(a.db, [int(x) for x in a.rates.split(",")], a.seconds))
