"""Today's alerts inbox and the Audit page over real HTTP into the real app, on SQLite and
PostgreSQL: a red flag from the real conversation, the urgent banner, acknowledging and
assigning through the forms (each with its audit row), the admin-only audit trail and its
CSV, and the nobody-can-be-reached banner's one check."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update

from bot.channels.reach import reach
from bot.settings import load_settings
from bot.web.console.accounts import Role
from scheduler.domain.guidance import EXTRA, LATE, MISSED, TAKEN
from scheduler.domain.model import Patient
from scheduler.store import tables as t
from tests.integration.console.console_world import Browser, Console

RED_FLAG = "I have a temperature of 39 and shivering"
URGENT_BANNER = re.compile(r"(\d+) urgent alerts? not acknowledged")


async def admin(world: Console) -> Browser:
    """An admin (they always need an authenticator code) signed in at a browser of their own."""
    _, secret = await world.staff("ada@example.org", Role.ADMIN, with_totp=True)
    assert secret is not None
    b = await world.browser()
    assert (await b.sign_in("ada@example.org", code=world.code(secret))).status_code == 303
    return b


def open_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'action="/alerts/(\d+)/acknowledge"', page)]


async def test_a_red_flag_is_in_the_inbox_until_a_nurse_acknowledges_it(world: Console) -> None:
    patient = await world.enrol()
    await world.service.conversation.handle(patient, RED_FLAG, channel="sms")
    nora = await world.nurse()
    today = await nora.get("/")
    assert today.status_code == 200
    [alert_id] = open_ids(today.text)
    assert (m := URGENT_BANNER.search(today.text)) and m[1] == "1"
    inbox = today.text[today.text.index("Open alerts") :]
    assert "URGENT" in inbox and "red flag" in inbox and "UTC" in inbox
    assert "temperature of 39" in inbox  # the patient's words
    assert f'<a href="/patients/{patient.id}">{patient.id}</a>' in inbox
    assert "nobody yet" in inbox
    assert f'<label for="note-{alert_id}">' in inbox
    # The banner is on every console page, not only Today.
    patients = await nora.get("/patients")
    assert URGENT_BANNER.search(patients.text) and 'href="/#open-alerts"' in patients.text

    # Without the CSRF token nothing changes.
    forged = await nora.post(f"/alerts/{alert_id}/acknowledge", csrf=False, note="x")
    assert forged.status_code == 403
    assert [a.id for a in await world.service.alerts.open_alerts()] == [alert_id]

    r = await nora.post(f"/alerts/{alert_id}/acknowledge", note="called, going to A&E")
    assert r.status_code == 303 and r.headers["location"] == "/?done=acknowledged"
    after = await nora.get(r.headers["location"])
    assert "Alert acknowledged" in after.text
    assert open_ids(after.text) == [] and not URGENT_BANNER.search(after.text)
    assert await world.service.alerts.open_alerts() == []
    staff = await world.accounts.by_email("nora@example.org")
    assert staff is not None
    [row] = await world.service.audit.entries(action="acknowledge")
    assert row.actor == f"staff:{staff.staff.id}" and row.patient_id == patient.id
    assert row.after is not None and row.after["note"] == "called, going to A&E"
    # A second acknowledgement is refused with a sentence, and changes nothing.
    again = await nora.post(f"/alerts/{alert_id}/acknowledge", note="")
    assert again.status_code == 400 and "already acknowledged by staff:" in again.text
    assert len(await world.service.audit.entries(action="acknowledge")) == 1


async def test_assign_to_me_shows_who_has_it(world: Console) -> None:
    patient = await world.enrol()
    await world.service.conversation.handle(patient, RED_FLAG, channel="sms")
    nora = await world.nurse()
    [alert_id] = open_ids((await nora.get("/")).text)
    assert (await nora.post(f"/alerts/{alert_id}/assign", csrf=False)).status_code == 403
    r = await nora.post(f"/alerts/{alert_id}/assign")
    assert r.status_code == 303 and r.headers["location"] == "/?done=assigned"
    page = (await nora.get("/")).text
    staff = await world.accounts.by_email("nora@example.org")
    assert staff is not None
    assert f"Nora (staff:{staff.staff.id})" in page
    assert "Assign to me" not in page  # already hers
    assert URGENT_BANNER.search(page)  # assigned is not acknowledged
    [row] = await world.service.audit.entries(action="assign")
    assert row.actor == f"staff:{staff.staff.id}"
    assert (await nora.post("/alerts/999999/assign")).status_code == 400


async def test_the_audit_page_is_for_admins_and_filters_by_actor(world: Console) -> None:
    patient = await world.enrol()
    await world.service.conversation.handle(patient, RED_FLAG, channel="sms")
    nora = await world.nurse()
    [alert_id] = open_ids((await nora.get("/")).text)
    await nora.post(f"/alerts/{alert_id}/acknowledge", note="rang her")
    await nora.post(f"/patients/{patient.id}/dose-time", dose_time="20:00")
    assert (await nora.get("/audit")).status_code == 403
    assert (await nora.get("/audit.csv")).status_code == 403
    assert 'href="/audit"' not in (await nora.get("/")).text

    ada = await admin(world)
    nora_id = await world.accounts.by_email("nora@example.org")
    assert nora_id is not None
    actor = f"staff:{nora_id.staff.id}"
    page = await ada.get(f"/audit?actor={actor}")
    assert page.status_code == 200
    rows = re.findall(r'<td class="action">(\w+)</td>', page.text)
    assert rows == ["set_dose_time", "acknowledge"]  # newest first; the enrolment was system's
    assert "Nora (staff:" in page.text and "rang her" in page.text
    only = await ada.get(f"/audit?actor={actor}&action=acknowledge&patient={patient.id}")
    assert re.findall(r'<td class="action">(\w+)</td>', only.text) == ["acknowledge"]
    dated = await ada.get("/audit?since=2026-12-03&until=2026-12-03&action=acknowledge")
    assert re.findall(r'<td class="action">(\w+)</td>', dated.text) == ["acknowledge"]
    none = await ada.get("/audit?until=2026-12-02&action=acknowledge")
    assert "No changes recorded for these filters" in none.text
    bad = await ada.get("/audit?since=2026-13-01&actor=nobody")
    assert bad.status_code == 400
    assert 'id="since-error"' in bad.text and 'id="actor-error"' in bad.text
    assert f'href="/audit.csv?actor=staff%3A{nora_id.staff.id}"' in page.text

    exported = await ada.get(f"/audit.csv?actor={actor}")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["id", "at_utc", "actor", "action", "patient_id", "change"]
    assert [r[3] for r in table[1:]] == ["set_dose_time", "acknowledge"]
    assert all(r[2] == actor for r in table[1:])


async def test_the_audit_page_pages(world: Console) -> None:
    patient = await world.enrol()
    for i in range(60):  # off, on, off, ...: each a change, each a row
        await world.service.care.follow_ups(patient.id, i % 2 == 1, actor="cli:nora")
    ada = await admin(world)
    first = await ada.get("/audit?actor=cli")
    assert len(re.findall(r'<td class="action">', first.text)) == 50
    assert 'href="/audit?actor=cli&amp;page=2"' in first.text
    second = await ada.get("/audit?actor=cli&page=2")
    assert len(re.findall(r'<td class="action">', second.text)) == 10
    assert "Next page" not in second.text and "Previous page" in second.text


async def test_the_banner_says_when_no_nurse_can_be_reached(world: Console) -> None:
    nora = await world.nurse()
    assert "No nurse can be reached" in (await nora.get("/")).text  # no Telegram, no Twilio
    s = world.service.settings
    engine = world.service.engine
    assert (await reach(s, engine)).nobody
    chats = load_settings(_env_file=None, database_url=world.database_url,
                          team_phone="+442079460000", telegram_bot_token="1:x",
                          nurse_telegram_ids="42")  # fmt: skip
    assert not (await reach(chats, engine)).nobody
    no_chat = load_settings(_env_file=None, database_url=world.database_url,
                            team_phone="+442079460000", telegram_bot_token="1:x",
                          nurse_telegram_ids="")  # fmt: skip
    assert (await reach(no_chat, engine)).nobody


async def enrolled_on(world: Console, start: date) -> Patient:
    """A patient enrolled on the day their course started (not today: days before enrolment
    are not counted)."""
    patient = await world.enrol(start=start)
    async with world.service.engine.begin() as conn:
        await conn.execute(
            update(t.courses).where(t.courses.c.patient_id == patient.id)
            .values(enrolled_at=datetime.combine(start, time(8), UTC))
        )  # fmt: skip
    return patient


def cells(page: str) -> dict[str, str]:
    """'Day N' -> the state's word, for the last cycle drawn (the current one)."""
    last = page[page.rindex('<table class="calendar">') :]
    return {
        m[1]: m[2].strip()
        for m in re.finditer(
            r'<span class="day-number">(Day \d+)</span>.*?'
            r'<span class="day-symbol" aria-hidden="true">[^<]*</span>([^<]*)</span>',
            last,
            re.S,
        )
    }


async def test_the_patient_page_draws_the_cycle_calendar(world: Console) -> None:
    # Started 6 Nov on 21/28: cycle 1 is 6 Nov - 3 Dec, today (3 Dec) is its day 28, a break.
    patient = await enrolled_on(world, date(2026, 11, 6))
    now = world.clock.now()
    for d in range(21):
        day = date(2026, 11, 6) + timedelta(days=d)
        status = MISSED if d in (3, 4) else LATE if d == 5 else TAKEN
        if d != 10:  # day 11 never confirmed
            await world.service.courses.record_dose(patient.id, day, status, now)
    await world.service.courses.record_dose(patient.id, date(2026, 11, 30), EXTRA, now)
    nora = await world.nurse()
    page = (await nora.get(f"/patients/{patient.id}")).text
    assert "Cycle calendar" in page and "Cycle 1 from Fri 6 Nov 2026" in page
    found = cells(page)
    assert len(found) == 28
    assert found["Day 1"] == "taken" and found["Day 4"] == "missed" and found["Day 6"] == "late"
    assert found["Day 11"] == "unconfirmed"
    assert found["Day 22"] == "break" and found["Day 28"] == "break"
    assert found["Day 25"] == "extra: taken when none was due"
    assert page.count("<tr>", page.index('<table class="calendar">')) >= 4  # rows of 7
    assert 'aria-current="date"' in page
    legend = page[page.index('<ul class="legend"') :]
    for word in ("taken", "late", "missed", "unconfirmed", "break", "hold", "ahead"):
        assert f"</span> {word}</li>" in legend


async def test_the_calendar_shows_the_previous_and_the_current_cycle_with_a_hold(
    world: Console,
) -> None:
    patient = await enrolled_on(world, date(2026, 10, 30))  # cycle 2 from 27 Nov
    await world.service.care.pause(patient.id, date(2026, 12, 2), "", actor="cli:nora")
    nora = await world.nurse()
    page = (await nora.get(f"/patients/{patient.id}")).text
    assert "Cycle 1 from" in page and "Cycle 2 from Fri 27 Nov 2026" in page
    found = cells(page)
    assert found["Day 1"] == "unconfirmed"  # 27 Nov, nothing recorded
    assert found["Day 6"] == "hold" and found["Day 7"] == "hold"  # paused from 2 Dec
