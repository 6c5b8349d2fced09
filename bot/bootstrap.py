"""Composition root: settings -> engine, repositories, channels, dispatcher, scheduler."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console import ConsoleChannel
from bot.conversation import Conversation
from bot.settings import Settings
from scheduler.care import CareTeam
from scheduler.db import make_engine
from scheduler.dispatch import Dispatcher
from scheduler.jobs import Heartbeat, build_scheduler
from scheduler.materialise import Materialiser
from scheduler.model import Patient, PlanSettings
from scheduler.outbox import SqlAlchemyOutbox
from scheduler.ports import Address, Channel, Clock, SystemClock
from scheduler.repository import SqlAlchemyCourseRepository

log = logging.getLogger(__name__)


@dataclass
class Service:
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    materialiser: Materialiser
    dispatcher: Dispatcher
    care: CareTeam
    console: ConsoleChannel
    conversation: Conversation
    beat: Heartbeat = field(default_factory=Heartbeat)

    def resolve(self, patient: Patient) -> tuple[Channel, Address] | None:
        """Where a patient's messages go. With no provider configured, the console."""
        to = patient.phone or (str(patient.telegram_chat_id) if patient.telegram_chat_id else "")
        return self.console, Address(patient.channel, to)

    def scheduler(self):  # type: ignore[no-untyped-def]
        return build_scheduler(
            self.materialiser, self.dispatcher, self.clock,
            plan_every=self.settings.plan_interval_seconds,
            dispatch_every=self.settings.dispatch_interval_seconds, beat=self.beat,
        )

    async def close(self) -> None:
        await self.engine.dispose()


def plan_settings(settings: Settings) -> PlanSettings:
    return PlanSettings(
        notice_time=settings.notice_time, blood_test_lead_days=settings.blood_test_lead_days
    )


def build(settings: Settings, clock: Clock | None = None, out: TextIO | None = None) -> Service:
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    courses = SqlAlchemyCourseRepository(engine)
    outbox = SqlAlchemyOutbox(engine)
    materialiser = Materialiser(
        courses, outbox, plan_settings(settings),
        horizon=timedelta(hours=settings.plan_horizon_hours),
    )
    care = CareTeam(courses, outbox, materialiser, clock)
    console = ConsoleChannel(out)
    service: Service
    dispatcher = Dispatcher(
        outbox, courses, resolve=lambda p: service.resolve(p), clock=clock,
        batch=settings.dispatch_batch, concurrency=settings.dispatch_concurrency,
        lease=timedelta(seconds=settings.claim_lease_seconds),
        on_opt_out=lambda p, when: care.opt_out(p.id, when),
    )
    conversation = Conversation(courses, care, clock, plan_settings(settings),
                                team_phone=settings.team_phone)
    service = Service(settings, engine, clock, courses, outbox, materialiser, dispatcher, care,
                      console, conversation)
    return service
