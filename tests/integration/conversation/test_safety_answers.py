"""Issue 11's safety questions through the real service on SQLite: urgent answers lead with the
instruction and the number, questions about a dose record nothing, and names outside GSM-7 are
spelt for SMS but kept for Telegram."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.bootstrap import Service, build
from bot.settings import load_settings
from messages.gsm import is_gsm7, segments
from messages.leaflet import topic_by_id
from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.ports import ManualClock
from scheduler.services.care import Enrolment
from scheduler.store.migrate import upgrade_async

START = date(2026, 12, 1)  # London is on GMT: 09:00 local is 09:00 UTC
TEAM_PHONE = "+441234567890"


async def _service(tmp_path: Path, team_phone: str) -> Service:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    await upgrade_async(url)
    settings = load_settings(database_url=url, team_phone=team_phone)
    clock = ManualClock(datetime.combine(START, time(10, 0), UTC))  # an hour after the dose
    return build(settings, clock=clock, out=io.StringIO())


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    service = await _service(tmp_path, TEAM_PHONE)
    try:
        yield service
    finally:
        await service.close()


async def enrol(service: Service, name: str = "Ann Smith", telegram: bool = False) -> Patient:
    return await service.care.enrol(Enrolment(
        name=name, tz="Europe/London", start=START, dose_time=time(9, 0),
        regimen=Regimen.parse("21/28"),
        channel=ChannelKind.TELEGRAM if telegram else ChannelKind.SMS,
        phone=None if telegram else "+447700900123",
    ))  # fmt: skip


async def say(service: Service, patient: Patient, text: str) -> str:
    fresh = await service.courses.get(patient.id)
    assert fresh is not None
    channel = fresh.channel.value
    return (await service.conversation.handle(fresh, text, channel=channel)).text


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text)[0]


async def test_fainting_is_answered_with_the_call_and_number_first_and_alerts_the_nurses(
    service: Service,
) -> None:
    p = await enrol(service)
    reply = await say(service, p, "I passed out this morning")
    assert first_sentence(reply) == f"URGENT: call your treatment team now on {TEAM_PHONE}."
    assert topic_by_id("fainting").answer in reply
    assert is_gsm7(reply) and segments(reply) <= 3
    [(kind, patient_id, text)] = await service.alerts.recent()
    assert (kind, patient_id) == ("red_flag", p.id)
    assert "Fainting or collapse" in text and '"I passed out this morning"' in text


async def test_every_red_flag_answer_puts_the_instruction_before_the_background(
    service: Service,
) -> None:
    p = await enrol(service)
    for text in ("temp 38.6", "chest pain", "took two by mistake", "my husband collapsed"):
        reply = await say(service, p, text)
        assert reply.startswith(f"URGENT: call your treatment team now on {TEAM_PHONE}. "), text


async def test_without_a_team_phone_the_urgent_answer_still_says_call_the_team_now(
    tmp_path: Path,
) -> None:
    service = await _service(tmp_path, "")  # TEAM_PHONE unset
    try:
        p = await enrol(service)
        reply = await say(service, p, "collapsed in the kitchen")
        assert first_sentence(reply) == "URGENT: call your treatment team now."
        assert "Your team:" not in reply and " on ." not in reply
    finally:
        await service.close()


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("I was sick after taking it", "vomited-dose"),
        ("brought it back up 10 mins later", "vomited-dose"),
        ("can I take an extra one tomorrow?", "make-up-dose"),
        ("ill take 2 tomorrow to make up for it", "make-up-dose"),
        ("can my husband take one of my capsules", "sharing-capsules"),
        ("does my carer need gloves", "carer-handling"),
    ],
)
async def test_a_safety_question_gets_its_answer_and_records_or_snoozes_nothing(
    service: Service, text: str, topic: str
) -> None:
    p = await enrol(service)
    reply = await say(service, p, text)
    assert reply.startswith(topic_by_id(topic).answer)
    assert await service.courses.dose_records(p.id, START) == {}
    assert [r for r in await service.outbox.rows(p.id) if r.kind == "later"] == []


async def test_an_sms_patient_named_in_another_script_gets_gsm7_replies(service: Service) -> None:
    p = await enrol(service, name="\u674e\u96f7")  # 李雷
    reply = await say(service, p, "taken")
    assert reply.startswith("Thanks LiLei, ")
    assert is_gsm7(reply)
    for row in await service.outbox.rows(p.id):
        assert is_gsm7(row.text) and segments(row.text) == 1, row.text


async def test_a_telegram_patient_keeps_their_name_as_written(service: Service) -> None:
    p = await enrol(service, name="\u674e\u96f7", telegram=True)
    reply = await say(service, p, "taken")
    assert reply.startswith("Thanks \u674e\u96f7, ")
