"""The Telegram inbox (issue 15 §1): an update is stored before the webhook's 200, handled once,
in order per chat, by whichever process is alive; polling keeps its offset in the database."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.store import tables as t
from scheduler.store.inbox import CLAIMED, DONE, FAILED, PENDING, SqlAlchemyInbox
from tests.conftest import TestDb, create_tables
from tests.fakes.telegram_bot import NURSE, T0, running_bot
from tests.fakes.telegram_updates import make_text_update

PATIENT_CHAT = 5001
RED_FLAG = "temp 38.6 and shivery"
LEASE = timedelta(seconds=60)


def _raw(chat: int, text: str, update_id: int) -> str:
    return json.dumps(make_text_update(chat, text, update_id=update_id))


# --- the store, on both databases ----------------------------------------------------------


async def test_a_repeated_update_id_is_stored_once(engine: AsyncEngine) -> None:
    inbox = SqlAlchemyInbox(engine)
    assert await inbox.add(10, 1, _raw(1, "a", 10), T0) is True
    assert await inbox.add(10, 1, _raw(1, "b", 10), T0) is False
    [row] = await inbox.claim(T0, 10, "w", LEASE)
    assert json.loads(row.raw)["message"]["text"] == "a"
    assert await inbox.add(10, 1, _raw(1, "c", 10), T0) is False  # also once claimed
    assert await inbox.status_of(10) == (CLAIMED, 1)


async def test_one_update_of_a_chat_at_a_time_and_in_order(engine: AsyncEngine) -> None:
    inbox = SqlAlchemyInbox(engine)
    for update_id, chat in ((3, 1), (1, 1), (2, 2), (4, 2), (5, None), (6, None)):
        await inbox.add(update_id, chat, "{}", T0)
    first = await inbox.claim(T0, 10, "w", LEASE)
    # The earliest of each chat; updates without a chat hold up nothing.
    assert [r.update_id for r in first] == [1, 2, 5, 6]
    assert await inbox.claim(T0, 10, "w", LEASE) == []  # nothing else until one is done
    by_id = {r.update_id: r for r in first}
    assert await inbox.done(by_id[2].id, by_id[2].claimed_by, T0)
    assert [r.update_id for r in await inbox.claim(T0, 10, "w", LEASE)] == [4]
    assert await inbox.done(by_id[1].id, by_id[1].claimed_by, T0)
    [three] = await inbox.claim(T0, 10, "w", LEASE)
    assert three.update_id == 3
    assert await inbox.done(three.id, three.claimed_by, T0)
    assert not await inbox.done(three.id, three.claimed_by, T0)  # only once
    assert await inbox.status_of(3) == (DONE, 1)


async def test_a_claim_past_its_lease_is_taken_by_another_worker_once(
    engine: AsyncEngine,
) -> None:
    inbox = SqlAlchemyInbox(engine)
    await inbox.add(1, 7, "{}", T0)
    await inbox.add(2, 7, "{}", T0)
    [dead] = await inbox.claim(T0, 10, "dead", LEASE)
    assert await inbox.claim(T0 + LEASE / 2, 10, "alive", LEASE) == []
    later = T0 + LEASE + timedelta(seconds=1)
    [taken] = await inbox.claim(later, 10, "alive", LEASE)
    assert taken.update_id == 1 and taken.attempts == 2
    assert await inbox.claim(later, 10, "other", LEASE) == []  # still one per chat
    assert not await inbox.done(dead.id, dead.claimed_by, later)  # the dead claim is void
    assert await inbox.done(taken.id, taken.claimed_by, later)
    [second] = await inbox.claim(later, 10, "other", LEASE)
    assert second.update_id == 2 and second.attempts == 1


async def test_renew_keeps_a_claim_and_release_stale_fails_a_poison_update(
    engine: AsyncEngine,
) -> None:
    inbox = SqlAlchemyInbox(engine)
    await inbox.add(1, 7, "{}", T0)
    await inbox.add(2, 7, "{}", T0)
    [row] = await inbox.claim(T0, 10, "w", LEASE)
    assert await inbox.renew([row.id], row.claimed_by, T0 + LEASE) == 1
    assert await inbox.claim(T0 + LEASE + timedelta(seconds=1), 10, "x", LEASE) == []
    async with engine.begin() as conn:  # started five times, each killing its process
        await conn.execute(update(t.telegram_inbox).where(t.telegram_inbox.c.id == row.id)
                           .values(attempts=5))  # fmt: skip
    assert await inbox.release_stale(T0 + 3 * LEASE, max_attempts=5) == 1
    assert await inbox.status_of(1) == (FAILED, 5)
    [next_] = await inbox.claim(T0 + 3 * LEASE, 10, "x", LEASE)  # the chat goes on
    assert next_.update_id == 2
    assert await inbox.status_of(2) == (CLAIMED, 1)


async def test_the_polling_offset_only_moves_forward(engine: AsyncEngine) -> None:
    inbox = SqlAlchemyInbox(engine)
    assert await inbox.next_offset() is None
    await inbox.save_offset(11, T0)
    await inbox.save_offset(5, T0)
    assert await inbox.next_offset() == 11
    await inbox.save_offset(12, T0)
    assert await inbox.next_offset() == 12


async def test_racing_workers_handle_each_update_once_and_in_order_per_chat(db: TestDb) -> None:
    """Four workers on engines of their own claim and finish as fast as they can."""
    engines = [db.make_engine() for _ in range(4)]
    await create_tables(engines[0])
    first = SqlAlchemyInbox(engines[0])
    for update_id in range(1, 201):
        await first.add(update_id, update_id % 7, "{}", T0)
    handled: list[tuple[int | None, int]] = []
    busy: set[int | None] = set()

    async def work(n: int) -> None:
        inbox = SqlAlchemyInbox(engines[n])
        idle = 0
        while idle < 5:
            rows = await inbox.claim(T0, 3, f"w{n}", LEASE)
            idle = 0 if rows else idle + 1
            for row in rows:
                assert row.chat_id not in busy, "two updates of one chat at once"
                busy.add(row.chat_id)
                await asyncio.sleep(0)
                handled.append((row.chat_id, row.update_id))
                busy.discard(row.chat_id)
                assert await inbox.done(row.id, row.claimed_by, T0)
            await asyncio.sleep(0.001)

    await asyncio.gather(*(work(n) for n in range(4)))
    assert sorted(u for _, u in handled) == list(range(1, 201))  # each once
    for chat in range(7):
        ids = [u for c, u in handled if c == chat]
        assert ids == sorted(ids), f"chat {chat} out of order"


# --- the service: real PTB against the fake Bot API ----------------------------------------


async def test_a_repeated_webhook_update_is_answered_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        update = make_text_update(NURSE, "/patients", update_id=900)
        for _ in range(3):
            assert (await bot.post(update)).status_code == 200
        await bot.wait_for(NURSE, 1)
        await bot.quiet()
        assert len(bot.sent_to(NURSE)) == 1
        assert await bot.gateway.inbox.status_of(900) == (DONE, 1)


async def test_an_update_stored_but_not_handled_is_answered_after_a_restart(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        await bot.gateway.pump.stop()  # the process "dies" after the 200, before handling
        update = make_text_update(PATIENT_CHAT, RED_FLAG, update_id=901)
        assert (await bot.post(update)).status_code == 200
        await bot.quiet(unhandled=1)
        assert await bot.gateway.inbox.status_of(901) == (PENDING, 0)
        alerts_before = len(bot.sent_to(NURSE))
        assert alerts_before == 0
    async with running_bot(tmp_path) as bot:  # the same database, a new process
        await bot.wait_for(PATIENT_CHAT, 1)
        await bot.wait_for(NURSE, 1)
        await bot.quiet()
        [reply] = bot.sent_to(PATIENT_CHAT)
        [alert] = bot.sent_to(NURSE)
        assert alert.text.startswith("ALERT:") and patient.id in alert.text
        assert "38" in reply.text or "team" in reply.text.lower()
        assert await bot.gateway.inbox.status_of(901) == (DONE, 1)


async def test_a_crashed_workers_claim_is_handled_by_another_after_the_lease(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        await bot.gateway.pump.stop()
        inbox = bot.gateway.inbox
        await inbox.add(902, PATIENT_CHAT, _raw(PATIENT_CHAT, RED_FLAG, 902), bot.clock.now())
        await inbox.add(903, PATIENT_CHAT, _raw(PATIENT_CHAT, "/next", 903), bot.clock.now())
        [dead] = await inbox.claim(bot.clock.now(), 10, "crashed-host:1", LEASE)
        assert dead.update_id == 902
        bot.gateway.pump.start()  # another process, alive
        await bot.quiet(unhandled=2)  # the dead worker's claim, and the update behind it
        assert bot.sent_to(PATIENT_CHAT)[-1].text.startswith("Hello")  # only the link so far
        bot.clock.advance(seconds=61)
        bot.gateway.pump.nudge()
        await bot.wait_for(NURSE, 1)
        await bot.wait_for(PATIENT_CHAT, 3)
        await bot.quiet()
        red, after = bot.sent_to(PATIENT_CHAT)[-2:]
        assert "Next dose" in after.text  # in order: the red flag's answer first
        assert len(bot.sent_to(NURSE)) == 1 and bot.sent_to(NURSE)[0].text.startswith("ALERT:")
        assert len(bot.sent_to(PATIENT_CHAT)) == 3
        assert not await inbox.done(dead.id, dead.claimed_by, bot.clock.now())
        assert await inbox.status_of(902) == (DONE, 2)
        assert red.text != after.text


async def test_polling_offset_survives_a_restart(tmp_path: Path) -> None:
    async with running_bot(tmp_path, webhook=False) as bot:
        await bot.fake.wait_for_calls("getUpdates")
        assert len(await bot.say(NURSE, "/patients")) == 1
        await bot.quiet()
        stored = await bot.gateway.inbox.next_offset()
        assert stored is not None
        assert await bot.gateway.inbox.status_of(stored - 1) == (DONE, 1)
    async with running_bot(tmp_path, webhook=False) as bot:
        calls = await bot.fake.wait_for_calls("getUpdates")
        assert int(calls[0].params["offset"]) == stored  # neither lost nor repeated
        assert len(await bot.say(NURSE, "/patients")) == 1
        await bot.quiet()
        assert len(bot.sent_to(NURSE)) == 1
        assert (await bot.gateway.inbox.next_offset() or 0) > stored
