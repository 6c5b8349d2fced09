"""An SMS world for tests: lenabot's real web app and service, FakeTwilioApi, a manual clock.

The app is reached on http://127.0.0.1:<port> but believes it lives at ``PUBLIC_URL`` (an https
root with a path prefix), as it would behind a reverse proxy: webhooks are signed, like Twilio
does, over the public URL, so a signature check against the raw request URL would fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from twilio.request_validator import RequestValidator

from bot.bootstrap import Service, build
from bot.channels.sms.gateway import TwilioGateway
from bot.settings import load_settings
from bot.web.app import create_app
from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.domain.outbox import OutboxRow
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.services.dispatch import DispatchStats
from scheduler.store import tables as t
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi
from tests.fakes.twilio_api import API_VERSION, FakeTwilioApi, twilio_error

PUBLIC_URL = "https://lenabot.example/clinic"
TELEGRAM_TOKEN = "123:ABC"
SENDER = "+15005550006"
PHONE = "+447700900123"
TEAM_PHONE = "+441632960999"  # required with SMS on (a number kept for drama)
# Wednesday 10 June 2026, 08:00 in London; the course (21/28 from Monday 1 June, dose 09:00
# London) is on cycle 1 day 10, so today's dose is due at 08:00 UTC and expires 12 h later.
T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
DOSE_AT = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
COURSE_START = date(2026, 6, 1)
DOSE_DAY = DOSE_AT.date()


class ListingFakeTwilioApi(FakeTwilioApi):
    """FakeTwilioApi plus the Messages list (GET), a ``Retry-After`` on 429/503 if set, and
    ``answer_after`` seconds between creating a message and answering (a provider's latency:
    the window in which a message exists at Twilio but its sender does not know yet)."""

    def __init__(self) -> None:
        super().__init__()
        self.retry_after: str | None = None
        self.answer_after = 0.0
        self.lists = 0
        self.app.router.routes.append(
            Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._list,
                  methods=["GET"])
        )

    @property
    def asgi(self) -> ASGIApp:
        app = self.app

        async def with_retry_after(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_(message: Message) -> None:
                if (message["type"] == "http.response.start" and self.retry_after
                        and message["status"] in (429, 503)):
                    extra = [(b"retry-after", self.retry_after.encode())]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            await app(scope, receive, send_)

        return with_retry_after

    async def _accept(self, params: dict[str, list[str]], disconnected: bool) -> Response:
        answer = await super()._accept(params, disconnected)
        if self.answer_after:
            await asyncio.sleep(self.answer_after)
        return answer

    async def _list(self, request: Request) -> Response:
        self.lists += 1
        if not self._authorized(request):
            return twilio_error(401, 20003)
        to = request.query_params.get("To")
        size = int(request.query_params.get("PageSize", "50"))
        found = [m for m in reversed(self.messages) if to is None or m.to == to][:size]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        return JSONResponse({
            "messages": [self._resource(m) for m in found], "start": 0, "end": len(found) - 1,
            "page": 0, "page_size": size, "uri": uri, "first_page_uri": uri,
            "next_page_uri": None, "previous_page_uri": None,
        })  # fmt: skip


_sids = itertools.count(1)


@dataclass
class SmsWorld:
    service: Service
    twilio: ListingFakeTwilioApi
    clock: ManualClock
    http: httpx.AsyncClient
    app_url: str

    @property
    def gateway(self) -> TwilioGateway:
        gateway = self.service.gateways[ChannelKind.SMS]
        assert isinstance(gateway, TwilioGateway)
        return gateway

    def sign(self, url: str, fields: Mapping[str, str], token: str | None = None) -> str:
        """X-Twilio-Signature exactly as Twilio computes it (twilio's own RequestValidator)."""
        return RequestValidator(token or self.twilio.auth_token).compute_signature(url, fields)

    async def post(
        self, path: str, fields: Mapping[str, str], *, signed: bool = True,
        sign_url: str | None = None, sign_fields: Mapping[str, str] | None = None,
        token: str | None = None, headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """POST a form like Twilio would; by default signed over PUBLIC_URL + path."""
        sent = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
        if signed:
            url = sign_url or PUBLIC_URL + path
            sent["X-Twilio-Signature"] = self.sign(url, sign_fields or fields, token)
        sent.update(headers or {})
        return await self.http.post(path, content=urlencode(fields), headers=sent)

    def inbound_fields(self, body: str, sender: str = PHONE, **extra: str) -> dict[str, str]:
        sid = f"SM{next(_sids):032x}"
        return {
            "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received",
            "FromCity": "", "Body": body, "FromCountry": "GB", "To": SENDER,
            "MessagingServiceSid": "", "ToZip": "", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": self.twilio.account_sid, "From": sender, "ApiVersion": API_VERSION,
            **extra,
        }  # fmt: skip

    async def text_in(self, body: str, sender: str = PHONE, **extra: str) -> httpx.Response:
        """A signed inbound SMS webhook, as Twilio posts it."""
        return await self.post("/twilio/sms", self.inbound_fields(body, sender, **extra))

    def status_fields(self, sid: str, status: str, to: str = PHONE, **extra: str) -> dict[str, str]:
        return {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                "To": to, "From": SENDER, "AccountSid": self.twilio.account_sid,
                "ApiVersion": API_VERSION, **extra}  # fmt: skip

    async def status_callback(self, callback_url: str, sid: str, status: str,
                              **extra: str) -> httpx.Response:
        """A signed status callback to the URL lenabot gave Twilio (through the proxy)."""
        assert callback_url.startswith(PUBLIC_URL + "/")
        path = callback_url.removeprefix(PUBLIC_URL)
        return await self.post(path, self.status_fields(sid, status, **extra),
                               sign_url=callback_url)

    async def enrol(self, phone: str = PHONE, name: str = "Ann Smith", **kw: Any) -> Patient:
        return await self.service.care.enrol(Enrolment(
            name=name, tz="Europe/London", start=COURSE_START, dose_time=time(9, 0),
            regimen=Regimen.parse("21/28"), channel=ChannelKind.SMS, phone=phone, **kw,
        ))  # fmt: skip

    async def tick(self) -> DispatchStats:
        return await self.service.dispatcher.tick()

    async def rows(self, patient_id: str, *statuses: str) -> list[OutboxRow]:
        return await self.service.outbox.rows(patient_id, statuses)

    async def dose_row(self, patient_id: str, day: date = DOSE_DAY) -> OutboxRow:
        [row] = [r for r in await self.rows(patient_id) if r.key == f"dose:{day.isoformat()}"]
        return row

    async def alerts(self) -> list[tuple[str, str | None, str]]:
        return await self.service.alerts.recent()

    async def inbound_count(self) -> int:
        async with self.service.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(t.inbound)))
                       .scalar_one())


@contextlib.asynccontextmanager
async def sms_world(
    tmp_path: Path, *, request_timeout: float = 2.0, messaging_service_sid: str = "",
    team_phone: str = TEAM_PHONE, telegram_api: str | None = None, nurse_ids: str = "",
    alert_sms_to: str = "",
) -> AsyncIterator[SmsWorld]:
    """Fake Twilio on one port, lenabot's app on another, a migrated SQLite file, clock at T0."""
    url = f"sqlite+aiosqlite:///{tmp_path / f'sms-{secrets.token_hex(4)}.db'}"
    await upgrade_async(url)
    twilio = ListingFakeTwilioApi()
    async with serve_asgi(twilio.asgi) as api_url:
        clock = ManualClock(T0)
        settings = load_settings(
            _env_file=None, database_url=url, twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_from="" if messaging_service_sid else SENDER,
            twilio_messaging_service_sid=messaging_service_sid, twilio_api_base=api_url,
            public_url=PUBLIC_URL, team_phone=team_phone,
            follow_up_after_minutes=0,  # transport tests: one dose reminder, no nudges
            # Optionally Telegram too, for nurse chats (a FakeTelegramBotApi at telegram_api).
            telegram_bot_token=TELEGRAM_TOKEN if telegram_api else None,
            telegram_webhook_secret="s3cret" if telegram_api else None,
            telegram_api_base=telegram_api or "https://api.telegram.org",
            nurse_telegram_ids=nurse_ids,
            alert_sms_to=alert_sms_to,  # the team's phones for urgent alerts
        )
        service = build(settings, clock=clock, out=io.StringIO())
        gateway = service.gateways[ChannelKind.SMS]
        assert isinstance(gateway, TwilioGateway)
        gateway.request_timeout = request_timeout
        async with serve_asgi(create_app(service, worker=False)) as app_url, \
                httpx.AsyncClient(base_url=app_url, timeout=10) as http:
            yield SmsWorld(service, twilio, clock, http, app_url)

