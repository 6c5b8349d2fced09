"""Every knob, from the environment or a .env file, validated with one clear sentence."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scheduler.store.db import DEFAULT_URL, DatabaseUrlError, check_url

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(DEFAULT_URL, description="SQLAlchemy URL; SQLite file by default")
    notice_time: time = Field(time(10, 0), description="local time for non-dose messages")
    blood_test_lead_days: int = Field(2, ge=0, le=14)
    follow_up_after_minutes: int = Field(180, ge=0, le=11 * 60, description="0: no follow-ups")
    plan_horizon_hours: int = Field(48, ge=1, le=24 * 14)
    plan_interval_seconds: float = Field(60.0, gt=0)
    plan_processes: int = Field(
        2, ge=0, le=64,
        description="planner processes for a clinic over one page (2,000 patients); 0: none",
    )  # fmt: skip
    dispatch_interval_seconds: float = Field(2.0, gt=0)
    dispatch_batch: int = Field(100, ge=1, le=5000)
    dispatch_concurrency: int = Field(16, ge=1, le=512)
    claim_lease_seconds: int = Field(300, ge=10)
    team_phone: str = Field("", description="the treatment team's number, quoted to patients")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field("text", pattern="^(text|json)$")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest webhook body accepted")

    # Channels. With neither configured, the console channel prints every message.
    public_url: str = Field("", description="https root Twilio and Telegram reach")
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr | None = None
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = Field(10.0, gt=0, le=120)
    nurse_telegram_ids: str = Field("", description="comma-separated Telegram user ids")
    # An inbound update claimed longer than this (its process died) is handled by another.
    telegram_lease_seconds: float = Field(60.0, gt=0, le=3600)
    # Handled updates are kept this long in the inbox (for tracing a complaint), then deleted.
    telegram_inbox_retention_days: float = Field(7.0, gt=0, le=366)
    # Urgent alerts (red flags, extra capsules) also go by SMS to these numbers, and again,
    # once, to them and every nurse chat when nobody acknowledged them in time.
    alert_sms_to: str = Field("", description="comma-separated E.164 numbers of the team")
    alert_escalate_minutes: int = Field(15, ge=1, le=24 * 60)
    # The care-team console: every account needs an authenticator code (admins always do).
    console_require_totp: bool = False

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def nurse_ids(self) -> set[int]:
        return {int(x) for x in self.nurse_telegram_ids.replace(" ", "").split(",") if x}

    @property
    def alert_numbers(self) -> list[str]:
        """ALERT_SMS_TO as E.164 numbers (checked at start-up), each once."""
        from bot.conversation.validate import parse_phone

        found = [parse_phone(x) for x in self.alert_sms_to.replace(" ", "").split(",") if x]
        return list(dict.fromkeys(found))

    @field_validator("alert_sms_to")
    @classmethod
    def _alert_numbers(cls, v: str) -> str:
        from bot.conversation.validate import InvalidInput, parse_phone

        for part in v.replace(" ", "").split(","):
            try:
                if part:
                    parse_phone(part)
            except InvalidInput as exc:
                raise SettingsError(f"setting ALERT_SMS_TO: {exc}") from None
        return v

    @field_validator("nurse_telegram_ids")
    @classmethod
    def _ids(cls, v: str) -> str:
        for part in v.replace(" ", "").split(","):
            if part and not part.isdigit():
                raise ValueError(f"{part!r} is not a numeric Telegram user id")
        return v

    @field_validator("database_url")
    @classmethod
    def _database(cls, v: str) -> str:
        try:
            check_url(v)
        except DatabaseUrlError as exc:
            raise SettingsError(f"setting DATABASE_URL {exc}") from None
        return v

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        if v.strip().upper() not in LOG_LEVELS:
            raise SettingsError(
                f"setting LOG_LEVEL is {v!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL"
            )
        return v.strip().upper()

    @field_validator("public_url", "telegram_api_base", "twilio_api_base")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if v and not (v.startswith("https://") or v.startswith("http://")):
            raise ValueError("must start with https:// (or http:// for a local test server)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.twilio_enabled:
            if self.twilio_auth_token is None:
                raise SettingsError(
                    "setting TWILIO_AUTH_TOKEN is missing: TWILIO_ACCOUNT_SID is set"
                )
            if bool(self.twilio_from) == bool(self.twilio_messaging_service_sid):
                raise SettingsError(
                    "set exactly one of TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID for SMS"
                )
            if not self.public_url:
                raise SettingsError(
                    "setting PUBLIC_URL is missing: Twilio needs it to sign webhooks and "
                    "report delivery"
                )
        elif self.twilio_auth_token is not None or self.twilio_from:
            raise SettingsError(
                "setting TWILIO_ACCOUNT_SID is missing: other TWILIO_ settings are set"
            )
        if self.telegram_enabled and self.public_url and self.telegram_webhook_secret is None:
            raise SettingsError(
                "setting TELEGRAM_WEBHOOK_SECRET is missing: Telegram webhooks (PUBLIC_URL set) "
                "need a secret"
            )
        if (self.twilio_enabled or self.telegram_enabled) and not self.team_phone.strip():
            # Urgent answers (a fever, chest pain) tell the patient to call this number now.
            raise SettingsError(
                "setting TEAM_PHONE is missing: with SMS or Telegram on, urgent answers must "
                "give patients the team's number"
            )
        return self

    @field_validator("notice_time", mode="before")
    @classmethod
    def _hhmm(cls, v: object) -> object:
        if isinstance(v, str):
            from bot.conversation.validate import parse_hhmm

            return parse_hhmm(v, "NOTICE_TIME")
        return v


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env, or one sentence naming the setting that is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError:
        raise
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "value_error" and isinstance(
            err.get("ctx", {}).get("error"), SettingsError
        ):
            raise err["ctx"]["error"] from None
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"setting {name} is invalid: {err['msg']}") from None
