"""Hostile input: whatever arrives, never a 500, never a crash, and what a patient wrote is
stored exactly as received.

The storage rule (``bot.conversation.conversation.storable``): text is stored as received, except that NUL
characters are dropped (PostgreSQL ``text`` cannot hold them) and lone UTF-16 surrogates
(which no UTF-8 database can hold, and which only a JSON ``\\ud800`` escape can produce) become
U+FFFD. SMS bodies cannot carry either past the webhook: Twilio's form is decoded as strict
UTF-8 (a percent-encoded surrogate is a 400) and NUL is dropped there too.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from urllib.parse import urlencode

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bot.bootstrap import Service, build
from bot.conversation.conversation import storable
from bot.settings import load_settings
from bot.web.app import create_app
from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.store import tables as t
from scheduler.store.migrate import upgrade_async
from tests.conftest import T0, asyncpg_dsn
from tests.fakes.telegram_bot import SECRET, Bot, running_bot
from tests.fakes.telegram_updates import make_text_update

PUBLIC_URL = "https://lenabot.example/clinic"
TOKEN = "hostile-auth-token"
SID = "AC" + "0" * 32
PHONE = "+447700900123"
MAX_BODY = 4096  # small, so "too large" is cheap to reach

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE = [
    "'; DROP TABLE patients; --",
    "1' OR '1'='1",
    "Robert'); DELETE FROM inbound WHERE ('a'='a",
    "<script>alert(1)</script>",
    "]]></Message><Message>injected</Message>",
    "{{7*7}} ${7*7} %s %n %(x)s",
    "\x00",
    "TAKEN\x00",
    "\ud800",
    "a\udfffb",
    "\u202e\u2066 STOP \u2069",
    "\ufeff\ufffe\uffff",
    "temperature 39\x00 and chest pain \ud83d",
    "😀" * 2000,
    "x" * 200_000,
    " " * 10_000,
    "\r\n" * 1000,
]

any_text = st.one_of(
    st.text(),  # any code point but surrogates
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Zs", "So"]), max_size=50),
    st.sampled_from(HOSTILE),
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=20), st.text(max_size=20)),
)
# What an urlencoded form can carry (no surrogates: Twilio sends UTF-8).
form_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    [h for h in HOSTILE if storable(h) == h.replace("\x00", "")]
)


@dataclass
class World:
    service: Service
    http: httpx.AsyncClient
    patient: Patient

    def signed(self, path: str, fields: Mapping[str, str]) -> dict[str, str]:
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(
                PUBLIC_URL + path, fields
            ),
        }

    async def last_inbound(self) -> str:
        async with self.service.engine.connect() as conn:
            return str(
                (
                    await conn.execute(
                        select(t.inbound.c.text).order_by(t.inbound.c.id.desc()).limit(1)
                    )
                ).scalar_one()
            )


@contextlib.asynccontextmanager
async def _database(backend: str, tmp_path: Path, pg: str | None) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'hostile-{secrets.token_hex(4)}.db'}"
        return
    assert pg is not None
    name = f"hostile_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(pg))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(pg).set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    pg = str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None
    async with _database(backend, tmp_path, pg) as url:
        await upgrade_async(url)
        s = load_settings(
            _env_file=None, database_url=url, twilio_account_sid=SID, twilio_auth_token=TOKEN,
            twilio_from="+15005550006", twilio_api_base="http://127.0.0.1:9",
            public_url=PUBLIC_URL, telegram_bot_token=None, max_body_bytes=MAX_BODY,
            team_phone="+441632960999",
        )  # fmt: skip
        service = build(s, clock=ManualClock(T0), out=io.StringIO())
        patient = await service.care.enrol(
            Enrolment(
                name="Ann Smith", tz="Europe/London", start=date(2026, 6, 1),
                dose_time=time(9, 0), regimen=Regimen.parse("21/28"), channel=ChannelKind.SMS,
                phone=PHONE,
            )
        )  # fmt: skip
        app = create_app(service, worker=False)
        transport = httpx.ASGITransport(app=app)  # app errors raise here: a 500 cannot hide
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                yield World(service, http, patient)
        finally:
            await service.close()


# -- the conversation entry point --------------------------------------------------------


@given(text=any_text)
@example(text="\x00")
@example(text="\ud800")
@example(text="x" * 1_000_000)
@example(text="temperature 39 chest pain <script>\x00\udc80</script>")
@FUZZ
async def test_conversation_answers_anything_and_stores_it_exactly(world: World, text: str) -> None:
    patient = await world.service.courses.get(world.patient.id)  # STOP may have opted them out
    reply = await world.service.conversation.handle(patient, text, channel="sms")
    assert isinstance(reply.text, str)
    assert await world.last_inbound() == storable(text)


def test_the_storage_rule() -> None:
    assert storable("a\x00b") == "ab"
    assert storable("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert storable("😀 \ufeff é") == "😀 \ufeff é"  # everything else untouched


# -- Twilio webhooks ---------------------------------------------------------------------


@given(
    body=st.binary(max_size=2 * MAX_BODY),
    content_type=st.sampled_from([
        "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
        "application/json", "text/plain", "multipart/form-data; boundary=x", "", "\x7f",
    ]),
    path=st.sampled_from(["/twilio/sms", "/twilio/status/abc", "/telegram", "/readyz"]),
    signature=st.sampled_from(["", "bogus", "A" * 28 + "="]),
)  # fmt: skip
@FUZZ
async def test_unsigned_garbage_is_refused_never_a_500(
    world: World, body: bytes, content_type: str, path: str, signature: str
) -> None:
    headers = {"Content-Type": content_type, "X-Twilio-Signature": signature}
    r = await world.http.post(path, content=body, headers=headers)
    assert r.status_code in (400, 403, 404, 405, 413, 415), (r.status_code, r.text)
    if len(body) > MAX_BODY and path.startswith("/twilio"):
        assert r.status_code == 413


@given(body=form_text, sender=st.sampled_from([PHONE, "", "\x00", "+44' OR 1=1", "x" * 500]),
       status=form_text)  # fmt: skip
@example(body="\x00TAKEN\x00", sender=PHONE, status="delivered")
@example(body="é" * 600, sender=PHONE, status="")
@FUZZ
async def test_signed_sms_with_any_body_never_500s_and_round_trips(
    world: World, body: str, sender: str, status: str
) -> None:
    fields = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": "+15005550006",
              "Body": body, "AccountSid": SID}  # fmt: skip
    content = urlencode(fields)
    r = await world.http.post(
        "/twilio/sms", content=content, headers=world.signed("/twilio/sms", fields)
    )
    if len(content.encode()) > MAX_BODY:
        assert r.status_code == 413
        return
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    if sender == PHONE:
        assert await world.last_inbound() == body.replace("\x00", "")
    # A status callback with any status for any token is a quiet 200.
    cb = {"MessageSid": "SM1", "MessageStatus": status, "To": sender, "ErrorCode": status[:10]}
    path = "/twilio/status/" + secrets.token_urlsafe(8)
    content = urlencode(cb)
    r = await world.http.post(path, content=content, headers=world.signed(path, cb))
    assert r.status_code == (413 if len(content.encode()) > MAX_BODY else 200), r.text


@pytest.mark.parametrize("token", ["%00", "a%00b", "%ED%A0%80", "%FF", "x" * 300, "%27%3B--"])
async def test_signed_status_callback_with_a_hostile_token_is_200(world: World, token: str) -> None:
    from urllib.parse import unquote

    cb = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": PHONE}
    path = "/twilio/status/" + token
    signed = world.signed("/twilio/status/" + unquote(token, errors="replace"), cb)
    r = await world.http.post(path, content=urlencode(cb), headers=signed)
    assert r.status_code == 200, r.text


async def _chunks(n: int) -> AsyncIterator[bytes]:
    for _ in range(n):
        yield b"Body=" + b"x" * 1024 + b"&"


async def test_huge_bodies_are_413_with_or_without_a_length(world: World) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await world.http.post("/twilio/sms", content=b"x" * (10 * MAX_BODY), headers=form)
    assert r.status_code == 413
    r = await world.http.post("/twilio/sms", content=_chunks(20), headers=form)  # chunked
    assert r.status_code == 413
    r = await world.http.post(
        "/twilio/sms", content=b"Body=hi", headers={**form, "Content-Length": "-1"}
    )
    assert r.status_code in (400, 413)


async def test_invalid_utf8_and_encoded_surrogates_are_400(world: World) -> None:
    for raw in (b"Body=\xff\xfe&From=x", b"Body=%ED%A0%80&From=x", b"Body=%FF", b"\x00=\x00"):
        fields_ok = raw != b"\x00=\x00"
        r = await world.http.post(
            "/twilio/sms", content=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": "x"},
        )  # fmt: skip
        assert r.status_code == (400 if fields_ok else 403), (raw, r.status_code)


# -- Telegram webhook --------------------------------------------------------------------

TG_TEXTS = [
    "\x00", "TAKEN\x00", "\ud800", "a\udfffb", "'; DROP TABLE inbound; --",
    "<b>bold</b> &amp; <script>", "x" * 4096, "😀" * 1000, "\u202e HELP", "temperature 40 \x00",
]  # fmt: skip


async def _post_raw(bot: Bot, body: bytes, content_type: str = "application/json") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(
            bot.webhook_url, content=body,
            headers={"Content-Type": content_type, "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )  # fmt: skip


async def test_telegram_webhook_garbage_and_hostile_texts(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        garbage: list[bytes] = [b"", b"\x00", b"\xff\xfe", b"[]", b"null", b'{"update_id": "1"}',
                   b'{"update_id": 1, "message": 5}', b'{"update_id": 1e400}',
                   b"{" * 5000, b'"\\ud800"', b"x" * 70_000]  # fmt: skip
        for body in garbage:
            for kind in ("application/json", "text/plain", ""):
                r = await _post_raw(bot, body, kind)
                assert r.status_code in (200, 400, 413), (body[:20], r.status_code, r.text)
        patient = await bot.enrol()
        await bot.link(patient, 4242)
        for text in TG_TEXTS:
            before = len(bot.sent_to(4242))
            # Escaped as Telegram does (ensure_ascii), so lone surrogates arrive as \ud800.
            r = await _post_raw(bot, json.dumps(make_text_update(4242, text)).encode())
            assert r.status_code == 200, r.text
            await bot.wait_for(4242, before + 1)
            assert bot.sent_to(4242)[before].text
            async with bot.service.engine.connect() as conn:
                stored = (
                    await conn.execute(
                        select(t.inbound.c.text).order_by(t.inbound.c.id.desc()).limit(1)
                    )
                ).scalar_one()
            assert stored == storable(text)


def test_hostile_list_is_json_safe() -> None:
    # The Telegram cases travel as JSON: lone surrogates as \\ud800 escapes, like Telegram's.
    for text in TG_TEXTS:
        assert json.loads(json.dumps({"t": text}))["t"] == text
