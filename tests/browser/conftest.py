"""One headless Chromium for the session, a fresh context (cookies, storage) for every test,
and the console it talks to.

- The browser is Debian's ``/usr/bin/chromium``, launched by Playwright through
  ``executable_path``: Playwright's own browser builds are never downloaded. Without it the
  browser tests skip, or fail at once when ``REQUIRE_BROWSER=1`` (CI).
- ``world``: lenabot's real Starlette app (``bot.web.app.create_app``) served by uvicorn on a
  free 127.0.0.1 port, on a freshly migrated SQLite file in ``tmp_path``, with a manual clock
  (``tests/integration/console/console_world.py``, shared with the HTTP tests of the console's door);
  staff accounts are made by the store the CLI uses.
- Playwright's async API runs in the session's event loop, so every test and async fixture of
  this folder runs in that loop too (``pytestmark`` in each module, ``LOOP`` here).
- ``page`` is 1280x800; ``shots.take(page, name)`` keeps a full-page PNG in ``tmp_path``, and
  when a test fails, the page as it was then is kept too (its path is printed).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect
from playwright.async_api import Error as PlaywrightError

from scheduler.store.migrate import upgrade_async
from tests.integration.console.console_world import PASSWORD, T0, Console, console

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
LOOP: Final = "session"
# A loaded 2-core machine: a page can take a few seconds to answer while argon2 runs.
TIMEOUT_MS = 15_000
SERIOUS = ("serious", "critical")

expect.set_options(timeout=TIMEOUT_MS)


def _unavailable(why: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"{why}: the browser tests need Debian's chromium "
            "('apt-get install chromium'); REQUIRE_BROWSER=1 makes this a failure",
            pytrace=False,
        )
    pytest.skip(f"{why}: install Debian's chromium to run the browser tests")


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    return CHROMIUM


@pytest_asyncio.fixture(scope="session", loop_scope=LOOP)
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        try:
            launched = await pw.chromium.launch(executable_path=str(chromium), headless=True)
        except PlaywrightError as exc:
            _unavailable(f"{chromium} did not start ({exc.message.splitlines()[0]})")
            raise
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope=LOOP)
async def world(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Console]:
    """The console on a new SQLite file, its clock at T0 (or at the time a test gives it by
    indirect parametrisation)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    await upgrade_async(url)
    async with console(url, getattr(request, "param", T0)) as w:
        yield w


@dataclass
class Shots:
    """Full-page screenshots, numbered in the order the test took them."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    async def take(self, page: Page, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=path, full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return Shots(folder)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest_asyncio.fixture(loop_scope=LOOP)
async def page(
    browser: Browser, world: Console, shots: Shots, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=world.url, viewport=VIEWPORT, locale="en-GB", timezone_id="Europe/London"
    )  # fmt: skip
    context.set_default_timeout(TIMEOUT_MS)
    try:
        p = await context.new_page()
        yield p
        if request.node.stash.get(FAILED, False) and not p.is_closed():
            path = await shots.take(p, "failed")
            print(f"the page when {request.node.name} failed: {path}")
    finally:
        await context.close()


async def sign_in(page: Page, email: str, password: str = PASSWORD, code: str = "") -> None:
    """The sign-in form, filled in and sent as a nurse does (on the sign-in page already
    shown, e.g. after a refusal, or on a fresh one); returns once the answer has loaded."""
    if urlsplit(page.url).path != "/login":
        await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    if code:
        await page.get_by_label("Authenticator code").fill(code)
    await submit(page, "Sign in")


async def submit(page: Page, button: str) -> None:
    """Press a form's button and wait for the page that answers it to load (a refusal can be
    the same page again, so waiting for its text would not do)."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()


async def no_serious_axe_violations(page: Page) -> None:
    """axe-core on the page as it is now: nothing serious or critical (WCAG 2.x A/AA rules
    and axe's best practices)."""
    results = await Axe().run(page)
    found = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in found
    )  # fmt: skip
    assert not found, f"axe on {page.url}:\n{report}"
