"""PLAN_PROCESSES: validated, and wired into the service's planner."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.settings import Settings, SettingsError, load_settings


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
