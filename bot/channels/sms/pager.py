"""Urgent alerts by SMS to the care team's own numbers (ALERT_SMS_TO), through Twilio.

The text is made by ``bot.conversation.alerts`` (kind, patient id, console link, never the
patient's words); this only delivers it, to every number at once. A number Twilio refuses is
logged by its place in the list, not by the number.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.channels.sms.gateway import TwilioChannel
from scheduler.ports import SendError

log = logging.getLogger(__name__)


class SmsPager:
    """Implements ``bot.conversation.alerts.Pager``."""

    def __init__(self, channel: TwilioChannel, numbers: Sequence[str]) -> None:
        self.channel = channel
        self.numbers = list(numbers)

    async def page(self, text: str) -> int:
        """Send ``text`` to every number; how many Twilio accepted."""
        sent = await asyncio.gather(*(self._one(i, to, text) for i, to in enumerate(self.numbers)))
        return sum(sent)

    async def _one(self, i: int, to: str, text: str) -> int:
        try:
            await self.channel.page(to, text)
        except SendError as exc:
            log.warning(
                "could not send an urgent alert by SMS to ALERT_SMS_TO number %d of %d: %s",
                i + 1, len(self.numbers), exc.reason,
            )  # fmt: skip
            return 0
        except Exception:
            log.exception("could not send an urgent alert by SMS to ALERT_SMS_TO number %d", i + 1)
            return 0
        return 1
