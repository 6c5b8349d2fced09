"""A red flag through the real channels: the urgent answer reaches the patient and every nurse
chat gets an alert with the patient and their words (real twilio and PTB clients, fakes on
loopback)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.server import serve_asgi
from tests.fakes.sms_app import PHONE, TELEGRAM_TOKEN, sms_world
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.fakes.telegram_bot import running_bot

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


def _fail_dose_records(engine: AsyncEngine) -> Callable[[], None]:
    """Make every statement on dose records fail, as a lost connection would; returns undo."""

    def lose(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "dose_records" in statement or "inbound" in statement.lower():
            raise OperationalError(statement, {}, ConnectionResetError("connection lost"))

    event.listen(engine.sync_engine, "before_cursor_execute", lose)
    return lambda: event.remove(engine.sync_engine, "before_cursor_execute", lose)


async def test_a_message_that_cannot_be_handled_still_gets_an_answer_and_the_team_hears(
    tmp_path: Path,
) -> None:
    """SMS and Telegram alike: a red flag gets the urgent instruction even when the database
    fails under it, and the nurses get the red flag; any other text gets an apology that says
    whom to call, and the nurses hear a message could not be handled."""
    for folder in ("sms", "tg"):
        (tmp_path / folder).mkdir()
    telegram = FakeTelegramBotApi(token=TELEGRAM_TOKEN)
    async with serve_asgi(telegram.app) as api, sms_world(
        tmp_path / "sms", team_phone="+441234567890", telegram_api=api, nurse_ids="7001",
    ) as world:  # fmt: skip
        patient = await world.enrol()
        undo = _fail_dose_records(world.service.engine)
        urgent = await world.text_in("temp of 39 and shivering")
        plain = await world.text_in("taken")
        undo()
        assert "<Message>URGENT: call your treatment team now on +441234567890. " in urgent.text
        assert "could not be handled just now" in plain.text and "+441234567890" in plain.text
        await telegram.wait_for_sent(2)
        pushed = [m.text for m in telegram.sent if m.chat_id == 7001]
        assert any(patient.id in t and "temp of 39 and shivering" in t for t in pushed)
        assert any(patient.id in t and "could not be handled" in t for t in pushed)
        kinds = sorted(k for k, pid, _ in await world.alerts() if pid == patient.id)
        assert kinds == ["inbound_failed", "red_flag"]

    async with running_bot(tmp_path / "tg", nurse_ids="7001") as bot:
        patient = await bot.enrol()
        await bot.link(patient, chat_id=555)
        undo = _fail_dose_records(bot.service.engine)
        [urgent] = await bot.say(555, "I have chest pain")
        [plain] = await bot.say(555, "missed it")
        undo()
        assert urgent.text.startswith("URGENT: call your treatment team now")
        assert "could not be handled just now" in plain.text
        await bot.wait_for(7001, 2)
        assert any("I have chest pain" in m.text for m in bot.sent_to(7001))


async def test_an_opted_out_telegram_patients_red_flag_is_still_answered_urgently(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, nurse_ids="7001") as bot:
        patient = await bot.enrol()
        await bot.link(patient, chat_id=556)
        await bot.say(556, "STOP")
        [reply] = await bot.say(556, "my temperature is 38.9")
        assert reply.text.startswith("URGENT: call your treatment team now")
        await bot.wait_for(7001, 2)  # the opt-out, then the red flag
        assert any("38.9" in m.text for m in bot.sent_to(7001))
