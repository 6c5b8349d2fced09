"""FakeTelegramBotApi: the slice of the Telegram Bot API that lenabot uses, over real HTTP.

Point python-telegram-bot 22 at it (PTB appends the token to base_url)::

    bot = Bot(TOKEN, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
    app = (Application.builder().token(TOKEN)
           .base_url(f"{base}/bot").base_file_url(f"{base}/file/bot").build())

Served: ``/bot{token}/{method}``, GET or POST, query/JSON/urlencoded parameters (PTB POSTs
urlencoded forms whose complex values are JSON strings). Methods (case-insensitive like
Telegram): getMe, sendMessage, setWebhook, deleteWebhook, getWebhookInfo, getUpdates (long
polling, offset confirmation, 409 on conflicts), answerCallbackQuery, setMyCommands,
getMyCommands. Anything else answers 404 "Not Found", a wrong token 401 "Unauthorized".

PTB maps answers to exceptions: 429 with ``parameters.retry_after`` -> ``telegram.error.
RetryAfter``; 400 -> ``BadRequest``; 401/404 -> ``InvalidToken``; 403 -> ``Forbidden``; 409 ->
``Conflict``; other statuses -> ``NetworkError``; client timeouts -> ``TimedOut``.

Not modelled: files/multipart (python-multipart is not installed), parse_mode entity parsing
(text is echoed as sent), group limits of 20 messages/minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes._http import (
    ClientDisconnected,
    UnsupportedBody,
    read_params,
    wait_unless_disconnected,
)
from tests.fakes.telegram_limits import SlidingWindowLimits
from tests.fakes.telegram_updates import make_chat, make_text_update

DEFAULT_TOKEN: Final = "123456789:AAFakeTokenForLenabotTests_0123456789"
MAX_TEXT_CHARS: Final = 4096
_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


_Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


class TelegramApiError(Exception):
    """Raised by a method handler; becomes Telegram's ``{"ok": false, ...}`` answer."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class TelegramFault:
    status: int | None  # None: handle the call normally after the hang
    description: str | None
    retry_after: int | None
    method: str | None  # lower-cased method name it applies to; None = the next call of any
    hang_s: float | None
    chat_id: str | None = None  # only a call to this chat (None: any)


@dataclass(frozen=True)
class ApiCall:
    method: str  # canonical spelling, e.g. "sendMessage"
    params: dict[str, Any]


@dataclass(frozen=True)
class SentTelegramMessage:
    chat_id: int | str
    text: str
    message_id: int
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    disable_notification: bool
    params: dict[str, Any] = field(repr=False)


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int


def error_body(status: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def _ok(result: Any, description: str | None = None) -> Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return JSONResponse(body)


def _bad_request(detail: str) -> TelegramApiError:
    return TelegramApiError(400, f"Bad Request: {detail}")


def _json_param(params: dict[str, Any], key: str) -> Any:
    # Form bodies carry objects/arrays as JSON strings; JSON bodies carry them decoded.
    value = params.get(key)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _bad_request(f"can't parse {key} JSON object") from None


def _int_param(params: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return int(float(value))  # PTB may send timedelta-derived floats such as "10.0"
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {key}") from None


def _bool_param(params: dict[str, Any], key: str) -> bool:
    value = params.get(key)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _chat_id(params: dict[str, Any]) -> int | str:
    value = params.get("chat_id")
    if value is None or value == "":
        raise _bad_request("chat_id is empty")
    if isinstance(value, str) and value.startswith("@"):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request("chat not found") from None


class FakeTelegramBotApi:
    """In-process Bot API for one bot token. Use `.app` with serve_asgi()."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        first_name: str = "Lenabot",
        username: str = "lenabot_test_bot",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.calls: list[ApiCall] = []
        self.sent: list[SentTelegramMessage] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.webhook: _Webhook | None = None
        self.blocked_chats: set[int | str] = set()
        self.too_many_requests = 0  # 429 answers served, scripted or enforced
        self.in_flight = 0  # calls other than getUpdates received and not yet answered
        self.changes = 0  # bumped on every change a test may wait for (under ``_changed``)
        self._clock = clock
        self._limits: SlidingWindowLimits | None = None
        self._faults: deque[TelegramFault] = deque()
        self._pending: list[dict[str, Any]] = []
        self._poll_generation = 0
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._changed = asyncio.Condition()
        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in (
                ("getMe", self._get_me),
                ("sendMessage", self._send_message),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("getUpdates", self._get_updates),
                ("answerCallbackQuery", self._answer_callback_query),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
            )
        }
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])]
        )

    # --- test controls -------------------------------------------------------------------

    def fail_next(
        self,
        status: int | None = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        method: str | None = "sendMessage",
        hang_s: float | None = None,
        chat_id: int | str | None = None,
    ) -> None:
        """Queue a fault for the next call of `method` (None: of any method), to `chat_id` if
        given (then other chats' calls pass it by).

        The default targets sendMessage because a polling Application calls getUpdates all
        the time and would otherwise eat the fault. 429 answers carry
        ``parameters.retry_after`` (default 1 s).

        `hang_s` waits that long (or until the client gives up) before answering `status`;
        with ``status=None`` the call is then handled normally, *even if the client already
        gave up* -- like Telegram, which often delivers a message whose request timed out.
        """
        if status is None and hang_s is None:
            raise ValueError("fail_next needs a status and/or hang_s")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(
            TelegramFault(
                status, description, retry_after, method.lower() if method else None, hang_s,
                None if chat_id is None else str(chat_id),
            )
        )

    def enforce_limits(self, overall_per_s: int | None = 30, per_chat_per_s: int = 1) -> None:
        """Answer sendMessage with 429 + retry_after past these rates (None switches off)."""
        self._limits = (
            None
            if overall_per_s is None
            else SlidingWindowLimits(overall_per_s, per_chat_per_s, self._clock)
        )

    def block_chat(self, chat_id: int | str) -> None:
        """The user blocked the bot: sendMessage to them answers 403 Forbidden."""
        self.blocked_chats.add(chat_id)

    async def enqueue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make `update` available to getUpdates (wakes a waiting long poll)."""
        async with self._changed:
            self._pending.append(update)
            self._bump()
        return update

    async def enqueue_text(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        return await self.enqueue_update(make_text_update(chat_id, text, **kwargs))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed through a getUpdates offset."""
        return list(self._pending)

    async def wait_for_sent(self, n: int, within: float = 5.0) -> list[SentTelegramMessage]:
        """Return the sent messages once at least `n` were accepted."""
        await self._wait(lambda: len(self.sent) >= n, within, lambda: f"{n} sent messages")
        return list(self.sent)

    async def wait_for_calls(self, method: str, n: int = 1, within: float = 5.0) -> list[ApiCall]:
        """Return the calls of `method` once at least `n` were made (e.g. getUpdates)."""
        key = method.lower()

        def matching() -> list[ApiCall]:
            return [c for c in self.calls if c.method.lower() == key]

        await self._wait(lambda: len(matching()) >= n, within, lambda: f"{n} {method} calls")
        return matching()

    async def _wait(
        self, predicate: Callable[[], bool], within: float, what: Callable[[], str]
    ) -> None:
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(
                f"expected {what()} within {within}s; calls so far: "
                f"{[c.method for c in self.calls]}"
            ) from None

    def _bump(self) -> None:
        """Record a change and wake its waiters; call with ``_changed`` held."""
        self.changes += 1
        self._changed.notify_all()

    async def wait_change(self, seen: int) -> None:
        """Return once anything changed after ``changes`` was ``seen`` (at once if it has)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.changes != seen)

    # --- HTTP ------------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return error_body(401, "Unauthorized")
        entry = self._methods.get(request.path_params["method"].lower())
        if entry is None:
            return error_body(404, "Not Found")
        name, handler = entry
        try:
            params = await read_params(request)
        except (UnsupportedBody, ValueError) as exc:
            return error_body(400, f"Bad Request: {exc}")
        async with self._changed:
            self.calls.append(ApiCall(name, params))
            self._bump()
        if name == "getUpdates":  # a long poll is always waiting: not work in flight
            return await self._answer(request, name, handler, params)
        self.in_flight += 1
        try:
            return await self._answer(request, name, handler, params)
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._bump()

    async def _answer(
        self, request: Request, name: str, handler: _Handler, params: dict[str, Any]
    ) -> Response:
        try:
            fault = self._take_fault(name, params.get("chat_id"))
            if fault is not None:
                if fault.hang_s is not None:
                    # A client that gave up does not stop the processing below.
                    with contextlib.suppress(ClientDisconnected):
                        await wait_unless_disconnected(request, None, fault.hang_s)
                if fault.status is not None:
                    return self._fault_response(fault)
            return await handler(request, params)
        except TelegramApiError as exc:
            if exc.status == 429:
                self.too_many_requests += 1
            return error_body(exc.status, exc.description, exc.parameters)
        except ClientDisconnected:
            # A long poll whose client left. Nobody reads this; uvicorn discards it.
            return Response(status_code=499)

    def _take_fault(self, method: str, chat_id: object) -> TelegramFault | None:
        for fault in self._faults:
            if fault.method in (None, method.lower()) and fault.chat_id in (None, str(chat_id)):
                self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: TelegramFault) -> Response:
        assert fault.status is not None
        if fault.status == 429:
            self.too_many_requests += 1
            description = fault.description or f"Too Many Requests: retry after {fault.retry_after}"
            return error_body(429, description, {"retry_after": fault.retry_after})
        description = fault.description or _DESCRIPTIONS.get(fault.status, "Error")
        return error_body(fault.status, description)

    # --- methods ---------------------------------------------------------------------------

    async def _get_me(self, request: Request, params: dict[str, Any]) -> Response:
        return _ok(
            {
                **self.bot_user,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    async def _send_message(self, request: Request, params: dict[str, Any]) -> Response:
        chat_id = _chat_id(params)
        text = params.get("text")
        if not text:
            raise _bad_request("message text is empty")
        if len(str(text)) > MAX_TEXT_CHARS:
            raise _bad_request("message is too long")
        reply_markup = _json_param(params, "reply_markup")
        if chat_id in self.blocked_chats:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        if self._limits is not None:
            retry_after = self._limits.admit(str(chat_id))
            if retry_after is not None:
                raise TelegramApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )

        message_id = next(self._message_ids.setdefault(chat_id, itertools.count(1)))
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        # Telegram only echoes inline keyboards; PTB would choke on other markups here.
        if isinstance(reply_markup, dict) and "inline_keyboard" in reply_markup:
            message["reply_markup"] = reply_markup
        sent = SentTelegramMessage(
            chat_id=chat_id,
            text=str(text),
            message_id=message_id,
            parse_mode=params.get("parse_mode") or None,
            reply_markup=reply_markup,
            disable_notification=_bool_param(params, "disable_notification"),
            params=params,
        )
        async with self._changed:
            self.sent.append(sent)
            self._bump()
        return _ok(message)

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if isinstance(chat_id, str):  # "@channelusername"
            return {
                "id": -1001000000000,
                "type": "channel",
                "title": chat_id[1:],
                "username": chat_id[1:],
            }
        return make_chat(chat_id, first_name="User")

    async def _set_webhook(self, request: Request, params: dict[str, Any]) -> Response:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(request, params)
        if not str(url).startswith("https://") and not str(url).startswith("http://127."):
            # Telegram insists on HTTPS; loopback http is let through for in-process e2e tests.
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if _bool_param(params, "drop_pending_updates"):
            self._pending.clear()
        already = self.webhook is not None and self.webhook.url == url
        self.webhook = _Webhook(
            url=str(url),
            secret_token=params.get("secret_token") or None,
            allowed_updates=_json_param(params, "allowed_updates"),
            max_connections=_int_param(params, "max_connections", 40) or 40,
        )
        return _ok(True, "Webhook is already set" if already else "Webhook was set")

    async def _delete_webhook(self, request: Request, params: dict[str, Any]) -> Response:
        if _bool_param(params, "drop_pending_updates"):
            self._pending.clear()
        existed, self.webhook = self.webhook is not None, None
        return _ok(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def _get_webhook_info(self, request: Request, params: dict[str, Any]) -> Response:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
        return _ok(info)

    async def _get_updates(self, request: Request, params: dict[str, Any]) -> Response:
        if self.webhook is not None:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(params, "offset")
        limit = min(max(_int_param(params, "limit", 100) or 100, 1), 100)
        timeout = max(_int_param(params, "timeout", 0) or 0, 0)

        async with self._changed:
            self._confirm(offset)
            # A newer getUpdates ends an older long poll with 409, as on Telegram.
            self._poll_generation += 1
            generation = self._poll_generation
            self._bump()
        if not self._pending and timeout:
            await wait_unless_disconnected(
                request, self._wait_for_updates(generation), float(timeout)
            )
        if generation != self._poll_generation:
            raise TelegramApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return _ok(self._pending[:limit])

    def _confirm(self, offset: int | None) -> None:
        # offset > 0 confirms every update below it; offset < 0 keeps only the last -offset.
        if offset is None or offset == 0:
            return
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        else:
            self._pending = self._pending[offset:]

    async def _wait_for_updates(self, generation: int) -> None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: bool(self._pending) or generation != self._poll_generation
            )

    async def _answer_callback_query(self, request: Request, params: dict[str, Any]) -> Response:
        if not params.get("callback_query_id"):
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.callback_answers.append(params)
        return _ok(True)

    async def _set_my_commands(self, request: Request, params: dict[str, Any]) -> Response:
        commands = _json_param(params, "commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command"))):
                raise _bad_request("BOT_COMMAND_INVALID")
        self.commands = commands
        return _ok(True)

    async def _get_my_commands(self, request: Request, params: dict[str, Any]) -> Response:
        return _ok(self.commands)
