"""Pacing against a fake that answers 429 past 30 messages/s overall or 1/s in one chat."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from scheduler.domain.model import ChannelKind
from scheduler.ports import Address, Outgoing
from tests.fakes.telegram_bot import running_bot
from tests.fakes.telegram_updates import make_text_update

PATIENT_CHAT = 5001


def bulk(chat_id: int, n: int = 0) -> Outgoing:
    return Outgoing(
        ref=str(n),
        patient_id=f"p{n}",
        address=Address(ChannelKind.TELEGRAM, str(chat_id)),
        text=f"reminder {n}",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        local_label="-",
        kind="blood_test",
    )


async def test_a_reply_to_a_patient_goes_ahead_of_a_bulk_burst(tmp_path: Path) -> None:
    async with running_bot(tmp_path, fast_chats=False) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        bot.fake.enforce_limits(30, 1)
        chats = range(10_000, 10_090)
        started = time.monotonic()
        burst = asyncio.gather(*(bot.gateway.channel.send(bulk(c, i)) for i, c in enumerate(chats)))
        # Three seconds' worth. Once 45 have arrived, the second second is under way: the
        # patient's one-a-second turn (after the welcome, sent before the burst) is over, and
        # the third second's 30 are queued. Nothing here waits for a guessed time.
        await bot.fake.wait_for_sent(1 + 45)
        assert (await bot.post(make_text_update(PATIENT_CHAT, "/next"))).status_code == 200
        ids = await burst
        elapsed = time.monotonic() - started
        order = [m.chat_id for m in bot.fake.sent[1:]]  # after the welcome
        assert len(ids) == 90 and bot.fake.too_many_requests == 0
        answered = order.index(PATIENT_CHAT)
        assert answered >= 45  # not before it was asked
        # It went ahead of the queued bulk messages: most of the third second's went after it.
        assert len(order) - 1 - answered >= 25, order
        assert elapsed >= 2.0  # 30 a second at most, not all 90 at once


async def test_one_chat_gets_at_most_one_message_a_second(tmp_path: Path) -> None:
    async with running_bot(tmp_path, fast_chats=False) as bot:
        bot.fake.enforce_limits(30, 1)
        started = time.monotonic()
        await asyncio.gather(*(bot.gateway.channel.send(bulk(PATIENT_CHAT, i)) for i in range(3)))
        assert time.monotonic() - started >= 2.0
        assert bot.fake.too_many_requests == 0
        assert [m.text for m in bot.sent_to(PATIENT_CHAT)] == [
            "reminder 0",
            "reminder 1",
            "reminder 2",
        ]


async def test_a_chat_waiting_for_its_turn_does_not_hold_up_other_chats(tmp_path: Path) -> None:
    async with running_bot(tmp_path, fast_chats=False) as bot:
        other_chat = 5002  # nothing was ever sent there, so it has no turn to wait for
        await bot.link(await bot.enrol("Ann Smith"), PATIENT_CHAT)
        # Ann's answer must wait ~1 s after her welcome; the other chat's need not wait for it.
        for chat in (PATIENT_CHAT, other_chat):
            assert (await bot.post(make_text_update(chat, "/next"))).status_code == 200
        await bot.wait_for(PATIENT_CHAT, 2)
        welcome, ann = bot.sent_to(PATIENT_CHAT)
        [other] = bot.sent_to(other_chat)
        assert "Next dose" in ann.text and "linked" in welcome.text
        assert other.text.startswith("Hello. This is a private reminder service")
        answers = [m.chat_id for m in bot.fake.sent if m is ann or m is other]
        assert answers == [other_chat, PATIENT_CHAT]
