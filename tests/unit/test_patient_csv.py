"""Reading a patients CSV (``bot.web.console.patient_csv.read_rows``): what spreadsheets
write (a byte-order mark, semicolons, quoted cells, blank and short rows) is read as the
nurse meant it; what cannot be read is refused with one sentence. Pure: no database."""

from __future__ import annotations

import pytest

from bot.web.console.patient_csv import BadFile, Problem, read_rows
from bot.web.console.sheets import cell, csv_text


def test_excel_csv_utf8_with_semicolons_quotes_and_a_blank_line() -> None:
    data = (
        "\ufeffName; Phone ;Start date;Dose-Time;TimeZone\r\n"
        '"O\'Neill; Grace";+447700900123;2026-12-01;09:00;Europe/London\r\n'
        "\r\n"
        '"Li ""Lily"" Wei";+447700900456;2026-12-02;21:00;Asia/Shanghai\r\n'
    ).encode()
    rows = read_rows(data)
    assert [(r.number, r.cells["name"], r.cells["start_date"], r.cells["timezone"])
            for r in rows] == [
        (2, "O'Neill; Grace", "2026-12-01", "Europe/London"),
        (4, 'Li "Lily" Wei', "2026-12-02", "Asia/Shanghai"),  # row 3 was blank
    ]  # fmt: skip
    assert all(r.problems == [] for r in rows)


def test_a_short_row_has_empty_cells_and_a_long_one_is_a_problem() -> None:
    data = b"name,phone,start_date,dose_time,timezone\nAnn,+447700900123,2026-12-01\n"
    data += b"Bob,+447700900456,2026-12-01,09:00,Europe/London,extra\n"
    short, long = read_rows(data)
    assert (short.cells["dose_time"], short.cells["timezone"]) == ("", "")  # never a default
    assert long.problems == [Problem("", "It has 6 cells but the first row names 5 columns.")]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (b'name,phone,start_date,dose_time,timezone\n"Ann,+44', "cannot be read as CSV"),
        (
            b"name,Name,phone,start_date,dose_time,timezone\nA,B,,,,\n",
            "The column 'name' is there twice",
        ),
        (b"nom,phone,start_date,dose_time,timezone\nA,,,,\n", "Unknown column 'nom'"),
        (b"name,phone,start_date\nA,,\n", "Missing columns: dose_time, timezone"),
        (b"name,phone,start_date,dose_time,timezone\n\xff\n", "byte 42 is not"),
    ],
    ids=["empty", "blank-lines", "open-quote", "twice", "unknown", "missing", "not-utf8"],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_sentence(data: bytes, why: str) -> None:
    with pytest.raises(BadFile, match=why):
        read_rows(data)


def test_cells_that_a_spreadsheet_would_run_get_a_quote() -> None:
    assert [cell(x) for x in ("=1+1", "+44", "-2", "@SUM(A1)", "\tx", "ok", "", "'=x")] == [
        "'=1+1", "'+44", "'-2", "'@SUM(A1)", "'\tx", "ok", "", "'=x"
    ]  # fmt: skip
    assert csv_text(["a", "b"], [["=cmd", "12.5"]]) == "a,b\r\n'=cmd,12.5\r\n"
