"""Importing patients from a CSV file on the console's /import page, over real HTTP into the
real app, on SQLite and PostgreSQL: the dry run lists every row's problems and saves nothing,
the import is all or nothing and audited as the nurse, files that cannot be read are refused
whole, and the page is behind the session and the CSRF token like every other. Also
``lenabot patients import``, the same code from the command line."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import httpx
import pytest

from bot.web.console import patient_csv
from bot.web.console.patient_csv import ImportRefused, check, enrol_all, read_rows
from scheduler.domain.model import ChannelKind, RuleSet
from tests.integration.console.console_world import Browser, Console

HEADER = (
    "name,phone,telegram,start_date,dose_time,timezone,regimen,rules,can_become_pregnant,discreet"
)
GOOD = [
    "Bea Brown,+447700900321,,2026-12-01,20:00,Europe/London,21/28,uk,,no",
    "Carl Diaz,,yes,2026-11-25,08:30,America/New_York,continuous,us-rems,yes,yes",
    "Dee Evans,+447700900654,no,2026-12-07,09:15,Europe/London,,,,",
]


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


async def upload(b: Browser, data: bytes, *, csrf: bool = True) -> httpx.Response:
    """The Check button of /import: the file as a browser sends it (multipart)."""
    fields = {"step": (None, "check"), **({"csrf": (None, b.csrf)} if csrf else {})}
    r = await b.http.post("/import", files={**fields, "file": ("patients.csv", data, "text/csv")})
    if m := re.search(r'name="csrf" value="([^"]+)"', r.text):
        b.csrf = m[1]
    return r


async def confirm(b: Browser, dry_run: httpx.Response) -> httpx.Response:
    """The Import button of a dry run's page: the file sent back from its hidden field."""
    m = re.search(r'name="csv_b64" value="([^"]+)"', dry_run.text)
    assert m, "the dry run offers no Import button"
    fields = {"csrf": b.csrf, "step": "import", "csv_b64": m[1]}
    return await b.http.post("/import", files={k: (None, v) for k, v in fields.items()})


def results(page: str) -> dict[int, list[str]]:
    """Row number -> ["ok"] or its problems ("column: sentence"), as the dry run lists them."""
    found: dict[int, list[str]] = {}
    for m in re.finditer(r'<tr id="row-(\d+)"[^>]*>.*?</tr>', page, re.S):
        cell = re.findall(r"<td[^>]*>(.*?)</td>", m[0], re.S)[2]
        items = re.findall(r"<li>(.*?)</li>", cell, re.S) or [cell]
        found[int(m[1])] = [html.unescape(re.sub(r"<[^>]+>", "", x)).replace("Error:", "").strip()
                            for x in items]  # fmt: skip
    return found


async def test_the_dry_run_lists_every_row_with_its_problems_and_saves_nothing(
    world: Console,
) -> None:
    taken = await world.enrol("Ann Smith", "+447700900123")
    b = await world.nurse()
    assert (await b.get("/import")).status_code == 200
    data = csv_of(
        GOOD[0],
        "Eve Fox,07700900999,,2026-02-30,8pm,Europe/Londn,22/21,uk,,",  # five fields wrong
        "Fay Gee,+447700900321,,2026-12-01,09:00,Europe/London,,,,",  # row 2's phone again
        "Gus Hill,+447700900123,,2026-12-01,09:00,Europe/London,,,,",  # Ann's phone
        "Hal Ives,+447700900777,yes,2026-12-01,09:00,Europe/London,,,perhaps,",
        "",  # a blank line is skipped, but still counted as a row of the sheet
        " ,+447700900778,,2026-12-01,09:00,Europe/London,,,,",
    )
    r = await upload(b, data)
    assert r.status_code == 200, r.text
    found = results(r.text)
    assert found[2] == ["ok"]
    assert [x.split(":")[0] for x in found[3]] == [
        "phone", "timezone", "start_date", "dose_time", "regimen"
    ]  # fmt: skip
    assert found[3][0].startswith("phone: Phone '07700900999' is not in E.164 form")
    assert found[4] == ["phone: The phone number +447700900321 is also on row 2."]
    assert found[5] == ["phone: The phone number +447700900123 is already enrolled."]
    assert sorted(found[6]) == [
        "can_become_pregnant: Write yes or no, not 'perhaps'.",
        "phone: Give a phone number for SMS, or yes in the telegram column: not both.",
    ]
    assert 7 not in found and [x.split(":")[0] for x in found[8]] == ["name"]
    assert "Dry run: 6 patients, 5 with problems" in r.text
    assert "csv_b64" not in r.text  # no Import button while a row has a problem
    assert [p.id for p in await world.service.courses.all_patients()] == [taken.id]


CP1252 = csv_of("Jos\xe9 Ruiz,+447700900321,,2026-12-01,09:00,Europe/London,,,,").decode()
MANY = [f"P{i},+4477009{i:05d},,2026-12-01,09:00,Europe/London,,,," for i in range(patient_csv.MAX_ROWS + 1)]
BAD_FILES = [
    pytest.param(
        b"name,phone,start_date,dose_time,timezone,colour\r\n"
        b"A,+447700900321,2026-12-01,09:00,Europe/London,red\r\n",
        "Unknown column 'colour': the columns are name, phone, telegram, start_date",
        id="unknown-column",
    ),
    pytest.param(
        b"name,phone,dose_time,timezone\r\nA,+447700900321,09:00,Europe/London\r\n",
        "Missing column: start_date", id="missing-column",
    ),
    pytest.param(
        b"name,start_date,dose_time,timezone\r\nA,2026-12-01,09:00,Europe/London\r\n",
        "Missing column: phone (for SMS patients) or telegram", id="no-phone-or-telegram",
    ),
    pytest.param(
        CP1252.encode("cp1252"),
        f"The file is not UTF-8 text (byte {len(HEADER) + 6} is not): save it from the "
        'spreadsheet as "CSV UTF-8"', id="cp1252",
    ),
    pytest.param(csv_of(GOOD[0]).decode().encode("utf-16"), "The file is not UTF-8 text",
                 id="utf-16"),
    pytest.param(HEADER.encode(), "The file has no patients", id="header-only"),
    pytest.param(b"", "Choose a CSV file to check.", id="no-file"),
    pytest.param(csv_of(*MANY), "The file has 1001 patients: at most 1000 a file.",
                 id="1001-rows"),
    pytest.param(csv_of(GOOD[0]) + b"#" * patient_csv.MAX_FILE_BYTES,
                 "The file is larger than 1 MB", id="over-1MB"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "why"), BAD_FILES)
async def test_a_file_that_cannot_be_read_is_refused_whole(
    world: Console, data: bytes, why: str
) -> None:
    b = await world.nurse()
    await b.get("/import")
    r = await upload(b, data)
    assert r.status_code == 400
    assert why in html.unescape(r.text)
    assert await world.service.courses.all_patients() == []


async def test_an_upload_over_the_limit_is_refused_before_it_is_read(world: Console) -> None:
    b = await world.nurse()
    await b.get("/import")
    r = await upload(b, b"x" * (2 * 1024 * 1024))
    assert r.status_code == 413
    assert "The file is too large: at most 1 MB. Nothing was imported." in r.text


async def test_importing_enrols_every_row_audited_as_the_nurse(world: Console) -> None:
    nurse, _ = await world.staff("nora@example.org")
    b = await world.browser()
    assert (await b.sign_in("nora@example.org")).status_code == 303
    await b.get("/import")
    dry = await upload(b, csv_of(*GOOD))
    assert results(dry.text) == {2: ["ok"], 3: ["ok"], 4: ["ok"]}
    assert await world.service.courses.all_patients() == []  # a dry run saves nothing
    r = await confirm(b, dry)
    assert r.status_code == 303 and r.headers["location"] == "/import?imported=3"
    assert "Imported 3 patients" in (await b.get(r.headers["location"])).text

    by_name = {p.name: p for p in await world.service.courses.all_patients()}
    assert sorted(by_name) == ["Bea Brown", "Carl Diaz", "Dee Evans"]
    carl, course = await world.service.courses.load_one(by_name["Carl Diaz"].id)
    assert carl.channel is ChannelKind.TELEGRAM and carl.phone is None
    assert carl.rules is RuleSet.US_REMS and carl.can_become_pregnant and carl.discreet
    assert (course.start, course.dose_time, carl.tz, str(course.regimen)) == (
        date(2026, 11, 25), time(8, 30), "America/New_York", "continuous")  # fmt: skip
    dee, dee_course = await world.service.courses.load_one(by_name["Dee Evans"].id)
    assert (dee.phone, str(dee_course.regimen), dee.rules, dee.language, dee.discreet) == (
        "+447700900654",
        "21/28",
        RuleSet.UK,
        "en-GB",
        False,
    )  # the Enrol form's defaults
    bea = by_name["Bea Brown"].id  # started on 1 December, dose at 20:00: tonight's is planned
    doses = [r.due_at for r in await world.service.outbox.rows(bea) if r.kind == "dose"]
    assert doses[0] == datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
    audit = await world.service.audit.entries(action="enrol")
    assert sorted(e.patient_id or "" for e in audit) == sorted(p.id for p in by_name.values())
    assert {e.actor for e in audit} == {f"staff:{nurse.id}"}


async def test_the_import_checks_again_and_saves_nothing_if_a_row_went_wrong_meanwhile(
    world: Console,
) -> None:
    b = await world.nurse()
    await b.get("/import")
    dry = await upload(b, csv_of(*GOOD))
    assert "csv_b64" in dry.text
    late = await world.enrol("Dee Elsewhere", "+447700900654")  # enrolled by someone else
    r = await confirm(b, dry)
    assert r.status_code == 400
    assert "Nothing was imported: the file has problems now" in r.text
    assert results(r.text)[4] == ["phone: The phone number +447700900654 is already enrolled."]
    assert [p.id for p in await world.service.courses.all_patients()] == [late.id]


async def test_a_row_failing_while_saving_rolls_back_every_enrolment(world: Console) -> None:
    """The transaction itself: rows 2 and 3 are enrolled, row 4 fails (its phone enrolled
    after the check), and nothing of rows 2 and 3 is left, not even their audit rows."""
    rows = read_rows(csv_of(*GOOD))
    await check(rows, world.service.courses, world.clock.now())
    assert all(r.ok for r in rows)
    late = await world.enrol("Dee Elsewhere", "+447700900654")
    with pytest.raises(ImportRefused) as refused:
        await enrol_all(rows, world.service.care, world.service.engine, "staff:1")
    assert refused.value.row.number == 4 and "already enrolled" in refused.value.message
    assert [p.id for p in await world.service.courses.all_patients()] == [late.id]
    assert [e.patient_id for e in await world.service.audit.entries(action="enrol")] == [late.id]
    assert {r.patient_id for r in await world.service.outbox.rows()} == {late.id}


async def test_import_needs_a_session_and_the_csrf_token(world: Console) -> None:
    stranger = await world.browser()
    for path in ("/import", "/adherence.csv", "/patients/abc/adherence.csv",
                 "/patients/abc/conversation.csv"):  # fmt: skip
        r = await stranger.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    r = await stranger.http.post("/import", files={"file": ("p.csv", csv_of(*GOOD), "text/csv")})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "Bea" not in r.text

    b = await world.nurse()
    await b.get("/import")
    assert (await upload(b, csv_of(*GOOD), csrf=False)).status_code == 403
    dry = await upload(b, csv_of(*GOOD))
    b.csrf = "forged"
    assert (await confirm(b, dry)).status_code == 403
    no_form = await b.http.post("/import", data={"step": "import"})  # urlencoded, no token
    assert no_form.status_code == 403
    assert await world.service.courses.all_patients() == []


async def test_lenabot_patients_import_shares_the_checks(world: Console, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_of(GOOD[0], "Eve Fox,+447700900321,,2026-12-01,25:00,Europe/London,,,,"))
    code, out, err = await world.lenabot("patients", "import", str(bad))
    assert code == 1, err
    assert "row 2: ok" in out
    assert "row 3: phone: The phone number +447700900321 is also on row 2." in out
    assert "row 3: dose_time: Dose time '25:00' is not a time" in out
    assert "nothing was imported" in out
    good = tmp_path / "good.csv"
    good.write_bytes(csv_of(*GOOD))
    code, out, err = await world.lenabot("patients", "import", str(good), "--dry-run")
    assert (code, out.splitlines()[-1]) == (0, "dry run: all 3 rows are ok; nothing was imported")
    assert await world.service.courses.all_patients() == []
    code, out, err = await world.lenabot("patients", "import", str(good))
    assert code == 0, err
    assert out.splitlines()[-1] == "imported 3 patients"
    assert len(await world.service.courses.all_patients()) == 3
    enrolled = await world.service.audit.entries(action="enrol")
    assert len(enrolled) == 3 and all(e.actor.startswith("cli:") for e in enrolled)
    code, out, err = await world.lenabot("patients", "import", str(good))
    assert code == 1 and "is already enrolled" in out
