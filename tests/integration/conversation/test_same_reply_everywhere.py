"""The same text gets the same reply by SMS (a signed Twilio webhook into the real app), by
Telegram (a webhook update through python-telegram-bot) and through ``lenabot say`` (the
conversation the CLI calls), for a patient on the same course at the same moment."""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

from tests.fakes.sms_app import sms_world
from tests.fakes.telegram_bot import running_bot

TEXTS = (
    "took it but feel sick",
    "Taken. When is my next blood test?",
    "no fever, no pain, just tired",
    "temp 38.5 and shivery",
    "what day of the cycle am I on",
    "can i open the capsule and mix it in yoghurt",
    "forgot, can I take it now?",
    "Took 3 by accident what do I do",
    "Merry Christmas to all the nurses",
    "tengo fiebre de 39",
)
_MESSAGE = re.compile(r"<Message>(.*)</Message>", re.DOTALL)


async def test_one_text_one_reply_by_sms_telegram_and_lenabot_say(tmp_path: Path) -> None:
    sms_replies, say_replies, telegram_replies = [], [], []
    (tmp_path / "sms").mkdir()
    (tmp_path / "tg").mkdir()
    async with sms_world(tmp_path / "sms") as world:
        for i, text in enumerate(TEXTS):
            await world.enrol(phone=f"+4477009002{i:02d}")
            answer = await world.text_in(text, sender=f"+4477009002{i:02d}")
            found = _MESSAGE.search(answer.text)
            sms_replies.append(html.unescape(found[1]) if found else "")
            console = await world.enrol(phone=f"+4477009003{i:02d}")
            say_replies.append((await world.service.conversation.handle(console, text)).text)
    async with running_bot(tmp_path / "tg", nurse_ids="") as bot:
        chats = itertools.count(8100)
        for text in TEXTS:
            patient = await bot.enrol()
            chat = next(chats)
            await bot.link(patient, chat_id=chat)
            [reply] = await bot.say(chat, text)
            telegram_replies.append(reply.text)
    for text, sms, say, telegram in zip(TEXTS, sms_replies, say_replies, telegram_replies,
                                        strict=True):  # fmt: skip
        assert sms and sms == say == telegram, (text, sms, say, telegram)
