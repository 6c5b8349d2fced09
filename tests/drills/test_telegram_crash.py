"""Telegram crash drill: ``kill -9`` a real ``lenabot web`` process while updates pour in.

The fake Bot API runs in the test; a ``lenabot web`` process (webhook mode, SQLite file) gets
updates from several chats, each chat with one red flag among "/next"s. It is SIGKILLed once
replies have started, a second process is started on the same database, and the updates whose
POST failed meanwhile are posted again, as Telegram does until it gets a 200.

Proves: every update is answered and every red flag alerted (nothing acknowledged was lost),
every stored update ends done, and the only repeats are of updates claimed at the kill
(the window README "Telegram" names). The number of repeats is printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from bot.bootstrap import build
from bot.settings import load_settings
from scheduler.domain.model import ChannelKind, Regimen
from scheduler.services.care import Enrolment
from scheduler.store import tables as t
from scheduler.store.db import make_engine
from scheduler.store.inbox import CLAIMED, DONE
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.fakes.telegram_bot import NURSE, SECRET, TEAM_PHONE, TOKEN
from tests.fakes.telegram_updates import make_text_update, post_update

pytestmark = pytest.mark.drill

ROOT = Path(__file__).resolve().parents[2]
CHATS = 8
PER_CHAT = 4
RED_FLAG = "temp 38.6 and shivery"
FIRST_CHAT = 6001


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:  # the child has its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "web"], cwd=ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = _spawn(env, log)
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while True:
            assert proc.poll() is None, f"lenabot web exited:\n{_tail(log)}"
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz", timeout=1)).is_success:
                    return proc
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


async def _post_until_accepted(url: str, body: dict[str, object]) -> None:
    """Telegram's way: the same update again until it gets a 200."""
    async with asyncio.timeout(120):
        while True:
            try:
                if (await post_update(url, body, secret_token=SECRET)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)


async def test_kill_9_web_mid_updates_loses_nothing_and_repeats_only_claimed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "drill.db"
    url = f"sqlite+aiosqlite:///{db}"
    await upgrade_async(url)
    seed = build(load_settings(database_url=url, team_phone=TEAM_PHONE))
    patients: dict[int, str] = {}
    try:
        for n in range(CHATS):
            p = await seed.care.enrol(
                Enrolment(name=f"Pat Number{n}", tz="Europe/London",
                          start=datetime.now(UTC).date(), dose_time=time(9, 0),
                          regimen=Regimen.parse("21/28"), channel=ChannelKind.TELEGRAM)
            )  # fmt: skip
            patients[FIRST_CHAT + n] = p.id
        async with seed.courses.engine.begin() as conn:
            for chat, pid in patients.items():
                await conn.execute(
                    update(t.patients).where(t.patients.c.id == pid).values(telegram_chat_id=chat)
                )
    finally:
        await seed.close()

    fake = FakeTelegramBotApi(token=TOKEN)
    port = _free_port()
    log = tmp_path / "web.log"
    async with serve_asgi(fake.app) as api:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWILIO_", "TELEGRAM_", "NURSE_", "LOG_", "ALERT_"))}  # fmt: skip
        env.update(
            PYTHONPATH=str(ROOT), DATABASE_URL=url, HOST="127.0.0.1", PORT=str(port),
            PUBLIC_URL=f"http://127.0.0.1:{port}", TEAM_PHONE=TEAM_PHONE,
            TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_API_BASE=api,
            NURSE_TELEGRAM_IDS=str(NURSE), TELEGRAM_LEASE_SECONDS="2", LOG_LEVEL="WARNING",
        )  # fmt: skip
        webhook = f"http://127.0.0.1:{port}/telegram"
        updates = {
            chat: [
                make_text_update(chat, RED_FLAG if i == chat % PER_CHAT else "/next",
                                 update_id=(chat - FIRST_CHAT) * 100 + i + 1)
                for i in range(PER_CHAT)
            ]
            for chat in patients
        }  # fmt: skip

        async def chat_sends(chat: int) -> None:
            for body in updates[chat]:
                await _post_until_accepted(webhook, body)

        first = await _start(env, port, log)
        senders = [asyncio.create_task(chat_sends(chat)) for chat in patients]
        async with asyncio.timeout(60):
            while True:  # replies have started: kill mid-stream
                if sum(1 for m in fake.sent if m.chat_id in patients) >= CHATS:
                    break
                await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # kill -9: no cleanup of any kind
        await asyncio.to_thread(first.wait)
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                c = t.telegram_inbox.c
                claimed = len((await conn.execute(select(c.id).where(c.status == CLAIMED))).all())
            second = await _start(env, port, log)
            try:
                await asyncio.gather(*senders)
                async with asyncio.timeout(120):
                    while True:
                        answered = Counter(m.chat_id for m in fake.sent if m.chat_id in patients)
                        alerted = {pid for pid in patients.values()
                                   for m in fake.sent if m.chat_id == NURSE
                                   and m.text.startswith("ALERT:") and pid in m.text}  # fmt: skip
                        if len(alerted) == CHATS and all(
                            answered[chat] >= PER_CHAT for chat in patients
                        ):
                            break
                        await asyncio.sleep(0.1)
                await asyncio.sleep(3)  # past the lease: anything left would show itself
            finally:
                second.send_signal(signal.SIGTERM)
                await asyncio.to_thread(second.wait, 30)
            async with engine.connect() as conn:
                statuses = Counter(
                    s for (s,) in (await conn.execute(select(t.telegram_inbox.c.status))).all()
                )
        finally:
            await engine.dispose()

    assert statuses == {DONE: CHATS * PER_CHAT}, statuses
    answered = Counter(m.chat_id for m in fake.sent if m.chat_id in patients)
    alerts = [m for m in fake.sent if m.chat_id == NURSE and m.text.startswith("ALERT:")]
    repeats = sum(answered.values()) - CHATS * PER_CHAT + len(alerts) - CHATS
    print(
        f"\ntelegram crash drill: {CHATS * PER_CHAT} updates, {claimed} claimed at the kill, "
        f"{repeats} answers or alerts repeated"
    )
    for chat, pid in patients.items():
        texts = [m.text for m in fake.sent if m.chat_id == chat]
        assert len(texts) >= PER_CHAT
        assert sum(pid in a.text for a in alerts) >= 1, f"red flag of {pid} never alerted"
    assert repeats <= 2 * claimed, "something not claimed at the kill was handled twice"
