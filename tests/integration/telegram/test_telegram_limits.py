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
        await asyncio.sleep(1.0)  # the welcome's 1 s in that chat is over
        bot.fake.enforce_limits(30, 1)
        chats = range(10_000, 10_060)
        started = time.monotonic()
        burst = asyncio.gather(*(bot.gateway.channel.send(bulk(c, i)) for i, c in enumerate(chats)))
        await asyncio.sleep(0.2)
        assert (await bot.post(make_text_update(PATIENT_CHAT, "/next"))).status_code == 200
        ids = await burst
        elapsed = time.monotonic() - started
        order = [m.chat_id for m in bot.fake.sent[1:]]  # after the welcome
        assert len(ids) == 60 and bot.fake.too_many_requests == 0
        # The first second's 30 had gone before it came; it leads the next second's 30.
        assert order.index(PATIENT_CHAT) <= 30, order
        assert elapsed >= 1.0  # 30 in the first second at most, not all 60 at once


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
        other_chat = 5002
        await bot.link(await bot.enrol("Bo Other"), other_chat)
        await asyncio.sleep(1.0)
        await bot.link(await bot.enrol("Ann Smith"), PATIENT_CHAT)
        # Ann's answer must wait ~1 s after her welcome; Bo's need not wait for it.
        for chat in (PATIENT_CHAT, other_chat):
            assert (await bot.post(make_text_update(chat, "/next"))).status_code == 200
        await bot.wait_for(PATIENT_CHAT, 2)
        answers = [
            m.chat_id for m in bot.fake.sent if "Next dose" in m.text and "linked" not in m.text
        ]
        assert answers == [other_chat, PATIENT_CHAT]
