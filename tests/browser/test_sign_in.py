"""The console's door as staff meet it in the browser: one refusal for every failed sign-in,
the lock after five, the authenticator code an admin always needs, a form that did not come
from the page refused (the sign-in form too), signing out, and a session that ends after 30
idle minutes."""

from __future__ import annotations

import pyotp
import pytest
from playwright.async_api import Page, expect

from bot.web.console.accounts import Role
from bot.web.console.signin import REFUSED
from tests.browser.conftest import Shots, no_serious_axe_violations, sign_in, submit
from tests.integration.console.console_world import PASSWORD, Console

pytestmark = pytest.mark.asyncio(loop_scope="session")

NORA = "nora@example.org"


async def refused(page: Page, world: Console, email: str) -> None:
    """The sign-in page again, with the one refusal and nothing else said."""
    await expect(page).to_have_url(f"{world.url}/login")
    await expect(page.get_by_role("main").get_by_role("alert")).to_have_text(REFUSED)
    await expect(page.get_by_label("Email")).to_have_value(email)
    await expect(page.get_by_label("Password")).to_have_value("")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


async def test_a_wrong_password_is_refused_and_five_lock_the_account(
    page: Page, world: Console, shots: Shots
) -> None:
    await world.staff(NORA)
    await sign_in(page, NORA, "not my password at all")
    await refused(page, world, NORA)
    await shots.take(page, "refused")
    # An unknown email gets the very same words.
    await sign_in(page, "nobody@example.org", "not my password at all")
    await refused(page, world, "nobody@example.org")

    for _ in range(4):  # five wrong tries in all
        await sign_in(page, NORA, "still not my password")
        await refused(page, world, NORA)
    await sign_in(page, NORA)  # the right password, but the account is locked
    await refused(page, world, NORA)
    await shots.take(page, "locked")

    world.clock.advance(minutes=15, seconds=1)
    await sign_in(page, NORA)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    await expect(page.get_by_text("Nora", exact=True)).to_be_visible()
    await shots.take(page, "today")


async def test_an_admin_signs_in_with_the_code_from_their_authenticator_app(
    page: Page, world: Console, shots: Shots
) -> None:
    _, secret = await world.staff("ada@example.org", Role.ADMIN, with_totp=True)
    assert secret is not None
    app = pyotp.TOTP(secret)  # what the admin's phone shows
    await sign_in(page, "ada@example.org")  # the right password, no code
    await refused(page, world, "ada@example.org")
    await sign_in(page, "ada@example.org", code="123456")
    await refused(page, world, "ada@example.org")
    await shots.take(page, "no-code")

    await sign_in(page, "ada@example.org", code=app.at(world.clock.now()))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    ada = page.get_by_role("row").filter(has_text="ada@example.org")
    await expect(ada.get_by_role("cell").nth(2)).to_have_text("admin")
    await expect(ada.get_by_role("cell").nth(3)).to_have_text("yes")  # an authenticator
    await shots.take(page, "staff")


async def test_a_nurse_does_not_see_the_staff_page(
    page: Page, world: Console, shots: Shots
) -> None:
    await world.staff(NORA)
    await sign_in(page, NORA)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link")).to_have_text(["Today", "Patients", "Enrol", "Import"])
    response = await page.goto("/staff")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await shots.take(page, "not-allowed")


async def test_a_form_sent_without_the_pages_csrf_token_is_refused_and_changes_nothing(
    page: Page, world: Console, shots: Shots
) -> None:
    patient = await world.enrol("Ann Smith", "+447700900123")
    await world.staff(NORA)
    await sign_in(page, NORA)
    await page.goto(f"/patients/{patient.id}")
    await expect(page.get_by_text("active", exact=True)).to_be_visible()
    await shots.take(page, "patient")

    # The same browser (its session cookie goes along), but not from the page's form: as a
    # page elsewhere would post it.
    pause = f"/patients/{patient.id}/pause"
    forms: list[dict[str, str | float | bool]] = [
        {"pause_reason": "forged"},
        {"pause_reason": "forged", "csrf": "not-it"},
    ]
    for form in forms:
        answer = await page.request.post(pause, form=form, max_redirects=0)
        assert answer.status == 403
        assert "did not come from this page: nothing was changed" in await answer.text()
    signed_out = await page.request.post("/logout", form={}, max_redirects=0)
    assert signed_out.status == 403

    await page.reload()  # still signed in, still not paused
    await expect(page.get_by_text("active", exact=True)).to_be_visible()
    await expect(page.get_by_text("Pauses")).to_have_count(0)
    _, course = await world.service.courses.load_one(patient.id)
    assert course.holds == ()


async def test_signing_out_and_a_session_left_idle_for_30_minutes(
    page: Page, world: Console, shots: Shots
) -> None:
    await world.staff(NORA)
    await sign_in(page, NORA)
    await submit(page, "Sign out")
    await expect(page.get_by_role("main").get_by_role("status")).to_have_text("You are signed out.")
    await shots.take(page, "signed-out")
    await page.goto("/patients")  # the session is gone: back to the sign-in page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    await sign_in(page, NORA)  # and from there straight to the page asked for
    await expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    world.clock.advance(minutes=29)
    await page.get_by_role("link", name="Today").click()  # in time: idle time starts again
    await expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    world.clock.advance(minutes=30, seconds=1)
    await page.get_by_role("link", name="Patients").click()
    await expect(page).to_have_url(f"{world.url}/login?next=/patients")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    await shots.take(page, "session-ended")


async def test_a_sign_in_without_the_forms_token_is_refused_and_signs_nobody_in(
    page: Page, world: Console, shots: Shots
) -> None:
    """Login CSRF: a sign-in posted from elsewhere carries no token, and one whose cookie is
    gone (cleared, or its 12 hours up) is refused too, with a way back to a fresh form."""
    await world.staff(NORA)
    forged = await page.request.post(
        "/login", form={"email": NORA, "password": PASSWORD}, max_redirects=0
    )
    assert forged.status == 403 and "nobody was signed in" in await forged.text()
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    await page.get_by_label("Email").fill(NORA)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.context.clear_cookies()  # the form's cookie is gone while it is open
    await submit(page, "Sign in")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await no_serious_axe_violations(page)
    await shots.take(page, "sign-in-refused-no-token")
    await page.get_by_role("link", name="Sign in again").click()
    await sign_in(page, NORA)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Today")
