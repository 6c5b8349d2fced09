"""The async twilio client builder now lives in ``bot/channels/sms/client.py``; re-exported for tests."""

from __future__ import annotations

from bot.channels.sms.client import (
    DEFAULT_TIMEOUT_S,
    TWILIO_API_BASE_URL,
    LenabotAsyncTwilioHttpClient,
    build_async_twilio_client,
    open_async_twilio_client,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "TWILIO_API_BASE_URL",
    "LenabotAsyncTwilioHttpClient",
    "build_async_twilio_client",
    "open_async_twilio_client",
]
