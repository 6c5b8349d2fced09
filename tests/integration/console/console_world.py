"""The care-team console as a browser meets it: lenabot's real app served by uvicorn on a
loopback port (real HTTP), on a freshly migrated SQLite file or PostgreSQL database, with a
manual clock; staff accounts made through the same store the CLI uses.

``Browser`` is one cookie jar (one person at one browser): it signs in (through the sign-in
page, whose form carries a token of its own), reads the CSRF token
from the page it is on, and posts forms as a browser would (urlencoded, no redirects followed,
so each answer can be checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import re
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy.engine import make_url

from bot.bootstrap import Service, build
from bot.settings import load_settings
from bot.web.app import create_app
from bot.web.console import passwords, totp
from bot.web.console.accounts import Role, Staff, StaffAccounts
from messages import model
from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.store.migrate import upgrade_async
from tests.conftest import asyncpg_dsn
from tests.fakes.server import serve_asgi

# Thursday 3 December 2026, 10:00 in London.
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PASSWORD = "heron lantern quietly marble"
COOKIE = "lenabot_console"


@functools.cache
def hashed(password: str) -> str:
    """An argon2id hash of ``password``, made once a process: each costs about 0.3 s of CPU.
    (Accounts with the same password then share a salt, which no test looks at.)"""
    return passwords.hash_password(password)


@contextlib.asynccontextmanager
async def database(backend: str, tmp_path: Path, pg: str | None) -> AsyncIterator[str]:
    """A migrated, empty database of this test only: a SQLite file, or a PostgreSQL database
    (``env.py`` builds its own engine from the URL, so not a schema)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / f'console-{secrets.token_hex(4)}.db'}"
        await upgrade_async(url)
        yield url
        return
    assert pg is not None
    name = f"console_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(pg))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
            await upgrade_async(url)
            yield url
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class Browser:
    http: httpx.AsyncClient
    csrf: str = ""

    @property
    def cookie(self) -> str | None:
        return self.http.cookies.get(COOKIE)

    async def get(self, path: str) -> httpx.Response:
        r = await self.http.get(path)
        if m := re.search(r'name="csrf" value="([^"]+)"', r.text):
            self.csrf = m[1]
        return r

    async def post(self, path: str, csrf: bool = True, **fields: str) -> httpx.Response:
        data = {"csrf": self.csrf, **fields} if csrf else fields
        r = await self.http.post(path, data=data)
        if m := re.search(r'name="csrf" value="([^"]+)"', r.text):
            self.csrf = m[1]
        return r

    async def sign_in(self, email: str, password: str = PASSWORD, code: str = "") -> httpx.Response:
        """The sign-in page, then its form sent (with the token the page and its cookie hold)."""
        await self.get("/login")
        r = await self.http.post("/login", data={"email": email, "password": password,
                                                 "code": code, "csrf": self.csrf})  # fmt: skip
        if r.status_code == 303:
            await self.get("/")
        return r


@dataclass
class Console:
    service: Service
    clock: ManualClock
    url: str
    database_url: str
    browsers: list[Browser]

    @property
    def accounts(self) -> StaffAccounts:
        return StaffAccounts(self.service.engine)

    async def staff(
        self, email: str, role: Role = Role.NURSE, *, password: str | None = PASSWORD,
        with_totp: bool = False,
    ) -> tuple[Staff, str | None]:  # fmt: skip
        """An account, as ``lenabot staff add --password-stdin [--totp]`` makes it."""
        secret = totp.new_secret() if with_totp else None
        added = await self.accounts.add(email, email.split("@")[0].title(), role,
                                        self.clock.now(), totp_secret=secret)  # fmt: skip
        if password is not None:
            await self.accounts.set_password(added.id, hashed(password))
        return added, secret

    def code(self, secret: str) -> str:
        return totp.code_at(secret, self.clock.now())

    async def browser(self) -> Browser:
        http = httpx.AsyncClient(base_url=self.url, follow_redirects=False, timeout=30)
        b = Browser(http)
        self.browsers.append(b)
        return b

    async def nurse(self, email: str = "nora@example.org") -> Browser:
        """A nurse signed in at a browser of their own."""
        await self.staff(email)
        b = await self.browser()
        r = await b.sign_in(email)
        assert r.status_code == 303, r.text
        return b

    async def enrol(
        self, name: str = "Ann Smith", phone: str | None = "+447700900123", **kw: Any
    ) -> Patient:
        kw.setdefault("start", date(2026, 11, 20))
        return await self.service.care.enrol(Enrolment(
            name=name, tz="Europe/London", dose_time=time(9, 0), regimen=Regimen.parse("21/28"),
            channel=ChannelKind.SMS if phone else ChannelKind.TELEGRAM, phone=phone, **kw,
        ))  # fmt: skip

    async def lenabot(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        """The real ``lenabot`` command in its own process, on this console's database, its
        clock starting at the console's (so what it says of 'today' does not depend on the day
        the tests run)."""
        env = {**os.environ, "DATABASE_URL": self.database_url, "PLAN_PROCESSES": "0"}
        for key in ("TELEGRAM_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "PUBLIC_URL"):
            env.pop(key, None)
        at_the_console_clock = (
            "import sys, time_machine\n"
            "from bot.cli.main import main\n"
            f"with time_machine.travel({self.clock.now().isoformat()!r}, tick=True):\n"
            "    main(sys.argv[1:])\n"
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", at_the_console_clock, *argv, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate(stdin.encode())
        return int(proc.returncode or 0), out.decode(), err.decode()


@contextlib.asynccontextmanager
async def console(database_url: str, now: datetime = T0, **settings: Any) -> AsyncIterator[Console]:
    """The app served on a loopback port, its clock stopped at ``now`` (moved by the test)."""
    clock = ManualClock(now)
    s = load_settings(_env_file=None, **{"database_url": database_url, "telegram_bot_token": None,
                      "twilio_account_sid": "", "plan_processes": 0, **settings})  # fmt: skip
    service = build(s, clock=clock, out=io.StringIO())
    # The app's start trains the second reader in a thread and its stop waits for it: train it
    # here first (once a process), so stopping is never held up by it.
    await asyncio.to_thread(model.probabilities, "ready")
    world = Console(service, clock, "", database_url, [])
    async with serve_asgi(create_app(service, worker=False)) as url:
        world.url = url
        try:
            yield world
        finally:
            for b in world.browsers:
                await b.http.aclose()
