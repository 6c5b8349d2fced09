"""One inbound message, one transaction (``Conversation.handle`` in a unit of work), on SQLite
and PostgreSQL: a dose report and its re-plan commit together before the answer returns; a
message that fails half-way leaves only the patient's words behind; two reports of one dose
sent at once record it once; database turns on SQLite, and nurse alerts outside them."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import Conversation, MessageFailed, Turns
from messages.render import render_for
from scheduler.domain.model import ChannelKind, Patient, PlanSettings, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import CareTeam, Enrolment
from scheduler.services.materialise import Materialiser
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import is_sqlite
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import TestDb, create_tables
from tests.integration.conversation.test_conversation import START, World, utc, world

__all__ = ["world"]  # the fixture, shared with test_conversation


@dataclass
class Clinic:
    """The conversation's parts on one test database (SQLite file or PostgreSQL schema)."""

    engine: AsyncEngine
    clock: ManualClock
    conversation: Conversation
    care: CareTeam

    async def enrol(self, phone: str) -> Patient:
        return await self.care.enrol(Enrolment(
            name="Ann Smith", tz="Europe/London", start=START, dose_time=time(9, 0),
            regimen=Regimen.parse("21/28"), channel=ChannelKind.SMS, phone=phone,
        ))  # fmt: skip

    async def say(self, patient: Patient, text: str) -> str:
        return (await self.conversation.handle(patient, text, channel="sms")).text

    async def follow_up(self, patient: Patient) -> str:
        [status] = [r.status for r in await self.care.outbox.rows(patient.id)
                    if r.key == f"follow_up:{START}"]  # fmt: skip
        return status

    async def count(self, table: str, patient: Patient) -> int:
        tab = t.metadata.tables[table]
        async with self.engine.connect() as conn:
            return int((await conn.execute(
                select(func.count()).select_from(tab).where(tab.c.patient_id == patient.id)
            )).scalar_one())  # fmt: skip


@pytest.fixture
async def clinic(db: TestDb) -> AsyncIterator[Clinic]:
    engine = db.make_engine()
    await create_tables(engine)
    clock = ManualClock(utc(START - timedelta(days=1), 8))
    courses, outbox = SqlAlchemyCourseRepository(engine), SqlAlchemyOutbox(engine)
    materialiser = Materialiser(courses, outbox, PlanSettings(), render=render_for)
    care = CareTeam(courses, outbox, materialiser, clock, SqlAlchemyAudit(engine))
    alerts = NurseAlerts(engine, clock, out=io.StringIO())
    conversation = Conversation(
        courses, care, clock, PlanSettings(), alerts, outbox, serial=is_sqlite(engine)
    )
    yield Clinic(engine, clock, conversation, care)


async def at_half_past_nine(clinic: Clinic) -> None:
    clinic.clock.set(utc(START, 9, 30))
    await clinic.care.materialiser.everyone(clinic.clock.now())


async def test_a_dose_report_and_its_re_plan_commit_before_the_answer(clinic: Clinic) -> None:
    taken, missed = await clinic.enrol("+447700900001"), await clinic.enrol("+447700900002")
    await at_half_past_nine(clinic)
    assert await clinic.follow_up(taken) == await clinic.follow_up(missed) == "pending"
    assert "recorded as taken" in await clinic.say(taken, "taken")
    assert await clinic.follow_up(taken) == "cancelled"
    await clinic.say(missed, "missed")
    assert await clinic.follow_up(missed) == "cancelled"


async def test_a_message_that_fails_half_way_keeps_only_the_patients_words(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol("+447700900003")
    await at_half_past_nine(clinic)

    def lose_the_connection(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "dose_records" in statement and statement.lstrip().upper().startswith("INSERT"):
            raise OperationalError(statement, {}, ConnectionResetError("connection lost"))

    event.listen(clinic.engine.sync_engine, "before_cursor_execute", lose_the_connection)
    with pytest.raises(OperationalError):
        await clinic.say(p, "taken")
    event.remove(clinic.engine.sync_engine, "before_cursor_execute", lose_the_connection)

    assert await clinic.count("dose_records", p) == 0
    assert await clinic.count("inbound", p) == 1  # recorded on its own, once
    assert await clinic.follow_up(p) == "pending"  # the re-plan went with the dose record
    # Nothing half-done is in the way of the patient saying it again.
    assert "recorded as taken" in await clinic.say(p, "taken")
    assert (await clinic.count("dose_records", p), await clinic.count("inbound", p)) == (1, 2)
    assert await clinic.follow_up(p) == "cancelled"


async def test_an_extra_capsule_whose_message_fails_is_still_urgent_and_alerted(
    clinic: Clinic,
) -> None:
    """Found by reading the pipeline: the failure path took the alert of a red flag only, and
    an extra capsule (whose alert comes from its dose record) raised IndexError instead."""
    p = await clinic.enrol("+447700900005")
    await at_half_past_nine(clinic)

    def lose_the_connection(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "dose_records" in statement and statement.lstrip().upper().startswith("INSERT"):
            raise OperationalError(statement, {}, ConnectionResetError("connection lost"))

    async def given() -> Patient:
        return p

    event.listen(clinic.engine.sync_engine, "before_cursor_execute", lose_the_connection)
    try:
        with pytest.raises(MessageFailed) as failed:
            await clinic.conversation.handle_from(given, "I took 2 by mistake", "sms")
    finally:
        event.remove(clinic.engine.sync_engine, "before_cursor_execute", lose_the_connection)
    assert "call" in failed.value.reply.text.lower()
    alerts = await clinic.conversation.alerts.recent()  # type: ignore[attr-defined]
    assert [(kind, pid) for kind, pid, _ in alerts] == [("extra_capsule", p.id)]
    assert "I took 2" not in alerts[0][2]  # the nurses' line names no words of the patient
    assert await clinic.count("inbound", p) == 1  # their words are kept


async def test_the_same_dose_reported_twice_at_once_is_recorded_once(clinic: Clinic) -> None:
    """E.g. TAKEN by SMS and by Telegram in the same second. On PostgreSQL the two run at
    once: the second waits for the first's lock on the course and then reads its record."""
    p = await clinic.enrol("+447700900004")
    await at_half_past_nine(clinic)
    # Two connections in the pool, so that neither message waits to connect while the other
    # runs to the end: their statements interleave, one round trip each at a time.
    await asyncio.gather(clinic.count("inbound", p), clinic.count("inbound", p))
    replies = await asyncio.gather(clinic.say(p, "taken"), clinic.say(p, "TAKEN"))
    assert sorted("already recorded" in r for r in replies) == [False, True]
    assert "Do not take another" in next(r for r in replies if "already recorded" in r)
    assert await clinic.count("dose_records", p) == 1
    assert await clinic.count("inbound", p) == 2


async def test_turns_on_sqlite_go_one_at_a_time() -> None:
    turns = Turns(serial=True)
    inside, most = 0, 0

    async def one() -> None:
        nonlocal inside, most
        async with turns():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(5)))
    assert most == 1
    assert isinstance(Turns(serial=False)(), contextlib.nullcontext)  # PostgreSQL: no waiting


async def test_nurse_alerts_are_pushed_outside_the_database_turn(world: World) -> None:
    """A red flag's push to the nurses (Telegram, maybe slow) must not hold up other
    patients' messages: it goes after the turn, still before the answer."""
    p = await world.enrol("+447700900006")
    conversation = world.service.conversation
    assert conversation.turns.serial  # SQLite
    seen: list[bool] = []

    class Nurses:
        async def notify_nurses(self, text: str) -> int:
            seen.append(conversation.turns.locked())
            return 1

    world.service.alerts.notifiers.append(Nurses())
    reply = await world.say(p, "I have chest pain and can't breathe")
    assert reply and seen == [False]
    [(_, pid, _)] = [a for a in await world.service.alerts.recent() if a[0] == "red_flag"]
    assert pid == p.id
