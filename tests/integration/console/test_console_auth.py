"""The console's door, over real HTTP into the real app, on SQLite and PostgreSQL: nothing
without a session, one refusal for every failed sign-in, lock-out, TOTP, CSRF, roles, session
ends (disable, sign-out, idle, absolute) and a new session id at every sign-in."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

from bot.web.console.accounts import Role
from bot.web.console.signin import REFUSED
from tests.integration.console.console_world import (
    COOKIE,
    PASSWORD,
    T0,
    Console,
    console,
)

GUARDED_GETS = ("/", "/patients", "/patients/{pid}", "/patients?q=Zelda", "/enrol", "/staff")
GUARDED_POSTS = ("/logout", "/patients/{pid}/pause", "/patients/{pid}/end", "/enrol",
                 "/staff/add", "/staff/1/disable", "/staff/1/reset")  # fmt: skip


def _refused(body: str) -> bool:
    return REFUSED.replace("'", "&#39;") in body or REFUSED in body


# -- no session, nothing -----------------------------------------------------------------


async def test_every_console_route_without_a_session_redirects_to_login_and_shows_no_patient(
    world: Console,
) -> None:
    patient = await world.enrol("Zelda Quartz", "+447700900555")
    await world.staff("nora@example.org")
    for cookie in ({}, {COOKIE: "forged-or-expired"}):
        b = await world.browser()
        b.http.cookies.update(cookie)
        for path in GUARDED_GETS:
            r = await b.http.get(path.format(pid=patient.id))
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login"), path
            assert r.content == b""
        for path in GUARDED_POSTS:
            r = await b.http.post(path.format(pid=patient.id), data={"csrf": "x", "pause_from": ""})
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    # Whatever an unauthenticated request asks for, no patient data comes back.
    b = await world.browser()
    for path in ("/login", "/login?next=/patients/" + patient.id, "/set-password/nothing",
                 "/static/console.css", "/static/nothing.css", "/no/such/page"):  # fmt: skip
        r = await b.http.get(path)
        # (The id in a "next" the request itself carried may come back in the form.)
        for secret in ("Zelda", "Quartz", "900555", *([] if patient.id in path else [patient.id])):
            assert secret not in r.text, (path, secret)
            assert secret not in str(r.headers), (path, secret)
    r = await b.sign_in("nora@example.org", "nope")
    assert "Zelda" not in r.text and patient.id not in r.text
    # Nothing changed either: no pause was made by the refused POSTs.
    _, course = await world.service.courses.load_one(patient.id)
    assert course.holds == () and course.end is None


async def test_webhooks_health_and_metrics_are_not_console_routes(world: Console) -> None:
    b = await world.browser()
    assert (await b.http.get("/healthz")).text == "ok"
    assert (await b.http.get("/readyz")).status_code == 200
    metrics = await b.http.get("/metrics")
    assert metrics.status_code == 200 and "lenabot_http_request_duration_seconds" in metrics.text
    assert "content-security-policy" not in metrics.headers


async def test_console_responses_carry_the_security_headers_and_no_inline_script(
    world: Console,
) -> None:
    b = await world.nurse()
    patient = await world.enrol()
    for path in ("/login", "/", "/patients", f"/patients/{patient.id}", "/enrol"):
        r = await b.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in r.text and " style=" not in r.text
    css = await b.http.get("/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"


async def test_the_session_cookie_is_httponly_lax_and_secure_behind_https(
    console_url: str,
) -> None:
    for public_url, secure in (("", False), ("https://lenabot.example", True)):
        async with console(console_url, public_url=public_url) as w:
            email = f"n{int(secure)}@example.org"
            await w.staff(email)
            b = await w.browser()
            # httpx keeps a Secure cookie from a plain-http answer to itself: sent by hand.
            form = await b.http.get("/login")
            [pair] = form.headers.get_list("set-cookie")
            login = pair.lower()
            assert login.startswith(f"{'__host-' if secure else ''}lenabot_login=")
            assert "httponly" in login and "samesite=strict" in login and "path=/" in login
            assert ("secure" in login.split("; ")) is secure
            csrf = re.search(r'name="csrf" value="([\w-]+)"', form.text)
            assert csrf is not None and pair.split(";")[0].endswith(f"={csrf[1]}")
            r = await b.http.post(
                "/login", data={"email": email, "password": PASSWORD, "csrf": csrf[1]},
                headers={"cookie": pair.split(";")[0]},
            )  # fmt: skip
            assert r.status_code == 303
            [cookie] = [c.lower() for c in r.headers.get_list("set-cookie")
                        if c.startswith(COOKIE)]  # fmt: skip
            assert "httponly" in cookie and "samesite=lax" in cookie
            assert ("secure" in cookie.split("; ")) is secure
            # The sign-in form's token is done with: its cookie is cleared.
            assert any(c.lower().startswith(login.split("=")[0] + '=""') or
                       (c.lower().startswith(login.split("=")[0] + "=") and "max-age=0" in c.lower())
                       for c in r.headers.get_list("set-cookie"))  # fmt: skip


# -- signing in ----------------------------------------------------------------------------


async def test_a_sign_in_without_the_forms_token_is_refused_and_signs_nobody_in(
    world: Console,
) -> None:
    """Login CSRF: another site can make the browser POST a sign-in, but cannot read or set
    the token's cookie, so it cannot send the matching field."""
    await world.staff("nora@example.org")
    b = await world.browser()
    good = {"email": "nora@example.org", "password": PASSWORD}
    # No cookie and no field; a field but no cookie; a cookie and no field; the two differ.
    r = await b.http.post("/login", data=good)
    assert r.status_code == 403 and "nobody was signed in" in r.text and b.cookie is None
    assert (await b.http.post("/login", data={**good, "csrf": "x" * 43})).status_code == 403
    await b.get("/login")
    token = b.csrf
    assert (await b.http.post("/login", data=good)).status_code == 403
    assert (await b.http.post("/login", data={**good, "csrf": "y" * 43})).status_code == 403
    assert b.cookie is None
    staff = await world.accounts.by_email("nora@example.org")
    assert staff is not None and staff.failed_attempts == 0  # not even counted as a try
    # The refusal page gives a fresh form's way back; the token it had still works.
    r = await b.http.post("/login", data={**good, "csrf": token})
    assert r.status_code == 303 and b.cookie is not None
    assert b.http.cookies.get("lenabot_login") is None


async def test_wrong_passwords_lock_the_account_after_five_for_15_minutes(world: Console) -> None:
    await world.staff("nora@example.org")
    b = await world.browser()
    for _ in range(5):
        r = await b.sign_in("nora@example.org", "not the password at all")
        assert r.status_code == 200 and _refused(r.text) and b.cookie is None
    r = await b.sign_in("nora@example.org")  # the right password, while locked
    assert r.status_code == 200 and _refused(r.text) and b.cookie is None
    world.clock.advance(minutes=14)
    assert _refused((await b.sign_in("nora@example.org")).text)
    world.clock.advance(minutes=1, seconds=1)
    r = await b.sign_in("nora@example.org")
    assert r.status_code == 303 and b.cookie is not None


async def test_a_good_sign_in_clears_the_count_of_failures(world: Console) -> None:
    await world.staff("nora@example.org")
    b = await world.browser()
    for _ in range(4):
        await b.sign_in("nora@example.org", "wrong wrong wrong")
    assert (await b.sign_in("nora@example.org")).status_code == 303
    other = await world.browser()
    for _ in range(4):
        await other.sign_in("nora@example.org", "wrong wrong wrong")
    assert (await other.sign_in("nora@example.org")).status_code == 303  # not locked


async def test_the_sign_in_error_is_the_same_for_an_unknown_email(world: Console) -> None:
    await world.staff("nora@example.org")
    disabled, _ = await world.staff("gone@example.org")
    await world.accounts.disable(disabled.id, world.clock.now())
    b = await world.browser()

    async def attempt(
        email: str, password: str = "wrong horse battery staple"
    ) -> tuple[int, str, float]:
        started = time.perf_counter()
        r = await b.sign_in(email, password)
        took = time.perf_counter() - started
        return r.status_code, r.text.replace(email, "EMAIL"), took

    known = [await attempt("nora@example.org") for _ in range(3)]
    unknown = [await attempt("nobody@example.org") for _ in range(3)]
    gone = await attempt("gone@example.org", PASSWORD)  # the right password, disabled
    assert {(s, t) for s, t, _ in known} == {(s, t) for s, t, _ in unknown} == {gone[:2]}
    assert known[0][0] == 200 and _refused(known[0][1])
    # An unknown email costs a full argon2 check too (against a stand-in hash).
    ratio = statistics.median(t for *_, t in unknown) / statistics.median(t for *_, t in known)
    assert 0.3 < ratio < 3, ratio


async def test_admins_always_need_an_authenticator_code(world: Console) -> None:
    _, secret = await world.staff("ada@example.org", Role.ADMIN, with_totp=True)
    assert secret is not None
    b = await world.browser()
    assert _refused((await b.sign_in("ada@example.org")).text)  # no code
    assert _refused((await b.sign_in("ada@example.org", code="000000")).text)
    code = world.code(secret)
    r = await b.sign_in("ada@example.org", code=code)
    assert r.status_code == 303 and (await b.get("/staff")).status_code == 200
    # The same code cannot be used again, even at once from elsewhere.
    thief = await world.browser()
    assert _refused((await thief.sign_in("ada@example.org", code=code)).text)
    world.clock.advance(seconds=30)
    assert (await thief.sign_in("ada@example.org", code=world.code(secret))).status_code == 303
    # An admin without a secret at all (made by hand) cannot sign in.
    await world.staff("bare@example.org", Role.ADMIN)
    assert _refused((await (await world.browser()).sign_in("bare@example.org")).text)


async def test_console_require_totp_makes_nurses_need_a_code(console_url: str) -> None:
    async with console(console_url, console_require_totp=True) as w:
        await w.staff("plain@example.org")
        _, secret = await w.staff("coded@example.org", with_totp=True)
        assert secret is not None
        assert _refused((await (await w.browser()).sign_in("plain@example.org")).text)
        ok = await (await w.browser()).sign_in("coded@example.org", code=w.code(secret))
        assert ok.status_code == 303


async def test_a_new_session_id_at_sign_in_never_the_one_planted(world: Console) -> None:
    await world.staff("nora@example.org")
    attacker = await world.nurse("mallory@example.org")
    planted = attacker.cookie
    assert planted is not None
    victim = await world.browser()
    await victim.get("/login")  # the sign-in page is open when the id is planted
    victim.http.cookies.set(COOKIE, planted, domain="127.0.0.1")
    r = await victim.http.post("/login", data={"email": "nora@example.org",
                                               "password": PASSWORD, "csrf": victim.csrf})
    assert r.status_code == 303
    assert victim.cookie is not None and victim.cookie != planted
    assert "Nora" in (await victim.get("/")).text
    # The planted id signs nobody in any more.
    assert (await attacker.http.get("/")).status_code == 303


async def test_sign_out_deletes_the_session(world: Console) -> None:
    b = await world.nurse()
    token = b.cookie
    assert token is not None
    r = await b.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login?done=signed-out"
    replay = await world.browser()
    replay.http.cookies.set(COOKIE, token, domain="127.0.0.1")
    assert (await replay.http.get("/")).status_code == 303


# -- sessions end ------------------------------------------------------------------------


async def test_sessions_end_after_30_idle_minutes(world: Console) -> None:
    b = await world.nurse()
    world.clock.advance(minutes=29)
    assert (await b.get("/")).status_code == 200  # active: idle time starts again
    world.clock.advance(minutes=29)
    assert (await b.get("/")).status_code == 200
    world.clock.advance(minutes=30)
    r = await b.http.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"


async def test_sessions_end_12_hours_after_sign_in_however_busy(world: Console) -> None:
    b = await world.nurse()
    while world.clock.now() < T0 + timedelta(hours=12) - timedelta(minutes=20):
        world.clock.advance(minutes=20)
        assert (await b.get("/patients")).status_code == 200
    world.clock.advance(minutes=20)
    assert (await b.http.get("/patients")).status_code == 303


async def test_a_disabled_accounts_session_is_dead_at_once(world: Console) -> None:
    b = await world.nurse("nora@example.org")
    assert (await b.get("/")).status_code == 200
    code, out, err = await world.lenabot("staff", "disable", "--email", "Nora@Example.org")
    assert code == 0, err
    assert "disabled nora@example.org" in out
    assert (await b.http.get("/")).status_code == 303
    again = await world.browser()
    assert _refused((await again.sign_in("nora@example.org")).text)


# -- forms: CSRF and roles ---------------------------------------------------------------


async def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    world: Console,
) -> None:
    patient = await world.enrol()
    b = await world.nurse()
    await b.get(f"/patients/{patient.id}")
    rows_before = await world.service.outbox.rows(patient.id)
    for csrf in (None, "", "x" * 43, b.csrf[:-1] + ("A" if b.csrf[-1] != "A" else "B")):
        fields = {"pause_from": "", "pause_reason": "csrf"}
        if csrf is not None:
            fields["csrf"] = csrf
        r = await b.http.post(f"/patients/{patient.id}/pause", data=fields)
        assert r.status_code == 403
    # Another nurse's token is not this session's either.
    other = await world.nurse("olga@example.org")
    r = await b.http.post(f"/patients/{patient.id}/pause", data={"csrf": other.csrf})
    assert r.status_code == 403
    _, course = await world.service.courses.load_one(patient.id)
    assert course.holds == ()
    assert await world.service.outbox.rows(patient.id) == rows_before
    # Sign-out needs the token too.
    assert (await b.http.post("/logout", data={})).status_code == 403
    assert (await b.get("/")).status_code == 200


async def test_a_nurse_gets_403_on_the_staff_pages(world: Console) -> None:
    b = await world.nurse()
    assert (await b.get("/staff")).status_code == 403
    r = await b.post("/staff/add", email="new@example.org", name="New", role="admin")
    assert r.status_code == 403
    assert [a.staff.email for a in await world.accounts.everyone()] == ["nora@example.org"]
    assert 'href="/staff"' not in (await b.get("/")).text


async def test_an_admin_adds_a_nurse_who_sets_a_password_and_is_later_disabled(
    world: Console,
) -> None:
    _, secret = await world.staff("ada@example.org", Role.ADMIN, with_totp=True)
    assert secret is not None
    admin = await world.browser()
    assert (await admin.sign_in("ada@example.org", code=world.code(secret))).status_code == 303
    await admin.get("/staff")
    r = await admin.post("/staff/add", email="bad", name="", role="nurse")
    assert r.status_code == 400 and "is not an email address" in r.text
    r = await admin.post("/staff/add", email="Nell@Example.org", name="Nell Nurse", role="nurse")
    assert r.status_code == 200
    link = re.search(r"https?://[^<\s]+/set-password/[\w-]+", r.text)
    assert link is not None
    path = "/set-password/" + link[0].rsplit("/", 1)[1]
    nell = await world.browser()
    assert (await nell.get(path)).status_code == 200
    weak = await nell.post(path, csrf=False, password="password1234", confirm="password1234")
    assert weak.status_code == 400 and "too common" in weak.text
    r = await nell.post(path, csrf=False, password=PASSWORD, confirm=PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/login?done=password"
    assert (await nell.get(path)).status_code == 404  # used once
    assert (await nell.sign_in("nell@example.org")).status_code == 303
    staff_page = await admin.get("/staff")
    nell_id = re.search(r'action="/staff/(\d+)/disable"', staff_page.text)
    assert nell_id is not None
    assert (await admin.post(f"/staff/{nell_id[1]}/disable")).status_code == 303
    assert (await nell.http.get("/")).status_code == 303


async def test_a_set_password_link_lasts_24_hours(world: Console) -> None:
    staff, _ = await world.staff("nora@example.org", password=None)
    token = await world.accounts.issue_link(staff.id, world.clock.now())
    b = await world.browser()
    assert (await b.get(f"/set-password/{token}")).status_code == 200
    world.clock.advance(hours=24)
    assert (await b.get(f"/set-password/{token}")).status_code == 404
    r = await b.post(f"/set-password/{token}", csrf=False, password=PASSWORD, confirm=PASSWORD)
    assert r.status_code == 404
    assert _refused((await b.sign_in("nora@example.org")).text)
