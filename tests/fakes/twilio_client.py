"""A twilio client for tests that talk to the fake Twilio API: the service's own builder
(``bot/channels/sms/client.py``) with its aiohttp session closed on exit."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from twilio.rest import Client

from bot.channels.sms.client import (
    DEFAULT_TIMEOUT_S,
    TWILIO_API_BASE_URL,
    build_async_twilio_client,
)


@contextlib.asynccontextmanager
async def open_async_twilio_client(
    account_sid: str,
    auth_token: str,
    *,
    api_base_url: str = TWILIO_API_BASE_URL,
    request_timeout: float = DEFAULT_TIMEOUT_S,
) -> AsyncIterator[Client]:
    """`build_async_twilio_client` whose aiohttp session is closed on exit."""
    client = build_async_twilio_client(
        account_sid, auth_token, api_base_url=api_base_url, request_timeout=request_timeout
    )
    try:
        yield client
    finally:
        await client.http_client.close()
