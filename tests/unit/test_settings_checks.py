"""Settings that would crash later, or leave a patient without a number to call, are refused
at once in one sentence naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

SMS = {
    "twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "t" * 32,
    "twilio_from": "+15005550006", "public_url": "https://lenabot.example",
}  # fmt: skip
TELEGRAM = {"telegram_bot_token": "123:ABC", "telegram_webhook_secret": "s3cret"}
CONSOLE = {"telegram_bot_token": None, "twilio_account_sid": ""}


def settings(tmp_path: Path, **values: object) -> Settings:
    values.setdefault("database_url", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    return load_settings(_env_file=None, **values)


@pytest.mark.parametrize("channel", [SMS, TELEGRAM, SMS | TELEGRAM], ids=["sms", "telegram", "both"])
@pytest.mark.parametrize("team_phone", ["", "   "], ids=["empty", "blank"])
def test_sms_or_telegram_without_team_phone_is_refused(
    tmp_path: Path, channel: dict[str, object], team_phone: str
) -> None:
    with pytest.raises(SettingsError) as err:
        settings(tmp_path, team_phone=team_phone, **channel)
    assert str(err.value) == (
        "setting TEAM_PHONE is missing: with SMS or Telegram on, urgent answers must give "
        "patients the team's number"
    )


def test_team_phone_is_optional_on_the_console_and_kept_with_a_channel(tmp_path: Path) -> None:
    assert settings(tmp_path, **CONSOLE).team_phone == ""
    s = settings(tmp_path, team_phone="+441632960999", **SMS)
    assert s.twilio_enabled and s.team_phone == "+441632960999"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://lenabot@db.example/lenabot", "has a driver lenabot does not support (mysql)"),
        ("foo://x", "has a driver lenabot does not support (foo)"),
        ("postgresql+psycopg://u@h/db", "has a driver lenabot does not support (postgresql+psycopg)"),
        ("not a url", "is not a database URL"),
        ("postgresql://h:port/db", "is not a database URL"),
        (
            "sqlite+aiosqlite:////nonexistent-dir/x.db",
            "names a SQLite file in a folder that does not exist (/nonexistent-dir)",
        ),
    ],
)
def test_a_database_url_lenabot_cannot_use_is_one_sentence(
    tmp_path: Path, url: str, says: str
) -> None:
    with pytest.raises(SettingsError) as err:
        settings(tmp_path, database_url=url)
    assert str(err.value).startswith(f"setting DATABASE_URL {says}")
    assert "\n" not in str(err.value)


def test_a_database_url_naming_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^setting DATABASE_URL names a folder"):
        settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///lenabot.db",  # the default: a file in the working directory
        "sqlite:///lenabot.db",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite:///file::memory:?cache=shared&uri=true",
        "postgres://lenabot@db.example/lenabot",
        "postgresql://lenabot:secret@db.example:5432/lenabot",
        "postgresql+asyncpg://lenabot@db.example/lenabot",
    ],
)
def test_the_database_urls_operators_paste_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings(tmp_path, database_url=url).database_url == url


@pytest.mark.parametrize("level", ["LOUD", "verbose", "", "10"])
def test_an_unknown_log_level_is_one_sentence(tmp_path: Path, level: str) -> None:
    with pytest.raises(SettingsError) as err:
        settings(tmp_path, log_level=level)
    assert str(err.value) == (
        f"setting LOG_LEVEL is {level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )


def test_log_level_is_read_in_any_case(tmp_path: Path) -> None:
    assert settings(tmp_path, log_level=" warning ").log_level == "WARNING"


def test_alert_numbers_are_e164_numbers_each_once(tmp_path: Path) -> None:
    s = settings(tmp_path, alert_sms_to=" +447700900501, +15005550006 ,+447700900501,")
    assert s.alert_numbers == ["+447700900501", "+15005550006"]
    assert (s.alert_escalate_minutes, settings(tmp_path).alert_numbers) == (15, [])


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("07700900501", "setting ALERT_SMS_TO: phone '07700900501' is not in E.164 form: use + "
                        "then country code and number, e.g. +447700900123"),
        ("+447700900501;+447700900502", "setting ALERT_SMS_TO: phone '+447700900501;"
                                        "+447700900502' is not in E.164 form: use + then "
                                        "country code and number, e.g. +447700900123"),
    ],
)  # fmt: skip
def test_a_wrong_alert_number_is_refused_in_one_sentence(
    tmp_path: Path, value: str, sentence: str
) -> None:
    with pytest.raises(SettingsError) as err:
        settings(tmp_path, alert_sms_to=value)
    assert str(err.value) == sentence


@pytest.mark.parametrize("minutes", [0, 24 * 60 + 1])
def test_escalation_minutes_are_bounded(tmp_path: Path, minutes: int) -> None:
    with pytest.raises(SettingsError, match=r"^setting ALERT_ESCALATE_MINUTES is invalid"):
        settings(tmp_path, alert_escalate_minutes=minutes)
