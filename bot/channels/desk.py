"""What a channel's gateway may use from the rest of the service, built by ``bot.bootstrap``.

Gateways answer patients (the conversation), carry out nurses' commands (the care team, the
courses) and tell the nurses (alerts); they never see the dispatcher, the planner or the other
gateways. One frozen value instead of the whole service, so a gateway cannot reach further.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import Conversation
from bot.settings import Settings
from scheduler.domain.model import Patient, PlanSettings
from scheduler.ports import Clock
from scheduler.services.care import CareTeam
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

# The provider says the person opted out (Twilio 21610): stop everything and tell the nurses.
ProviderOptOut = Callable[[Patient, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Desk:
    settings: Settings
    clock: Clock
    engine: AsyncEngine  # the nurse roster and the Telegram link codes keep their own tables
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox  # delivery receipts
    care: CareTeam
    conversation: Conversation
    alerts: NurseAlerts
    plan: PlanSettings
    provider_opt_out: ProviderOptOut
