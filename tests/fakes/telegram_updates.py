"""Build Telegram Bot API Update JSON (as Telegram sends it) and deliver it to a webhook.

The dicts are exactly what Telegram puts on the wire, so they can be queued on
FakeTelegramBotApi for getUpdates, POSTed to the app's webhook, or fed to
``telegram.Update.de_json(update, bot)``.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Final

import httpx

# Process-wide counters: Telegram's ids only ever grow, and tests may mix several fakes.
_update_ids = itertools.count(100_000)
_user_message_ids = itertools.count(1)
_callback_ids = itertools.count(4_000_000_000)

SECRET_TOKEN_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_BOT_USER: Final[dict[str, Any]] = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Lenabot",
    "username": "lenabot_test_bot",
}


def make_user(user_id: int, first_name: str = "Lena", **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **extra}


def make_chat(chat_id: int, first_name: str = "Lena", title: str = "Test group") -> dict[str, Any]:
    # Positive ids are private chats (chat id == user id); "-100..." are supergroups.
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": title}


def _command_entities(text: str) -> list[dict[str, Any]]:
    # Telegram marks a leading "/command" with a bot_command entity; PTB's CommandHandler only
    # matches messages that carry it, so without this "/start" would look like plain text.
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"offset": 0, "length": len(command.encode("utf-16-le")) // 2, "type": "bot_command"}]


def make_text_update(
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    first_name: str = "Lena",
    language_code: str | None = "de",
    update_id: int | None = None,
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, Any]:
    """Update for a text message that user `user_id` (default: the private chat's id) sent."""
    if user_id is None:
        if chat_id < 0:
            raise ValueError("group chats need an explicit user_id")
        user_id = chat_id
    extra = {"language_code": language_code} if language_code else {}
    message: dict[str, Any] = {
        "message_id": next(_user_message_ids) if message_id is None else message_id,
        "from": make_user(user_id, first_name, **extra),
        "chat": make_chat(chat_id, first_name),
        "date": int(time.time()) if date is None else date,
        "text": text,
    }
    if entities := _command_entities(text):
        message["entities"] = entities
    return {"update_id": next(_update_ids) if update_id is None else update_id, "message": message}


def make_callback_query_update(
    chat_id: int,
    data: str,
    *,
    message_id: int,
    message_text: str = "",
    user_id: int | None = None,
    first_name: str = "Lena",
    bot_user: dict[str, Any] | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    """Update for a press on an inline button with callback `data`, under bot message
    `message_id` (e.g. the message_id the fake returned for the reminder)."""
    user_id = chat_id if user_id is None else user_id
    return {
        "update_id": next(_update_ids) if update_id is None else update_id,
        "callback_query": {
            "id": str(next(_callback_ids)),
            "from": make_user(user_id, first_name),
            "chat_instance": str(-abs(chat_id) * 7 - 1),
            "data": data,
            "message": {
                "message_id": message_id,
                "from": bot_user or DEFAULT_BOT_USER,
                "chat": make_chat(chat_id, first_name),
                "date": int(time.time()),
                "text": message_text,
            },
        },
    }


async def post_update(
    webhook_url: str,
    update: dict[str, Any],
    *,
    secret_token: str | None = None,
    http_timeout: float = 5.0,
) -> httpx.Response:
    """POST `update` to a webhook the way Telegram does (JSON body, optional secret header)."""
    headers = {SECRET_TOKEN_HEADER: secret_token} if secret_token else {}
    async with httpx.AsyncClient(timeout=http_timeout) as client:
        return await client.post(webhook_url, json=update, headers=headers)
