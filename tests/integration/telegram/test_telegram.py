"""Telegram end to end: a nurse enrols on Telegram, the patient links, gets the dose reminder
with its Taken / Missed buttons, answers, and the answer is recorded."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from bot.channels.telegram.roster import NurseRoster
from scheduler.domain.model import ChannelKind
from tests.fakes.telegram_bot import LINK_RE, NURSE, T0, running_bot

PATIENT_CHAT = 5001
ENROL_ANSWERS = [
    "Ann Smith",
    "telegram",
    "2026-06-01",
    "09:00",
    "Europe/London",
    "21/28",
    "no",
    "no",
    "uk",
    "no",
]


async def test_nurse_enrols_patient_links_gets_reminder_and_taken_is_recorded(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        first = await bot.say(NURSE, "/enrol")
        assert "name" in first[-1].text.lower()
        for answer in ENROL_ANSWERS[:-1]:
            await bot.say(NURSE, answer)
        summary, confirm = await bot.say(NURSE, ENROL_ANSWERS[-1], expect=2)
        assert "Name: Ann Smith" in summary.text and "Telegram" in summary.text
        assert "Dose time: 09:00 Europe/London" in summary.text
        assert "Enrol this patient?" in confirm.text
        done = (await bot.say(NURSE, "yes"))[-1].text
        assert "Enrolled Ann Smith" in done
        code = LINK_RE.search(done)
        assert code is not None, done
        [patient] = await bot.service.courses.all_patients()
        assert patient.channel is ChannelKind.TELEGRAM and patient.telegram_chat_id is None

        welcome = (await bot.say(PATIENT_CHAT, f"/start {code[1]}"))[-1].text
        assert "Hello Ann, this chat is now linked" in welcome
        assert "Dose time: 09:00 (Europe/London), on days 1-21 of each 28-day cycle" in welcome
        assert "Today is cycle 1, day 10. Next dose: Wed 10 Jun at 09:00" in welcome
        linked = await bot.service.courses.get(patient.id)
        assert linked.telegram_chat_id == PATIENT_CHAT

        bot.clock.set(datetime(2026, 6, 10, 8, 0, tzinfo=T0.tzinfo))  # 09:00 in London
        stats = await bot.service.dispatcher.tick()
        assert stats.sent == 1
        [reminder] = [m for m in bot.sent_to(PATIENT_CHAT) if "time for your" in m.text]
        assert "cycle 1, day 10 of 21" in reminder.text
        assert reminder.reply_markup is not None
        assert reminder.reply_markup["keyboard"] == [[{"text": "Taken"}, {"text": "Missed"}]]

        bot.clock.advance(minutes=5)
        answer = (await bot.say(PATIENT_CHAT, "Taken"))[-1].text
        assert "recorded as taken" in answer
        records = await bot.service.courses.dose_records(patient.id, date(2026, 6, 1))
        assert records == {date(2026, 6, 10): "taken"}
        # Exactly one reminder, however often the dispatcher runs afterwards.
        await bot.service.dispatcher.tick()
        assert sum("time for your" in m.text for m in bot.sent_to(PATIENT_CHAT)) == 1


async def test_enrol_re_asks_with_the_validator_sentence_and_enrols_an_sms_patient(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.say(NURSE, "/enrol")
        await bot.say(NURSE, "Bob Jones")
        bad = (await bot.say(NURSE, "07700900123"))[-1].text
        assert "not in E.164 form" in bad and "mobile number" in bad
        await bot.say(NURSE, "+447700900123")
        assert "not a real date" in (await bot.say(NURSE, "2026-02-30"))[-1].text
        await bot.say(NURSE, "2026-06-01")
        assert "not a time" in (await bot.say(NURSE, "9am"))[-1].text
        await bot.say(NURSE, "21:00")
        assert "timezone" in (await bot.say(NURSE, "Mars/Olympus"))[-1].text.lower()
        await bot.say(NURSE, "America/New_York")
        assert "not understood" in (await bot.say(NURSE, "3 weeks on"))[-1].text
        await bot.say(NURSE, "continuous")
        assert "answer yes or no" in (await bot.say(NURSE, "maybe"))[-1].text
        for answer in ("yes", "no", "us-rems"):
            await bot.say(NURSE, answer)
        await bot.say(NURSE, "yes", expect=2)
        done = (await bot.say(NURSE, "yes"))[-1].text
        assert "Enrolled Bob Jones" in done and "Reminders go by SMS" in done
        assert LINK_RE.search(done) is None
        [patient] = await bot.service.courses.all_patients()
        assert (patient.phone, patient.tz, patient.can_become_pregnant) == (
            "+447700900123",
            "America/New_York",
            True,
        )
        assert patient.discreet is True and patient.rules.value == "us-rems"


async def test_enrol_conversations_are_kept_apart_per_nurse(tmp_path: Path) -> None:
    other = 7002
    async with running_bot(tmp_path, nurse_ids=f"{NURSE},{other}") as bot:
        await bot.say(NURSE, "/enrol")
        await bot.say(other, "/enrol")
        await bot.say(NURSE, "Ann Smith")
        assert "mobile number" in (await bot.say(NURSE, "not a phone"))[-1].text
        # The other nurse is still at the first question: their answer is a name.
        assert "mobile number" in (await bot.say(other, "Cy Doe"))[-1].text
        cancelled = (await bot.say(NURSE, "/cancel"))[-1].text
        assert "nothing was saved" in cancelled
        # Cancelling one nurse's enrolment leaves the other's where it was.
        assert "start date" in (await bot.say(other, "telegram"))[-1].text.lower()
        assert await bot.service.courses.all_patients() == []


async def test_nurse_commands_list_preview_pause_resume_and_end(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        listed = (await bot.say(NURSE, "/patients"))[-1].text
        assert patient.id in listed and "telegram (not linked yet)" in listed
        assert "active" in listed
        preview = (await bot.say(NURSE, f"/preview {patient.id} 2"))[-1].text
        assert "2026-06-10 09:00 dose" in preview and "2026-06-11 09:00 dose" in preview
        paused = await bot.say(NURSE, f"/pause {patient.id} 2026-06-12 low neutrophils")
        assert "Paused" in paused[-1].text and "2026-06-12" in paused[-1].text
        again = (await bot.say(NURSE, f"/pause {patient.id}"))[-1].text
        assert again == "this course is already paused: resume it first"
        bad = (await bot.say(NURSE, f"/resume {patient.id} 2026-06-31"))[-1].text
        assert "is not a real date" in bad
        resumed = (await bot.say(NURSE, f"/resume {patient.id} 2026-06-15"))[-1].text
        assert "capsules restart on 2026-06-15" in resumed
        ended = (await bot.say(NURSE, f"/end {patient.id} 2026-08-01"))[-1].text
        assert "ends after 2026-08-01" in ended
        assert "usage: /end" in (await bot.say(NURSE, f"/end {patient.id}"))[-1].text
        unknown = (await bot.say(NURSE, "/pause nobody"))[-1].text
        assert unknown == "unknown patient 'nobody': see /patients"
        _, course = await bot.service.courses.load_one(patient.id)
        assert course.end == date(2026, 8, 1)
        assert [(h.start, h.end) for h in course.holds] == [(date(2026, 6, 12), date(2026, 6, 15))]


async def test_nurse_link_command_replaces_the_old_link(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        first = LINK_RE.search((await bot.say(NURSE, f"/link {patient.id}"))[-1].text)
        second = LINK_RE.search((await bot.say(NURSE, f"/link {patient.id}"))[-1].text)
        assert first is not None and second is not None and first[1] != second[1]
        old = (await bot.say(PATIENT_CHAT, f"/start {first[1]}"))[-1].text
        assert "not valid" in old
        assert "now linked" in (await bot.say(PATIENT_CHAT, f"/start {second[1]}"))[-1].text


async def test_patient_commands_next_help_stop_and_start_again(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        await bot.link(patient, PATIENT_CHAT)
        assert "Next dose: Wed 10 Jun at 09:00" in (await bot.say(PATIENT_CHAT, "/next"))[-1].text
        assert "Reply TAKEN" in (await bot.say(PATIENT_CHAT, "/help"))[-1].text
        assert "Reply TAKEN" in (await bot.say(PATIENT_CHAT, "/start"))[-1].text
        stopped = (await bot.say(PATIENT_CHAT, "/stop"))[-1].text
        assert "no more messages" in stopped
        assert (await bot.service.courses.get(patient.id)).opted_out_at is not None
        alert = bot.sent_to(NURSE)[-1].text
        assert alert.startswith("ALERT:") and patient.id in alert
        assert "turn them back on" in (await bot.say(PATIENT_CHAT, "/next"))[-1].text
        assert "back on" in (await bot.say(PATIENT_CHAT, "/start"))[-1].text
        assert (await bot.service.courses.get(patient.id)).opted_out_at is None


async def test_nurse_alerts_reach_every_nurse_chat(tmp_path: Path) -> None:
    async with running_bot(tmp_path, nurse_ids=f"{NURSE}") as bot:
        roster = NurseRoster(bot.service.engine)
        await roster.add(7003, "Nora Nurse", T0)
        bot.fake.block_chat(7004)
        await roster.add(7004, "Never Opened The Chat", T0)
        reached = await bot.gateway.notify_nurses("ALERT: patient p1 reported a fever")
        assert reached == 2
        assert {m.chat_id for m in bot.fake.sent} == {NURSE, 7003}
        # A table nurse can use the nurse commands too.
        assert "No patients yet" in (await bot.say(7003, "/patients"))[-1].text


async def test_dose_reminder_for_an_unlinked_patient_is_not_sent(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        bot.clock.set(T0 + timedelta(hours=1))
        stats = await bot.service.dispatcher.tick()
        assert stats.sent == 0 and stats.failed == 1
        assert bot.fake.sent == []
        [row] = [
            r
            for r in await bot.service.outbox.rows(patient.id)
            if r.kind == "dose" and r.local_date == date(2026, 6, 10)
        ]
        assert row.status == "failed" and "no route" in (row.last_error or "")


async def test_an_enrolment_left_for_an_hour_is_forgotten(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.say(NURSE, "/enrol")
        await bot.say(NURSE, "Ann Smith")
        bot.clock.advance(hours=1, seconds=1)
        assert "timed out" in (await bot.say(NURSE, "telegram"))[-1].text
        assert "Nurse commands" in (await bot.say(NURSE, "+447700900123"))[-1].text
        assert await bot.service.courses.all_patients() == []
