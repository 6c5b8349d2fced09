"""Importing patients from a CSV file in the browser: a file with one bad row is checked, the
dry run shows that row's problem and offers no Import; the corrected file is checked again and
imported; the patients are on the Patients page; one patient's adherence is downloaded."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Shots, sign_in, submit
from tests.integration.console.console_world import Console

pytestmark = pytest.mark.asyncio(loop_scope="session")

NORA = "nora@example.org"
HEADER = "name,phone,start_date,dose_time,timezone,can_become_pregnant\n"
BEA = "Bea Brown,+447700900321,2026-12-01,20:00,Europe/London,no\n"


async def test_a_nurse_imports_a_csv_after_fixing_its_bad_row(
    page: Page, world: Console, shots: Shots, tmp_path: Path
) -> None:
    nurse, _ = await world.staff(NORA)
    await sign_in(page, NORA)
    await page.get_by_role("link", name="Import", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Import patients")
    await shots.take(page, "import")

    sheet = tmp_path / "ward 5.csv"
    sheet.write_text(HEADER + BEA + "Carl Diaz,+447700900654,2026-12-07,25:00,Europe/London,\n")
    await page.get_by_label("CSV file of patients").set_input_files(sheet)
    await submit(page, "Check the file")
    dry_run = page.get_by_role("region", name="Dry run: 2 patients, 1 with problems")
    await expect(dry_run).to_be_visible()
    await expect(dry_run.get_by_role("row").filter(has_text="Bea Brown")).to_contain_text("ok")
    carl = dry_run.get_by_role("row").filter(has_text="Carl Diaz")
    await expect(carl.get_by_role("cell").first).to_have_text("3")
    await expect(carl).to_contain_text("dose_time: Dose time '25:00' is not a time")
    await expect(page.get_by_role("button", name="Import 2 patients")).to_have_count(0)
    assert await world.service.courses.all_patients() == []
    await shots.take(page, "import-dry-run-errors")

    sheet.write_text(HEADER + BEA + "Carl Diaz,+447700900654,2026-12-07,21:00,Europe/London,\n")
    await page.get_by_label("CSV file of patients").set_input_files(sheet)
    await submit(page, "Check the file")
    await expect(
        page.get_by_role("region", name="Dry run: 2 patients, 0 with problems")
    ).to_be_visible()
    assert await world.service.courses.all_patients() == []  # not before Import
    await shots.take(page, "import-dry-run-ok")
    await submit(page, "Import 2 patients")
    await expect(page.get_by_role("main").get_by_role("status")).to_contain_text(
        "Imported 2 patients"
    )
    await shots.take(page, "imported")
    enrolled = {p.name: p for p in await world.service.courses.all_patients()}
    assert sorted(enrolled) == ["Bea Brown", "Carl Diaz"]
    audit = await world.service.audit.entries(action="enrol")
    assert {e.actor for e in audit} == {f"staff:{nurse.id}"} and len(audit) == 2

    await page.get_by_role("link", name="See the patients").click()
    await expect(page.get_by_role("main").get_by_role("status")).to_have_text("2 patients.")
    await page.get_by_role("link", name="Bea Brown").click()
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Adherence day by day (CSV)").click()
    download = await info.value
    bea = enrolled["Bea Brown"].id
    assert download.suggested_filename == f"lenabot-adherence-{bea}-20261203-1000.csv"
    saved = await download.path()
    rows = list(csv.DictReader(io.StringIO(await asyncio.to_thread(saved.read_text))))
    # Enrolled today, started on 1 December: two days before enrolment, then today's dose.
    assert [(r["date"], r["status"]) for r in rows] == [
        ("2026-12-01", "before_enrolment"), ("2026-12-02", "before_enrolment"),
        ("2026-12-03", "open"),
    ]  # fmt: skip
