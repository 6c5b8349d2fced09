from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from bot.cli.main import main

# A fixed "today" for every CLI test: Wednesday 25 November 2026, 08:00 UTC.
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def travel() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as t:
        yield t


@pytest.fixture
def lenabot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    travel: time_machine.Traveller,
) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)
    for var in ("DATABASE_URL", "TEAM_PHONE", "NOTICE_TIME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")

    def run(*argv: str) -> Result:
        capsys.readouterr()
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    assert run("db", "upgrade").code == 0
    return run


@pytest.fixture
def enrol(lenabot: Callable[..., Result]) -> Callable[..., str]:
    def go(*extra: str, phone: str = "+447700900123", start: str = "2026-12-01") -> str:
        r = lenabot("enrol", "--name", "Ann Smith", "--phone", phone, "--start", start,
                    "--dose-time", "09:00", "--tz", "Europe/London", *extra)
        assert r.code == 0, r.err
        return r.last_line

    return go
