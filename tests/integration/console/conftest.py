"""The console's test world on each backend: a migrated database, then the real app over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.console.console_world import Console, console, database


@pytest.fixture
async def console_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A migrated database on ``backend`` (SQLite file or a PostgreSQL schema); its URL."""
    pg = str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None
    async with database(backend, tmp_path, pg) as url:
        yield url


@pytest.fixture
async def world(console_url: str) -> AsyncIterator[Console]:
    async with console(console_url) as w:
        yield w
