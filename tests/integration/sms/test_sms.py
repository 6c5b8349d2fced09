"""SMS end to end: the real twilio client against FakeTwilioApi, signed webhooks into the app.

Every test runs lenabot's real Starlette app (lifespan and all) on 127.0.0.1 behind a pretend
proxy: Twilio knows it as PUBLIC_URL, an https root with a path prefix.
"""

from __future__ import annotations

import asyncio
import logging
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.sms.gateway import TwilioChannel
from scheduler.domain.model import ChannelKind
from scheduler.domain.outbox import CANCELLED, EXPIRED, FAILED, PENDING, SENT
from scheduler.ports import Address, Outgoing, TransientSendError
from scheduler.services.sending import outgoing
from tests.fakes.sms_app import (
    COURSE_START,
    DOSE_AT,
    PHONE,
    PUBLIC_URL,
    SENDER,
    SmsWorld,
    sms_world,
)

STRANGER = "+447700900999"
SERVICE_SID = "MG" + "ab" * 16


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SmsWorld]:
    async with sms_world(tmp_path, request_timeout=0.3) as w:
        yield w


def said(response_text: str) -> list[str]:
    """The <Message> texts of a TwiML answer (which must be well-formed XML)."""
    root = ET.fromstring(response_text)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


async def sent_dose_reminder(world: SmsWorld) -> str:
    """Enrol Ann, reach her dose time, dispatch; return her patient id."""
    patient = await world.enrol()
    world.clock.set(DOSE_AT)
    assert (await world.tick()).sent == 1
    return patient.id


# -- the happy path ------------------------------------------------------------------------


async def test_dose_reminder_missed_reply_and_delivery_status_end_to_end(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.clock.set(DOSE_AT - timedelta(minutes=1))
    assert (await world.tick()).sent == 0  # not before its time

    world.clock.set(DOSE_AT)
    stats = await world.tick()

    assert stats.sent == 1
    [sms] = world.twilio.messages
    row = await world.dose_row(patient.id)
    assert (sms.to, sms.from_, sms.messaging_service_sid) == (PHONE, SENDER, None)
    assert sms.body == row.text
    assert sms.body.startswith("Ann, time for your lenalidomide: cycle 1, day 10 of 21")
    assert sms.status_callback == f"{PUBLIC_URL}/twilio/status/{row.callback_token}"
    assert sms.validity_period == 36000  # 12 h until expiry, clamped to Twilio's maximum
    assert (row.status, row.provider_id) == (SENT, sms.sid)

    world.clock.advance(hours=3)
    answer = await world.text_in("MISSED")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert said(answer.text) == [
        "It is less than 12 hours since your usual time, so take the dose for Wed 10 Jun now "
        "(by 21:00). Then reply TAKEN."
    ]

    for status in ("sent", "delivered"):
        callback = await world.status_callback(sms.status_callback or "", sms.sid, status)
        assert callback.status_code == 200
    [row] = [r for r in await world.rows(patient.id) if r.id == row.id]
    assert (row.status, row.delivery_status) == (SENT, "delivered")
    assert await world.alerts() == []


async def test_a_messaging_service_sends_instead_of_a_from_number(tmp_path: Path) -> None:
    async with sms_world(tmp_path, messaging_service_sid=SERVICE_SID) as world:
        await sent_dose_reminder(world)

        [sms] = world.twilio.messages
        assert (sms.from_, sms.messaging_service_sid) == (None, SERVICE_SID)


async def test_a_retry_gets_the_validity_left_until_expiry(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.twilio.fail_next(status=503, code=20503)
    world.clock.set(DOSE_AT)
    assert (await world.tick()).retried == 1

    world.clock.set(DOSE_AT + timedelta(hours=9))  # 3 h before the 12 h window closes
    assert (await world.tick()).sent == 1

    [sms] = world.twilio.messages
    assert sms.validity_period == 3 * 3600
    assert (await world.dose_row(patient.id)).status == SENT


# -- security --------------------------------------------------------------------------------


async def test_forged_signature_is_refused_and_nothing_is_recorded(world: SmsWorld) -> None:
    pid = await sent_dose_reminder(world)
    fields = world.inbound_fields("MISSED")

    forged = await world.post("/twilio/sms", fields, token="not-the-auth-token")

    assert forged.status_code == 403
    assert "<Message>" not in forged.text
    assert await world.inbound_count() == 0
    assert await world.service.courses.dose_records(pid, COURSE_START) == {}


async def test_missing_signature_is_refused(world: SmsWorld) -> None:
    pid = await sent_dose_reminder(world)

    inbound = await world.post("/twilio/sms", world.inbound_fields("TAKEN"), signed=False)
    row = await world.dose_row(pid)
    status = await world.post(f"/twilio/status/{row.callback_token}",
                              world.status_fields(row.provider_id or "", "delivered"),
                              signed=False)

    assert (inbound.status_code, status.status_code) == (403, 403)
    assert await world.inbound_count() == 0
    assert await world.service.courses.dose_records(pid, COURSE_START) == {}
    assert (await world.dose_row(pid)).delivery_status is None


async def test_signature_over_the_raw_request_url_is_refused(world: SmsWorld) -> None:
    """Behind a proxy the app sees another URL than Twilio signed: only PUBLIC_URL counts."""
    await sent_dose_reminder(world)
    fields = world.inbound_fields("TAKEN")

    raw = await world.post("/twilio/sms", fields, sign_url=f"{world.app_url}/twilio/sms")
    public = await world.post("/twilio/sms", fields)

    assert raw.status_code == 403
    assert public.status_code == 200


async def test_a_signed_form_with_a_changed_body_is_refused(world: SmsWorld) -> None:
    pid = await sent_dose_reminder(world)
    signed_for = world.inbound_fields("HELP")

    tampered = await world.post("/twilio/sms", {**signed_for, "Body": "TAKEN"},
                                sign_fields=signed_for)

    assert tampered.status_code == 403
    assert await world.service.courses.dose_records(pid, COURSE_START) == {}


async def test_forged_status_callback_is_refused_and_unknown_tokens_get_200(
    world: SmsWorld,
) -> None:
    pid = await sent_dose_reminder(world)
    [sms] = world.twilio.messages
    path = (sms.status_callback or "").removeprefix(PUBLIC_URL)

    forged = await world.post(path, world.status_fields(sms.sid, "failed"), token="guess")
    unknown = await world.post("/twilio/status/no-such-token",
                               world.status_fields(sms.sid, "delivered"))

    assert forged.status_code == 403
    assert unknown.status_code == 200
    assert (await world.dose_row(pid)).delivery_status is None
    assert await world.alerts() == []


async def test_unknown_sender_gets_one_generic_line_and_no_patient_data(world: SmsWorld) -> None:
    await sent_dose_reminder(world)
    inbound_before = await world.inbound_count()

    answer = await world.text_in("when is my next dose", sender=STRANGER)

    assert answer.status_code == 200
    assert said(answer.text) == [
        "This number is not enrolled with a care team. Please contact your treatment centre."
    ]
    for secret in ("Ann", "Jun", "09:00", "cycle", "dose"):
        assert secret not in answer.text
    assert await world.inbound_count() == inbound_before


async def test_unknown_sender_texting_stop_gets_no_answer(world: SmsWorld) -> None:
    answer = await world.text_in("STOP", sender=STRANGER)

    assert said(answer.text) == []


async def test_oversized_body_is_refused_with_413(world: SmsWorld) -> None:
    limit = world.service.settings.max_body_bytes
    fields = world.inbound_fields("x" * limit)

    declared = await world.post("/twilio/sms", fields)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the app must count
        for _ in range(limit // 1024 + 2):
            yield b"Body=" + b"y" * 1024 + b"&"

    streamed = await world.http.post(
        "/twilio/sms", content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )

    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert await world.inbound_count() == 0


@pytest.mark.parametrize("content_type", [
    "application/json", "multipart/form-data; boundary=x", "text/plain", None,
])  # fmt: skip
async def test_a_body_that_is_not_a_form_is_refused(
    world: SmsWorld, content_type: str | None
) -> None:
    headers = {"X-Twilio-Signature": world.sign(PUBLIC_URL + "/twilio/sms", {})}
    if content_type:
        headers["Content-Type"] = content_type

    answer = await world.http.post("/twilio/sms", content=b'{"Body": "TAKEN"}', headers=headers)

    assert answer.status_code == 415


async def test_garbage_bodies_never_cause_a_server_error(world: SmsWorld) -> None:
    await sent_dose_reminder(world)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    raw_bodies = [b"\xff\xfe\xfd", b"Body=%FF%FE", b"%%%&&&===", b"=" * 500,
                  b"&".join(b"f%d=1" % i for i in range(500)), "Body=💊".encode()]
    for raw in raw_bodies:
        answer = await world.http.post("/twilio/sms", content=raw,
                                       headers={**form, "X-Twilio-Signature": "AAAA"})
        assert answer.status_code in (400, 403), raw

    rng = random.Random(7)
    alphabet = "abc TAKEN missed 💊✅❌🤒\u200b\u202e\x00\x01\x0b\u00e9\u4e2d<>&\"'\r\n\t%+=;"
    bodies = ["", " ", "\x00", "💊" * 200, "<Response><Message>hi</Message></Response>",
              "]]>&amp;", "1\ufe0f\u20e3", "\U0001f44d\U0001f3fd"]
    bodies += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
               for _ in range(25)]
    for body in bodies:
        answer = await world.text_in(body)
        assert answer.status_code == 200, body
        said(answer.text)  # always well-formed TwiML


# -- provider faults -------------------------------------------------------------------------


async def test_rate_limited_send_waits_for_retry_after_and_is_sent_once(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.twilio.retry_after = "30"
    world.twilio.fail_next(status=429, code=20429)
    world.clock.set(DOSE_AT)

    assert (await world.tick()).retried == 1
    world.clock.advance(seconds=29)
    assert (await world.tick()).claimed == 0  # Retry-After is a floor for the backoff
    world.clock.advance(seconds=1)
    assert (await world.tick()).sent == 1
    world.clock.advance(minutes=30)
    assert (await world.tick()).claimed == 0

    [sms] = world.twilio.messages
    row = await world.dose_row(patient.id)
    assert (row.status, row.provider_id, row.attempts) == (SENT, sms.sid, 2)
    assert world.twilio.requests_total == 2


async def test_recipient_who_replied_stop_at_twilio_is_opted_out(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.twilio.opt_out(PHONE)
    world.clock.set(DOSE_AT)

    stats = await world.tick()

    assert stats.failed == 1
    assert world.twilio.messages == []
    assert (await world.service.courses.get(patient.id)).opted_out_at is not None
    assert (await world.dose_row(patient.id)).status == FAILED
    assert await world.rows(patient.id, PENDING) == []
    assert await world.rows(patient.id, CANCELLED)
    [(kind, pid, text)] = await world.alerts()
    assert (kind, pid) == ("opt_out", patient.id)
    assert PHONE not in text


@pytest.mark.parametrize("fault", [
    pytest.param({"status": 500, "code": 20500}, id="500"),
    pytest.param({"status": 502}, id="502"),
])  # fmt: skip
async def test_server_errors_are_retried_and_sent_once(
    world: SmsWorld, fault: dict[str, int]
) -> None:
    patient = await world.enrol()
    world.twilio.fail_next(**fault)
    world.clock.set(DOSE_AT)

    assert (await world.tick()).retried == 1
    world.clock.advance(minutes=10)
    assert (await world.tick()).sent == 1

    [sms] = world.twilio.messages
    assert (await world.dose_row(patient.id)).provider_id == sms.sid


async def test_timeout_whose_message_reached_twilio_is_not_sent_twice(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.twilio.fail_next(timeout=5.0)  # Twilio creates the message but answers too late
    world.clock.set(DOSE_AT)

    assert (await world.tick()).retried == 1
    [landed] = await world.twilio.wait_for_messages(1)
    assert landed.client_disconnected
    world.clock.advance(minutes=10)
    assert (await world.tick()).sent == 1

    assert world.twilio.messages == [landed]  # found at Twilio, not sent again
    assert world.twilio.requests_total == 1
    assert (await world.dose_row(patient.id)).provider_id == landed.sid


async def test_timeout_whose_message_never_reached_twilio_is_sent_once(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.twilio.fail_next(timeout=5.0, status=500)  # hangs, then would have refused it
    world.clock.set(DOSE_AT)

    assert (await world.tick()).retried == 1
    world.clock.advance(minutes=10)
    assert (await world.tick()).sent == 1

    [sms] = world.twilio.messages
    assert world.twilio.lists == 1  # looked before sending again
    assert (await world.dose_row(patient.id)).provider_id == sms.sid


async def test_timeout_whose_message_reached_twilio_is_found_after_a_restart(
    world: SmsWorld,
) -> None:
    """The mark is in the outbox row, not in the process: a new TwilioChannel (the service
    restarted after the timeout) still looks before sending, and sends nothing."""
    patient = await world.enrol()
    world.twilio.fail_next(timeout=5.0)
    world.clock.set(DOSE_AT)
    assert (await world.tick()).retried == 1
    [landed] = await world.twilio.wait_for_messages(1)
    await world.twilio.settled()
    [row] = await world.service.outbox.claim(DOSE_AT + timedelta(minutes=10), 1, "restarted")
    assert row.maybe_sent

    fresh = TwilioChannel(world.service.settings, world.clock, world.service.alerts)
    await fresh.open(2.0)
    try:
        sid = await fresh.send(outgoing(row, patient, Address(ChannelKind.SMS, PHONE)))
    finally:
        await fresh.close()

    assert sid == landed.sid
    assert world.twilio.messages == [landed] and world.twilio.requests_total == 1


@pytest.mark.parametrize("reached", [True, False], ids=["reached-twilio", "never-sent"])
async def test_a_worker_killed_mid_send_is_looked_up_at_twilio_after_the_lease(
    world: SmsWorld, reached: bool
) -> None:
    """A worker dies after claiming the dose reminder (and, with ``reached``, after handing
    it to Twilio) but before recording anything. Once the claim is older than the lease, the
    next tick takes it back marked ``maybe_sent`` and looks at Twilio: a message already
    there is recorded, not sent again (H11); one that never got there is sent once."""
    patient = await world.enrol()
    world.clock.set(DOSE_AT)
    [row] = await world.service.outbox.claim(DOSE_AT, 10, "dead-worker")
    assert row.kind == "dose"
    if reached:
        await world.gateway.sender.send(outgoing(row, patient, Address(ChannelKind.SMS, PHONE)))
    world.clock.advance(minutes=1)
    assert (await world.tick()).sent == 0  # still claimed: the dead worker's lease runs on

    world.clock.set(DOSE_AT + world.service.dispatcher.lease + timedelta(minutes=1))
    stats = await world.tick()

    assert (stats.released, stats.sent) == (1, 1)
    [sms] = world.twilio.messages
    assert world.twilio.lists == 1 and world.twilio.requests_total == 1
    done = await world.dose_row(patient.id)
    assert (done.status, done.provider_id) == (SENT, sms.sid)


async def test_taken_between_a_crash_and_the_resend_cancels_the_reminder(
    world: SmsWorld,
) -> None:
    """The other order: the worker died holding the dose reminder (it reached Twilio), the
    patient replied TAKEN, and only then did the lease run out. The row taken back is a dose
    already recorded: cancelled at its claim, neither looked up nor sent again."""
    patient = await world.enrol()
    world.clock.set(DOSE_AT)
    [row] = await world.service.outbox.claim(DOSE_AT, 10, "dead-worker")
    await world.gateway.sender.send(outgoing(row, patient, Address(ChannelKind.SMS, PHONE)))
    world.clock.advance(minutes=2)
    assert "recorded as taken" in " ".join(said((await world.text_in("TAKEN")).text))

    world.clock.set(DOSE_AT + world.service.dispatcher.lease + timedelta(minutes=1))
    stats = await world.tick()

    assert (stats.released, stats.sent, stats.cancelled) == (1, 0, 1)
    assert len(world.twilio.messages) == 1 and world.twilio.lists == 0
    assert (await world.dose_row(patient.id)).status == CANCELLED


async def test_a_send_cut_off_at_shutdown_is_looked_up_before_it_goes_again(
    world: SmsWorld,
) -> None:
    """Shutdown's grace runs out while Twilio holds the dose reminder's request: the tick is
    cancelled mid-send, and the row goes back to pending marked ``maybe_sent`` (the others
    handed back at shutdown were never started and are not). The next worker finds the
    message at Twilio and records it instead of texting the patient again."""
    patient = await world.enrol()
    world.twilio.fail_next(timeout=5.0)  # Twilio takes the request and answers too late
    world.clock.set(DOSE_AT)
    dispatcher = world.service.dispatcher
    tick = asyncio.create_task(dispatcher.tick())
    await world.twilio.wait_in_flight(1)

    assert await dispatcher.drain(grace=0.05) == 1
    await world.twilio.settled()
    [landed] = world.twilio.messages  # the cut-off request created the message after all
    assert tick.done()
    row = await world.dose_row(patient.id)
    assert (row.status, row.maybe_sent) == (PENDING, True)

    restarted = replace(dispatcher, worker="restarted")
    assert (await restarted.tick()).sent == 1
    assert world.twilio.messages == [landed] and world.twilio.lists == 1
    assert (await world.dose_row(patient.id)).provider_id == landed.sid


async def test_retries_stop_at_expiry_and_nothing_is_sent_late(world: SmsWorld) -> None:
    patient = await world.enrol()
    world.twilio.random_faults(rate=1.0, kinds=(503,))
    world.clock.set(DOSE_AT)
    while world.clock.now() < DOSE_AT + timedelta(hours=12, minutes=30):
        await world.tick()
        world.clock.advance(minutes=15)
    row = await world.dose_row(patient.id)
    world.twilio.random_faults(rate=0)  # Twilio is back: still nothing goes out late
    await world.tick()

    assert world.twilio.requests_total > 3
    assert world.twilio.messages == []
    assert row.status == EXPIRED
    assert (await world.dose_row(patient.id)).status == EXPIRED
    assert await world.alerts() == []


async def test_invalid_number_fails_and_alerts_the_nurse_without_the_number(
    world: SmsWorld,
) -> None:
    patient = await world.enrol()
    world.twilio.fail_next(status=400, code=21211, message=f"Invalid 'To' Phone Number: {PHONE}")
    world.clock.set(DOSE_AT)

    assert (await world.tick()).failed == 1
    world.clock.advance(minutes=30)
    assert (await world.tick()).claimed == 0  # never retried

    row = await world.dose_row(patient.id)
    assert row.status == FAILED
    assert "21211" in (row.last_error or "") and PHONE not in (row.last_error or "")
    [(kind, pid, text)] = await world.alerts()
    assert (kind, pid) == ("delivery_failed", patient.id)
    assert patient.id in text and PHONE not in text and "900123" not in text
    assert (await world.service.courses.get(patient.id)).opted_out_at is None


async def test_undelivered_status_callback_alerts_the_nurse(world: SmsWorld) -> None:
    pid = await sent_dose_reminder(world)
    [sms] = world.twilio.messages

    answer = await world.status_callback(sms.status_callback or "", sms.sid, "undelivered",
                                         ErrorCode="30003")

    assert answer.status_code == 200
    assert (await world.dose_row(pid)).delivery_status == "undelivered"
    [(kind, alerted, text)] = await world.alerts()
    assert (kind, alerted) == ("delivery_failed", pid)
    assert "30003" in text and PHONE not in text


async def test_failed_status_with_21610_opts_the_patient_out(world: SmsWorld) -> None:
    pid = await sent_dose_reminder(world)
    [sms] = world.twilio.messages

    await world.status_callback(sms.status_callback or "", sms.sid, "failed", ErrorCode="21610")

    assert (await world.service.courses.get(pid)).opted_out_at is not None
    assert await world.rows(pid, PENDING) == []
    assert [kind for kind, _, _ in await world.alerts()] == ["opt_out"]


# -- carrier keywords ------------------------------------------------------------------------


async def test_stop_opts_out_silently_and_start_turns_reminders_back_on(world: SmsWorld) -> None:
    patient = await world.enrol()
    assert await world.rows(patient.id, PENDING)

    stop = await world.text_in("STOP")

    assert said(stop.text) == []  # Twilio confirms STOP itself and blocks any reply
    assert (await world.service.courses.get(patient.id)).opted_out_at is not None
    assert await world.rows(patient.id, PENDING) == []
    assert [(k, p) for k, p, _ in await world.alerts()] == [("opt_out", patient.id)]
    world.clock.set(DOSE_AT)
    await world.tick()
    assert world.twilio.messages == []

    start = await world.text_in("start")

    assert said(start.text) == [
        "Your reminders are back on. Reply STOP at any time to stop them, or HELP for help."
    ]
    assert (await world.service.courses.get(patient.id)).opted_out_at is None
    assert await world.rows(patient.id, PENDING)


async def test_help_and_info_get_our_help(tmp_path: Path) -> None:
    async with sms_world(tmp_path, team_phone="+441632960000") as world:
        await world.enrol()
        for word in ("HELP", "info"):
            [text] = said((await world.text_in(word)).text)
            assert text.startswith("Reply TAKEN after your dose")
            assert text.endswith("Your team: +441632960000")


async def test_a_stop_phrase_twilio_does_not_know_gets_our_confirmation(world: SmsWorld) -> None:
    patient = await world.enrol()

    answer = await world.text_in("Stop all")

    assert said(answer.text) == [
        "You will get no more messages from this service. Your care team has been told. "
        "Reply START to turn them back on."
    ]
    assert (await world.service.courses.get(patient.id)).opted_out_at is not None


async def test_a_question_mentioning_stop_is_not_an_opt_out(world: SmsWorld) -> None:
    patient = await world.enrol()

    answer = await world.text_in("how do I stop the diarrhoea")

    assert said(answer.text)
    assert (await world.service.courses.get(patient.id)).opted_out_at is None


async def test_an_opt_out_keyword_set_up_at_twilio_is_mirrored(world: SmsWorld) -> None:
    patient = await world.enrol()

    answer = await world.text_in("ARRET", OptOutType="STOP")

    assert said(answer.text) == []
    assert (await world.service.courses.get(patient.id)).opted_out_at is not None
    assert await world.rows(patient.id, PENDING) == []


async def test_yes_that_twilio_took_as_opt_in_turns_reminders_back_on(world: SmsWorld) -> None:
    patient = await world.enrol()
    await world.text_in("STOP", OptOutType="STOP")

    answer = await world.text_in("YES", OptOutType="START")

    assert said(answer.text) == []  # Twilio sent its own opt-in confirmation
    assert (await world.service.courses.get(patient.id)).opted_out_at is None
    assert await world.rows(patient.id, PENDING)


# -- robustness and privacy ------------------------------------------------------------------


async def test_a_webhook_twilio_repeats_is_handled_once(world: SmsWorld) -> None:
    pid = await sent_dose_reminder(world)
    world.clock.advance(hours=1)
    fields = world.inbound_fields("TAKEN")

    first = await world.post("/twilio/sms", fields)
    again = await world.post("/twilio/sms", fields)

    assert first.text == again.text
    assert said(first.text)[0].startswith("Thanks Ann")
    assert await world.inbound_count() == 1
    assert await world.service.courses.dose_records(pid, COURSE_START) == {
        DOSE_AT.date(): "taken"
    }


async def test_no_phone_number_or_message_text_is_logged_at_info(
    world: SmsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    pid = await sent_dose_reminder(world)
    world.clock.advance(hours=2)
    [sms] = world.twilio.messages
    await world.text_in("I feel sick and missed it")
    await world.text_in("when is my next dose", sender=STRANGER)
    await world.status_callback(sms.status_callback or "", sms.sid, "failed", ErrorCode="30008")

    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert pid in logged  # the log does say what happened, by patient id
    for private in (PHONE, PHONE[1:], STRANGER, "feel sick", "next dose", "Swallow it whole"):
        assert private not in logged


async def test_the_channel_refuses_to_send_a_message_already_expired(world: SmsWorld) -> None:
    patient = await world.enrol()
    row = await world.dose_row(patient.id)
    world.clock.set(row.expires_at)
    late = Outgoing(ref=str(row.id), patient_id=patient.id,
                    address=Address(ChannelKind.SMS, PHONE), text=row.text,
                    expires_at=row.expires_at, local_label="", callback_token=row.callback_token)

    with pytest.raises(TransientSendError, match="expired"):
        await world.gateway.channel.send(late)

    assert world.twilio.requests_total == 0


async def test_the_twilio_session_is_closed_when_the_app_stops(tmp_path: Path) -> None:
    async with sms_world(tmp_path) as world:
        sender = world.gateway.sender
        assert sender.client is not None
        session = sender.client.http_client.session

    assert sender.client is None
    assert session.closed
