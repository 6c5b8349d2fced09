"""The whole service with Telegram on: real PTB, real HTTP to FakeTelegramBotApi on 127.0.0.1,
and (webhook mode) the real Starlette app served by uvicorn, fed updates with the secret header.

PUBLIC_URL must be known before the service is built, and the app's port only once it is
served; so uvicorn serves a forwarding app first, and the real app's own lifespan (the one
`lenabot run` uses: ``service.start(inbound=True)`` ... ``service.close()``) is entered by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.bootstrap import Service, build
from bot.channels.telegram.gateway import TelegramGateway
from bot.settings import load_settings
from bot.web.app import create_app
from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.store import tables as t
from scheduler.store.inbox import CLAIMED, PENDING
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi
from tests.fakes.telegram_api import FakeTelegramBotApi, SentTelegramMessage
from tests.fakes.telegram_updates import make_text_update, post_update

TOKEN = "123:ABC"
SECRET = "s3cret"
NURSE = 7001  # a private chat's id is its user's id
TEAM_PHONE = "+441632960999"  # required with Telegram on
# Wednesday 10 June 2026, 08:00 in London (BST): cycle 1 day 10 of a course from 1 June.
T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
LINK_RE = re.compile(r"https://t\.me/lenabot_test_bot\?start=([A-Za-z0-9_-]+)")


class _Forward:
    """An ASGI app that forwards to ``target`` once it is set (HTTP only, no lifespan)."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "request before the app was ready"
        await self.target(scope, receive, send)


@dataclass
class Bot:
    fake: FakeTelegramBotApi
    service: Service
    clock: ManualClock
    app_url: str | None  # webhook mode only
    _handled: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    @property
    def gateway(self) -> TelegramGateway:
        gateway = self.service.gateways[ChannelKind.TELEGRAM]
        assert isinstance(gateway, TelegramGateway)
        return gateway

    @property
    def webhook_url(self) -> str:
        assert self.app_url is not None
        return f"{self.app_url}/telegram"

    def sent_to(self, chat_id: int) -> list[SentTelegramMessage]:
        return [m for m in self.fake.sent if m.chat_id == chat_id]

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        return await post_update(self.webhook_url, update, secret_token=secret)

    async def say(
        self, chat_id: int, text: str, *, expect: int = 1, user_id: int | None = None
    ) -> list[SentTelegramMessage]:
        """``chat_id`` writes ``text`` (webhook, or getUpdates when polling); the replies."""
        before = len(self.sent_to(chat_id))
        update = make_text_update(chat_id, text, user_id=user_id)
        if self.app_url is not None:
            response = await self.post(update)
            assert response.status_code == 200, response.text
        else:
            await self.fake.enqueue_update(update)
        await self.wait_for(chat_id, before + expect)
        return self.sent_to(chat_id)[before:]

    async def wait_for(self, chat_id: int, n: int, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while len(self.sent_to(chat_id)) < n:
                await self.fake.wait_for_sent(len(self.fake.sent) + 1, within=within)

    def __post_init__(self) -> None:
        # The pump nudges itself whenever a handler returns: the event a drain can wait on.
        pump, nudge = self.gateway.pump, self.gateway.pump.nudge

        def nudged() -> None:
            nudge()
            self._handled.set()

        pump.nudge = nudged  # type: ignore[method-assign]

    async def quiet(self, within: float = 10.0, *, unhandled: int = 0) -> None:
        """Wait until the service has finished with everything it was given, so a "nothing
        (more) was sent" check sees the end state rather than a moment before it: no update
        left at the fake for getUpdates (polling stores a batch before it confirms it), every
        stored update handled (done or failed, and its handler returned: replies and alerts
        are awaited inside it), and every call the fake received answered. ``unhandled``
        updates may stay pending or claimed: a test that stopped the pump, or left a dead
        worker's claim, says how many. Fails the test if that takes longer than ``within``
        seconds."""
        async with asyncio.timeout(within):
            while True:
                self._handled.clear()
                seen = self.fake.changes
                if not (
                    self.fake.pending_updates
                    or self.gateway.pump._running
                    or self.fake.in_flight
                    or await self._unhandled_updates() != unhandled
                ):
                    return
                waits = {
                    asyncio.ensure_future(self._handled.wait()),
                    asyncio.ensure_future(self.fake.wait_change(seen)),
                }
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()

    async def _unhandled_updates(self) -> int:
        q = select(func.count()).where(t.telegram_inbox.c.status.in_((PENDING, CLAIMED)))
        async with self.service.engine.connect() as conn:
            return int((await conn.execute(q)).scalar_one())

    async def enrol(self, name: str = "Ann Smith", **kw: Any) -> Patient:
        """A Telegram patient straight through CareTeam (not linked yet)."""
        e = Enrolment(
            name=name,
            tz="Europe/London",
            start=kw.pop("start", date(2026, 6, 1)),
            dose_time=kw.pop("dose_time", time(9, 0)),
            regimen=Regimen.parse("21/28"),
            channel=ChannelKind.TELEGRAM,
            **kw,
        )
        return await self.service.care.enrol(e)

    async def link(self, patient: Patient, chat_id: int) -> None:
        """The patient opens a fresh deep link from ``chat_id``."""
        code = LINK_RE.search(await self.gateway.new_link(patient.id))
        assert code is not None
        replies = await self.say(chat_id, f"/start {code[1]}")
        assert "now linked" in replies[-1].text


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    webhook: bool = True,
    nurse_ids: str = str(NURSE),
    now: datetime = T0,
    fast_chats: bool = True,
) -> AsyncIterator[Bot]:
    """The service with Telegram on, started as `lenabot web` starts it (webhook or polling).

    ``fast_chats`` drops the 1 s per-chat pacing so a scripted conversation does not crawl;
    the pacing itself is tested with it on.
    """
    url = f"sqlite+aiosqlite:///{tmp_path / 'telegram.db'}"
    await upgrade_async(url)
    fake = FakeTelegramBotApi(token=TOKEN)
    clock = ManualClock(now)
    async with serve_asgi(fake.app) as api, contextlib.AsyncExitStack() as stack:
        app_url = None
        forward = _Forward()
        if webhook:
            app_url = await stack.enter_async_context(serve_asgi(forward, lifespan="off"))
        settings = load_settings(
            database_url=url,
            telegram_bot_token=TOKEN,
            telegram_webhook_secret=SECRET,
            telegram_api_base=api,
            public_url=app_url or "",
            nurse_telegram_ids=nurse_ids,
            team_phone=TEAM_PHONE,
        )
        service = build(settings, clock=clock)
        harness = Bot(fake, service, clock, app_url)
        if fast_chats:
            harness.gateway.limiter.per_chat_interval = 0.0
        app = create_app(service, worker=False)
        forward.target = app
        async with app.router.lifespan_context(app):
            yield harness
