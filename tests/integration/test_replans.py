"""Re-plans after TAKEN / MISSED run after the answer in the web app (bot.conversation.Replans):
the answer is the same, the follow-up is still cancelled, and shut-down waits for them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from bot.conversation import Replans, Turns
from bot.web import create_app
from scheduler.model import Patient
from tests.integration.test_conversation import START, World, utc, world

__all__ = ["world"]  # the fixture, shared with test_conversation


async def follow_up_today(world: World, patient: Patient) -> str:
    [status] = [s for k, s in await world.rows(patient, "follow_up") if k == f"follow_up:{START}"]
    return status


async def test_the_web_app_answers_first_and_re_plans_after(world: World) -> None:
    inline, deferred = await world.enrol("+447700900001"), await world.enrol("+447700900002")
    await world.at(utc(START, 9, 30))
    assert await follow_up_today(world, inline) == "pending"
    expected = await world.say(inline, "taken")  # no web app: re-planned before answering
    assert await follow_up_today(world, inline) == "cancelled"

    app = create_app(world.service, worker=False)
    async with app.router.lifespan_context(app):
        replans = world.service.conversation.replans
        assert isinstance(replans, Replans)
        assert await world.say(deferred, "taken") == expected  # the same answer, word for word
        await replans.settle()
        assert await follow_up_today(world, deferred) == "cancelled"
        assert replans.pending == 0


async def test_missed_re_plans_too(world: World) -> None:
    p = await world.enrol("+447700900003")
    await world.at(utc(START, 9, 30))
    app = create_app(world.service, worker=False)
    async with app.router.lifespan_context(app):
        await world.say(p, "missed")
        assert world.service.conversation.replans is not None
        await world.service.conversation.replans.settle()
        assert await follow_up_today(world, p) == "cancelled"


async def test_shut_down_runs_the_re_plans_still_queued(world: World) -> None:
    p = await world.enrol("+447700900004")
    await world.at(utc(START, 9, 30))
    app = create_app(world.service, worker=False)
    async with app.router.lifespan_context(app):
        await world.say(p, "taken")
    assert world.service.conversation.replans is None  # after shut-down: inline again
    assert await follow_up_today(world, p) == "cancelled"


async def test_a_failing_re_plan_is_logged_and_the_answer_still_goes(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = await world.enrol("+447700900005")
    await world.at(utc(START, 9, 30))

    async def broken(patient_id: str) -> None:
        raise RuntimeError("database down")

    app = create_app(world.service, worker=False)
    async with app.router.lifespan_context(app):
        monkeypatch.setattr(world.service.care, "replan", broken)
        assert "recorded as taken" in await world.say(p, "taken")
        with caplog.at_level(logging.ERROR, logger="bot.conversation"):
            assert world.service.conversation.replans is not None
            await world.service.conversation.replans.settle()
    assert "could not re-plan patient" in caplog.text
    assert await follow_up_today(world, p) == "pending"  # the next planning pass cancels it


class _Care:
    def __init__(self, delay: float = 0.0) -> None:
        self.planned: list[str] = []
        self.delay = delay

    async def replan(self, patient_id: str) -> None:
        await asyncio.sleep(self.delay)
        self.planned.append(patient_id)


async def test_reports_queued_together_re_plan_each_patient_once() -> None:
    care = _Care()
    replans = Replans(care)  # type: ignore[arg-type]
    for pid in ("a", "b", "a", "c", "b"):
        replans.add(pid)
    await replans.settle()
    assert care.planned == ["a", "b", "c"]
    replans.add("a")  # a later report: planned again
    await replans.settle()
    assert care.planned == ["a", "b", "c", "a"]


async def test_a_report_during_its_re_plan_queues_another() -> None:
    care = _Care(delay=0.01)
    replans = Replans(care)  # type: ignore[arg-type]
    replans.add("a")
    await asyncio.sleep(0)  # "a" is being planned: a newer record may have missed its read
    replans.add("a")
    await replans.settle()
    assert care.planned == ["a", "a"]


async def test_settle_gives_up_after_its_grace(caplog: pytest.LogCaptureFixture) -> None:
    care: Any = _Care(delay=10)
    replans = Replans(care)
    replans.add("a")
    with caplog.at_level(logging.WARNING, logger="bot.conversation"):
        await replans.settle(0.05)
    assert care.planned == []
    assert "did not finish before shut-down" in caplog.text


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
            lock = conversation.turns()
            assert isinstance(lock, asyncio.Lock)
            seen.append(lock.locked())
            return 1

    world.service.alerts.notifiers.append(Nurses())
    reply = await world.say(p, "I have chest pain and can't breathe")
    assert reply and seen == [False]
    [(_, pid, _)] = [a for a in await world.service.alerts.recent() if a[0] == "red_flag"]
    assert pid == p.id
