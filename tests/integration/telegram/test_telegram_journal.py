"""Handling a Telegram update again (its process died before the done mark) redoes nothing
recorded as done (bot/channels/telegram/journal.py): the conversation's work, its reply and
its alerts, each once. On both databases, with the real conversation and alerts."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.journal import Journal
from bot.conversation.conversation import MessageFailed, Reply
from bot.conversation.turns import Turns
from scheduler.domain.model import ChannelKind, Patient
from scheduler.ports import StepTaken
from scheduler.store import tables as t
from scheduler.store.db import unit_of_work
from scheduler.store.inbox import DONE, FAILED, PENDING, SqlAlchemyInbox
from tests.integration.clinic import Clinic

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
RED_FLAG = "temp 38.6 and shivery"


class Nurses:
    """A nurse chat that counts what it was told."""

    def __init__(self) -> None:
        self.told: list[str] = []

    async def notify_nurses(self, text: str) -> int:
        self.told.append(text)
        return 1


async def _count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def _clinic(engine: AsyncEngine) -> tuple[Clinic, Nurses, Patient]:
    clinic = Clinic.build(engine, T0)
    nurses = Nurses()
    clinic.alerts.notifiers.append(nurses)
    patient = await clinic.enrol(start=date(2026, 6, 1), channel=ChannelKind.TELEGRAM)
    return clinic, nurses, patient


async def _handle(clinic: Clinic, patient: Patient, text: str, update_id: int) -> Reply:
    """What PatientSide does with an update: the conversation, then the reply (sent once)."""
    inbox = SqlAlchemyInbox(clinic.engine)
    journal = Journal(inbox, update_id, clinic.clock.now, clinic.conversation.turns)

    async def given() -> Patient:
        return patient

    found = await clinic.conversation.handle_from(given, text, "telegram", steps=journal)
    assert found is not None
    reply = found[1]

    async def send() -> str:
        clinic.out.write(f"[sent] {reply.text}\n")
        return "1"

    await journal.once(send)
    return reply


def _sent(clinic: Clinic) -> int:
    return clinic.out.getvalue().count("[sent] ")


async def test_steps_are_recorded_once_and_only_with_their_transaction(
    engine: AsyncEngine,
) -> None:
    inbox = SqlAlchemyInbox(engine)
    assert await inbox.step(5, 1) is None
    await inbox.record_step(5, 1, "a", T0)
    assert await inbox.step(5, 1) == "a"
    with pytest.raises(StepTaken):  # a second process recording the same step
        await inbox.record_step(5, 1, "b", T0)
    with contextlib.suppress(RuntimeError):
        async with unit_of_work(engine):
            await inbox.record_step(5, 2, "c", T0)
            raise RuntimeError("the work failed: its step goes with it")
    assert await inbox.step(5, 2) is None
    assert await inbox.step(5, 1) == "a"


async def test_a_red_flag_handled_again_answers_and_alerts_once(engine: AsyncEngine) -> None:
    clinic, nurses, patient = await _clinic(engine)
    first = await _handle(clinic, patient, RED_FLAG, 100)
    assert first.intent == "red_flag"
    assert len(nurses.told) == 1 and patient.id in nurses.told[0]
    texts, alerts = await _count(engine, t.inbound), await _count(engine, t.alerts)

    again = await _handle(clinic, patient, RED_FLAG, 100)  # the process died before "done"
    assert again == first
    assert len(nurses.told) == 1, "the nurses were alerted twice"
    assert _sent(clinic) == 1, "the patient was answered twice"
    assert await _count(engine, t.inbound) == texts
    assert await _count(engine, t.alerts) == alerts == 1


async def test_only_the_steps_not_recorded_are_done_again(engine: AsyncEngine) -> None:
    clinic, nurses, patient = await _clinic(engine)
    await _handle(clinic, patient, RED_FLAG, 200)
    # Steps: 1 the conversation (with the alert's row), 2 the alert's push, 3 the reply.
    async with engine.begin() as conn:  # it died after the conversation committed
        await conn.execute(delete(t.telegram_steps).where(t.telegram_steps.c.step > 1))
    await _handle(clinic, patient, RED_FLAG, 200)
    assert len(nurses.told) == 2 and nurses.told[0] == nurses.told[1]  # pushed, not raised
    assert _sent(clinic) == 2
    assert await _count(engine, t.alerts) == 1
    async with engine.begin() as conn:  # it died after the alert's push, before the reply
        await conn.execute(delete(t.telegram_steps).where(t.telegram_steps.c.step == 3))
    await _handle(clinic, patient, RED_FLAG, 200)
    assert len(nurses.told) == 2
    assert _sent(clinic) == 3


async def test_a_dose_report_handled_again_records_nothing_twice(engine: AsyncEngine) -> None:
    clinic, _, patient = await _clinic(engine)
    first = await _handle(clinic, patient, "taken", 300)
    async with engine.connect() as conn:
        before = (await conn.execute(select(t.dose_records))).all()
    assert await _handle(clinic, patient, "taken", 300) == first
    async with engine.connect() as conn:
        assert (await conn.execute(select(t.dose_records))).all() == before
    assert await _count(engine, t.inbound) == 1


async def test_prune_deletes_old_handled_updates_and_their_steps_only(
    engine: AsyncEngine,
) -> None:
    inbox = SqlAlchemyInbox(engine)
    day = timedelta(days=1)
    for update_id in (1, 2, 3, 4, 5):
        await inbox.add(update_id, update_id, "{}", T0)
    for row in await inbox.claim(T0, 10, "w", timedelta(seconds=60)):
        if row.update_id in (1, 2):
            assert await inbox.done(row.id, row.claimed_by, T0 - 8 * day if row.update_id == 1
                                    else T0 - day)  # fmt: skip
        await inbox.record_step(row.update_id, 1, "x", T0)
    await inbox.release_stale(T0 + day, max_attempts=1)  # 3, 4, 5: failed
    await inbox.add(6, 6, "{}", T0)  # pending
    assert await inbox.prune(T0 - 7 * day) == 1
    assert await inbox.status_of(1) is None
    assert await inbox.step(1, 1) is None
    assert await inbox.status_of(2) == (DONE, 1)
    assert await inbox.step(2, 1) == "x"
    assert await inbox.status_of(3) == (FAILED, 1)
    assert await inbox.status_of(6) == (PENDING, 0)


async def test_an_urgent_turn_goes_before_waiting_ordinary_ones() -> None:
    turns = Turns(serial=True)
    order: list[str] = []
    first_in = asyncio.Event()
    let_go = asyncio.Event()

    async def holder() -> None:
        async with turns():
            first_in.set()
            await let_go.wait()
            order.append("holder")

    async def one(name: str, urgent: bool = False) -> None:
        async with turns(urgent=urgent):
            order.append(name)

    held = asyncio.create_task(holder())
    await first_in.wait()
    waiting = [asyncio.create_task(one("a")), asyncio.create_task(one("b"))]
    gone = asyncio.create_task(one("cancelled", urgent=True))
    urgent = asyncio.create_task(one("urgent", urgent=True))
    await asyncio.sleep(0)  # let them all queue
    gone.cancel()
    let_go.set()
    await asyncio.gather(held, urgent, *waiting)
    assert gone.cancelled()
    assert order == ["holder", "urgent", "a", "b"]


async def test_a_message_whose_handling_failed_answers_the_same_when_handled_again(
    engine: AsyncEngine,
) -> None:
    clinic, nurses, patient = await _clinic(engine)
    inbox = SqlAlchemyInbox(clinic.engine)
    answer = clinic.conversation._answer

    async def broken(*args: object, **kw: object) -> object:
        raise RuntimeError("the database went away mid-message")

    async def given() -> Patient:
        return patient

    clinic.conversation._answer = broken  # type: ignore[method-assign]
    journal = Journal(inbox, 400, clinic.clock.now, clinic.conversation.turns)
    with pytest.raises(MessageFailed) as failed:
        await clinic.conversation.handle_from(given, RED_FLAG, "telegram", steps=journal)
    assert failed.value.reply.intent == "red_flag"
    assert len(nurses.told) == 1  # told of the red flag, though the message failed

    clinic.conversation._answer = answer  # type: ignore[method-assign]
    journal = Journal(inbox, 400, clinic.clock.now, clinic.conversation.turns)
    found = await clinic.conversation.handle_from(given, RED_FLAG, "telegram", steps=journal)
    assert found is not None and found[1] == failed.value.reply
    assert len(nurses.told) == 1
    assert await _count(engine, t.alerts) == 1
    assert await _count(engine, t.inbound) == 1


async def test_a_process_whose_claim_lapsed_stops_when_the_other_recorded_first(
    engine: AsyncEngine,
) -> None:
    """Two processes handle one update (the first one's lease ran out while it was slow):
    the second to commit the conversation's step rolls its work back and answers nothing."""
    clinic, nurses, patient = await _clinic(engine)
    await _handle(clinic, patient, RED_FLAG, 500)
    inbox = SqlAlchemyInbox(clinic.engine)
    late = Journal(inbox, 500, clinic.clock.now, clinic.conversation.turns)

    async def read_before_the_other_committed() -> str | None:
        late._step += 1
        return None

    late.recall = read_before_the_other_committed  # type: ignore[method-assign]

    async def given() -> Patient:
        return patient

    with pytest.raises(StepTaken):
        await clinic.conversation.handle_from(given, RED_FLAG, "telegram", steps=late)
    assert len(nurses.told) == 1
    assert await _count(engine, t.alerts) == 1
    assert await _count(engine, t.inbound) == 1
