"""TelegramChannel: the Channel port over python-telegram-bot, with Telegram's errors mapped.

- 429 -> TransientSendError(retry_after); until that time passes, further bulk sends fail fast
  without calling Telegram (hammering during a flood wait only makes it longer).
- Connection failures, 5xx and other network errors -> TransientSendError.
- A dose reminder whose request reached Telegram but got no answer in time (read timeout) ->
  PermanentSendError("maybe-sent"): Telegram usually delivers such a message, and a second
  "take your capsule" is worse than a missing one (it can mean a double dose). Every other kind
  of message is retried.
- Bot blocked (403) or chat not found (400) -> PermanentSendError, and the nurses are told.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import httpx
from telegram import KeyboardButton, ReplyKeyboardMarkup
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.limiter import BULK
from messages.render import resent_line
from scheduler.domain.model import Kind
from scheduler.ports import Clock, Outgoing, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

TAKEN, MISSED = "Taken", "Missed"
SEND_READ_TIMEOUT = 15.0  # generous: a read timeout on a dose reminder is not retried

# (patient_id, blocked) -> None; blocked is False for "chat not found".
Unreachable = Callable[[str, bool], Awaitable[None]]


def dose_keyboard() -> ReplyKeyboardMarkup:
    """The Taken / Missed buttons under a dose reminder; they send those words as text."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(TAKEN), KeyboardButton(MISSED)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def retry_after_seconds(exc: RetryAfter) -> float:
    """PTB 22 gives an int (with a deprecation warning) or, with PTB_TIMEDELTA, a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def maybe_delivered(exc: TelegramError) -> bool:
    """The request went out whole and no answer came back: Telegram may have acted on it."""
    return isinstance(exc, TimedOut) and isinstance(exc.__cause__, httpx.ReadTimeout)


class TelegramChannel:
    name = "telegram"

    def __init__(
        self, bot: ExtBot[int], clock: Clock, on_unreachable: Unreachable | None = None
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.on_unreachable = on_unreachable
        self.ready = False  # set once the bot is initialised (getMe answered)
        self.read_timeout = SEND_READ_TIMEOUT
        self._quiet_until: datetime | None = None

    async def send(self, message: Outgoing) -> str:
        if not self.ready:
            raise TransientSendError("the Telegram bot is not connected yet", code="not-ready")
        now = self.clock.now()
        if self._quiet_until is not None and now < self._quiet_until:
            wait = (self._quiet_until - now).total_seconds()
            raise TransientSendError(
                f"Telegram asked to wait {wait:.0f}s", code="429", retry_after=wait
            )
        dose = message.kind == Kind.DOSE.value
        text = message.text
        if message.maybe_sent and message.kind is not None:
            # Telegram cannot be asked whether the earlier attempt arrived (hazard H11): a
            # dose reminder that may come twice says so, so it never reads as a second dose.
            resent = resent_line(message.kind)
            if resent is not None:
                text = f"{text}\n\n{resent}"
        try:
            sent = await self.bot.send_message(
                chat_id=int(message.address.to),
                text=text,
                reply_markup=dose_keyboard() if dose else None,
                read_timeout=self.read_timeout,
                rate_limit_args=BULK,
            )
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            self._quiet_until = self.clock.now() + timedelta(seconds=wait)
            raise TransientSendError(
                f"Telegram rate limit: retry after {wait:g}s", code="429", retry_after=wait
            ) from exc
        except Forbidden as exc:
            await self._unreachable(message.patient_id, blocked=True)
            raise PermanentSendError(f"Telegram refused: {exc.message}", code="403") from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                await self._unreachable(message.patient_id, blocked=False)
                raise PermanentSendError("Telegram chat not found", code="400") from exc
            raise PermanentSendError(
                f"Telegram rejected the message: {exc.message}", code="400"
            ) from exc
        except NetworkError as exc:  # TimedOut included
            if dose and maybe_delivered(exc):
                raise PermanentSendError(
                    "Telegram did not answer in time; the reminder may have been delivered, "
                    "so it is not sent again",
                    code="maybe-sent",
                ) from exc
            raise TransientSendError(
                f"Telegram unreachable: {exc.message}",
                code="timeout" if isinstance(exc, TimedOut) else "network",
            ) from exc
        except InvalidToken as exc:
            log.error("Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather")
            raise TransientSendError("Telegram rejected the bot token", code="401") from exc
        except TelegramError as exc:
            raise TransientSendError(f"Telegram error: {exc.message}", code="telegram") from exc
        return str(sent.message_id)

    async def _unreachable(self, patient_id: str, *, blocked: bool) -> None:
        if self.on_unreachable is None:
            return
        try:
            await self.on_unreachable(patient_id, blocked)
        except Exception:  # telling the nurses must not turn a clear failure into a retry
            log.exception("could not report unreachable patient %s", patient_id)
