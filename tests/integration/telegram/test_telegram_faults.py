"""Telegram failing in the ways it does: 429, blocked bot, lost chats, timeouts, 5xx."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scheduler.domain.model import ChannelKind, Patient
from scheduler.domain.outbox import OutboxRow
from scheduler.ports import Address, Outgoing, PermanentSendError, TransientSendError
from tests.fakes.telegram_bot import NURSE, Bot, running_bot

PATIENT_CHAT = 5001
DOSE_TIME_UTC = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 09:00 in London


async def linked_patient(bot: Bot) -> Patient:
    patient = await bot.enrol()
    await bot.link(patient, PATIENT_CHAT)
    return patient


async def todays_dose(bot: Bot, patient: Patient) -> OutboxRow:
    [row] = [
        r
        for r in await bot.service.outbox.rows(patient.id)
        if r.kind == "dose" and r.local_date == date(2026, 6, 10)
    ]
    return row


def dose_reminders(bot: Bot) -> list[str]:
    return [m.text for m in bot.sent_to(PATIENT_CHAT) if "time for your" in m.text]


def outgoing(kind: str = "dose") -> Outgoing:
    return Outgoing(
        ref="1",
        patient_id="p1",
        address=Address(ChannelKind.TELEGRAM, str(PATIENT_CHAT)),
        text="hello",
        expires_at=DOSE_TIME_UTC,
        local_label="-",
        kind=kind,
    )


@pytest.mark.parametrize("timedelta_env", [False, True], ids=["int", "PTB_TIMEDELTA"])
async def test_429_is_transient_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, timedelta_env: bool
) -> None:
    if timedelta_env:
        monkeypatch.setenv("PTB_TIMEDELTA", "true")
    else:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    async with running_bot(tmp_path) as bot:
        bot.fake.fail_next(429, retry_after=30)
        with pytest.raises(TransientSendError) as caught:
            await bot.gateway.channel.send(outgoing())
        assert caught.value.retry_after == 30.0 and caught.value.code == "429"
        # Until the wait is over, bulk sends fail fast without asking Telegram again.
        calls = len(bot.fake.calls)
        with pytest.raises(TransientSendError) as again:
            await bot.gateway.channel.send(outgoing())
        assert again.value.retry_after is not None and 0 < again.value.retry_after <= 30
        assert len(bot.fake.calls) == calls


async def test_dispatcher_retries_a_429_after_the_wait_and_sends_exactly_once(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await linked_patient(bot)
        bot.fake.fail_next(429, retry_after=30)
        bot.clock.set(DOSE_TIME_UTC)
        stats = await bot.service.dispatcher.tick()
        assert (stats.sent, stats.retried) == (0, 1)
        row = await todays_dose(bot, patient)
        assert row.status == "pending" and "retry after 30" in (row.last_error or "")
        assert bot.fake.too_many_requests == 1 and dose_reminders(bot) == []

        bot.clock.advance(seconds=20)  # not yet: the row waits at least retry_after
        assert (await bot.service.dispatcher.tick()).claimed == 0
        bot.clock.advance(seconds=11 + 600)  # past any backoff the dispatcher added
        stats = await bot.service.dispatcher.tick()
        assert stats.sent == 1
        assert (await todays_dose(bot, patient)).status == "sent"
        bot.clock.advance(hours=1)
        await bot.service.dispatcher.tick()
        assert len(dose_reminders(bot)) == 1


async def test_blocked_bot_fails_for_good_alerts_nurses_and_stops_reminders(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await linked_patient(bot)
        bot.fake.block_chat(PATIENT_CHAT)
        bot.clock.set(DOSE_TIME_UTC)
        stats = await bot.service.dispatcher.tick()
        assert (stats.sent, stats.failed) == (0, 1)
        row = await todays_dose(bot, patient)
        assert row.status == "failed" and (row.last_error or "").startswith("403")
        [alert] = [m.text for m in bot.sent_to(NURSE)]
        assert alert.startswith("ALERT:") and patient.id in alert and "blocked" in alert
        assert (await bot.service.courses.get(patient.id)).opted_out_at is not None
        kinds = {
            r.status for r in await bot.service.outbox.rows(patient.id) if r.due_at > DOSE_TIME_UTC
        }
        assert kinds <= {"cancelled"}
        recorded = await bot.service.alerts.recent()
        assert [(k, p) for k, p, _ in recorded] == [("unreachable", patient.id)]


async def test_chat_not_found_fails_for_good_and_alerts_nurses_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await linked_patient(bot)
        bot.fake.fail_next(400, description="Bad Request: chat not found")
        with pytest.raises(PermanentSendError):
            await bot.gateway.channel.send(outgoing_for(patient))
        # The dispatcher meets the same failure: a second alert the same day would be noise.
        bot.fake.fail_next(400, description="Bad Request: chat not found")
        bot.clock.set(DOSE_TIME_UTC)
        stats = await bot.service.dispatcher.tick()
        assert (stats.sent, stats.failed) == (0, 1)
        [alert] = bot.sent_to(NURSE)
        assert patient.id in alert.text and "cannot find the chat" in alert.text
        assert (await bot.service.courses.get(patient.id)).opted_out_at is None


def outgoing_for(patient: Patient) -> Outgoing:
    return Outgoing(
        ref="1",
        patient_id=patient.id,
        address=Address(ChannelKind.TELEGRAM, str(PATIENT_CHAT)),
        text="hello",
        expires_at=DOSE_TIME_UTC,
        local_label="-",
        kind="blood_test",
    )


@pytest.mark.parametrize("status", [500, 502])
async def test_telegram_server_errors_are_retried(tmp_path: Path, status: int) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await linked_patient(bot)
        bot.fake.fail_next(status)
        bot.clock.set(DOSE_TIME_UTC)
        assert (await bot.service.dispatcher.tick()).retried == 1
        bot.clock.advance(minutes=11)
        assert (await bot.service.dispatcher.tick()).sent == 1
        assert (await todays_dose(bot, patient)).status == "sent"
        assert len(dose_reminders(bot)) == 1


async def test_unanswered_dose_reminder_is_not_sent_twice(tmp_path: Path) -> None:
    """Telegram got the request but answered too late: it usually delivered it anyway."""
    async with running_bot(tmp_path) as bot:
        patient = await linked_patient(bot)
        bot.gateway.sender.read_timeout = 0.2
        bot.fake.fail_next(None, hang_s=0.6)  # then delivers, like Telegram often does
        bot.clock.set(DOSE_TIME_UTC)
        stats = await bot.service.dispatcher.tick()
        assert (stats.sent, stats.retried, stats.failed) == (0, 0, 1)
        row = await todays_dose(bot, patient)
        assert row.status == "failed" and (row.last_error or "").startswith("maybe-sent")
        await bot.wait_for(PATIENT_CHAT, 2)  # the welcome, then the late-delivered reminder
        bot.clock.advance(minutes=30)
        await bot.service.dispatcher.tick()
        assert len(dose_reminders(bot)) == 1


async def test_a_dose_reminder_that_may_have_arrived_says_so_when_sent_again(
    tmp_path: Path,
) -> None:
    """A worker died holding today's dose reminder (it may have reached Telegram, which cannot
    be asked): the reminder goes again after the lease, with a line saying not to take a
    second capsule. A reminder that was never in doubt has no such line."""
    async with running_bot(tmp_path) as bot:
        patient = await linked_patient(bot)
        bot.clock.set(DOSE_TIME_UTC)
        [claimed] = await bot.service.outbox.claim(DOSE_TIME_UTC, 10, "dead-worker")
        assert claimed.kind == "dose"
        bot.clock.advance(minutes=10)  # past the lease: taken back, marked maybe sent

        stats = await bot.service.dispatcher.tick()

        assert (stats.released, stats.sent) == (1, 1)
        [reminder] = dose_reminders(bot)  # the tick returns once Telegram has answered
        assert reminder.startswith(claimed.text)
        assert reminder.endswith(
            "If this reminder has come twice, or you have already taken today's capsule, "
            "do not take another."
        )
        assert (await todays_dose(bot, patient)).status == "sent"


async def test_a_first_dose_reminder_has_no_resent_line(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await linked_patient(bot)
        bot.clock.set(DOSE_TIME_UTC)
        assert (await bot.service.dispatcher.tick()).sent == 1
        [reminder] = dose_reminders(bot)
        assert "come twice" not in reminder


async def test_other_messages_are_retried_after_a_timeout(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.gateway.sender.read_timeout = 0.2
        bot.fake.fail_next(None, hang_s=0.6)
        with pytest.raises(TransientSendError) as caught:
            await bot.gateway.channel.send(outgoing("blood_test"))
        assert caught.value.code == "timeout"
