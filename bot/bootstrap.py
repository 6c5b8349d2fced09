"""Composition root: settings -> engine, repositories, services, channels, scheduler.

The only place that knows every part. Each part is built with the few collaborators it uses
(gateways get a ``Desk``, the metrics their engine, clock and heartbeat); the ``Service`` it
returns owns the lifecycle (start, the scheduler, close) and is what the CLI and the web
process hold. Nothing imports this module but those entry points.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import BaseRoute

from bot.channels.console import ConsoleChannel
from bot.channels.desk import Desk
from bot.channels.gateway import Gateway
from bot.channels.reach import nurse_chats
from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import Conversation
from bot.settings import Settings
from bot.web.console.desk import ConsoleDesk, LinkMaker
from bot.web.metrics import Metrics
from messages.render import render_for
from scheduler.domain.model import ChannelKind, Patient, PlanSettings
from scheduler.ports import Address, Channel, Clock, SystemClock
from scheduler.runtime.jobs import Heartbeat, build_scheduler
from scheduler.runtime.planners import PlannerProcesses, PlannerSpec
from scheduler.services.care import CareTeam
from scheduler.services.confirmations import Confirmations
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import (
    PLANNING_CACHE_KIB,
    SQLITE_DEFAULT_CACHE_KIB,
    is_sqlite,
    make_engine,
)
from scheduler.store.inbox import SqlAlchemyInbox
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

if TYPE_CHECKING:
    from bot.channels.telegram.gateway import TelegramGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Routes:
    """Where a patient's messages go: their channel's gateway, or the console when no provider
    is configured at all (the embedded default)."""

    gateways: dict[ChannelKind, Gateway]
    console: ConsoleChannel

    def resolve(self, patient: Patient) -> tuple[Channel, Address] | None:
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
    beat: Heartbeat
    metrics: Metrics
    audit: SqlAlchemyAudit
    console_desk: ConsoleDesk  # what the care-team console's pages may use
    gateways: dict[ChannelKind, Gateway] = field(default_factory=dict)
    _warming: asyncio.Task[object] | None = field(default=None, init=False, repr=False)

    async def start(self, *, inbound: bool) -> None:
        for gateway in self.gateways.values():
            await gateway.start(inbound=inbound)
        await self.warn_if_no_nurse_hears()
        self.warn_if_no_sms_alerts()
        if inbound:
            # The weights of the model under the word lists load once per process (a file
            # read): in a thread, so the service is ready at once; a text that arrives sooner
            # waits for them (``messages.model`` loads under a lock).
            from messages import model

            self._warming = asyncio.create_task(asyncio.to_thread(model.probabilities, "ready"))

    async def warn_if_no_nurse_hears(self) -> None:
        """One line at start-up when patients can write in but no nurse chat gets alerts.

        Alerts go to every nurse Telegram chat (the ``nurses`` table and NURSE_TELEGRAM_IDS).
        With the console channel there are no real patients, and alerts print on the console.
        """
        if not self.gateways:
            return
        if await nurse_chats(self.settings, self.engine) != 0:  # some, or not known
            return
        log.warning(
            "no nurse can receive alerts (no nurse Telegram chat: add one with 'lenabot nurses "
            "add' or NURSE_TELEGRAM_IDS): red flags and other alerts will only be in "
            "'lenabot alerts'"
        )

    def warn_if_no_sms_alerts(self) -> None:
        """One line at start-up when urgent alerts cannot go by SMS to the team's phones."""
        s = self.settings
        if s.alert_sms_to and not s.twilio_enabled:
            log.warning(
                "ALERT_SMS_TO is set but no Twilio is configured (TWILIO_ACCOUNT_SID...): "
                "urgent alerts go to nurse chats and 'lenabot alerts' only, never by SMS"
            )
        elif not s.twilio_enabled and self.gateways:
            log.warning(
                "no Twilio is configured: urgent alerts (red flags, extra capsules) are not "
                "sent by SMS to the team, only to nurse chats and 'lenabot alerts'"
            )
        elif s.twilio_enabled and not s.alert_sms_to:
            log.warning(
                "ALERT_SMS_TO is empty: urgent alerts (red flags, extra capsules) are not sent "
                "by SMS to the team, only to nurse chats and 'lenabot alerts'"
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
            escalate=self.alerts.escalate,
            prune=self.prune,
        )

    async def prune(self, now: datetime) -> int:
        """Housekeeping: handled Telegram updates older than the retention are deleted."""
        keep = timedelta(days=self.settings.telegram_inbox_retention_days)
        pruned = await SqlAlchemyInbox(self.engine).prune(now - keep)
        if pruned:
            log.info("deleted %d handled Telegram updates older than %s", pruned, keep)
        return pruned

    async def close(self) -> None:
        if self._warming is not None:
            with contextlib.suppress(Exception):  # a thread cannot be cancelled: let it end
                await self._warming
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
    # With planner processes, the service plans only a clinic of one page (and re-plans one
    # patient at a time): SQLite's default page cache is enough for its connections.
    cache = SQLITE_DEFAULT_CACHE_KIB if settings.plan_processes else PLANNING_CACHE_KIB
    engine = make_engine(settings.database_url, cache_kib=cache)
    courses = SqlAlchemyCourseRepository(engine)
    outbox = SqlAlchemyOutbox(engine)
    horizon = timedelta(hours=settings.plan_horizon_hours)
    planners = None
    if settings.plan_processes:
        spec = PlannerSpec(settings.database_url, plan_settings(settings), horizon)
        planners = PlannerProcesses(spec, settings.plan_processes)
    materialiser = Materialiser(
        courses,
        outbox,
        plan_settings(settings),
        horizon=horizon,
        planners=planners,
        render=render_for,
    )
    audit = SqlAlchemyAudit(engine)
    care = CareTeam(courses, outbox, materialiser, clock, audit)
    console = ConsoleChannel(out)
    alerts = NurseAlerts(
        engine, clock, out=out, public_url=settings.public_url, audit=audit,
        escalate_after=timedelta(minutes=settings.alert_escalate_minutes),
    )  # fmt: skip
    conversation = Conversation(
        courses,
        care,
        clock,
        plan_settings(settings),
        alerts,
        outbox,
        serial=is_sqlite(engine),
        team_phone=settings.team_phone,
    )  # fmt: skip
    beat = Heartbeat()
    metrics = Metrics(engine, clock, beat)
    gateways: dict[ChannelKind, Gateway] = {}

    async def provider_opt_out(patient: Patient, when: datetime) -> None:
        """The provider refused because the person opted out (Twilio 21610)."""
        alert = await care.opt_out(
            patient.id,
            when,
            "at their carrier, STOP; no more messages will be sent",
            actor="system",
        )
        await alerts.alert(alert.kind, alert.text, alert.patient_id)

    dispatcher = Dispatcher(
        outbox,
        courses,
        resolve=Routes(gateways, console).resolve,
        clock=clock,
        batch=settings.dispatch_batch,
        concurrency=settings.dispatch_concurrency,
        lease=timedelta(seconds=settings.claim_lease_seconds),
        on_opt_out=provider_opt_out,
        on_result=metrics.on_result,
    )
    desk = Desk(
        settings, clock, engine, courses, outbox, care, conversation, alerts,
        plan_settings(settings), provider_opt_out,
    )  # fmt: skip
    if settings.twilio_enabled:
        from bot.channels.sms.gateway import TwilioGateway
        from bot.channels.sms.pager import SmsPager

        sms = TwilioGateway(desk)
        gateways[ChannelKind.SMS] = sms
        if settings.alert_numbers:
            alerts.pagers.append(SmsPager(sms.sender, settings.alert_numbers))
    link_for: LinkMaker | None = None
    if settings.telegram_enabled:
        from bot.channels.telegram.gateway import TelegramGateway

        telegram = TelegramGateway(desk)
        gateways[ChannelKind.TELEGRAM] = telegram
        alerts.notifiers.append(telegram)
        link_for = _link_maker(telegram)
    console_desk = ConsoleDesk(
        settings, clock, engine, courses, outbox, care, alerts, plan_settings(settings), link_for
    )
    return Service(
        settings, engine, clock, courses, outbox, materialiser, dispatcher, care, console,
        conversation, alerts, beat, metrics, audit, console_desk, gateways,
    )  # fmt: skip


def _link_maker(telegram: TelegramGateway) -> LinkMaker:
    """The console's "make a Telegram link": Telegram unreachable is one sentence, not a 500."""
    from telegram.error import TelegramError

    from bot.conversation.validate import InvalidInput

    async def link_for(patient_id: str) -> str:
        try:
            return await telegram.new_link(patient_id)
        except TelegramError as exc:
            raise InvalidInput(
                f"could not reach Telegram ({exc.message}): try again in a minute"
            ) from None

    return link_for
