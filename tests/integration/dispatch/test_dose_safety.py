"""Dose safety in the orders patients and nurses really produce, on SQLite and PostgreSQL: a
TAKEN before the reminder, a dose-time change after the dose, a delay after the break notice,
a plan gone stale under the dispatcher, changes in quiet hours, a past end, extra capsules.

Each test checks what the patient's channel actually received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.conversation.preview import preview_items
from messages.render import profile_of
from scheduler.domain.model import ChannelKind
from scheduler.domain.outbox import CANCELLED, PENDING, SENT
from scheduler.domain.plan import plan
from scheduler.ports import Outgoing
from tests.conftest import TestDb, create_tables
from tests.integration.clinic import TEAM_PHONE, Clinic

START = date(2026, 12, 1)  # Tuesday; London is on GMT, so 09:00 local is 09:00 UTC


def utc(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), UTC)


@pytest.fixture
async def clinic(db: TestDb) -> AsyncIterator[Clinic]:
    engine = db.make_engine()
    await create_tables(engine)
    yield Clinic.build(engine, utc(START - timedelta(days=1), 8))


def day(n: int) -> date:
    """Cycle 1 day ``n`` of the course from START."""
    return START + timedelta(days=n - 1)


# -- 1. a TAKEN before the reminder --------------------------------------------------------


async def test_taken_before_the_dose_time_stops_todays_reminder_and_next_names_tomorrow(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(3), 8, 0))  # day 3, an hour before the dose
    reply = await clinic.say(p, "taken")
    assert "recorded as taken" in reply.text and "Next dose: Fri 4 Dec at 09:00" in reply.text
    [today] = [r for r in await clinic.rows(p, "dose") if r.local_date == day(3)]
    assert (today.status, today.reason) == (CANCELLED, "dose recorded (taken)")

    await clinic.run_until(utc(day(3), 23, 0))
    assert not [t for t in clinic.received(p, "dose") if "Thu 3 Dec" in t]
    assert not [t for t in clinic.received(p, "follow_up") if "Thu 3 Dec" in t]
    assert "Next dose: Fri 4 Dec at 09:00" in (await clinic.say(p, "next")).text


async def test_a_stale_plan_never_sends_a_recorded_dose(clinic: Clinic) -> None:
    """The planner may lag (another process recorded the dose, a pass failed): the dispatcher
    checks the dose record in the transaction that claims the row."""
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 8, 0))
    await clinic.courses.record_dose(p.id, day(2), "taken", clinic.clock.now())  # no re-plan
    clinic.clock.set(utc(day(2), 9, 0))
    stats = await clinic.dispatcher.tick()  # no planner pass in between
    assert stats.cancelled == 1 and stats.sent == 0
    [row] = [r for r in await clinic.rows(p, "dose") if r.local_date == day(2)]
    assert row.status == CANCELLED and row.reason == f"the dose of {day(2)} is recorded (taken)"
    assert not [t for t in clinic.received(p) if "Wed 2 Dec" in t]


async def test_a_dose_recorded_while_a_slow_batch_sends_is_not_sent(clinic: Clinic) -> None:
    """A batch claimed two patients' reminders; while the first one's send is slow, the second
    patient texts TAKEN. The second reminder is re-checked before its send and cancelled."""
    a = await clinic.enrol(start=START)
    b = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 8, 0))
    clinic.dispatcher.concurrency = 1  # one send at a time, in claim order
    first: list[str] = []

    async def slow_then_taken(message: Outgoing) -> None:
        if not first:  # the first reminder's send is slow; meanwhile the other patient writes
            first.append(message.patient_id)
            clinic.clock.advance(seconds=5)
            other = b if message.patient_id == a.id else a
            await clinic.say(other, "done")

    clinic.channel.after_send = slow_then_taken
    clinic.clock.set(utc(day(2), 9, 0))
    await clinic.dispatcher.tick()
    today = [m.patient_id for m in clinic.channel.sent if "Wed 2 Dec" in m.text]
    assert today == first
    b = a if first == [b.id] else b  # the one who wrote
    [row] = [r for r in await clinic.rows(b, "dose") if r.local_date == day(2)]
    assert row.status == CANCELLED and "recorded (taken)" in (row.reason or "")


# -- 2. a dose-time change after the dose ---------------------------------------------------


@pytest.mark.parametrize("report", ["before the reminder", "after the reminder"])
async def test_a_later_dose_time_after_todays_dose_is_recorded_plans_no_second_reminder(
    clinic: Clinic, report: str
) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 8 if report == "before the reminder" else 9, 30))
    assert "recorded as taken" in (await clinic.say(p, "taken")).text

    since = await clinic.care.set_dose_time(p.id, time(20, 0))

    assert since == day(3)
    await clinic.run_until(utc(day(3), 21, 0))
    doses = clinic.received(p, "dose")
    assert len([t for t in doses if "Wed 2 Dec" in t]) == (report == "after the reminder")
    assert [t for t in doses if "Thu 3 Dec" in t]  # tomorrow at the new time
    [change] = clinic.received(p, "change")
    assert change == "Ann, change from your team: take your capsule at 20:00 from Thu 3 Dec."
    sent = {r.local_date: r.due_at for r in await clinic.rows(p, "dose") if r.status == SENT}
    assert sent[day(3)] == utc(day(3), 20, 0)


async def test_an_earlier_dose_time_before_todays_reminder_applies_today(clinic: Clinic) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 7, 0))
    before = len(clinic.channel.sent)
    assert await clinic.care.set_dose_time(p.id, time(7, 30)) == day(2)
    await clinic.run_until(utc(day(2), 8, 0))
    # The change goes at once (it moves a dose due before 08:00), then the dose at 07:30.
    assert [m.kind for m in clinic.channel.sent[before:]] == ["change", "dose"]
    assert clinic.received(p, "change") == [
        "Ann, change from your team: take your capsule at 07:30 from Wed 2 Dec."
    ]


async def test_a_dose_time_whose_window_today_has_closed_applies_from_tomorrow(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START, dose_time=time(23, 0))
    await clinic.run_until(utc(day(2), 22, 0))
    # Moving tonight's 23:00 dose to 08:00 would expire it unsent: today keeps 23:00.
    assert await clinic.care.set_dose_time(p.id, time(8, 0)) == day(3)
    await clinic.run_until(utc(day(3), 9, 0))
    assert [t for t in clinic.received(p, "dose") if "Wed 2 Dec" in t]
    assert [t for t in clinic.received(p, "dose") if "Thu 3 Dec" in t]
    sent = {r.local_date: r.due_at for r in await clinic.rows(p, "dose") if r.status == SENT}
    assert (sent[day(2)], sent[day(3)]) == (utc(day(2), 23, 0), utc(day(3), 8, 0))


# -- 3. delay-cycle after the break notice --------------------------------------------------


async def test_delay_after_the_break_notice_sends_a_correction_and_preview_shows_what_was_sent(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(22), 12, 0))  # the break notice went at 10:00
    [notice] = clinic.received(p, "break_start")
    assert "Cycle 2 starts Tue 29 Dec" in notice

    n, new_start = await clinic.care.delay_cycle(p.id, 7)
    await clinic.dispatcher.tick()

    assert (n, new_start) == (2, date(2027, 1, 5))
    assert clinic.received(p, "change") == [
        "Ann, change from your team: cycle 2 now starts Tue 5 Jan, not Tue 29 Dec. "
        "No capsules until then."
    ]
    patient, course = await clinic.courses.load_one(p.id)
    first, last = day(22), day(40)
    items = preview_items(
        course, profile_of(patient), plan(course, clinic.materialiser.settings, first, last),
        await clinic.outbox.rows(p.id), await clinic.courses.dose_records(p.id, first),
        first, last,
    )  # fmt: skip
    shown = {(i["kind"], i["local_date"]): i for i in items}
    # The break notice as sent, with the date it named then; the correction beside it.
    assert shown[("break_start", "2026-12-22")]["status"] == SENT
    assert shown[("break_start", "2026-12-22")]["text"] == notice
    assert shown[("change", "2026-12-22")]["status"] == SENT
    assert ("dose", "2026-12-29") not in shown and ("dose", "2027-01-05") in shown


async def test_a_delay_during_dose_days_says_the_capsules_until_the_break_go_on(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(10), 12, 0))
    await clinic.care.delay_cycle(p.id, 7)
    await clinic.dispatcher.tick()
    assert clinic.received(p, "change") == [
        "Ann, change from your team: cycle 2 now starts Tue 5 Jan, not Tue 29 Dec. "
        "Capsules as usual to Mon 21 Dec, then none until then."
    ]


# -- quiet hours ----------------------------------------------------------------------------


async def test_a_change_at_night_waits_for_8am_unless_it_touches_a_dose_before_then(
    clinic: Clinic,
) -> None:
    morning = await clinic.enrol(start=START, dose_time=time(7, 0))
    later = await clinic.enrol(start=START, dose_time=time(9, 0))
    await clinic.run_until(utc(day(3), 22, 0))
    # Both paused from tomorrow, at 22:00: the 07:00 patient must hear before their capsule.
    for p in (morning, later):
        await clinic.care.pause(p.id, day(4), "neutrophils low")
    changes = {r.patient_id: r for r in await clinic.outbox.rows() if r.kind == "change"}
    assert changes[morning.id].due_at == utc(day(3), 22, 0)
    assert changes[later.id].due_at == utc(day(4), 8, 0)
    await clinic.run_until(utc(day(4), 12, 0))
    for p in (morning, later):
        assert clinic.received(p, "change") == [
            "Ann, change from your team: take no capsules from Fri 4 Dec until they tell you "
            "to restart."
        ]
        assert not [t for t in clinic.received(p, "dose") if "Fri 4 Dec" in t]


async def test_an_appointment_is_told_at_once_naming_its_date(clinic: Clinic) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 12, 0))
    await clinic.care.appointment(p.id, day(9), "Ward 5, 10:30")
    await clinic.dispatcher.tick()
    assert clinic.received(p, "change") == [
        "Ann, change from your team: blood test booked for Wed 9 Dec. Ward 5, 10:30"
    ]


# -- ending a course ------------------------------------------------------------------------


async def test_a_past_end_says_stop_now_and_sends_the_after_treatment_messages_now(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START, can_become_pregnant=True)
    await clinic.run_until(utc(day(10), 14, 0))
    await clinic.care.end(p.id, day(8))
    await clinic.run_until(utc(day(10), 14, 5))
    assert clinic.received(p, "change") == [
        "Ann, change from your team: your lenalidomide has ended. Stop taking your capsules "
        "now and return any unused ones to your pharmacy."
    ]
    assert len(clinic.received(p, "aftercare")) == 1
    assert len([t for t in clinic.received(p, "contraception") if "until" in t]) == 1
    assert (await clinic.say(p, "next")).text.startswith(
        "Your lenalidomide course ended on Tue 8 Dec: take no more capsules"
    )
    await clinic.run_until(utc(day(12), 12, 0))
    assert not [t for t in clinic.received(p, "dose") if "Fri 11 Dec" in t or "Sat 12" in t]


async def test_ending_before_a_planned_pause_never_sends_paused_and_ended(clinic: Clinic) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 12, 0))
    await clinic.care.pause(p.id, day(5), "clinic review")  # announced on its eve, day 4
    await clinic.run_until(utc(day(3), 12, 0))
    [eve] = await clinic.rows(p, "hold")
    assert eve.status == PENDING and eve.local_date == day(4)
    await clinic.care.end(p.id, day(4))
    await clinic.run_until(utc(day(6), 12, 0))
    assert clinic.received(p, "hold") == []
    [eve] = await clinic.rows(p, "hold")
    assert eve.status == CANCELLED


# -- extra capsules -------------------------------------------------------------------------


async def test_a_capsule_on_a_break_day_is_recorded_as_extra_and_the_nurses_are_told(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(24), 10, 0))  # a break day
    reply = (await clinic.say(p, "I took my capsule")).text
    assert reply.startswith("No capsule was due on Thu 24 Dec (a break or pause day). Do not take")
    assert "Your team will be told" in reply and TEAM_PHONE in reply
    assert (await clinic.courses.dose_records(p.id, day(24)))[day(24)] == "extra"
    [(pid, text)] = [(p, t) for k, p, t in await clinic.alerts.recent() if k == "extra_capsule"]
    assert pid == p.id and "2026-12-24" in text


async def test_taken_after_being_told_to_skip_is_extra_not_late(clinic: Clinic) -> None:
    p = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 22, 0))
    assert "skip the dose for Wed 2 Dec" in (await clinic.say(p, "missed")).text
    reply = (await clinic.say(p, "oh I took it anyway"))
    assert reply.extras["advice"] == "extra_capsule"
    assert (await clinic.courses.dose_records(p.id, day(2)))[day(2)] == "extra"
    assert "extra_capsule" in [k for k, _, _ in await clinic.alerts.recent()]


async def test_took_it_last_night_is_filed_against_last_nights_dose_not_tonights(
    clinic: Clinic,
) -> None:
    p = await clinic.enrol(start=START, dose_time=time(23, 30))
    await clinic.run_until(utc(day(3), 10, 0))
    reply = await clinic.say(p, "took it last night")
    assert reply.extras["dose_date"] == day(2)
    records = await clinic.courses.dose_records(p.id, START)
    assert records == {day(1): "unconfirmed", day(2): "taken"}
    await clinic.run_until(utc(day(3), 23, 45))
    assert [t for t in clinic.received(p, "dose") if "Thu 3 Dec" in t]  # tonight's still goes


# -- opted out, LATER ----------------------------------------------------------------------


async def test_a_taken_from_an_opted_out_telegram_patient_is_recorded_and_answered(
    clinic: Clinic,
) -> None:
    tg = await clinic.enrol(start=START, channel=ChannelKind.TELEGRAM)
    sms = await clinic.enrol(start=START)
    await clinic.run_until(utc(day(2), 9, 30))
    for p in (tg, sms):
        await clinic.say(p, "STOP")
    tg_reply = await clinic.say(tg, "taken")
    sms_reply = await clinic.say(sms, "taken")
    assert "recorded as taken" in tg_reply.text and "send /start" in tg_reply.text
    assert sms_reply.text == ""  # carriers block texts to a number that said STOP
    for p in (tg, sms):
        assert (await clinic.courses.dose_records(p.id, day(2)))[day(2)] == "taken"


async def test_a_later_row_shows_its_own_local_time(clinic: Clinic) -> None:
    p = await clinic.enrol(start=START, tz="America/New_York")
    await clinic.run_until(utc(day(2), 15, 0))  # 10:00 in New York, an hour after the dose
    assert "remind you at 11:00" in (await clinic.say(p, "later")).text
    [row] = await clinic.rows(p, "later")
    assert (row.local_time, row.status) == ("11:00", PENDING)
