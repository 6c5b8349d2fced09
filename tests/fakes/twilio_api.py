"""FakeTwilioApi: the slice of Twilio's REST API (2010-04-01 Messages) that lenabot uses.

Serve it with ``tests.fakes.server.serve_asgi(fake.app)`` and point the real twilio 9 client at
it with ``tests.fakes.twilio_client.build_async_twilio_client(..., api_base_url=base_url)``;
that sets ``client.api.base_url`` (the Api ``Domain`` root that ``Messages.json`` URLs are built
from), clears edge/region so the host is not rewritten, and makes the client's ``timeout``
actually apply (see that module's docstring for the twilio source details).

What it checks and answers like Twilio does:
* HTTP basic auth with account SID + auth token (401, code 20003), path SID = that account.
* Form fields To, From or MessagingServiceSid, Body/MediaUrl, StatusCallback, ValidityPeriod;
  missing/invalid ones get Twilio's 400 codes (21604, 21603, 21602, 21211, 21617).
* 201 with the Message resource JSON: sid "SM"+32 hex, status "queued" ("accepted" when a
  Messaging Service picks the sender), RFC 2822 dates, num_segments as a string...
* Errors use Twilio's legacy error JSON ``{"code", "message", "more_info", "status"}``, which
  twilio-python turns into ``TwilioRestException`` (``.status``, ``.code``).

Faults: ``fail_next(...)`` queues scripted faults (FIFO, one per request); ``random_faults(...)``
adds seeded random ones when the queue is empty; ``opt_out(number)`` makes every send to that
number fail with 21610 like a recipient who replied STOP.

A ``timeout`` fault hangs before answering. If the client gives up first, the fake stops
waiting and *still processes the request* (records the message with ``client_disconnected``):
that is the realistic "Twilio sent it but you never saw the answer" case a retrying sender must
survive. The record appears just after the client's TimeoutError, so await it with
``wait_for_messages`` rather than asserting on ``messages`` immediately.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import re
import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes._http import ClientDisconnected, parse_urlencoded, wait_unless_disconnected
from tests.fakes.sms_segments import count_segments

API_VERSION: Final = "2010-04-01"
DEFAULT_ACCOUNT_SID: Final = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN: Final = "fake-auth-token-0123456789abcdef"
MAX_BODY_CHARS: Final = 1600
# E.164, optionally behind a channel prefix such as "whatsapp:".
_ADDRESS_RE: Final = re.compile(r"^(?:[a-z]+:)?\+[1-9]\d{6,14}$")

# Default messages Twilio uses for the codes we emit.
_MESSAGES: Final[dict[int, str]] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service unavailable",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}

FaultKind = int | Literal["timeout"]


@dataclass(frozen=True)
class TwilioFault:
    """One scripted misbehaviour. `hang_s` first, then `status` (or normal handling if None)."""

    status: int | None = None
    code: int | None = None
    message: str | None = None
    hang_s: float | None = None


@dataclass(frozen=True)
class SentSms:
    """A message the fake accepted, with the request fields as Twilio received them.

    `client_disconnected`: the client gave up (timeout fault) before the fake answered.
    """

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    validity_period: int | None
    media_urls: tuple[str, ...]
    date_created: datetime
    params: dict[str, list[str]]
    client_disconnected: bool = False


@dataclass
class _RandomFaults:
    rate: float
    rng: random.Random
    kinds: tuple[FaultKind, ...]
    hang_s: float


def twilio_error(status: int, code: int | None = None, message: str | None = None) -> Response:
    """Twilio's legacy error body; twilio-python reads `code` and `message` from it."""
    code = code if code is not None else 20000 + status  # 20429, 20500, 20503 follow this
    return JSONResponse(
        {
            "code": code,
            "message": message or _MESSAGES.get(code, f"Error {code}"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _first(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


class FakeTwilioApi:
    """In-process Twilio Messages API. Use `.app` with serve_asgi()."""

    def __init__(
        self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[SentSms] = []
        self.faults_served: list[TwilioFault] = []
        self.requests_total = 0
        self.in_flight = 0  # create requests received and not yet answered
        self.opted_out: set[str] = set()
        self._scripted: deque[TwilioFault] = deque()
        self._random: _RandomFaults | None = None
        self._changed = asyncio.Condition()
        self.app = Starlette(
            routes=[
                Route(
                    f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                )
            ]
        )

    # --- test controls -------------------------------------------------------------------

    def fail_next(
        self,
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Queue a fault for the next request, e.g. ``fail_next(status=429, code=20429)``.

        ``timeout=s`` hangs s seconds (or until the client disconnects) before answering;
        combined with ``status`` it answers that error after the hang, otherwise it then handles
        the request normally.
        """
        if status is None and timeout is None:
            raise ValueError("fail_next needs a status and/or a timeout")
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"fault status must be 4xx/5xx, got {status}")
        self._scripted.append(TwilioFault(status, code, message, timeout))

    def random_faults(
        self,
        rate: float = 0.3,
        seed: int = 1,
        kinds: Iterable[FaultKind] = (500, 429, "timeout"),
        hang_s: float = 30.0,
    ) -> None:
        """Fail a seeded-random `rate` of requests with one of `kinds` (0 disables).

        Scripted faults take precedence. "timeout" hangs `hang_s` (cut short by a client that
        gives up, see the module docstring).
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        kinds = tuple(kinds)
        if rate and not kinds:
            raise ValueError("kinds must not be empty")
        self._random = _RandomFaults(rate, random.Random(seed), kinds, hang_s) if rate else None

    def opt_out(self, number: str) -> None:
        """Recipient replied STOP: Twilio now refuses to send to it (400, code 21610)."""
        self.opted_out.add(number)

    def reset(self) -> None:
        self.messages.clear()
        self.faults_served.clear()
        self.opted_out.clear()
        self._scripted.clear()
        self._random = None
        self.requests_total = 0

    async def wait_for_messages(self, n: int, within: float = 5.0) -> list[SentSms]:
        """Return the recorded messages once at least `n` were accepted."""
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(lambda: len(self.messages) >= n)
        except TimeoutError:
            raise AssertionError(
                f"expected {n} Twilio messages within {within}s, got {len(self.messages)}: "
                f"{self.messages!r}"
            ) from None
        return list(self.messages)

    async def settled(self, within: float = 10.0) -> None:
        """Wait until every create request received so far has been answered (or, for a client
        that gave up during a hang, recorded): what the fake will ever hold of them is in
        ``messages``. Replaces sleeping "long enough" before asserting on the record."""
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(lambda: self.in_flight == 0)
        except TimeoutError:
            raise AssertionError(
                f"{self.in_flight} Twilio requests still unanswered after {within}s"
            ) from None

    # --- HTTP ------------------------------------------------------------------------------

    async def wait_in_flight(self, n: int, within: float = 5.0) -> None:
        """Until at least ``n`` create requests have been received and not yet answered."""
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(lambda: self.in_flight >= n)
        except TimeoutError:
            raise AssertionError(
                f"expected {n} Twilio requests in flight within {within}s, got {self.in_flight}"
            ) from None

    async def _create_message(self, request: Request) -> Response:
        async with self._changed:
            self.in_flight += 1
            self._changed.notify_all()
        try:
            return await self._handle_create(request)
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    async def _handle_create(self, request: Request) -> Response:
        self.requests_total += 1
        if not self._authorized(request):
            response = twilio_error(401, 20003)
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        if request.path_params["account_sid"] != self.account_sid:
            return twilio_error(
                404, 20404, f"The requested resource {request.url.path} was not found"
            )

        params: dict[str, list[str]] = {}
        for key, value in parse_urlencoded(await request.body()):
            params.setdefault(key, []).append(value)

        disconnected = False
        fault = self._next_fault()
        if fault is not None:
            self.faults_served.append(fault)
            if fault.hang_s is not None:
                try:
                    await wait_unless_disconnected(request, None, fault.hang_s)
                except ClientDisconnected:
                    disconnected = True
            if fault.status is not None:
                return twilio_error(fault.status, fault.code, fault.message)

        return await self._accept(params, disconnected)

    def _authorized(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(f"{user}:{password}", f"{self.account_sid}:{self.auth_token}")

    def _next_fault(self) -> TwilioFault | None:
        if self._scripted:
            return self._scripted.popleft()
        rnd = self._random
        if rnd is None or rnd.rng.random() >= rnd.rate:
            return None
        kind = rnd.rng.choice(rnd.kinds)
        if kind == "timeout":
            return TwilioFault(hang_s=rnd.hang_s)
        return TwilioFault(status=kind)

    async def _accept(self, params: dict[str, list[str]], disconnected: bool) -> Response:
        to = _first(params, "To")
        from_ = _first(params, "From")
        service_sid = _first(params, "MessagingServiceSid")
        body = _first(params, "Body") or ""
        media_urls = tuple(params.get("MediaUrl", []))
        if not to:
            return twilio_error(400, 21604)
        if not _ADDRESS_RE.match(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not from_ and not service_sid:
            return twilio_error(400, 21603)
        if not body and not media_urls and not _first(params, "ContentSid"):
            return twilio_error(400, 21602)
        if len(body) > MAX_BODY_CHARS:
            return twilio_error(400, 21617)
        if to in self.opted_out:
            return twilio_error(400, 21610)
        validity = _first(params, "ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            return twilio_error(400, None, f"Invalid ValidityPeriod: {validity}")

        sms = SentSms(
            sid=_new_sid("SM"),
            account_sid=self.account_sid,
            to=to,
            from_=from_,
            messaging_service_sid=service_sid,
            body=body,
            status_callback=_first(params, "StatusCallback"),
            validity_period=int(validity) if validity else None,
            media_urls=media_urls,
            date_created=datetime.now(UTC).replace(microsecond=0),
            params=params,
            client_disconnected=disconnected,
        )
        async with self._changed:
            self.messages.append(sms)
            self._changed.notify_all()
        return JSONResponse(self._resource(sms), status_code=201)

    def _resource(self, sms: SentSms) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{sms.account_sid}/Messages/{sms.sid}"
        created = format_datetime(sms.date_created)
        return {
            "account_sid": sms.account_sid,
            "api_version": API_VERSION,
            "body": sms.body,
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            # With a Messaging Service and no From, Twilio picks the sender later (null here).
            "from": sms.from_,
            "messaging_service_sid": sms.messaging_service_sid,
            "num_media": str(len(sms.media_urls)),
            "num_segments": str(count_segments(sms.body)),
            "price": None,
            "price_unit": "USD",
            "sid": sms.sid,
            # Sends through a Messaging Service start as "accepted", direct ones as "queued".
            "status": "accepted" if sms.messaging_service_sid else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": sms.to,
            "uri": f"{uri}.json",
        }
