"""PLAN_PROCESSES: validated, and wired into the service's planner."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.bootstrap import Service, build
from bot.settings import Settings, SettingsError, load_settings
from scheduler.store.db import PLANNING_CACHE_KIB, SQLITE_DEFAULT_CACHE_KIB, make_engine


def settings(tmp_path: Path, **values: object) -> Settings:
    return load_settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", **values
    )


@pytest.mark.parametrize("bad", [-1, 65, "two"])
def test_a_wrong_number_of_planner_processes_is_named(tmp_path: Path, bad: object) -> None:
    with pytest.raises(SettingsError, match="setting PLAN_PROCESSES is invalid"):
        settings(tmp_path, plan_processes=bad)


async def test_the_service_plans_with_two_planner_processes_by_default(tmp_path: Path) -> None:
    service = build(settings(tmp_path), out=io.StringIO())
    try:
        planners = service.materialiser.planners
        assert planners is not None and planners.count == 2
        assert planners.spec.database_url == service.settings.database_url
        assert planners.spec.horizon == service.materialiser.horizon
        assert planners.spec.settings == service.materialiser.settings
    finally:
        await service.close()


async def test_zero_planner_processes_plans_in_the_service_process(tmp_path: Path) -> None:
    service = build(settings(tmp_path, plan_processes=0), out=io.StringIO())
    try:
        assert service.materialiser.planners is None
    finally:
        await service.close()


async def _page_cache_kib(service: Service) -> int:
    async with service.engine.connect() as conn:
        return -int((await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one())


async def test_with_planner_processes_the_service_keeps_sqlites_default_page_cache(
    tmp_path: Path,
) -> None:
    """The big passes plan in the planners (8 MiB a connection each): the service's own
    connections keep SQLite's default 2 MiB, 6 MiB less resident memory each."""
    service = build(settings(tmp_path), out=io.StringIO())
    try:
        assert await _page_cache_kib(service) == SQLITE_DEFAULT_CACHE_KIB == 2000
        planner = make_engine(service.settings.database_url)  # as a planner process makes it
        async with planner.connect() as conn:
            cache = (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        await planner.dispose()
        assert -cache == PLANNING_CACHE_KIB == 8192
    finally:
        await service.close()


async def test_without_planner_processes_the_service_plans_with_the_big_page_cache(
    tmp_path: Path,
) -> None:
    service = build(settings(tmp_path, plan_processes=0), out=io.StringIO())
    try:
        assert await _page_cache_kib(service) == PLANNING_CACHE_KIB
    finally:
        await service.close()
