"""A red flag through the real channels: the urgent answer reaches the patient and every nurse
chat gets an alert with the patient and their words (real twilio and PTB clients, fakes on
loopback)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.server import serve_asgi
from tests.fakes.sms_app import PHONE, TELEGRAM_TOKEN, sms_world
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.telegram_harness import running_bot

NURSES = (7001, 7002)


async def test_red_flag_by_sms_is_answered_urgently_and_alerts_each_nurse_chat(
    tmp_path: Path,
) -> None:
    telegram = FakeTelegramBotApi(token=TELEGRAM_TOKEN)
    async with serve_asgi(telegram.app) as api, sms_world(
        tmp_path, team_phone="+441234567890", telegram_api=api,
        nurse_ids=",".join(map(str, NURSES)),
    ) as world:
        patient = await world.enrol()
        answer = await world.text_in("temp of 38.7 and shivery")
        assert answer.status_code == 200
        assert "<Message>URGENT: call your treatment team now on +441234567890. " in answer.text
        await telegram.wait_for_sent(len(NURSES))
        alerts = {m.chat_id: m.text for m in telegram.sent}
        assert set(alerts) == set(NURSES)
        for text in alerts.values():
            assert patient.id in text and '"temp of 38.7 and shivery"' in text
            assert PHONE not in text and "Ann" not in text


async def test_red_flag_by_telegram_is_answered_urgently_and_alerts_each_nurse_chat(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, nurse_ids=",".join(map(str, NURSES))) as bot:
        patient = await bot.enrol()
        await bot.link(patient, chat_id=555)
        [reply] = await bot.say(555, "I have chest pain")
        assert reply.text.startswith("URGENT: call your treatment team now")
        for nurse in NURSES:
            await bot.wait_for(nurse, 1)
            [alert] = bot.sent_to(nurse)
            assert patient.id in alert.text and "I have chest pain" in alert.text
