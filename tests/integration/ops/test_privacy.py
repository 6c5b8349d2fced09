"""Privacy: logs carry no personal data, `patients forget` erases it, secrets are never shown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot import logs
from bot.channels.telegram.patient import GENERIC
from bot.cli.main import main
from bot.conversation.linking import LinkCodes
from scheduler.domain.outbox import PENDING
from scheduler.store import tables as t
from tests.fakes.sms_app import DOSE_AT, PHONE, SmsWorld, sms_world
from tests.fakes.telegram_bot import running_bot
from tests.integration.ops.test_ops import free_port, lenabot_process

NAME = "Zelda Quintrell"
OTHER = "+447700900999"
RED_FLAG = "temperature 39.5 and chest pain since zorblax"
QUESTION = "can I have the flu jab qwertyuiop"
CHAT = 987654321


@contextlib.contextmanager
def production_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Logging exactly as `lenabot run` sets it up (logs.configure), captured by caplog."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    noisy = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "apscheduler",
                                                      "twilio", "telegram", "aiosqlite")}
    logs.configure("INFO")
    root.handlers[:] = [caplog.handler]
    try:
        yield
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


def leaks(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[str]:
    """Every INFO+ line (message and traceback) that contains one of ``secrets``."""
    found = []
    for record in caplog.records:
        if record.levelno < logging.INFO or record.name.startswith("tests."):
            continue
        line = record.getMessage() + (record.exc_text or "")
        found += [f"{record.name}: {line}" for s in secrets if s in line]
    return found


def phone_forms(phone: str) -> list[str]:
    return [phone, phone.lstrip("+"), phone[-10:]]


async def test_an_sms_day_logs_no_number_name_or_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with production_logging(caplog):
        async with sms_world(tmp_path) as w:
            patient = await w.enrol(name=NAME)
            await w.enrol(phone=OTHER, name="Xavier Plumtree")
            w.twilio.fail_next(status=400, code=21211)  # one of the two reminders fails
            w.clock.set(DOSE_AT)
            stats = await w.tick()
            assert stats.sent == 1 and stats.failed == 1
            [sms] = w.twilio.messages
            reminder = sms.body
            callback = sms.status_callback
            assert callback is not None
            assert (await w.status_callback(callback, sms.sid, "undelivered",
                                            ErrorCode="30003")).status_code == 200
            for body in ("TAKEN", RED_FLAG, QUESTION):
                assert (await w.text_in(body, sender=sms.to)).status_code == 200
            assert (await w.text_in("hello stranger", sender="+447700900555")).status_code == 200
            assert any(kind == "red_flag" for kind, _, _ in await w.alerts())
    assert caplog.records, "nothing was logged at all: the capture is broken"
    assert patient.id in caplog.text  # ids are how logs name patients
    secrets = [*phone_forms(PHONE), *phone_forms(OTHER), "+447700900555", "Zelda",
               "Quintrell", "Xavier", "Plumtree", "zorblax", "qwertyuiop", "hello stranger",
               reminder]  # fmt: skip
    assert leaks(caplog, *secrets) == []


async def test_a_telegram_chat_logs_no_chat_id_name_or_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with production_logging(caplog):
        async with running_bot(tmp_path) as bot:
            patient = await bot.enrol(name=NAME)
            await bot.link(patient, CHAT)
            await bot.say(CHAT, RED_FLAG)
            await bot.say(CHAT, QUESTION)
            await bot.say(123123123, "who are you zorblax")  # a stranger
    assert caplog.records
    assert leaks(caplog, str(CHAT), "123123123", "Zelda", "Quintrell", "zorblax",
                 "qwertyuiop") == []  # fmt: skip


# -- lenabot patients forget -------------------------------------------------------------


async def dump(w: SmsWorld) -> str:
    """Every row of every table, as text: where personal data would show."""
    out = []
    async with w.service.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            out += [repr(tuple(r)) for r in await conn.execute(select(table))]
    return "\n".join(out)


async def test_forget_erases_personal_data_and_keeps_an_anonymous_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sms_world(tmp_path) as w:
        patient = await w.enrol(name=NAME)
        other = await w.enrol(phone=OTHER, name="Xavier Plumtree")
        w.clock.set(DOSE_AT)
        assert (await w.tick()).sent == 2
        for body in ("TAKEN", RED_FLAG, QUESTION):
            assert (await w.text_in(body)).status_code == 200
        await w.text_in("MISSED", sender=OTHER)
        await LinkCodes(w.service.engine).issue(patient.id, w.clock.now())
        await w.service.care.replan(patient.id)
        assert await w.rows(patient.id, PENDING)  # tomorrow's reminders are queued
        before = await dump(w)
        assert "zorblax" in before and NAME in before and PHONE in before

        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", w.service.settings.database_url)
        for var in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        code, out, err = await asyncio.to_thread(run_cli, "patients", "forget", patient.id, "--yes")
        assert code == 0, err
        assert f"patient {patient.id} forgotten" in out
        assert NAME not in out and PHONE not in out

        after = await dump(w)
        for gone in ("Zelda", "Quintrell", *phone_forms(PHONE), "zorblax", "qwertyuiop"):
            assert gone not in after, gone
        forgotten = await w.service.courses.get(patient.id)
        assert (forgotten.name, forgotten.phone, forgotten.telegram_chat_id) == (
            "forgotten", None, None)
        assert forgotten.opted_out_at is not None
        assert await w.rows(patient.id, PENDING) == []
        assert {r.text for r in await w.rows(patient.id)} == {"[forgotten]"}
        async with w.service.engine.connect() as conn:
            texts = {r.text for r in await conn.execute(
                select(t.inbound.c.text).where(t.inbound.c.patient_id == patient.id))}
            codes = (await conn.execute(select(t.link_codes))).all()
        assert texts == {"[forgotten]"} and codes == []
        alerts = await w.alerts()
        [audit] = [text for kind, pid, text in alerts if kind == "forgotten"]
        assert re.fullmatch(rf"patient {patient.id} forgotten at \d{{4}}-\d\d-\d\dT\S+", audit)
        red = [text for kind, pid, text in alerts if kind == "red_flag" and pid == patient.id]
        assert red and all('They wrote: [forgotten]' in text for text in red)
        # The other patient is untouched.
        assert "Xavier Plumtree" in after and OTHER in after and "MISSED" in after
        assert (await w.service.courses.get(other.id)).opted_out_at is None

        # Their number is no longer anyone's: a text from it is a stranger's, and not kept.
        n = await w.inbound_count()
        reply = await w.text_in("TAKEN")
        assert "not enrolled" in reply.text and await w.inbound_count() == n
        # Planning again queues nothing for them.
        w.clock.set(DOSE_AT + timedelta(days=1))
        await w.service.materialiser.everyone(w.clock.now())
        assert await w.rows(patient.id, PENDING) == []

        # Forgetting twice is harmless; an unknown id is a clear error.
        assert (await asyncio.to_thread(run_cli, "patients", "forget", patient.id, "--yes"))[0] == 0
        code, _, err = await asyncio.to_thread(run_cli, "patients", "forget", "nobody", "--yes")
        assert code == 2 and "unknown patient" in err


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`lenabot ARGV` in this process (a thread of its own: it runs its own event loop)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


# -- secrets -----------------------------------------------------------------------------

TWILIO_SECRET = "twilio-auth-token-SHOULD-NEVER-SHOW-1f3a"
TELEGRAM_SECRET = "424242:TELEGRAM-TOKEN-SHOULD-NEVER-SHOW-9c8b"
WEBHOOK_SECRET = "webhook-secret-SHOULD-NEVER-SHOW-77"
SECRETS = (TWILIO_SECRET, TELEGRAM_SECRET, WEBHOOK_SECRET, "SHOULD-NEVER-SHOW")


def secret_env(tmp_path: Path) -> dict[str, str]:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every provider call fails
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'secrets.db'}",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": TWILIO_SECRET,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_API_BASE": dead,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE": dead,
        "PUBLIC_URL": "https://lenabot.example",
        "TEAM_PHONE": "+441632960999",
        "LOG_LEVEL": "DEBUG",
    }


def test_commands_never_print_the_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in secret_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.DEBUG)
    outputs = []

    def run(*argv: str) -> tuple[int, str, str]:
        result = run_cli(*argv)
        outputs.append((argv, *result))
        return result

    assert run("db", "upgrade")[0] == 0
    code, out, err = run("enrol", "--name", "A B", "--phone", "+447700900123", "--start",
                         "2026-12-01", "--dose-time", "09:00", "--tz", "Europe/London")
    assert code == 0, err
    pid = out.strip().splitlines()[-1]
    run("patients", "list")
    run("preview", pid, "--days", "2")
    run("say", pid, "temperature 39")
    run("enrol", "--name", "C D", "--telegram", "--start", "2026-12-01", "--dose-time",
        "09:00", "--tz", "Europe/London")  # needs Telegram, which is unreachable
    run("--help")
    monkeypatch.setenv("TWILIO_FROM", "")  # a settings error names the setting, not values
    code, _, err = run("patients", "list")
    assert code == 2 and "TWILIO_FROM" in err
    monkeypatch.setenv("TWILIO_FROM", "+15005550006")
    tg_pid = outputs[5][2].strip().splitlines()[-1]
    run("link", tg_pid)  # Telegram unreachable: an error, without the token in its URL
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not a token " + TELEGRAM_SECRET)
    run("patients", "list")
    for argv, _, out, err in outputs:
        for secret in SECRETS:
            assert secret not in out + err, (argv, secret)
    # Libraries log their URLs (with the bot token) at DEBUG only; lenabot keeps them at
    # WARNING in `lenabot run` (bot.logs.configure), and CLI commands print WARNING+ only.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and any(
        s in r.getMessage() + (r.exc_text or "") for s in SECRETS)] == []


def test_lenabot_run_never_logs_or_serves_the_secrets(tmp_path: Path) -> None:
    env = {**os.environ, **secret_env(tmp_path)}
    assert run_subprocess_upgrade(env) == 0
    with lenabot_process(env) as (url, output):
        for path in ("/healthz", "/readyz", "/metrics", "/telegram", "/twilio/sms"):
            r = httpx.post(url + path) if path.startswith(("/tel", "/tw")) else httpx.get(url + path)
            for secret in SECRETS:
                assert secret not in r.text
                assert all(secret not in v for v in r.headers.values())
    text = output()
    assert "listening on" in text  # the startup lines were captured
    for secret in SECRETS:
        assert secret not in text, secret


def run_subprocess_upgrade(env: dict[str, str]) -> int:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env,
                          capture_output=True, timeout=60, check=False).returncode


async def test_forgetting_a_telegram_patient_unlinks_their_chat(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol(name=NAME)
        await bot.link(patient, CHAT)
        await bot.say(CHAT, QUESTION)
        await bot.gateway.new_link(patient.id)  # an unused link code waits too
        done = await bot.service.courses.forget(patient.id, bot.clock.now())
        assert done["inbound"] >= 1 and done["link_codes"] >= 1
        forgotten = await bot.service.courses.get(patient.id)
        assert forgotten.telegram_chat_id is None and forgotten.opted_out_at is not None
        assert await bot.service.courses.find(chat_id=CHAT) is None
        [reply] = await bot.say(CHAT, "TAKEN")  # now a stranger's chat
        assert reply.text == GENERIC
        async with bot.service.engine.connect() as conn:
            texts = [r.text for r in await conn.execute(select(t.inbound.c.text))]
        assert "qwertyuiop" not in " ".join(texts)
