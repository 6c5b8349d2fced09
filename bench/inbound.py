"""4. Inbound: signed Twilio SMS webhooks and Telegram updates at fixed rates from a second
process (bench/load.py) against the real Starlette app served by uvicorn."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import sys
import tempfile
import time
from typing import Any
from urllib.parse import urlencode

from bench.common import T0, OffsetClock, bench_db, bulk_enrol, emit, loadavg, pct, phone_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC_URL = "https://lenabot.example/clinic"
SECRET = "bench-secret"
TOKEN = "123:BENCH"
SMS_PATIENTS = 500
TG_PATIENTS = 500
BODIES = ["taken", "when is my next dose?", "I have a rash on my arm", "missed", "help"]
_ids = itertools.count(1)


def _sms_requests(n: int, auth_token: str, account_sid: str) -> list[list[Any]]:
    from twilio.request_validator import RequestValidator

    v = RequestValidator(auth_token)
    out = []
    for i in range(n):
        sid = f"SM{next(_ids):032x}"
        fields = {"SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
                  "Body": BODIES[i % len(BODIES)], "To": "+15005550006", "MessageSid": sid,
                  "AccountSid": account_sid, "From": phone_of(i % SMS_PATIENTS),
                  "ApiVersion": "2010-04-01", "NumSegments": "1", "FromCountry": "GB"}  # fmt: skip
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                   "X-Twilio-Signature": v.compute_signature(PUBLIC_URL + "/twilio/sms", fields)}
        out.append(["/twilio/sms", headers, urlencode(fields)])
    return out


def _tg_requests(n: int) -> list[list[Any]]:
    from tests.fakes.telegram_updates import make_text_update

    out = []
    for i in range(n):
        chat = 100_000 + SMS_PATIENTS + (i % TG_PATIENTS)
        text = "/next" if i % 2 else "what about a rash?"
        update = make_text_update(chat, text, update_id=next(_ids))
        headers = {"Content-Type": "application/json",
                   "X-Telegram-Bot-Api-Secret-Token": SECRET}
        out.append(["/telegram", headers, json.dumps(update)])
    return out


async def _load(base: str, rps: int, requests: list[list[Any]]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"base": base, "rps": rps, "requests": requests}, f)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.load", f.name, stdout=asyncio.subprocess.PIPE,
            cwd=ROOT)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=len(requests) / rps + 120)
    finally:
        os.unlink(f.name)
    return json.loads(out.decode().strip().splitlines()[-1])


async def inbound(backend: str, rates: list[int], seconds: float) -> None:
    from bot.bootstrap import build
    from bot.settings import load_settings
    from bot.web import create_app
    from tests.fakes.server import serve_asgi
    from tests.fakes.telegram_api import FakeTelegramBotApi
    from tests.fakes.twilio_api import FakeTwilioApi

    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, SMS_PATIENTS)
        await bulk_enrol(engine, TG_PATIENTS, start_at=SMS_PATIENTS, channel="telegram")
        await engine.dispose()
        twilio, tg = FakeTwilioApi(), FakeTelegramBotApi(token=TOKEN)
        async with serve_asgi(twilio.app) as twilio_url, serve_asgi(tg.app) as tg_url:
            settings = load_settings(
                _env_file=None, database_url=db.url, twilio_account_sid=twilio.account_sid,
                twilio_auth_token=twilio.auth_token, twilio_from="+15005550006",
                twilio_api_base=twilio_url, public_url=PUBLIC_URL, telegram_bot_token=TOKEN,
                telegram_webhook_secret=SECRET, telegram_api_base=tg_url, log_level="WARNING",
            )  # fmt: skip
            service = build(settings, clock=OffsetClock(T0), out=io.StringIO())
            # A running worker keeps every patient's outbox planned; without this, each
            # patient's first TAKEN would plan their whole 48 h horizon on the request path,
            # which no real inbound message does.
            await service.materialiser.everyone(service.clock.now())
            import logging

            logging.getLogger().setLevel(logging.WARNING)
            async with serve_asgi(create_app(service, worker=False), lifespan="on") as app_url:
                for kind in ("twilio_sms", "telegram"):
                    for rps in rates:
                        n = int(rps * seconds)
                        reqs = (_sms_requests(n, twilio.auth_token, twilio.account_sid)
                                if kind == "twilio_sms" else _tg_requests(n))
                        cpu0, loop0 = time.process_time(), time.thread_time()
                        r = await _load(app_url, rps, reqs)
                        # CPU of this process (app, uvicorn, fake providers, SQLite threads)
                        # and of its event loop's thread alone, per request: comparable when
                        # the machine is shared, unlike latencies.
                        cpu = (time.process_time() - cpu0) * 1000 / n
                        loop_cpu = (time.thread_time() - loop0) * 1000 / n
                        lat = r["latencies_ms"]
                        p99 = pct(lat, 99)
                        emit("inbound", db=backend, kind=kind, rps=rps, requests=n,
                             achieved_rps=round(r["achieved_rps"], 1),
                             p50_ms=round(pct(lat, 50), 2), p99_ms=round(p99, 2),
                             max_ms=round(max(lat), 2), cpu_ms_per_req=round(cpu, 2),
                             loop_cpu_ms_per_req=round(loop_cpu, 2), errors=len(r["errors"]),
                             error_kinds=sorted(set(r["errors"]))[:5], target="p99 < 50 ms @100",
                             met=(p99 < 50 and not r["errors"]) if rps == 100 else None,
                             slowest=r.get("slowest", [])[:10],  # (ms, started at s, index)
                             load=loadavg())  # fmt: skip
                        await asyncio.sleep(1.0)  # let queued Telegram replies drain
