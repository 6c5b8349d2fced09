"""The care-team console in a real browser: Debian's Chromium, headless, driven by Playwright
against lenabot's real app served by uvicorn on a loopback port, on a SQLite file of the test's
own. The tests read as a nurse's steps (labels, roles and visible text, never CSS selectors);
axe-core checks every page; each test keeps a full-page screenshot of what it saw."""
