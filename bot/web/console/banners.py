"""The banners at the top of every console page: urgent alerts nobody acknowledged, and no
way for an alert to reach a nurse (``bot.channels.reach``, the check start-up warns with)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.reach import reach
from bot.web.console.desk import ConsoleDesk


@dataclass(frozen=True)
class Banners:
    urgent: int  # urgent alerts not acknowledged
    unreachable: bool  # no nurse chat and no ALERT_SMS_TO number with Twilio


@dataclass(frozen=True)
class BannerReader:
    desk: ConsoleDesk

    async def __call__(self) -> Banners:
        found = await reach(self.desk.settings, self.desk.engine)
        return Banners(await self.desk.alerts.open_urgent(), found.nobody)
