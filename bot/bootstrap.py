"""Composition root: settings -> engine, repositories, channels, dispatcher, scheduler."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import BaseRoute

from bot.channels.console import ConsoleChannel
from bot.channels.gateway import Gateway
from bot.channels.telegram.roster import NurseRoster
from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import Conversation
from bot.settings import Settings
from bot.web.metrics import Metrics
from scheduler.domain.model import ChannelKind, Patient, PlanSettings
from scheduler.ports import Address, Channel, Clock, SystemClock
from scheduler.runtime.jobs import Heartbeat, build_scheduler
from scheduler.runtime.planners import PlannerProcesses, PlannerSpec
from scheduler.services.care import CareTeam
from scheduler.services.confirmations import Confirmations
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store.db import is_sqlite, make_engine
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

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
    alerts: NurseAlerts
    beat: Heartbeat = field(default_factory=Heartbeat)
    gateways: dict[ChannelKind, Gateway] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)

    def resolve(self, patient: Patient) -> tuple[Channel, Address] | None:
        """Where a patient's messages go. With no provider configured at all, the console."""
        if not self.gateways:
            to = patient.phone or str(patient.telegram_chat_id or "")
            return self.console, Address(patient.channel, to)
        gateway = self.gateways.get(patient.channel)
        if gateway is None:
            return None
        if patient.channel is ChannelKind.SMS and patient.phone:
            return gateway.channel, Address(ChannelKind.SMS, patient.phone)
        if patient.channel is ChannelKind.TELEGRAM and patient.telegram_chat_id:
            return gateway.channel, Address(ChannelKind.TELEGRAM, str(patient.telegram_chat_id))
        return None  # e.g. a Telegram patient who has not opened their link yet

    async def start(self, *, inbound: bool) -> None:
        for gateway in self.gateways.values():
            await gateway.start(inbound=inbound)
        await self.warn_if_no_nurse_hears()
        if inbound:
            # The model under the word lists trains once per process (about two seconds):
            # here, so the first patient's text does not wait for it.
            from messages import model

            await asyncio.to_thread(model.probabilities, "ready")

    async def warn_if_no_nurse_hears(self) -> None:
        """One line at start-up when patients can write in but no nurse chat gets alerts.

        Alerts go to every nurse Telegram chat (the ``nurses`` table and NURSE_TELEGRAM_IDS).
        With the console channel there are no real patients, and alerts print on the console.
        """
        if not self.gateways:
            return
        if ChannelKind.TELEGRAM in self.gateways:
            roster = NurseRoster(self.engine, self.settings.nurse_ids)
            try:
                if await roster.chat_ids():
                    return
            except Exception as exc:  # the database is down: the jobs will say so
                log.debug("could not read the nurses at start-up: %s", type(exc).__name__)
                return
        log.warning(
            "no nurse can receive alerts (no nurse Telegram chat: add one with 'lenabot nurses "
            "add' or NURSE_TELEGRAM_IDS): red flags and other alerts will only be in "
            "'lenabot alerts'"
        )

    def routes(self) -> list[BaseRoute]:
        return [r for g in self.gateways.values() for r in g.routes()]

    def scheduler(self) -> AsyncIOScheduler:
        return build_scheduler(
            self.materialiser,
            self.dispatcher,
            self.clock,
            plan_every=self.settings.plan_interval_seconds,
            dispatch_every=self.settings.dispatch_interval_seconds,
            beat=self.beat,
            confirmations=Confirmations(self.courses, self.alerts.alert),
        )

    async def close(self) -> None:
        for gateway in self.gateways.values():
            try:
                await gateway.stop()
            except Exception:
                log.exception("stopping the %s gateway failed", gateway.kind.value)
        if self.materialiser.planners is not None:
            await self.materialiser.planners.close()
        await self.engine.dispose()


def plan_settings(settings: Settings) -> PlanSettings:
    return PlanSettings(
        notice_time=settings.notice_time,
        blood_test_lead_days=settings.blood_test_lead_days,
        follow_up_after=timedelta(minutes=settings.follow_up_after_minutes),
    )


def build(settings: Settings, clock: Clock | None = None, out: TextIO | None = None) -> Service:
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    courses = SqlAlchemyCourseRepository(engine)
    outbox = SqlAlchemyOutbox(engine)
    horizon = timedelta(hours=settings.plan_horizon_hours)
    planners = None
    if settings.plan_processes:
        spec = PlannerSpec(settings.database_url, plan_settings(settings), horizon)
        planners = PlannerProcesses(spec, settings.plan_processes)
    materialiser = Materialiser(
        courses, outbox, plan_settings(settings), horizon=horizon, planners=planners
    )
    care = CareTeam(courses, outbox, materialiser, clock)
    console = ConsoleChannel(out)
    service: Service
    dispatcher = Dispatcher(
        outbox,
        courses,
        resolve=lambda p: service.resolve(p),
        clock=clock,
        batch=settings.dispatch_batch,
        concurrency=settings.dispatch_concurrency,
        lease=timedelta(seconds=settings.claim_lease_seconds),
        on_opt_out=lambda p, when: _opted_out_by_provider(service, p, when),
    )
    alerts = NurseAlerts(engine, clock, out=out)
    conversation = Conversation(
        courses,
        care,
        clock,
        plan_settings(settings),
        alerts,
        outbox,
        serial=is_sqlite(engine),
        team_phone=settings.team_phone,
    )
    service = Service(
        settings,
        engine,
        clock,
        courses,
        outbox,
        materialiser,
        dispatcher,
        care,
        console,
        conversation,
        alerts,
    )
    dispatcher.on_result = service.metrics.on_result
    if settings.twilio_enabled:
        from bot.channels.sms.gateway import TwilioGateway

        service.gateways[ChannelKind.SMS] = TwilioGateway(service)
    if settings.telegram_enabled:
        from bot.channels.telegram.gateway import TelegramGateway

        telegram = TelegramGateway(service)
        service.gateways[ChannelKind.TELEGRAM] = telegram
        alerts.notifiers.append(telegram)
    return service


async def _opted_out_by_provider(service: Service, patient: Patient, when: datetime) -> None:
    """The provider refused because the person opted out (Twilio 21610): stop and tell nurses."""
    await service.care.opt_out(patient.id, when)
    await service.alerts.alert(
        "opt_out",
        f"patient {patient.id} has opted out at their carrier (STOP); "
        "no more messages will be sent",
        patient.id,
    )
