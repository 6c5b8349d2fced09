"""Alerts that reach someone and can be handled: urgent ones first, acknowledged or assigned
(each in the audit trail), paged by SMS to the team's numbers without the patient's words,
and sent again, once, when nobody acknowledged them in time."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import build
from bot.settings import load_settings
from scheduler.domain.audit import ActorError
from scheduler.ports import ManualClock
from scheduler.store.alerts import AlertError
from scheduler.store.migrate import upgrade_async
from tests.fakes.server import serve_asgi
from tests.fakes.sms_app import PUBLIC_URL, SENDER, T0, TELEGRAM_TOKEN, SmsWorld, sms_world
from tests.fakes.telegram_api import FakeTelegramBotApi
from tests.integration.clinic import Clinic

WORDS = "temp of 38.7 and shivery"
STAFF = ("+447700900501", "+447700900502")
NURSE = 7001


@pytest.fixture
async def clinic(engine: AsyncEngine) -> Clinic:
    return Clinic.build(engine, T0)


# -- handling ------------------------------------------------------------------------------


async def test_open_alerts_put_urgent_first_and_acknowledging_or_assigning_is_audited(
    clinic: Clinic,
) -> None:
    start = date(2026, 6, 1)
    ann, bob, cat = [await clinic.enrol(start=start) for _ in range(3)]
    await clinic.say(ann, "temperature 39 and shivery")
    clinic.clock.advance(minutes=1)
    await clinic.say(bob, "STOP")
    clinic.clock.advance(minutes=1)
    await clinic.say(cat, "I took 3 by accident")
    alerts = clinic.alerts

    listed = await alerts.open_alerts()
    assert [(a.kind, a.patient_id, a.urgent) for a in listed] == [
        ("extra_capsule", cat.id, True), ("red_flag", ann.id, True), ("opt_out", bob.id, False),
    ]  # fmt: skip
    red = listed[1]

    assigned = await alerts.assign(red.id, "staff:7", by="staff:3")
    assert (assigned.assigned_to, assigned.acknowledged_at) == ("staff:7", None)
    done = await alerts.acknowledge(red.id, "staff:7", "Called Ann Smith on 07700 900001: A&E")
    assert (done.acknowledged_by, done.acknowledged_at) == ("staff:7", clinic.clock.now())
    assert done.ack_note == "Called Ann Smith on 07700 900001: A&E"  # as typed, on the alert
    assert [a.id for a in await alerts.open_alerts()] == [listed[0].id, listed[2].id]

    trail = await clinic.care.audit.entries(patient_id=ann.id)
    ack, assign = trail[0], trail[1]
    assert (assign.action, assign.actor, assign.before, assign.after) == (
        "assign", "staff:3", {"alert": red.id, "assigned_to": None},
        {"alert": red.id, "assigned_to": "staff:7"},
    )  # fmt: skip
    assert (ack.action, ack.actor) == ("acknowledge", "staff:7")
    # The audit trail keeps the note without the patient's name or number.
    assert ack.after == {"alert": red.id, "kind": "red_flag", "acknowledged_by": "staff:7",
                         "note": "Called [patient] on [patient]: A&E"}  # fmt: skip


async def test_handling_mistakes_are_one_sentence_and_change_nothing(clinic: Clinic) -> None:
    ann = await clinic.enrol(start=date(2026, 6, 1))
    await clinic.say(ann, "temperature 39 and shivery")
    [red] = await clinic.alerts.open_alerts()
    await clinic.alerts.acknowledge(red.id, "cli:nora")

    with pytest.raises(AlertError, match=r"^alert \d+ was already acknowledged by cli:nora at "):
        await clinic.alerts.acknowledge(red.id, "staff:7", "me too")
    with pytest.raises(AlertError, match="already acknowledged by cli:nora: nothing to assign"):
        await clinic.alerts.assign(red.id, "staff:7")
    with pytest.raises(AlertError, match="there is no alert 999"):
        await clinic.alerts.acknowledge(999, "staff:7")
    with pytest.raises(ActorError):
        await clinic.alerts.assign(red.id, "Nora")
    with pytest.raises(AlertError, match="keep it to 500"):
        await clinic.alerts.acknowledge(red.id, "staff:7", "x" * 501)
    assert (await clinic.alerts.store.get(red.id)).acknowledged_by == "cli:nora"
    assert [e.action for e in await clinic.care.audit.entries(action="acknowledge")] == [
        "acknowledge"
    ]


# -- paged by SMS --------------------------------------------------------------------------


def pages(world: SmsWorld) -> list[tuple[str, str]]:
    return [(m.to, m.body) for m in world.twilio.messages if m.to in STAFF]


async def test_an_urgent_alert_reaches_every_alert_number_without_the_patients_words(
    tmp_path: Path,
) -> None:
    async with sms_world(tmp_path, alert_sms_to=" , ".join(STAFF)) as w:
        patient = await w.enrol()
        answer = await w.text_in(WORDS)
        assert "URGENT: call your treatment team now" in answer.text

        page = (
            f"lenabot URGENT: red flag for patient {patient.id}. {PUBLIC_URL}/patients/{patient.id}"
        )
        assert sorted(pages(w)) == [(STAFF[0], page), (STAFF[1], page)]
        for sms in w.twilio.messages:
            assert "38.7" not in sms.body and "shivery" not in sms.body
            assert (sms.from_, sms.status_callback) == (SENDER, None)
        [(kind, _, text)] = await w.alerts()  # the words stay where the team reads them
        assert kind == "red_flag" and WORDS in text
        out = w.service.alerts.out
        assert isinstance(out, io.StringIO) and out.getvalue() == ""  # someone was reached

        # Not urgent: an opt-out is not paged.
        await w.text_in("STOP")
        assert len(pages(w)) == 2


async def test_a_number_twilio_refuses_does_not_stop_the_others_or_alert_about_a_patient(
    tmp_path: Path,
) -> None:
    async with sms_world(tmp_path, alert_sms_to=",".join(STAFF)) as w:
        patient = await w.enrol()
        w.twilio.fail_next(status=400, code=21211)  # one of the two numbers is wrong
        answer = await w.text_in(WORDS)
        assert "URGENT" in answer.text
        assert len(pages(w)) == 1
        assert [(k, p) for k, p, _ in await w.alerts()] == [("red_flag", patient.id)]


# -- sent again, once ----------------------------------------------------------------------


async def test_an_unacknowledged_urgent_alert_is_sent_again_once_after_the_delay(
    tmp_path: Path,
) -> None:
    telegram = FakeTelegramBotApi(token=TELEGRAM_TOKEN)
    async with (
        serve_asgi(telegram.app) as api,
        sms_world(
            tmp_path, telegram_api=api, nurse_ids=str(NURSE), alert_sms_to=",".join(STAFF)
        ) as w,
    ):
        ann = await w.enrol()
        bob = await w.enrol(phone="+447700900124", name="Bob Jones")
        await w.text_in(WORDS)
        await w.text_in("I took 3 capsules by accident", sender="+447700900124")
        nurse_chat = [m.text for m in telegram.sent if m.chat_id == NURSE]
        assert len(nurse_chat) == 2 and WORDS in nurse_chat[0]  # the team's own chat
        assert len(pages(w)) == 4
        [extra] = [a for a in await w.service.alerts.open_alerts() if a.patient_id == bob.id]
        w.clock.advance(minutes=10)
        await w.service.alerts.acknowledge(extra.id, "staff:3", "spoke to Bob")

        job = w.service.scheduler().get_job("escalate")  # as the worker runs it, now from the clock
        w.clock.advance(minutes=4, seconds=59)
        await job.func()
        assert len(pages(w)) == 4  # not yet: 14 min 59 s

        w.clock.advance(seconds=1)
        await job.func()
        again = (
            f"lenabot URGENT, not acknowledged after 15 min: red flag for patient {ann.id} at "
            f"07:00 UTC. {PUBLIC_URL}/patients/{ann.id}"
        )
        assert sorted(pages(w)[4:]) == [(STAFF[0], again), (STAFF[1], again)]
        assert [m.text for m in telegram.sent if m.chat_id == NURSE][2:] == [again]

        w.clock.advance(hours=2)
        await job.func()
        assert len(pages(w)) == 6 and len([m for m in telegram.sent if m.chat_id == NURSE]) == 3
        [red] = [a for a in await w.service.alerts.open_alerts() if a.patient_id == ann.id]
        assert red.escalated_at == T0 + timedelta(minutes=15)
        escalated = await w.service.audit.entries(action="escalate")
        assert [(e.actor, e.patient_id) for e in escalated] == [("system", ann.id)]


# -- said at start-up ----------------------------------------------------------------------


async def _started(tmp_path: Path, **values: str | None) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'start.db'}"
    await upgrade_async(url)
    settings = load_settings(
        _env_file=None, database_url=url, team_phone="+441632960999", nurse_telegram_ids="7001",
        **values,  # type: ignore[arg-type]
    )  # fmt: skip
    service = build(settings, clock=ManualClock(datetime(2026, 6, 10, tzinfo=UTC)),
                    out=io.StringIO())  # fmt: skip
    try:
        await service.start(inbound=False)
    finally:
        await service.close()


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "bot.bootstrap" and "urgent alerts" in r.getMessage()]  # fmt: skip


async def test_no_twilio_is_said_once_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with serve_asgi(FakeTelegramBotApi(token=TELEGRAM_TOKEN).app) as api:
        await _started(tmp_path, telegram_bot_token=TELEGRAM_TOKEN, telegram_api_base=api)
    assert said(caplog) == [
        "no Twilio is configured: urgent alerts (red flags, extra capsules) are not sent by "
        "SMS to the team, only to nurse chats and 'lenabot alerts'"
    ]


async def test_alert_numbers_without_twilio_are_said_once_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await _started(tmp_path, alert_sms_to=STAFF[0], telegram_bot_token=None)
    [line] = said(caplog)
    assert line.startswith("ALERT_SMS_TO is set but no Twilio is configured")


async def test_sms_with_alert_numbers_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with sms_world(tmp_path, alert_sms_to=STAFF[0]):
        pass
    assert said(caplog) == []
    async with sms_world(tmp_path):
        pass
    [line] = said(caplog)
    assert line.startswith("ALERT_SMS_TO is empty")
