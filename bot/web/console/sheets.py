"""CSV files the console hands out (the audit trail, adherence, a conversation): UTF-8, one
header row, and no cell that a spreadsheet would run as a formula.

A cell that starts with ``= + - @``, a tab or a carriage return gets a ``'`` in front: Excel
and LibreOffice then show it as text instead of running it (a patient's reply
``=HYPERLINK(...)`` stays words). Numbers the console writes itself (percentages, counts)
never start with one of these, so they are left as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from starlette.responses import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    sheet = csv.writer(out)
    sheet.writerow(header)
    for row in rows:
        sheet.writerow([cell(x) for x in row])
    return out.getvalue()


def download(text: str, filename: str) -> Response:
    """``text`` as a CSV file the browser saves as ``filename`` (letters, digits, ``-_.``)."""
    return Response(
        text, media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )  # fmt: skip
