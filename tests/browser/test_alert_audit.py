"""A red flag a patient texts by SMS, from the signed Twilio webhook to the nurse who deals with
it: the real webhook (signed as Twilio signs it) raises the alert, a nurse acknowledges it on
Today with a note, and an admin finds it in the audit trail under that nurse's name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pyotp
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect
from twilio.request_validator import RequestValidator

from bot.web.console.accounts import Role
from scheduler.store.migrate import upgrade_async
from tests.browser.conftest import LOOP, Shots, sign_in, submit
from tests.fakes.server import serve_asgi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.console.console_world import T0, Console, console

pytestmark = pytest.mark.asyncio(loop_scope="session")

PUBLIC_URL = "http://lenabot.test"  # what Twilio signs over; http so cookies are not Secure
RED_FLAG = "I have a temperature of 38.9 and I'm shivering"
PHONE = "+447700900123"


@pytest_asyncio.fixture(loop_scope=LOOP)
async def world(tmp_path: Path) -> AsyncIterator[Console]:
    """The console with SMS on: Twilio's webhooks served by the same app, its API faked."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    await upgrade_async(url)
    twilio = FakeTwilioApi()
    async with serve_asgi(twilio.app) as api, console(
        url, T0, twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
        twilio_from="+15005550006", twilio_api_base=api, public_url=PUBLIC_URL,
        team_phone="+441632960999",
    ) as w:  # fmt: skip
        yield w


async def text_in(world: Console, body: str) -> httpx.Response:
    """The patient's SMS as Twilio delivers it: a form POST signed with the account's token."""
    fields = {"MessageSid": "SM" + "1" * 32, "From": PHONE, "To": "+15005550006", "Body": body,
              "AccountSid": world.service.settings.twilio_account_sid}  # fmt: skip
    token = world.service.settings.twilio_auth_token
    assert token is not None
    validator = RequestValidator(token.get_secret_value())
    signature = validator.compute_signature(PUBLIC_URL + "/twilio/sms", fields)
    async with httpx.AsyncClient(base_url=world.url) as http:
        return await http.post("/twilio/sms", data=fields,
                                headers={"X-Twilio-Signature": signature})  # fmt: skip


async def test_a_red_flag_texted_in_is_acknowledged_and_the_audit_shows_the_nurse(
    page: Page, world: Console, shots: Shots
) -> None:
    patient = await world.enrol("Ann Smith", PHONE)
    nora, _ = await world.staff("nora@example.org")
    answer = await text_in(world, RED_FLAG)
    assert answer.status_code == 200 and "URGENT" in answer.text  # answered in the TwiML

    await sign_in(page, "nora@example.org")
    await expect(page.get_by_text("1 urgent alert not acknowledged").first).to_be_visible()
    alerts = page.get_by_role("region", name="Open alerts")
    alert = alerts.get_by_role("listitem").filter(has_text=RED_FLAG)
    await expect(alert).to_have_count(1)
    await expect(alert).to_contain_text(patient.id)
    await alert.get_by_label("Note on alert").fill("rang her, going to A&E")
    async with page.expect_navigation():
        await alert.get_by_role("button", name=re.compile(r"^Acknowledge")).click()
    await expect(page.get_by_role("main").get_by_role("status")).to_contain_text(
        "Alert acknowledged"
    )
    await expect(alerts.get_by_role("listitem").filter(has_text=RED_FLAG)).to_have_count(0)
    await expect(page.get_by_text("urgent alert not acknowledged")).to_have_count(0)
    await shots.take(page, "acknowledged")
    await submit(page, "Sign out")

    _, secret = await world.staff("ada@example.org", Role.ADMIN, with_totp=True)
    assert secret is not None
    await sign_in(page, "ada@example.org", code=pyotp.TOTP(secret).at(world.clock.now()))
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    row = page.get_by_role("row").filter(has_text="acknowledge")
    await expect(row.first.locator(".actor")).to_have_text(f"staff:{nora.id}")
    await expect(row.first).to_contain_text(patient.id)
    await expect(row.first).to_contain_text("rang her, going to A&E")
    await shots.take(page, "audit")
