"""The Telegram inbox (issue 15 §1): an update is stored before the webhook's 200, handled once,
in order per chat, by whichever process is alive; polling keeps its offset in the database."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.inbox import MAX_ATTEMPTS
from scheduler.store import tables as t
from scheduler.store.inbox import CLAIMED, DONE, FAILED, PENDING, SqlAlchemyInbox
from tests.conftest import TestDb, create_tables
from tests.fakes.telegram_bot import NURSE, T0, Bot, running_bot
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
    assert await inbox.release_stale(T0 + 3 * LEASE, max_attempts=5) == [(1, 7)]
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


async def _crashed_before_done(bot: Bot, update_id: int) -> None:
    """The row as a process leaves it that died after handling and before the done mark."""
    async with bot.service.engine.begin() as conn:
        await conn.execute(
            update(t.telegram_inbox).where(t.telegram_inbox.c.update_id == update_id)
            .values(status=CLAIMED, claimed_by="crashed-host:1#0", done_at=None)
        )  # fmt: skip


async def test_an_update_handled_again_after_a_crash_answers_and_alerts_once(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        inbox = bot.gateway.inbox
        finished = asyncio.Event()
        mark = inbox.done

        async def marking(id: int, worker: str, now: datetime) -> bool:
            marked = await mark(id, worker, now)
            if (await inbox.status_of(910) or ("",))[0] == DONE:  # not the link's update
                finished.set()
            return marked

        inbox.done = marking  # type: ignore[method-assign]
        assert (await bot.post(make_text_update(PATIENT_CHAT, RED_FLAG, update_id=910))).is_success
        async with asyncio.timeout(30):  # the first red flag trains the model's reader
            await finished.wait()
        assert await inbox.status_of(910) == (DONE, 1)
        assert len(bot.sent_to(PATIENT_CHAT)) == 2 and len(bot.sent_to(NURSE)) == 1
        await _crashed_before_done(bot, 910)
        finished.clear()
        bot.clock.advance(seconds=61)  # past the dead process's lease
        bot.gateway.pump.nudge()
        async with asyncio.timeout(5):
            await finished.wait()  # handled again
        assert await inbox.status_of(910) == (DONE, 2)
        assert len(bot.sent_to(PATIENT_CHAT)) == 2  # the welcome and one answer
        assert len(bot.sent_to(NURSE)) == 1


async def test_an_update_given_up_on_alerts_the_nurses(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        await bot.gateway.pump.stop()
        inbox = bot.gateway.inbox
        await inbox.add(920, PATIENT_CHAT, _raw(PATIENT_CHAT, "/next", 920), bot.clock.now())
        [row] = await inbox.claim(bot.clock.now(), 10, "crashed-host:1", LEASE)
        async with bot.service.engine.begin() as conn:  # it killed its process five times
            await conn.execute(update(t.telegram_inbox).where(t.telegram_inbox.c.id == row.id)
                               .values(attempts=MAX_ATTEMPTS))  # fmt: skip
        bot.clock.advance(seconds=61)
        bot.gateway.pump.start()
        await bot.wait_for(NURSE, 1)
        [alert] = bot.sent_to(NURSE)
        assert patient.id in alert.text and "could not be handled" in alert.text
        assert await inbox.status_of(920) == (FAILED, MAX_ATTEMPTS)
        assert [a[0] for a in await bot.service.alerts.recent()] == ["inbound_failed"]
        await bot.service.metrics.refresh()
        scraped = bot.service.metrics.exposition().body.decode()
        assert 'lenabot_telegram_inbox_rows{status="failed"} 1.0' in scraped


async def test_housekeeping_deletes_handled_updates_after_the_retention(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.gateway.pump.stop()
        inbox, now = bot.gateway.inbox, bot.clock.now()
        assert bot.service.settings.telegram_inbox_retention_days == 7
        for update_id in (1, 2, 3):
            await inbox.add(update_id, update_id, "{}", now - timedelta(days=10))
        for row in await inbox.claim(now, 10, "w", LEASE):
            if row.update_id != 3:  # 3 stays claimed: never deleted, however old
                age = timedelta(days=8 if row.update_id == 1 else 6)
                assert await inbox.done(row.id, row.claimed_by, now - age)
        assert await bot.service.prune(now) == 1
        assert await inbox.status_of(1) is None
        assert await inbox.status_of(2) == (DONE, 1)
        assert await inbox.status_of(3) == (CLAIMED, 1)
        assert bot.service.scheduler().get_job("prune") is not None  # hourly


@pytest.mark.parametrize(
    ("status", "kept"),
    [(502, True), (429, True), (400, False), (403, False)],
    ids=["bad-gateway", "too-many", "bad-request", "blocked"],
)
async def test_a_reply_telegram_did_not_take_for_now_is_sent_after_the_lease(
    tmp_path: Path, status: int | None, kept: bool
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        bot.fake.fail_next(status, chat_id=PATIENT_CHAT)  # the answer; the alert goes
        update = make_text_update(PATIENT_CHAT, RED_FLAG, update_id=904)
        assert (await bot.post(update)).status_code == 200
        await bot.wait_for(NURSE, 1)  # the alert went; the patient's answer did not
        await bot.quiet(unhandled=1 if kept else 0)
        assert len(bot.sent_to(PATIENT_CHAT)) == 1  # only the welcome
        if not kept:  # a refusal that will not change: finished, not tried again
            assert await bot.gateway.inbox.status_of(904) == (DONE, 1)
            return
        assert await bot.gateway.inbox.status_of(904) == (CLAIMED, 1)
        bot.clock.advance(seconds=61)
        bot.gateway.pump.nudge()
        await bot.wait_for(PATIENT_CHAT, 2)
        await bot.quiet()
        assert await bot.gateway.inbox.status_of(904) == (DONE, 2)
        [_, answer] = bot.sent_to(PATIENT_CHAT)
        assert "38" in answer.text or "team" in answer.text.lower()
        assert len(bot.sent_to(NURSE)) == 1  # the conversation was not read again
        async with bot.service.engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(t.inbound))
        assert stored == 1


async def test_a_live_handler_keeps_its_claim_across_the_lease(tmp_path: Path) -> None:
    """The order: an update is claimed, its reply is slow at Telegram, and the lease passes
    meanwhile. The pump renews the claim before it sweeps stale ones, so its own live claim
    is not taken back and handled a second time (which would send the reply twice)."""
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        bot.fake.fail_next(None, hang_s=1.0, chat_id=PATIENT_CHAT)  # slow, then delivered
        update = make_text_update(PATIENT_CHAT, "/next", update_id=905)
        assert (await bot.post(update)).status_code == 200
        await bot.fake.wait_for_calls("sendMessage", 2)  # the welcome, then the slow answer
        assert await bot.gateway.inbox.status_of(905) == (CLAIMED, 1)
        bot.clock.advance(seconds=61)  # past the lease while the answer is on its way
        bot.gateway.pump.nudge()
        await bot.wait_for(PATIENT_CHAT, 2)
        await bot.quiet()
        assert len(bot.sent_to(PATIENT_CHAT)) == 2  # the welcome and one answer
        assert await bot.gateway.inbox.status_of(905) == (DONE, 1)
