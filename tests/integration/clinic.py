"""A whole clinic on one test database, driven by a manual clock: the real planner, outbox,
dispatcher (sending to a recording channel), conversation, care actions and confirmations.

Used by the dose-safety tests and the state machine (``test_safety_machine.py``): what the
channel received is what a patient would have read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import Conversation, Reply
from messages.render import render_for
from scheduler.domain.model import ChannelKind, Patient, PlanSettings, Regimen, RuleSet
from scheduler.domain.outbox import OutboxRow
from scheduler.ports import ManualClock
from scheduler.services.care import CareTeam, Enrolment
from scheduler.services.confirmations import Confirmations
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import is_sqlite
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.fakes.channels import RecordingChannel, resolver_for

TEAM_PHONE = "+441234567890"
NEVER = datetime.min.replace(tzinfo=UTC)
# The planner runs at least this often while the clock moves (the service runs it every
# minute; its 48-hour horizon makes every few hours enough to see every message on time).
PLAN_EVERY = timedelta(hours=4)


@dataclass
class Clinic:
    engine: AsyncEngine
    clock: ManualClock
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    materialiser: Materialiser
    care: CareTeam
    conversation: Conversation
    alerts: NurseAlerts
    dispatcher: Dispatcher
    confirmations: Confirmations
    channel: RecordingChannel
    out: io.StringIO = field(default_factory=io.StringIO)
    _phones: int = 0
    _planned_at: datetime = NEVER

    @classmethod
    def build(cls, engine: AsyncEngine, now: datetime) -> Clinic:
        clock = ManualClock(now)
        courses, outbox = SqlAlchemyCourseRepository(engine), SqlAlchemyOutbox(engine)
        settings = PlanSettings()
        materialiser = Materialiser(courses, outbox, settings, render=render_for)
        care = CareTeam(courses, outbox, materialiser, clock, SqlAlchemyAudit(engine))
        out = io.StringIO()
        alerts = NurseAlerts(engine, clock, out=out)
        conversation = Conversation(
            courses,
            care,
            clock,
            settings,
            alerts,
            outbox,
            serial=is_sqlite(engine),
            team_phone=TEAM_PHONE,
        )
        channel = RecordingChannel("sms", clock=clock)
        dispatcher = Dispatcher(outbox, courses, resolve=resolver_for(channel), clock=clock)
        confirmations = Confirmations(courses, alerts.alert)
        return cls(engine, clock, courses, outbox, materialiser, care, conversation, alerts,
                   dispatcher, confirmations, channel, out)  # fmt: skip

    async def enrol(
        self,
        *,
        start: date,
        dose_time: time = time(9, 0),
        tz: str = "Europe/London",
        regimen: str = "21/28",
        channel: ChannelKind = ChannelKind.SMS,
        can_become_pregnant: bool = False,
        rules: RuleSet = RuleSet.UK,
    ) -> Patient:
        self._phones += 1
        patient = await self.care.enrol(Enrolment(
            name="Ann Smith", tz=tz, start=start, dose_time=dose_time,
            regimen=Regimen.parse(regimen), channel=channel,
            phone=f"+4477009{self._phones:05d}" if channel is ChannelKind.SMS else None,
            can_become_pregnant=can_become_pregnant, rules=rules,
        ))  # fmt: skip
        if channel is ChannelKind.TELEGRAM:
            await self.link(patient, 7_000_000 + self._phones)
        return await self.courses.get(patient.id)

    async def link(self, patient: Patient, chat_id: int) -> None:
        from sqlalchemy import update

        from scheduler.store import tables as t

        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.patients).where(t.patients.c.id == patient.id)
                .values(telegram_chat_id=chat_id)
            )  # fmt: skip
        await self.care.replan(patient.id)

    async def say(self, patient: Patient, text: str) -> Reply:
        """A text from the patient, on their own channel, answered as the service answers."""
        fresh = await self.courses.get(patient.id)
        channel = "telegram" if fresh.channel is ChannelKind.TELEGRAM else "sms"
        return await self.conversation.handle(fresh, text, channel=channel)

    async def step(self, *, plan: bool = True) -> None:
        """One turn of the service's jobs at the current time (``plan``: the planning pass
        and the confirmations sweep too, not only dispatch)."""
        now = self.clock.now()
        if plan:
            await self.materialiser.everyone(now)
            await self.confirmations.sweep(now)
            self._planned_at = now
        await self.dispatcher.tick()

    async def run_until(self, when: datetime) -> None:
        """Move the clock to ``when`` as a running service would live through it: dispatch runs
        at every moment a message falls due, planning and the confirmations sweep at least
        every ``PLAN_EVERY`` and at the end."""
        await self.step()
        while True:
            now = self.clock.now()
            due = await self.outbox.next_due()
            nxt = min(when, self._planned_at + PLAN_EVERY)
            if due is not None and now < due < nxt:
                nxt = due
            if nxt <= now:
                break
            self.clock.set(nxt)
            await self.step(plan=nxt >= self._planned_at + PLAN_EVERY or nxt >= when)
            if nxt >= when:
                break

    async def rows(self, patient: Patient, kind: str | None = None) -> list[OutboxRow]:
        return [r for r in await self.outbox.rows(patient.id) if kind is None or r.kind == kind]

    def received(self, patient: Patient, kind: str | None = None) -> list[str]:
        """The texts the patient's channel received, oldest first."""
        return [m.text for m in self.channel.sent_to(patient.id)
                if kind is None or m.kind == kind]  # fmt: skip
