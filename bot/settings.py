"""Every knob, from the environment or a .env file, validated with one clear sentence."""

from __future__ import annotations

from datetime import time

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scheduler.db import DEFAULT_URL


class SettingsError(ValueError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(DEFAULT_URL, description="SQLAlchemy URL; SQLite file by default")
    notice_time: time = Field(time(10, 0), description="local time for non-dose messages")
    blood_test_lead_days: int = Field(2, ge=0, le=14)
    plan_horizon_hours: int = Field(48, ge=1, le=24 * 14)
    plan_interval_seconds: float = Field(60.0, gt=0)
    dispatch_interval_seconds: float = Field(2.0, gt=0)
    dispatch_batch: int = Field(100, ge=1, le=5000)
    dispatch_concurrency: int = Field(16, ge=1, le=512)
    claim_lease_seconds: int = Field(300, ge=10)
    team_phone: str = Field("", description="the treatment team's number, quoted to patients")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field("text", pattern="^(text|json)$")

    @field_validator("notice_time", mode="before")
    @classmethod
    def _hhmm(cls, v: object) -> object:
        if isinstance(v, str):
            from bot.validate import parse_hhmm

            return parse_hhmm(v, "NOTICE_TIME")
        return v


def load_settings(**overrides: object) -> Settings:
    """Settings from env/.env, or one sentence naming the setting that is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"setting {name} is invalid: {err['msg']}") from None
