"""The patient page's "Send a message" and (admin) "Forget" in the browser: a nurse writes to
a patient and sees the message sent in the conversation; an admin forgets a patient after a
wrong, then the right, confirmation. axe-core finds nothing serious on each state."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.async_api import Page, expect

from bot.web.console.accounts import Role
from scheduler.store.repository import FORGOTTEN
from tests.browser.conftest import Shots, no_serious_axe_violations, sign_in, submit
from tests.integration.console.console_world import Console

pytestmark = pytest.mark.asyncio(loop_scope="session")

NORA = "nora@example.org"
ADA = "ada@example.org"


async def test_a_nurse_sends_a_message_from_the_patient_page(
    page: Page, world: Console, shots: Shots
) -> None:
    patient = await world.enrol("Ann Smith", "+447700900123")
    await world.staff(NORA)
    await sign_in(page, NORA)
    await page.goto(f"/patients/{patient.id}")
    region = page.get_by_role("region", name="Send a message")
    box = region.get_by_label("Message to Ann Smith (sms)")
    await expect(box).to_have_accessible_description(re.compile("At most 3 text messages"))

    await box.fill("Please ring the ward. " * 21)  # 4 SMS segments: refused
    await submit(page, "Send the message")
    await expect(box).to_have_attribute("aria-invalid", "true")
    await expect(box).to_have_accessible_description(re.compile("needs 4 SMS segments"))
    await no_serious_axe_violations(page)
    await shots.take(page, "message-refused")

    await box.fill("Your blood test moved to Friday 10:30, Ward 5.")
    await submit(page, "Send the message")
    await expect(page.get_by_role("main").get_by_role("status")).to_contain_text("Message queued")
    await world.service.dispatcher.tick()  # the worker's send, on the test's clock
    await page.reload()
    said = page.get_by_role("region", name="Conversation").get_by_role("listitem").filter(
        has_text="Your blood test moved to Friday 10:30, Ward 5.")  # fmt: skip
    await expect(said).to_contain_text("to the patient · sent")
    await no_serious_axe_violations(page)
    await shots.take(page, "message-sent")
    sent = [r for r in await world.service.outbox.rows(patient.id) if r.kind == "message"]
    assert [(r.text, r.status) for r in sent] == [
        ("Your blood test moved to Friday 10:30, Ward 5.", "sent")
    ]


async def test_an_admin_forgets_a_patient_after_typing_the_id(
    page: Page, world: Console, shots: Shots
) -> None:
    patient = await world.enrol("Ann Smith", "+447700900123")
    _, secret = await world.staff(ADA, Role.ADMIN, with_totp=True)
    assert secret is not None
    await sign_in(page, ADA, code=pyotp.TOTP(secret).at(world.clock.now()))
    await page.goto(f"/patients/{patient.id}")
    region = page.get_by_role("region", name="Forget this patient")
    confirm = region.get_by_label(f"Type the patient id ({patient.id}) to confirm")
    await confirm.fill("ann")
    await submit(page, f"Forget {patient.id}")
    await expect(confirm).to_have_attribute("aria-invalid", "true")
    await expect(confirm).to_have_accessible_description(re.compile("nothing was erased"))
    assert (await world.service.courses.get(patient.id)).name == "Ann Smith"
    await no_serious_axe_violations(page)
    await shots.take(page, "forget-refused")

    await confirm.fill(patient.id)
    await submit(page, f"Forget {patient.id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    await expect(page.get_by_role("main").get_by_role("status").first).to_contain_text(
        "Patient forgotten"
    )
    await expect(page.get_by_role("link", name=FORGOTTEN)).to_be_visible()
    await no_serious_axe_violations(page)
    await shots.take(page, "forgotten")
    assert (await world.service.courses.get(patient.id)).name == FORGOTTEN
