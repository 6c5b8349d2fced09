"""What the care-team console may use from the rest of the service, built by ``bot.bootstrap``.

Like a gateway's ``Desk``: the course store and the care team (every change a nurse makes goes
through ``CareTeam``, exactly as the CLI's), the outbox (to read what was sent), the alerts,
the planner's settings (previews), the clock, the engine (the staff and session tables) and
the settings; never the dispatcher, the planner or a gateway. ``link_for`` makes a Telegram
patient's one-time link when Telegram is on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation.alerts import NurseAlerts
from bot.settings import Settings
from scheduler.domain.model import PlanSettings
from scheduler.ports import Clock
from scheduler.services.care import CareTeam
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

LinkMaker = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class ConsoleDesk:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    care: CareTeam
    alerts: NurseAlerts
    plan: PlanSettings
    link_for: LinkMaker | None = None
