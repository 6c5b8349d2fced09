"""Without PUBLIC_URL the bot long-polls (a laptop); a worker-only process never receives."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.settings import SettingsError, load_settings
from scheduler.domain.model import ChannelKind
from scheduler.ports import Address, ManualClock, Outgoing, TransientSendError
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.fakes.telegram_bot import NURSE, T0, TEAM_PHONE, TOKEN, running_bot

PATIENT_CHAT = 5001


async def test_polling_delivers_a_queued_update_to_the_conversation(tmp_path: Path) -> None:
    async with running_bot(tmp_path, webhook=False) as bot:
        assert bot.gateway.routes() == []  # no webhook endpoint to forge
        assert bot.fake.webhook is None
        await bot.fake.wait_for_calls("getUpdates")
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)  # "/start CODE" through getUpdates too
        reply = (await bot.say(PATIENT_CHAT, "what is next?"))[-1].text
        assert "Today is cycle 1, day 10. Next dose: Wed 10 Jun at 09:00" in reply
        bot.clock.advance(hours=1)
        assert "recorded as taken" in (await bot.say(PATIENT_CHAT, "taken"))[-1].text
        # Nurse commands work the same way.
        assert patient.id in (await bot.say(NURSE, "/patients"))[-1].text


async def test_worker_only_process_sends_but_never_receives(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}"
    await upgrade_async(url)
    fake = FakeTelegramBotApi(token=TOKEN)
    async with serve_asgi(fake.app) as api:
        for public_url in ("", "https://bot.example.org"):
            service = build(
                load_settings(
                    database_url=url,
                    telegram_bot_token=TOKEN,
                    telegram_webhook_secret="s3cret",
                    telegram_api_base=api,
                    public_url=public_url,
                    nurse_telegram_ids=str(NURSE),
                    team_phone=TEAM_PHONE,
                ),
                clock=ManualClock(T0),
            )
            await service.start(inbound=False)
            try:
                assert await service.alerts.notifiers[0].notify_nurses("ALERT: test") == 1
            finally:
                await service.close()
        methods = {c.method for c in fake.calls}
        assert methods == {"getMe", "sendMessage"}
        assert fake.webhook is None


async def test_telegram_down_at_start_up_does_not_stop_the_service(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    await upgrade_async(url)
    async with serve_asgi(FakeTelegramBotApi(token=TOKEN).app) as api:
        pass  # the port is closed again: nothing answers there now
    service = build(
        load_settings(
            database_url=url, telegram_bot_token=TOKEN, telegram_api_base=api,
            team_phone=TEAM_PHONE,
        ),
        clock=ManualClock(T0),
    )
    gateway = service.gateways[ChannelKind.TELEGRAM]
    try:
        await service.start(inbound=True)
        with pytest.raises(TransientSendError, match="not connected"):
            await gateway.channel.send(
                Outgoing("1", "p1", Address(ChannelKind.TELEGRAM, "5"), "hi", T0, "-")
            )
    finally:
        await service.close()  # also stops the background reconnection


async def test_a_token_telegram_refuses_stops_start_up_with_one_sentence(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'token.db'}"
    await upgrade_async(url)
    async with serve_asgi(FakeTelegramBotApi(token=TOKEN).app) as api:
        service = build(
            load_settings(
                database_url=url, telegram_bot_token="999:WRONG", telegram_api_base=api,
                team_phone=TEAM_PHONE,
            ),
            clock=ManualClock(T0),
        )
        try:
            with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN is invalid"):
                await service.start(inbound=False)
        finally:
            await service.close()


async def test_a_webhook_url_telegram_refuses_stops_start_up_with_one_sentence(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hook.db'}"
    await upgrade_async(url)
    async with serve_asgi(FakeTelegramBotApi(token=TOKEN).app) as api:
        service = build(
            load_settings(
                database_url=url,
                telegram_bot_token=TOKEN,
                telegram_api_base=api,
                public_url="http://bot.example.org",
                telegram_webhook_secret="s3cret",
                team_phone=TEAM_PHONE,
            ),
            clock=ManualClock(T0),
        )
        try:
            with pytest.raises(SettingsError, match=r"(?i)https url must be provided.*PUBLIC_URL"):
                await service.start(inbound=True)
        finally:
            await service.close()
