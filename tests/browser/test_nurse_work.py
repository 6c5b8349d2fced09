"""A nurse's work in the console, step by step in the browser: enrolling through the form
(mistakes shown beside their fields, the two-week preview, then saved, and the patient on the
Patients page and in ``lenabot patients list``), a red flag a patient texts showing on Today,
and pausing and resuming a course from the patient's page."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from bot.cli.main import main
from tests.browser.conftest import Shots, sign_in, submit
from tests.integration.console.console_world import Console

pytestmark = pytest.mark.asyncio(loop_scope="session")

NORA = "nora@example.org"
RED_FLAG = "temp of 38.7 and shivery"


async def h1(page: Page, text: str) -> None:
    await expect(page.get_by_role("heading", level=1)).to_have_text(text)


async def test_a_nurse_enrols_a_patient_through_the_form(
    page: Page, world: Console, shots: Shots, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    await world.staff(NORA)
    await sign_in(page, NORA)
    await page.get_by_role("link", name="Enrol").click()
    await h1(page, "Enrol a patient")
    await shots.take(page, "enrol")

    # A national number instead of +44..., and no start date or dose time yet.
    await page.get_by_label("Name", exact=True).fill("Ann Smith")
    await page.get_by_label("Phone").fill("07700900123")
    await page.get_by_label("Can become pregnant", exact=True).check()
    await submit(page, "Check and preview")
    await h1(page, "Enrol a patient")
    await expect(page.get_by_role("main").get_by_role("alert")).to_have_text(
        "Nothing was saved: see the message beside each field."
    )
    phone = page.get_by_label("Phone")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_accessible_description(re.compile(r"is not in E\.164 form"))
    await expect(page.get_by_text("'07700900123' is not in E.164 form")).to_be_visible()
    for label in ("Start date", "Dose time"):
        await expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    name = page.get_by_label("Name", exact=True)
    await expect(name).not_to_have_attribute("aria-invalid", "true")
    # What was typed is kept, so only the mistakes need typing again.
    await expect(name).to_have_value("Ann Smith")
    await expect(page.get_by_label("Can become pregnant", exact=True)).to_be_checked()
    await shots.take(page, "enrol-errors")

    await phone.fill("+447700900123")
    await page.get_by_label("Start date").fill("2026-12-07")
    await page.get_by_label("Dose time").fill("09:00")
    await submit(page, "Check and preview")
    await h1(page, "Check and enrol")
    await expect(page.get_by_text("Nothing is saved yet.")).to_be_visible()
    await expect(page.get_by_role("heading", name="The first 14 days")).to_be_visible()
    preview = page.get_by_role("table")
    # Two weeks from the start, Monday 7 to Sunday 20 December, a dose each day at 09:00.
    await expect(preview.get_by_role("cell", name="2026-12-07 09:00").first).to_be_visible()
    await expect(preview.get_by_role("cell", name="2026-12-20 09:00").first).to_be_visible()
    await expect(preview.get_by_role("cell", name=re.compile("^2026-12-21"))).to_have_count(0)
    await expect(preview.get_by_role("row").filter(has_text="cycle 1, day 1 of 21")).to_have_count(
        1
    )
    assert await world.service.courses.all_patients() == []  # not saved before Enrol
    await shots.take(page, "enrol-preview")

    await submit(page, "Enrol")
    await expect(page.get_by_role("main").get_by_role("status")).to_contain_text("Enrolled")
    pid = urlsplit(page.url).path.rsplit("/", 1)[1]
    await h1(page, f"Ann Smith ({pid})")
    await shots.take(page, "enrolled")

    await page.get_by_role("link", name="Patients").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Ann Smith"))
    await expect(row).to_contain_text(pid)
    await expect(row).to_contain_text("sms")
    await shots.take(page, "patients")

    # The same patient, from the command line on the same database file.
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for var in ("TELEGRAM_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "PUBLIC_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", world.database_url)
    monkeypatch.setenv("PLAN_PROCESSES", "0")
    capsys.readouterr()
    await asyncio.to_thread(main, ["patients", "list"])  # it runs its own event loop
    listed = capsys.readouterr().out.splitlines()
    [line] = [x for x in listed if x.startswith(pid)]
    assert "Ann Smith" in line and "2026-12-07" in line and "09:00" in line


async def test_a_red_flag_a_patient_texts_is_on_today(
    page: Page, world: Console, shots: Shots
) -> None:
    patient = await world.enrol("Ann Smith", "+447700900123")
    await world.staff(NORA)
    await sign_in(page, NORA)
    await h1(page, "Today")
    await expect(page.get_by_text("No open alerts.")).to_be_visible()

    # Ann texts in: the real conversation reads it, answers her, and alerts the team.
    reply = await world.service.conversation.handle(patient, RED_FLAG, "sms")
    assert "URGENT" in reply.text

    await page.reload()
    alerts = page.get_by_role("region", name="Open alerts")
    alert = alerts.get_by_role("listitem").filter(has_text=RED_FLAG)
    await expect(alert).to_have_count(1)
    await expect(alert.get_by_role("heading")).to_contain_text("red flag")
    await shots.take(page, "today-red-flag")

    await alert.get_by_role("link", name=patient.id).click()
    await h1(page, f"Ann Smith ({patient.id})")
    conversation = page.get_by_role("region", name="Conversation")
    said = conversation.get_by_role("listitem").filter(has_text=RED_FLAG)
    await expect(said).to_contain_text("from the patient")
    await shots.take(page, "patient-red-flag")


async def test_a_nurse_pauses_and_resumes_a_course_from_the_patient_page(
    page: Page, world: Console, shots: Shots
) -> None:
    patient = await world.enrol("Ann Smith", "+447700900123")
    await world.staff(NORA)
    await sign_in(page, NORA)
    await page.get_by_role("link", name="Patients").click()
    await page.get_by_role("link", name="Ann Smith").click()
    await h1(page, f"Ann Smith ({patient.id})")
    course = page.get_by_role("region", name="Course", exact=True)
    await expect(course.get_by_text("active", exact=True)).to_be_visible()

    changes = page.get_by_role("region", name="Change the course")
    pause = changes.get_by_role("group", name="Pause")
    await pause.get_by_label("Reason").fill("neutrophils low")
    await submit(page, "Pause")  # from today: "Pause from" left empty
    await expect(page.get_by_role("main").get_by_role("status")).to_have_text(
        "Paused: no dose reminders until resumed. The patient is told."
    )
    await expect(course.get_by_text("paused", exact=True)).to_be_visible()
    await expect(course).to_contain_text("from 2026-12-03, not resumed: neutrophils low")
    await shots.take(page, "paused")
    _, saved = await world.service.courses.load_one(patient.id)
    assert [(h.start.isoformat(), h.reason) for h in saved.holds] == [
        ("2026-12-03", "neutrophils low")
    ]

    resume = changes.get_by_role("group", name="Resume")
    await resume.get_by_label("Restart on").fill("2026-12-10")
    await submit(page, "Resume")
    await expect(page.get_by_role("main").get_by_role("status")).to_contain_text("Resumed.")
    await expect(course).to_contain_text("from 2026-12-03 to 2026-12-10: neutrophils low")
    await shots.take(page, "resumed")

    # Still paused today, so among the paused patients on the Patients page.
    await page.get_by_role("link", name="Patients").click()
    await page.get_by_label("Show").select_option(label="Paused")
    await submit(page, "Search")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Ann Smith"))
    await expect(row).to_contain_text("hold (cycle 1, day 14)")
    await shots.take(page, "patients-paused")
