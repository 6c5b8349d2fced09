"""Run Alembic migrations programmatically (`lenabot db upgrade`, the Procfile's release).

Alembic is imported when a migration runs, not with this module: the running service never
migrates, and Alembic (with what it pulls in) is about 10 MB of its memory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from scheduler.store.db import normalise_url

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """From inside a running loop: env.py starts its own loop, so run it in a thread."""
    await asyncio.to_thread(upgrade, url, revision)
