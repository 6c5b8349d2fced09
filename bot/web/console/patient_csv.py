"""Patients from a CSV file: read it, check every row as the Enrol form checks it, and enrol
them all in one transaction, or none.

The file is UTF-8 (a byte-order mark, as Excel's "CSV UTF-8" writes, is fine), at most
``MAX_FILE_BYTES`` and ``MAX_ROWS`` patients, comma-separated (or semicolon- or
tab-separated, as some spreadsheets write it). The first row names the columns: ``COLUMNS``,
in any order, ``REQUIRED`` ones always, any other missing one taking the Enrol form's
default. A column nobody knows is refused rather than ignored: a misspelt
``can_become_pregnat`` must not silently enrol someone without the pregnancy rules.

Each row goes through ``enrol_page.parse_enrolment``, the Enrol form's own checks (the
parsers of ``lenabot enrol`` and the checks of ``CareTeam.enrol``); on top, a phone number
twice in the file is an error on the second row. Rows are numbered as a spreadsheet numbers
them: the header is row 1. ``enrol_all`` then enrols every row through ``CareTeam.enrol``
inside one unit of work, so each enrolment's audit row is written with it, and a row that
fails there (a phone number enrolled meanwhile by someone else) rolls back every one.
The console's ``/import`` page and ``lenabot patients import`` both use this module.
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation import validate as v
from bot.web.console.enrol_page import DEFAULTS, FLAGS, TEXTS, parse_enrolment
from bot.web.console.forms import sentence
from scheduler.domain.model import Patient
from scheduler.services.care import CareError, CareTeam, Enrolment
from scheduler.store import tables as t
from scheduler.store.db import connecting, unit_of_work
from scheduler.store.repository import SqlAlchemyCourseRepository

MAX_FILE_BYTES = 1024 * 1024
# An import is one transaction: on SQLite every other writer (an inbound SMS, the dispatcher)
# waits for it, and gives up after 30 s (``busy_timeout``). 1,000 enrolments took 17 s on
# SQLite and 20 s on PostgreSQL on the 2-core test machine at a load average of 9 to 10
# (README, "Import and export"); the dry run of 1,000 rows, 0.3 to 0.4 s.
MAX_ROWS = 1000
LOOKUP_CHUNK = 500
# CSV column -> the Enrol form's field; in the order the README documents them.
COLUMNS = {
    "name": "name", "phone": "phone", "telegram": "telegram", "start_date": "start",
    "dose_time": "dose_time", "timezone": "tz", "regimen": "regimen", "rules": "rules",
    "can_become_pregnant": "can_become_pregnant",
    "partner_can_become_pregnant": "partner_can_become_pregnant",
    "irregular_periods": "irregular_periods", "discreet": "discreet", "language": "language",
}  # fmt: skip
REQUIRED = ("name", "start_date", "dose_time", "timezone")
COLUMN_OF = {f: c for c, f in COLUMNS.items()}
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0", ""})
# The Enrol form's sentences that speak of its checkbox, said of the file's column instead.
REWORDED = {
    "Give a phone number for SMS, or tick Telegram: not both.":
        "Give a phone number for SMS, or yes in the telegram column: not both.",
    "Give the patient's mobile number for SMS, or tick Telegram.":
        "Give the patient's mobile number for SMS, or yes in the telegram column.",
}  # fmt: skip


class BadFile(Exception):
    """The file as a whole cannot be read: one sentence saying why and what to do."""


@dataclass(frozen=True)
class Problem:
    column: str  # "" for the row as a whole
    message: str


@dataclass
class Row:
    """One patient of the file: its spreadsheet row number, the cells as typed (by column),
    and after ``check`` its problems or its enrolment."""

    number: int
    cells: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    enrolment: Enrolment | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.enrolment is not None


class ImportRefused(Exception):
    """A row failed while enrolling: every enrolment of the file was rolled back."""

    def __init__(self, row: Row, message: str) -> None:
        super().__init__(message)
        self.row, self.message = row, message


def _column(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _delimiter(first_line: str) -> str:
    for candidate in (",", ";", "\t"):
        if candidate in first_line:
            return candidate
    return ","


def read_rows(data: bytes) -> list[Row]:
    """The file's patients, cells as typed; ``BadFile`` if the file as a whole is wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise BadFile("The file is larger than 1 MB: split it into smaller files.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"The file is not UTF-8 text (byte {exc.start + 1} is not): save it from the "
            'spreadsheet as "CSV UTF-8" and upload it again.'
        ) from None
    if "\x00" in text:
        raise BadFile('The file is not UTF-8 text (it looks like UTF-16): save it from the '
                      'spreadsheet as "CSV UTF-8" and upload it again.')  # fmt: skip
    if not text.strip():
        raise BadFile("The file is empty: the first row names the columns, one patient a row.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n")[0]),
                        strict=True)  # fmt: skip
    try:
        records = list(reader)
    except csv.Error as exc:
        raise BadFile(f"Row {reader.line_num} cannot be read as CSV ({exc}).") from None
    header = [_column(h) for h in records[0]]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BadFile(
            f"Unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            f"the columns are {', '.join(COLUMNS)}."
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise BadFile(f"The column {twice[0]!r} is there twice: keep one.")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadFile(f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                      f"(the first row names the columns).")  # fmt: skip
    if "phone" not in header and "telegram" not in header:
        raise BadFile("Missing column: phone (for SMS patients) or telegram (or both).")
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        cells = [c.strip() for c in record] + [""] * (len(header) - len(record))
        row = Row(number, dict(zip(header, cells, strict=False)))  # a short row: empty cells
        if len(record) > len(header):
            row.problems.append(Problem("", f"It has {len(record)} cells but the first row "
                                            f"names {len(header)} columns."))  # fmt: skip
        rows.append(row)
    if not rows:
        raise BadFile("The file has no patients: only the row that names the columns.")
    if len(rows) > MAX_ROWS:
        raise BadFile(f"The file has {len(rows)} patients: at most {MAX_ROWS} a file. Split it.")
    return rows


def _values(row: Row) -> dict[str, str]:
    """The Enrol form's fields for one row (flags "yes" or ""), defaults for absent columns;
    a flag that is neither yes nor no is a problem of the row."""
    values = {**dict.fromkeys(TEXTS + FLAGS, ""), **DEFAULTS}
    for column, fieldname in COLUMNS.items():
        if column not in row.cells:
            continue
        if not row.cells[column] and fieldname in DEFAULTS and column not in REQUIRED:
            continue  # an empty cell of an optional column: the Enrol form's default
        cell = row.cells[column]
        if fieldname in FLAGS:
            if cell.lower() not in YES | NO:
                row.problems.append(Problem(column, f"Write yes or no, not {cell!r}."))
            values[fieldname] = "yes" if cell.lower() in YES else ""
        else:
            values[fieldname] = cell
    return values


@dataclass(frozen=True)
class _Enrolled:
    """The phone numbers of a file that are enrolled already, looked up in one query a
    ``LOOKUP_CHUNK``: a ``PhoneBook`` for ``parse_enrolment`` that answers without a query a
    row (which made a dry run of 1,000 rows take seconds)."""

    taken: frozenset[str]

    async def phone_taken(self, phone: str) -> bool:
        return phone in self.taken


async def _enrolled(engine: AsyncEngine, rows: list[Row]) -> _Enrolled:
    wanted = set()
    for row in rows:
        with contextlib.suppress(v.InvalidInput):
            wanted.add(v.parse_phone(row.cells.get("phone", "")))
    ordered, taken = sorted(wanted), set()
    p = t.patients.c
    async with connecting(engine) as conn:
        for i in range(0, len(ordered), LOOKUP_CHUNK):
            chunk = ordered[i : i + LOOKUP_CHUNK]
            taken |= {r[0] for r in await conn.execute(select(p.phone).where(p.phone.in_(chunk)))}
    return _Enrolled(frozenset(taken))


async def check(rows: list[Row], courses: SqlAlchemyCourseRepository, now: datetime) -> None:
    """Each row's problems (column, sentence) or its enrolment, as the Enrol form checks."""
    phones: dict[str, int] = {}
    enrolled = await _enrolled(courses.engine, rows)
    for row in rows:
        values = _values(row)
        enrolment, errors = await parse_enrolment(values, enrolled, now)
        for fieldname, message in errors.items():
            row.problems.append(Problem(COLUMN_OF[fieldname], REWORDED.get(message, message)))
        if values["phone"] and "phone" not in errors:  # a valid number, whatever else is wrong
            phone = v.parse_phone(values["phone"])
            first = phones.setdefault(phone, row.number)
            if first != row.number:
                row.problems.append(
                    Problem("phone", f"The phone number {phone} is also on row {first}.")
                )
        row.enrolment = None if row.problems else enrolment


async def enrol_all(
    rows: list[Row], care: CareTeam, engine: AsyncEngine, actor: str
) -> list[Patient]:
    """Every row enrolled, each audited as ``actor``, in one transaction; ``ImportRefused``
    (and nothing saved) if any row fails. Only for rows that ``check`` found all ok."""
    assert rows and all(r.ok for r in rows), "enrol_all takes checked rows only"
    enrolled: list[Patient] = []
    async with unit_of_work(engine):  # ImportRefused leaves it: all rolled back
        for row in rows:
            assert row.enrolment is not None
            try:
                enrolled.append(await care.enrol(row.enrolment, actor=actor))
            except CareError as exc:
                raise ImportRefused(row, sentence(exc)) from None
    return enrolled
