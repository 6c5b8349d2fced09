"""The care team always hears: alerts no nurse chat received say so on stdout without the
patient's words, and a service with real patients but no nurse chat warns at start-up."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import Service, build
from bot.channels.telegram.roster import NurseRoster
from bot.settings import load_settings
from scheduler.ports import ManualClock
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi
from tests.fakes.sms_app import TELEGRAM_TOKEN, sms_world
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.ops.test_ops import free_port, lenabot_process

T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
WORDS = "temp of 38.7 and shivery"
NURSE = 7001
NO_NURSE = "no nurse can receive alerts"


# -- stdout carries no words ----------------------------------------------------------------


async def test_a_red_flag_no_nurse_chat_received_is_on_stdout_without_the_words(
    tmp_path: Path,
) -> None:
    async with sms_world(tmp_path) as world:  # SMS on, no Telegram: no nurse chat at all
        patient = await world.enrol()
        answer = await world.text_in(WORDS)
        assert "URGENT" in answer.text
        out = world.service.alerts.out
        assert isinstance(out, io.StringIO)
        assert out.getvalue() == (
            f"[nurse alert] red_flag for patient {patient.id}: see 'lenabot alerts'\n"
        )
        [(kind, pid, text)] = await world.alerts()  # the whole alert is kept for the team
        assert (kind, pid) == ("red_flag", patient.id) and f'"{WORDS}"' in text


async def test_an_alert_a_blocked_nurse_chat_refused_is_on_stdout_without_the_words(
    tmp_path: Path,
) -> None:
    telegram = FakeTelegramBotApi(token=TELEGRAM_TOKEN)
    telegram.block_chat(NURSE)  # the nurse never pressed Start, or blocked the bot
    async with serve_asgi(telegram.app) as api, sms_world(
        tmp_path, telegram_api=api, nurse_ids=str(NURSE)
    ) as world:
        patient = await world.enrol()
        await world.text_in(WORDS)
        out = world.service.alerts.out
        assert isinstance(out, io.StringIO)
        assert out.getvalue() == (
            f"[nurse alert] red_flag for patient {patient.id}: see 'lenabot alerts'\n"
        )
        assert telegram.sent == []


# -- the start-up warning -----------------------------------------------------------------


def warnings_about_nurses(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if NO_NURSE in r.getMessage()]


async def telegram_service(tmp_path: Path, api: str, nurse_ids: str = "") -> Service:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nurses.db'}"
    await upgrade_async(url)
    settings = load_settings(
        _env_file=None, database_url=url, telegram_bot_token=TELEGRAM_TOKEN,
        telegram_api_base=api, nurse_telegram_ids=nurse_ids, team_phone="+441632960999",
    )  # fmt: skip
    return build(settings, clock=ManualClock(T0), out=io.StringIO())


async def test_telegram_with_no_nurse_chat_warns_once_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_asgi(FakeTelegramBotApi(token=TELEGRAM_TOKEN).app) as api:
        service = await telegram_service(tmp_path, api)
        try:
            await service.start(inbound=False)
        finally:
            await service.close()
    [warning] = warnings_about_nurses(caplog)
    assert warning.levelno == logging.WARNING
    assert "will only be in 'lenabot alerts'" in warning.getMessage()


@pytest.mark.parametrize("how", ["nurses table", "NURSE_TELEGRAM_IDS"])
async def test_a_nurse_chat_means_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    async with serve_asgi(FakeTelegramBotApi(token=TELEGRAM_TOKEN).app) as api:
        service = await telegram_service(
            tmp_path, api, nurse_ids=str(NURSE) if how == "NURSE_TELEGRAM_IDS" else ""
        )
        try:
            if how == "nurses table":
                await NurseRoster(service.engine).add(NURSE, "Nora Nurse", T0)
            await service.start(inbound=False)
        finally:
            await service.close()
    assert warnings_about_nurses(caplog) == []


async def test_the_console_channel_needs_no_nurse_chat(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    await upgrade_async(url)
    settings = load_settings(_env_file=None, database_url=url, telegram_bot_token=None,
                             twilio_account_sid="")  # fmt: skip
    service = build(settings, clock=ManualClock(T0), out=io.StringIO())
    try:
        await service.start(inbound=True)
    finally:
        await service.close()
    assert warnings_about_nurses(caplog) == []


def test_lenabot_run_with_sms_and_no_nurse_chat_warns_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "NURSE_", "LOG_"))}  # fmt: skip
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}", LOG_FORMAT="json",
        TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="t" * 32,
        TWILIO_FROM="+15005550006", TWILIO_API_BASE=f"http://127.0.0.1:{free_port()}",
        PUBLIC_URL="https://lenabot.example", TEAM_PHONE="+441632960999",
    )  # fmt: skip
    up = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env,
                        capture_output=True, timeout=60, check=False)  # fmt: skip
    assert up.returncode == 0, up.stderr
    with lenabot_process(env) as (_, output):
        pass  # it answers /healthz: start-up is over
    records = [json.loads(line) for line in output().splitlines() if line.strip()]
    [warning] = [r for r in records if NO_NURSE in r["msg"]]
    assert warning["level"] == "warning" and warning["logger"] == "bot.bootstrap"
    assert "'lenabot alerts'" in warning["msg"]
