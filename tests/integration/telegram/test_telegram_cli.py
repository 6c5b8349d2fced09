"""`lenabot enrol --telegram`, `lenabot link` and `lenabot nurses`, as typed, against the fake
Bot API (the CLI runs its own event loop, so it runs in a thread next to the fake's)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.conversation.linking import LinkCodes, Outcome
from scheduler.store.db import make_engine
from tests.e2e.conftest import Result
from tests.fakes.server import serve_asgi
from tests.fakes.telegram_api import FakeTelegramBotApi

TOKEN = "123:ABC"
LINK = re.compile(r"^https://t\.me/lenabot_test_bot\?start=([A-Za-z0-9_-]{22})$", re.MULTILINE)
Run = Callable[..., Awaitable[Result]]


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async with serve_asgi(FakeTelegramBotApi(token=TOKEN).app) as url:
        yield url


@pytest.fixture
async def lenabot(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    api: str,
) -> Run:
    monkeypatch.chdir(tmp_path)
    for var in (
        "PUBLIC_URL",
        "TELEGRAM_WEBHOOK_SECRET",
        "NURSE_TELEGRAM_IDS",
        "TWILIO_ACCOUNT_SID",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TEAM_PHONE", "+441632960999")
    monkeypatch.setenv("TELEGRAM_API_BASE", api)

    def call(argv: list[str]) -> int:
        try:
            main(argv)
            return 0
        except SystemExit as exc:
            return int(exc.code or 0)

    async def run(*argv: str) -> Result:
        capsys.readouterr()
        code = await asyncio.to_thread(call, list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    assert (await run("db", "upgrade")).code == 0
    return run


def enrol_args(*extra: str) -> list[str]:
    start = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    return [
        "enrol",
        "--name",
        "Ann Smith",
        "--telegram",
        "--start",
        start,
        "--dose-time",
        "09:00",
        "--tz",
        "Europe/London",
        *extra,
    ]


async def redeem(tmp_path: Path, code: str, chat: int) -> Outcome:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    try:
        return (await LinkCodes(engine).redeem(code, chat, datetime.now(UTC))).outcome
    finally:
        await engine.dispose()


async def test_enrol_telegram_prints_a_working_one_time_link(lenabot: Run, tmp_path: Path) -> None:
    r = await lenabot(*enrol_args())
    assert r.code == 0, r.err
    found = LINK.search(r.out)
    assert found is not None, r.out
    assert "single use" in r.out and r.last_line.isalnum()
    assert await redeem(tmp_path, found[1], 5001) is Outcome.LINKED
    assert await redeem(tmp_path, found[1], 6001) is Outcome.USED


async def test_enrol_telegram_without_a_token_says_how_to_get_the_link_later(
    lenabot: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    r = await lenabot(*enrol_args())
    assert r.code == 0, r.err
    pid = r.last_line
    assert LINK.search(r.out) is None
    assert (
        f"no TELEGRAM_BOT_TOKEN is set, so no link yet: once it is set, run 'lenabot link {pid}'"
        in r.out
    )
    failed = await lenabot("link", pid)
    assert failed.code == 2 and "TELEGRAM_BOT_TOKEN" in failed.err


async def test_enrol_telegram_with_a_rejected_token_still_enrols(
    lenabot: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:WRONG")
    r = await lenabot(*enrol_args())
    assert r.code == 0, r.err
    assert "no link yet: setting TELEGRAM_BOT_TOKEN is invalid" in r.out
    assert f"lenabot link {r.last_line}" in r.out


async def test_link_makes_a_new_code_and_the_old_one_stops_working(
    lenabot: Run, tmp_path: Path
) -> None:
    enrolled = await lenabot(*enrol_args())
    pid = enrolled.last_line
    old = LINK.search(enrolled.out)
    r = await lenabot("link", pid)
    assert r.code == 0, r.err
    new = LINK.search(r.out)
    assert old is not None and new is not None and old[1] != new[1]
    assert await redeem(tmp_path, old[1], 5001) is Outcome.WRONG
    assert await redeem(tmp_path, new[1], 5001) is Outcome.LINKED
    relink = await lenabot("link", pid)
    assert "already linked" in relink.out and LINK.search(relink.out)


async def test_link_refuses_sms_and_unknown_patients(lenabot: Run) -> None:
    sms = await lenabot(
        "enrol",
        "--name",
        "Bo",
        "--phone",
        "+447700900123",
        "--start",
        datetime.now(UTC).date().isoformat(),
        "--dose-time",
        "09:00",
        "--tz",
        "Europe/London",
    )
    r = await lenabot("link", sms.last_line)
    assert r.code == 2 and "gets SMS, not Telegram" in r.err
    unknown = await lenabot("link", "pnobody1")
    assert unknown.code == 2 and "unknown patient 'pnobody1'" in unknown.err


async def test_nurses_add_list_and_remove(lenabot: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURSE_TELEGRAM_IDS", "4242")
    added = await lenabot("nurses", "add", "--telegram-id", "7001", "--name", "Nora  Nurse")
    assert added.code == 0 and "added nurse Nora Nurse (7001)" in added.out
    renamed = await lenabot("nurses", "add", "--telegram-id", "7001", "--name", "Nora N")
    assert "renamed nurse Nora N" in renamed.out
    listed = (await lenabot("nurses", "list")).out.splitlines()
    assert listed[0].split() == ["7001", "Nora", "N"]
    assert listed[1].split() == ["4242", "-", "(NURSE_TELEGRAM_IDS)"]
    assert (await lenabot("nurses", "remove", "--telegram-id", "7001")).code == 0
    again = await lenabot("nurses", "remove", "--telegram-id", "7001")
    assert again.code == 2 and "not on the nurse list" in again.err
    only_env = await lenabot("nurses", "remove", "--telegram-id", "4242")
    assert only_env.code == 2 and "NURSE_TELEGRAM_IDS" in only_env.err
    bad = await lenabot("nurses", "add", "--telegram-id", "-5", "--name", "X")
    assert bad.code == 2 and "not a Telegram user id" in bad.err
    not_a_number = await lenabot("nurses", "add", "--telegram-id", "abc", "--name", "X")
    assert not_a_number.code == 2 and "--telegram-id" in not_a_number.err
