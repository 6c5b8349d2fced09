"""POST /telegram: where Telegram delivers updates when PUBLIC_URL is set.

The secret-token header is compared in constant time (403 otherwise, before the body is
read); the body is capped at MAX_BODY_BYTES (413); anything that is not an update is a 400,
never a 500. An accepted update is stored in the inbox (scheduler/store/inbox.py), committed,
before the 200: Telegram never sends an update again once it has its 200, so an update only
queued in memory would be lost with the process. If the database cannot store it, the answer
is a 503 and Telegram sends it again later. A repeated update id answers 200 and changes
nothing. The inbox pump (inbox.py) handles it afterwards, in this process or another.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import Update
from telegram.ext import Application

from scheduler.store.inbox import SqlAlchemyInbox

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramWebhook:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        secret: str,
        max_body: int,
        ready: Callable[[], bool],
        inbox: SqlAlchemyInbox,
        now: Callable[[], datetime],
        stored: Callable[[], None],
    ) -> None:
        self.app = app
        self.secret = secret.encode()
        self.max_body = max_body
        self.ready = ready
        self.inbox = inbox
        self.now = now
        self.stored = stored

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
        chat = update.effective_chat
        try:
            added = await self.inbox.add(
                update.update_id, chat.id if chat else None, body.decode(), self.now()
            )
        except Exception:
            log.exception("Telegram update %s could not be stored", update.update_id)
            return PlainTextResponse("not stored", status_code=503)  # Telegram tries again
        if added:
            self.stored()
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
