"""Today's alerts inbox and the Audit page over real HTTP into the real app, on SQLite and
PostgreSQL: a red flag from the real conversation, the urgent banner, acknowledging and
assigning through the forms (each with its audit row), the admin-only audit trail and its
CSV, and the nobody-can-be-reached banner's one check."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.reach import reach
from bot.settings import load_settings
from bot.web.console.accounts import Role
from tests.integration.console.console_world import Browser, Console, console, database

RED_FLAG = "I have a temperature of 39 and shivering"
URGENT_BANNER = re.compile(r"(\d+) urgent alerts? not acknowledged")


@pytest.fixture
async def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Console]:
    pg = str(request.getfixturevalue("postgres_url")) if backend == "postgres" else None
    async with database(backend, tmp_path, pg) as url, console(url) as w:
        yield w


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
