"""Every console page on a small ward (``ward.py``), in the states staff meet it: axe-core finds
no serious or critical violation on any of them, and the README's pictures are taken on the
way.

- signed out: set-password, sign-in, and sign-in refused;
- a nurse: Today (a red flag, a patient below 90%), Patients, a patient with two weeks of
  conversation, and one with a refused change; Enrol empty, with errors, and its preview;
  Import empty, and its dry run of a file with a bad row;
- an admin: Staff, and Staff showing a new account's link and authenticator QR code; a page
  that is not there.

Every page's full-page picture is kept in ``tmp_path``; with ``UPDATE_SCREENSHOTS=1`` the top
1280x800 of Today, Patients and Ann Smith's page are also written to ``docs/img/console-*.png``
for the README (then committed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Page, expect

from bot.web.console.accounts import Role
from tests.browser.conftest import Shots, no_serious_axe_violations, sign_in, submit
from tests.browser.ward import CLOCK_FROM, RED_FLAG, make_ward
from tests.integration.console.console_world import Console

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
NORA = "nora@example.org"
ADA = "ada@example.org"


@pytest.mark.parametrize("world", [CLOCK_FROM], indirect=True, ids=["ward"])
async def test_every_page_has_no_serious_accessibility_violation(
    page: Page, world: Console, shots: Shots
) -> None:
    ward = await make_ward(world)
    ann = ward["Ann Smith"]
    await world.staff(NORA)
    _, secret = await world.staff(ADA, Role.ADMIN, with_totp=True)
    assert secret is not None
    nell, _ = await world.staff("nell@example.org", password=None)
    link = await world.accounts.issue_link(nell.id, world.clock.now())

    async def check(name: str, heading: str, *, readme: bool = False) -> None:
        await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        await shots.take(page, name)
        if readme and os.environ.get("UPDATE_SCREENSHOTS") == "1":
            # The README's: what the first 1280x800 shows (a patient's full page is very long).
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=DOCS_IMG / f"console-{name}.png")
        await no_serious_axe_violations(page)

    await page.goto(f"/set-password/{link}")
    await check("set-password", "Set your password")
    await page.goto("/login")
    await check("login", "Sign in")
    await sign_in(page, NORA, "not the password")
    await expect(page.get_by_role("main").get_by_role("alert")).to_contain_text("is not right")
    await check("login-refused", "Sign in")

    await sign_in(page, NORA)
    await check("today", "Today", readme=True)
    alerts = page.get_by_role("region", name="Open alerts")
    await expect(alerts.get_by_role("listitem").filter(has_text=RED_FLAG)).to_have_count(1)
    attention = page.get_by_role("region", name="Patients needing attention")
    await expect(attention.get_by_role("row").filter(has_text="Ravi Patel")).to_be_visible()

    await page.get_by_role("link", name="Patients", exact=True).click()
    await check("patients", "Patients", readme=True)
    await expect(page.get_by_role("main").get_by_role("status")).to_have_text("5 patients.")
    await page.get_by_role("link", name="Ann Smith").click()
    await check("patient", f"Ann Smith ({ann.id})", readme=True)
    thread = page.get_by_role("region", name="Conversation").get_by_role("listitem")
    await expect(thread.first).to_contain_text(RED_FLAG)
    await submit(page, "Delay cycle")  # no number of days: refused, beside the field
    await expect(page.get_by_role("main").get_by_role("alert")).to_contain_text("Nothing was changed")
    await check("patient-refused", f"Ann Smith ({ann.id})")

    await page.get_by_role("link", name="Enrol").click()
    await check("enrol", "Enrol a patient")
    await page.get_by_label("Irregular periods").check()  # only with us-rems: refused
    await submit(page, "Check and preview")
    await expect(page.get_by_role("main").get_by_role("alert")).to_contain_text("Nothing was saved")
    for label, error in (("Name", "Name is empty"), ("Irregular periods", "only with the us-rems")):
        field = page.get_by_label(label, exact=True)
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).to_have_accessible_description(re.compile(error))
    await check("enrol-errors", "Enrol a patient")
    await page.get_by_label("Irregular periods").uncheck()
    await page.get_by_label("Name", exact=True).fill("Bo Jones")
    await page.get_by_label("Phone").fill("+447700900999")
    await page.get_by_label("Start date").fill("2026-12-07")
    await page.get_by_label("Dose time").fill("20:00")
    await submit(page, "Check and preview")
    await check("enrol-preview", "Check and enrol")

    await page.get_by_role("link", name="Import", exact=True).click()
    await check("import", "Import patients")
    sheet = b"name,phone,start_date,dose_time,timezone\nBo Jones,+447700900999,2026-12-07,20:00,"
    sheet += b"Europe/London\nCy Lee,07700900998,2026-12-07,8pm,Europe/London\n"
    await page.get_by_label("CSV file of patients").set_input_files(
        {"name": "ward.csv", "mimeType": "text/csv", "buffer": sheet}
    )
    await submit(page, "Check the file")
    await expect(page.get_by_role("heading", name="Dry run: 2 patients, 1 with problems")).to_be_visible()
    await check("import-dry-run", "Import patients")

    await submit(page, "Sign out")
    await sign_in(page, ADA, code=pyotp.TOTP(secret).at(world.clock.now()))
    await page.get_by_role("link", name="Staff").click()
    await check("staff", "Staff")
    await page.get_by_label("Email").fill("olga@example.org")
    await page.get_by_label("Name").fill("Olga Okafor")
    await page.get_by_label("Role").select_option("admin")
    await submit(page, "Add staff member")
    await expect(page.get_by_text("One-time set-password link for")).to_be_visible()
    await expect(page.get_by_role("img", name="QR code of the authenticator link")).to_be_visible()
    await check("staff-added", "Staff")

    await page.goto("/patients/nobody")
    await check("not-found", "Not found")
