"""Bad settings end every `lenabot` command in one sentence naming the setting, exit code 2,
no traceback: the CLI as typed (in-process for the whole matrix, real processes for a sample)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.e2e.conftest import Result

ROOT = Path(__file__).resolve().parents[2]
ENROL = ["enrol", "--name", "Ann Smith", "--phone", "+447700900123", "--start", "2026-12-01",
         "--dose-time", "09:00", "--tz", "Europe/London"]  # fmt: skip
SERVICE = [["run"], ["web"], ["worker"]]
NURSE = [["db", "upgrade"], ENROL, ["patients", "list"], ["alerts"], ["outbox", "p1"],
         ["nurses", "list"], ["adherence", "p1"]]  # fmt: skip
CHANNEL_VARS = ("TWILIO_", "TELEGRAM_", "PUBLIC_URL", "NURSE_", "TEAM_PHONE", "LOG_", "DATABASE_")
Run = Callable[..., Result]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lenabot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """`lenabot ARGS` with ``env`` set on top of a clean environment, in an empty folder."""
    monkeypatch.chdir(tmp_path)
    for var in list(os.environ):
        if var.startswith(CHANNEL_VARS):
            monkeypatch.delenv(var)

    def run(argv: list[str], **env: str) -> Result:
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            capsys.readouterr()
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def one_sentence(r: Result, starts: str) -> str:
    assert r.code == 2, (r.out, r.err)
    assert r.out == ""
    [line] = r.err.splitlines()
    assert line.startswith(f"error: {starts}"), line
    assert "Traceback" not in r.err
    return line


BAD_URLS = {
    "mysql://lenabot@db.example/lenabot": "has a driver lenabot does not support (mysql)",
    "foo://x": "has a driver lenabot does not support (foo)",
    "not a url": "is not a database URL",
    "sqlite+aiosqlite:////nonexistent-dir/x.db": "names a SQLite file in a folder that does not exist",
}  # fmt: skip


@pytest.mark.parametrize("argv", SERVICE + NURSE, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("url", list(BAD_URLS))
def test_a_database_url_lenabot_cannot_use_stops_every_command(
    lenabot: Run, argv: list[str], url: str
) -> None:
    one_sentence(lenabot(argv, DATABASE_URL=url), f"setting DATABASE_URL {BAD_URLS[url]}")


@pytest.mark.parametrize("argv", NURSE, ids=lambda a: " ".join(a[:2]))
def test_a_database_server_that_does_not_answer_stops_nurse_commands(
    lenabot: Run, argv: list[str]
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://lenabot:s3cret-pw@127.0.0.1:{port}/lenabot"
    line = one_sentence(lenabot(argv, DATABASE_URL=url), "setting DATABASE_URL: cannot connect")
    assert line == (
        f"error: setting DATABASE_URL: cannot connect to "
        f"postgresql+asyncpg://lenabot:***@127.0.0.1:{port}/lenabot "
        "(connection refused: is the server running?)"
    )


@pytest.mark.postgres
def test_a_database_that_does_not_exist_on_the_server_is_named(
    lenabot: Run, postgres_url: str
) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_lenabot_database"
    line = one_sentence(lenabot(["patients", "list"], DATABASE_URL=url),
                        "setting DATABASE_URL: cannot connect")  # fmt: skip
    assert line.endswith('(database "no_such_lenabot_database" does not exist)')


@pytest.mark.parametrize("argv", [*SERVICE, *NURSE, ["demo"]], ids=lambda a: " ".join(a[:2]))
def test_an_unknown_log_level_stops_every_command(lenabot: Run, argv: list[str]) -> None:
    one_sentence(lenabot(argv, LOG_LEVEL="LOUD"), "setting LOG_LEVEL is 'LOUD': use DEBUG")


@pytest.mark.parametrize("argv", SERVICE + NURSE[:2], ids=lambda a: " ".join(a[:2]))
def test_sms_without_team_phone_stops_every_command(lenabot: Run, argv: list[str]) -> None:
    r = lenabot(argv, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="t" * 32,
                TWILIO_FROM="+15005550006", PUBLIC_URL="https://lenabot.example")  # fmt: skip
    one_sentence(r, "setting TEAM_PHONE is missing")


# -- the real entry point, as a shell runs it ---------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "starts"),
    [
        (["run"], {"DATABASE_URL": "mysql://lenabot@db.example/lenabot"},
         "setting DATABASE_URL has a driver"),
        (["web"], {"DATABASE_URL": "sqlite+aiosqlite:////nonexistent-dir/x.db"},
         "setting DATABASE_URL names a SQLite file in a folder that does not exist"),
        (["worker"], {"LOG_LEVEL": "LOUD"}, "setting LOG_LEVEL is 'LOUD'"),
        (["db", "upgrade"], {"DATABASE_URL": "not a url"}, "setting DATABASE_URL is not"),
        (["patients", "list"], {"DATABASE_URL": "postgresql://lenabot@127.0.0.1:{port}/x"},
         "setting DATABASE_URL: cannot connect to"),
        (["run"], {"TELEGRAM_BOT_TOKEN": "123:ABC"}, "setting TEAM_PHONE is missing"),
    ],
    ids=["run-driver", "web-sqlite-folder", "worker-log-level", "upgrade-malformed",
         "list-unreachable", "run-team-phone"],
)  # fmt: skip
def test_the_lenabot_process_exits_2_with_one_sentence(
    tmp_path: Path, argv: list[str], env: dict[str, str], starts: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(CHANNEL_VARS)}
    env = {k: v.format(port=free_port()) for k, v in env.items()}
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    r = subprocess.run([sys.executable, "-m", "bot", *argv], cwd=tmp_path,
                       env={**clean, "PYTHONPATH": str(ROOT), **env},
                       capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    one_sentence(Result(r.returncode, r.stdout, r.stderr), starts)
