"""4. Inbound: signed Twilio SMS webhooks and Telegram updates at fixed rates from a second
process (bench/load.py) against the service process as production runs it (`lenabot web`,
by way of bench/serve.py, which only moves its clock to T0)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
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


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (threads included), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def _service(env: dict[str, str], command: str = "web") -> AsyncIterator[tuple[str, int]]:
    """The service process (bench.serve: `lenabot web`, or `lenabot run`), until the block
    ends; its base URL and pid once /readyz answers 200."""
    import httpx

    base = f"http://127.0.0.1:{env['PORT']}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.serve", command, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            deadline = time.monotonic() + 60
            while True:
                if proc.returncode is not None:
                    err = (await proc.stderr.read()).decode()[-2000:] if proc.stderr else ""
                    raise RuntimeError(f"the service exited ({proc.returncode}): {err}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the service did not become ready in 60 s")
                await asyncio.sleep(0.1)  # polling a process starting up (not a test)
        yield base, proc.pid
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def plan_everyone(url: str) -> None:
    """Plan every patient's outbox at T0, as a running worker keeps it: without this, each
    patient's first TAKEN would plan their whole 48 h horizon on the request path, which no
    real inbound message does."""
    from bot.bootstrap import build
    from bot.settings import load_settings

    planner = build(load_settings(_env_file=None, database_url=url, plan_processes=0,
                                  log_level="WARNING"),
                    clock=OffsetClock(T0), out=io.StringIO())  # fmt: skip
    await planner.materialiser.everyone(planner.clock.now())
    await planner.close()


async def _replies_sent(tg: Any, expected: int, within: float) -> int:
    """Wait until the fake Bot API has had ``expected`` messages (the service answers
    Telegram at the Bot API's 30 a second), or ``within`` seconds; how many it had."""
    with contextlib.suppress(AssertionError, TimeoutError):
        await tg.wait_for_sent(expected, within)
    return len(tg.sent)


async def inbound(backend: str, rates: list[int], seconds: float) -> None:
    from tests.fakes.server import serve_asgi
    from tests.fakes.telegram_api import FakeTelegramBotApi
    from tests.fakes.twilio_api import FakeTwilioApi

    async with bench_db(backend) as db:
        engine = db.engine()
        await bulk_enrol(engine, SMS_PATIENTS)
        await bulk_enrol(engine, TG_PATIENTS, start_at=SMS_PATIENTS, channel="telegram")
        await engine.dispose()
        await plan_everyone(db.url)
        twilio, tg = FakeTwilioApi(), FakeTelegramBotApi(token=TOKEN)
        async with serve_asgi(twilio.app) as twilio_url, serve_asgi(tg.app) as tg_url:
            env = {
                **{k: v for k, v in os.environ.items() if not k.isupper() or k in _KEEP_ENV},
                "DATABASE_URL": db.url, "TWILIO_ACCOUNT_SID": twilio.account_sid,
                "TWILIO_AUTH_TOKEN": twilio.auth_token, "TWILIO_FROM": "+15005550006",
                "TWILIO_API_BASE": twilio_url, "PUBLIC_URL": PUBLIC_URL,
                "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_API_BASE": tg_url, "TEAM_PHONE": "+441632960999",
                "LOG_LEVEL": "WARNING", "HOST": "127.0.0.1",
                "PORT": str(_free_port()),
            }  # fmt: skip
            async with _service(env) as (app_url, pid):
                # A service that has been up a while: warm caches and connection pools.
                await _load(app_url, 50, _sms_requests(100, twilio.auth_token,
                                                       twilio.account_sid))  # fmt: skip
                await _load(app_url, 50, _tg_requests(100))
                expected = 100
                for kind in ("twilio_sms", "telegram"):
                    for rps in rates:
                        await _replies_sent(tg, expected, within=expected / 25 + 30)
                        n = int(rps * seconds)
                        reqs = (_sms_requests(n, twilio.auth_token, twilio.account_sid)
                                if kind == "twilio_sms" else _tg_requests(n))
                        cpu0 = _cpu_s(pid)
                        r = await _load(app_url, rps, reqs)
                        if kind == "telegram":  # answered after the 200: its CPU counts too
                            expected += n
                            replies = await _replies_sent(tg, expected, within=n / 25 + 30)
                        # CPU of the service process alone (its threads included), per
                        # request: comparable when the machine is shared, unlike latencies.
                        cpu = (_cpu_s(pid) - cpu0) * 1000 / n
                        lat = r["latencies_ms"]
                        p99 = pct(lat, 99)
                        emit("inbound", db=backend, kind=kind, rps=rps, requests=n,
                             achieved_rps=round(r["achieved_rps"], 1),
                             p50_ms=round(pct(lat, 50), 2), p99_ms=round(p99, 2),
                             max_ms=round(max(lat), 2), cpu_ms_per_req=round(cpu, 2),
                             errors=len(r["errors"]),
                             error_kinds=sorted(set(r["errors"]))[:5], target="p99 < 50 ms @100",
                             met=(p99 < 50 and not r["errors"]) if rps == 100 else None,
                             replies=replies if kind == "telegram" else None,
                             slowest=r.get("slowest", [])[:10],  # (ms, started at s, index)
                             load=loadavg())  # fmt: skip


# Environment the service process keeps (lower-case names, e.g. locale ones, are kept too):
# lenabot's own settings come only from what the benchmark sets.
_KEEP_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV",
             "BENCH_GC_LOG", "BENCH_CPU_PROFILE"}  # fmt: skip
