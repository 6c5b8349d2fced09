"""3. Channel limits: the real Telegram channel (PTB + lenabot's PriorityRateLimiter) against
FakeTelegramBotApi enforcing 30 msg/s overall and 1/s per chat; patients' replies posted to the
real webhook during the burst must overtake it."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import emit, loadavg, pct
from scheduler.domain.model import ChannelKind
from scheduler.ports import Address, Outgoing

REPLIERS = 8


def bulk(chat_id: int, n: int) -> Outgoing:
    return Outgoing(ref=str(n), patient_id=f"p{n}", address=Address(ChannelKind.TELEGRAM,
                    str(chat_id)), text=f"Blood test reminder {n}",
                    expires_at=datetime(2030, 1, 1, tzinfo=UTC), local_label="-",
                    kind="blood_test")  # fmt: skip


async def limits(n: int) -> None:
    from tests.fakes.telegram_bot import running_bot
    from tests.fakes.telegram_updates import make_text_update

    with tempfile.TemporaryDirectory(prefix="lenabench-tg-") as d:
        async with running_bot(Path(d), fast_chats=False) as bot:
            chats = [5001 + i for i in range(REPLIERS)]
            for i, chat in enumerate(chats):
                await bot.link(await bot.enrol(name=f"Replier {i}"), chat)
            await asyncio.sleep(1.1)  # the welcomes' per-chat second is over
            bot.fake.enforce_limits(30, 1)
            calls0 = sum(1 for c in bot.fake.calls if c.method == "sendMessage")
            sent0, tmr0 = len(bot.fake.sent), bot.fake.too_many_requests
            started = time.monotonic()
            burst = asyncio.gather(*(bot.gateway.channel.send(bulk(100_000 + i, i))
                                     for i in range(n)), return_exceptions=True)  # fmt: skip
            latencies: list[float] = []
            spacing = max(0.2, (n / 30.0) / (len(chats) + 1))

            async def reply(chat: int) -> None:
                before = len(bot.sent_to(chat))
                t0 = time.monotonic()
                r = await bot.post(make_text_update(chat, "/next"))
                assert r.status_code == 200, r.text
                while len(bot.sent_to(chat)) <= before:
                    if time.monotonic() - t0 > 60:
                        return
                    await asyncio.sleep(0.005)
                latencies.append(time.monotonic() - t0)

            tasks = []
            for chat in chats:
                await asyncio.sleep(spacing)
                tasks.append(asyncio.create_task(reply(chat)))
            results = await burst
            elapsed = time.monotonic() - started
            await asyncio.gather(*tasks)
            errors = sum(1 for r in results if isinstance(r, BaseException))
            calls = sum(1 for c in bot.fake.calls if c.method == "sendMessage") - calls0
            sent = len(bot.fake.sent) - sent0
            bulk_sent = sum(1 for m in bot.fake.sent[sent0:] if int(m.chat_id) >= 100_000)
            tmr = bot.fake.too_many_requests - tmr0
            emit("limits", burst=n, sent=sent, bulk_sent=bulk_sent, send_errors=errors, seconds=round(elapsed, 2),
                 achieved_per_s=round(sent / elapsed, 2), allowed_per_s=30,
                 share_429=round(tmr / max(calls, 1), 4), api_calls=calls, replies=len(latencies),
                 reply_p50_s=round(pct(latencies, 50), 3),
                 reply_p99_s=round(pct(latencies, 99), 3), load=loadavg())  # fmt: skip
