"""The console's pages as a nurse uses them, over real HTTP into the real app, on SQLite and
PostgreSQL: enrolling through the form, acting on a patient, finding patients among 10,000,
Today's alerts and low adherence, and the staff commands."""

from __future__ import annotations

import html
import re
import time
from datetime import date, timedelta

from sqlalchemy import insert

from scheduler.domain.guidance import MISSED, TAKEN
from scheduler.store import tables as t
from tests.integration.console.console_world import T0, Console


def errors(page: str) -> dict[str, str]:
    """Field id -> the error sentence shown beside it."""
    return {
        m[1]: html.unescape(m[2]).strip()
        for m in re.finditer(r'<p class="error" id="([\w-]+)-error">.*?</span>(.*?)</p>', page)
    }


ENROL = {
    "name": "Bea Brown", "phone": "+447700900321", "start": "2026-12-01", "dose_time": "20:00",
    "tz": "Europe/London", "regimen": "21/28", "rules": "uk", "language": "en-GB",
}  # fmt: skip


async def test_enrol_through_the_form(world: Console) -> None:
    b = await world.nurse()
    assert (await b.get("/enrol")).status_code == 200
    bad = {**ENROL, "name": " ", "phone": "07700900321", "start": "2026-02-30",
           "dose_time": "8pm", "tz": "Europe/Londn", "regimen": "22/21"}  # fmt: skip
    r = await b.post("/enrol", **bad, step="check")
    assert r.status_code == 400
    found = errors(r.text)
    assert set(found) == {"name", "phone", "start", "dose_time", "tz", "regimen"}
    assert found["phone"].startswith("Phone '07700900321' is not in E.164 form")
    assert found["dose_time"].startswith("Dose time '8pm' is not a time")
    assert 'value="07700900321"' in r.text  # what was typed stays in the form
    both = await b.post("/enrol", **ENROL, telegram="yes", step="check")
    assert "Give a phone number for SMS, or tick Telegram: not both." in both.text
    # Even "save" with bad values saves nothing.
    assert (await b.post("/enrol", **bad, step="save")).status_code == 400
    assert await world.service.courses.all_patients() == []

    check = await b.post("/enrol", **ENROL, step="check")
    assert check.status_code == 200 and "Check and enrol" in check.text
    assert "Nothing is saved yet" in check.text
    assert "Bea, time for your lenalidomide: cycle 1, day 3 of 21" in check.text  # today: 3 Dec
    assert "2026-12-16" in check.text and "2026-12-17" not in check.text  # 14 days
    assert await world.service.courses.all_patients() == []
    edit = await b.post("/enrol", **ENROL, step="edit")
    assert edit.status_code == 200 and 'value="Bea Brown"' in edit.text

    saved = await b.post("/enrol", **ENROL, step="save")
    assert saved.status_code == 303
    pid = saved.headers["location"].split("/")[2].split("?")[0]
    page = await b.get(saved.headers["location"])
    assert "Enrolled: reminders are planned" in page.text and "Bea Brown" in page.text
    code, out, err = await world.lenabot("patients", "list")
    assert code == 0, err
    assert pid in out and "Bea Brown" in out
    again = await b.post("/enrol", **ENROL, step="save")
    assert errors(again.text)["phone"] == "The phone number +447700900321 is already enrolled."


async def test_pausing_from_the_patient_page(world: Console) -> None:
    patient = await world.enrol()
    b = await world.nurse()
    page = await b.get(f"/patients/{patient.id}")
    assert page.status_code == 200 and "cycle 1, day 14" in page.text
    r = await b.post(f"/patients/{patient.id}/pause", pause_from="2027-12-25", pause_reason="")
    assert r.status_code == 400
    assert errors(r.text) == {
        "pause_from": "Pause date 2027-12-25 is more than a year from today: check the year."
    }
    _, course = await world.service.courses.load_one(patient.id)
    assert course.holds == ()

    r = await b.post(f"/patients/{patient.id}/pause", pause_from="", pause_reason="neutrophils")
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{patient.id}?done=pause"
    _, course = await world.service.courses.load_one(patient.id)
    assert [(h.start, h.end, h.reason) for h in course.holds] == [
        (date(2026, 12, 3), None, "neutrophils")
    ]
    [change] = [r for r in await world.service.outbox.rows(patient.id) if r.kind == "change"]
    assert "take no capsules from Thu 3 Dec" in change.text
    shown = await b.get(r.headers["location"])
    assert "Paused: no dose reminders until resumed" in shown.text
    assert "hold (cycle 1, day 14)" in shown.text and "neutrophils" in shown.text
    # The CareTeam's own refusal is shown beside the field too.
    twice = await b.post(f"/patients/{patient.id}/pause", pause_from="")
    assert errors(twice.text) == {"pause_from": "This course is already paused: resume it first."}


async def test_every_action_on_the_patient_page_goes_through_the_care_team(
    world: Console,
) -> None:
    patient = await world.enrol()
    b = await world.nurse()
    await b.get(f"/patients/{patient.id}")
    path = f"/patients/{patient.id}"
    for action, fields in (
        ("pause", {"pause_from": "2026-12-05"}),
        ("resume", {"resume_on": "2026-12-08"}),
        ("delay", {"delay_days": "7"}),
        ("dose-time", {"dose_time": "21:30"}),
        ("appointment", {"appointment_on": "2026-12-14", "appointment_note": "Ward 5, 10:30"}),
        ("follow-ups", {"follow_ups": "off"}),
        ("end", {"end_on": "2027-03-01"}),
    ):
        r = await b.post(f"{path}/{action}", **fields)
        assert r.status_code == 303, (action, errors(r.text))
    patient_now, course = await world.service.courses.load_one(patient.id)
    assert [(h.start, h.end) for h in course.holds] == [(date(2026, 12, 5), date(2026, 12, 8))]
    assert [(d.cycle, d.days) for d in course.delays] == [(2, 7)]
    assert f"{course.dose_time:%H:%M}" == "21:30"
    assert [(a.on, a.note) for a in course.appointments] == [(date(2026, 12, 14), "Ward 5, 10:30")]
    assert course.end == date(2027, 3, 1) and patient_now.follow_ups is False
    changes = [r for r in await world.service.outbox.rows(patient.id) if r.kind == "change"]
    assert len(changes) == 6  # every change but follow-ups is told to the patient
    r = await b.post(f"{path}/delay", delay_days="0")
    assert errors(r.text) == {"delay_days": "Days must be from 1 to 90, not 0."}
    r = await b.post(f"{path}/dose-time", dose_time="25:00")
    assert set(errors(r.text)) == {"dose_time"}
    r = await b.post(f"{path}/appointment", appointment_on="2026-12-20", appointment_note="x" * 41)
    assert set(errors(r.text)) == {"appointment_note"}
    assert (await b.post(f"{path}/nothing")).status_code == 404
    assert (await b.get("/patients/nobody")).status_code == 404


async def test_the_conversation_and_upcoming_messages_show_on_the_patient_page(
    world: Console,
) -> None:
    patient = await world.enrol()
    await world.service.conversation.handle(patient, "took it <b>ok</b>", channel="sms")
    b = await world.nurse()
    page = await b.get(f"/patients/{patient.id}")
    assert "took it &lt;b&gt;ok&lt;/b&gt;" in page.text  # escaped, never markup
    assert "from the patient" in page.text
    assert "Upcoming messages" in page.text and "2026-12-04 09:00" in page.text


async def test_finding_patients_by_name_id_phone_and_state(world: Console) -> None:
    ann = await world.enrol("Ann Smith", "+447700900123")
    bob = await world.enrol("Bob Jones", "+447700900456")
    cat = await world.enrol("Cat O'Neil", "+447700900789", start=date(2027, 1, 4))
    await world.service.care.pause(bob.id, date(2026, 12, 3), "")
    await world.service.care.end(ann.id, date(2026, 12, 1))
    b = await world.nurse()

    async def names(query: str) -> list[str]:
        r = await b.get("/patients" + query)
        assert r.status_code == 200
        return re.findall(r'<a href="/patients/p\w+">([^<]+)</a>', r.text)

    assert await names("") == ["Ann Smith", "Bob Jones", "Cat O&#39;Neil"]
    assert await names("?q=jones") == ["Bob Jones"]
    assert await names(f"?q={cat.id.upper()}") == ["Cat O&#39;Neil"]
    assert await names("?q=07700+900456") == ["Bob Jones"]
    assert await names("?q=%25") == []  # a LIKE wildcard is a character, not "anything"
    assert await names("?state=paused") == ["Bob Jones"]
    assert await names("?state=ended") == ["Ann Smith"]
    assert await names("?state=not-started") == ["Cat O&#39;Neil"]
    assert await names("?state=active") == []
    page = await b.get("/patients?state=paused")
    assert "hold (cycle 1, day 14)" in page.text


async def test_the_patient_list_stays_fast_with_10000_patients(world: Console) -> None:
    now = world.clock.now()
    patients, courses = [], []
    for i in range(10_000):
        pid = f"p{i:07d}"
        patients.append({
            "id": pid, "name": f"Patient {i:05d}", "channel": "sms", "phone": f"+44770{i:07d}",
            "tz": ("Europe/London", "America/New_York", "Asia/Kolkata")[i % 3],
            "language": "en-GB", "discreet": False, "can_become_pregnant": False,
            "partner_can_become_pregnant": False, "rules": "uk", "created_at": now,
            "opted_out_at": now if i % 50 == 0 else None, "follow_ups": True,
            "irregular_periods": False,
        })  # fmt: skip
        courses.append({
            "id": i + 1, "patient_id": pid, "start_date": date(2026, 11, 1), "dose_time": T0.time(),
            "regimen": "21/28", "end_date": date(2026, 11, 30) if i % 7 == 0 else None,
            "enrolled_at": now, "updated_at": now, "version": 1,
        })  # fmt: skip
    async with world.service.engine.begin() as conn:
        await conn.execute(insert(t.patients), patients)
        await conn.execute(insert(t.courses), courses)
        await conn.execute(insert(t.holds), [
            {"course_id": i + 1, "start_date": date(2026, 12, 1), "end_date": None, "reason": "",
             "created_at": now} for i in range(1, 10_000, 10)
        ])  # fmt: skip
    b = await world.nurse()
    for query, total in (("", 10_000), ("?state=paused", 857), ("?state=opted-out", 200),
                         ("?q=patient+0999", 10), ("?state=active&page=20", None)):  # fmt: skip
        started = time.perf_counter()
        r = await b.get("/patients" + query)
        took = time.perf_counter() - started
        assert r.status_code == 200
        if total is not None:
            assert f"{total:,}".replace(",", "") + " patient" in r.text, query
        assert took < 2.0, (query, took)  # measured 0.02-0.06 s (SQLite), 0.06-0.15 s (PG)
    world.clock.advance(minutes=6)  # past what Today keeps from the sign-in's visit
    started = time.perf_counter()
    assert (await b.get("/")).status_code == 200  # Today reads everyone's last 4 weeks
    took = time.perf_counter() - started
    assert took < 15.0, took  # measured 3.5 s: once every 5 minutes (README)


async def test_today_shows_the_latest_alerts_and_the_patients_below_90_percent(
    world: Console,
) -> None:
    good = await world.enrol("Good Taker", "+447700900111")
    poor = await world.enrol("Poor Taker", "+447700900222")
    await world.service.alerts.alert("red_flag", f"patient {poor.id} wrote: chest pain", poor.id)
    await world.service.alerts.alert("opt_out", f"patient {good.id} opted out", good.id)
    now = world.clock.now()
    for d in range(14):  # 20 Nov .. 3 Dec: cycle 1 days 1-14
        day = date(2026, 11, 20) + timedelta(days=d)
        await world.service.courses.record_dose(good.id, day, TAKEN, now)
        await world.service.courses.record_dose(poor.id, day, MISSED if d % 3 else TAKEN, now)
    b = await world.nurse()
    page = (await b.get("/")).text
    inbox = page[page.index("Open alerts") :]
    assert inbox.index("red flag") < inbox.index("opt out")  # urgent first, though older
    assert f'<a href="/patients/{poor.id}">{poor.id}</a>' in page
    assert "chest pain" in page
    attention = page[page.index("Patients needing attention") :]
    assert "Poor Taker" in attention and "36%" in attention
    assert "Good Taker" not in attention
