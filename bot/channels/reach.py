"""Whether an alert reaches any nurse: the one check behind start-up's warnings
(``bot.bootstrap``) and the console's banner.

Alerts go to every nurse Telegram chat (the ``nurses`` table and NURSE_TELEGRAM_IDS, when
Telegram is on); an urgent one also by SMS to every ALERT_SMS_TO number, when Twilio is
configured. With neither, an alert is only in the console and ``lenabot alerts``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.roster import NurseRoster
from bot.settings import Settings

log = logging.getLogger(__name__)


async def nurse_chats(settings: Settings, engine: AsyncEngine) -> int | None:
    """How many nurse Telegram chats alerts go to (0 with Telegram off); None when the
    database could not be read (the jobs say so)."""
    if not settings.telegram_enabled:
        return 0
    try:
        return len(await NurseRoster(engine, settings.nurse_ids).chat_ids())
    except Exception as exc:
        log.debug("could not read the nurses: %s", type(exc).__name__)
        return None


def sms_pages(settings: Settings) -> int:
    """How many numbers an urgent alert is sent to by SMS (0 without Twilio)."""
    return len(settings.alert_numbers) if settings.twilio_enabled else 0


@dataclass(frozen=True)
class Reach:
    chats: int | None  # None: not known (the database could not be read)
    numbers: int

    @property
    def nobody(self) -> bool:
        """Known to reach no nurse at all: no chat and no number."""
        return self.chats == 0 and self.numbers == 0


async def reach(settings: Settings, engine: AsyncEngine) -> Reach:
    return Reach(await nurse_chats(settings, engine), sms_pages(settings))
