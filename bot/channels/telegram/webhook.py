"""POST /telegram: where Telegram delivers updates when PUBLIC_URL is set.

The secret-token header is compared in constant time (403 otherwise, before the body is
read); the body is capped at MAX_BODY_BYTES (413); anything that is not an update is a 400,
never a 500. Accepted updates are queued for the PTB Application and answered 200 at once, so
a slow database never makes Telegram re-send; an update id seen lately is dropped, in case it
does (it re-sends after a timeout or an error answer).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SEEN = 5000  # recent update ids remembered against re-deliveries


class TelegramWebhook:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        secret: str,
        max_body: int,
        ready: Callable[[], bool],
    ) -> None:
        self.app = app
        self.secret = secret.encode()
        self.max_body = max_body
        self.ready = ready
        self._seen: OrderedDict[int, None] = OrderedDict()

    async def handle(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("Telegram webhook call refused: missing or wrong secret token")
            return PlainTextResponse("forbidden", status_code=403)
        body = await _read_limited(request, self.max_body)
        if body is None:
            return PlainTextResponse("request body too large", status_code=413)
        try:
            data = json.loads(body)
        except ValueError:
            return PlainTextResponse("body is not JSON", status_code=400)
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return PlainTextResponse("body is not a Telegram update", status_code=400)
        if not self.ready():
            return PlainTextResponse("not ready", status_code=503)  # Telegram tries again
        try:
            update = Update.de_json(data, self.app.bot)
        except Exception:
            return PlainTextResponse("body is not a Telegram update", status_code=400)
        if update.update_id in self._seen:
            return PlainTextResponse("ok")
        self._seen[update.update_id] = None
        while len(self._seen) > _SEEN:
            self._seen.popitem(last=False)
        await self.app.update_queue.put(update)
        return PlainTextResponse("ok")


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is longer than ``limit`` bytes (without reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
