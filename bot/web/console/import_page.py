"""``/import``: patients from a CSV file (``patient_csv``), a dry run first, then all of them
or none; the page also links the clinic's adherence export.

A nurse chooses the file and presses Check (``step=check``): nothing is saved, every row is
listed with its problems (column and sentence) or "ok". When every row is ok the page offers
Import, which sends the same bytes back (base64 in a hidden field, so they come back exactly
as uploaded) with ``step=import``: they are read and checked again, never trusted from the
page, and enrolled in one transaction, each audited as the nurse. Any problem then, and
nothing is saved.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from bot.web.console.desk import ConsoleDesk
from bot.web.console.forms import Form
from bot.web.console.patient_csv import (
    COLUMNS,
    MAX_ROWS,
    REQUIRED,
    BadFile,
    ImportRefused,
    Row,
    check,
    enrol_all,
    read_rows,
)  # fmt: skip
from bot.web.console.views import Views, redirect
from messages.render import languages


@dataclass(frozen=True)
class ImportPage:
    desk: ConsoleDesk
    views: Views

    def _show(
        self, request: Request, status: int = 200, *, rows: list[Row] | None = None,
        problem: str = "", data: bytes = b"", refused: str = "",
    ) -> Response:  # fmt: skip
        rows = rows or []
        bad = [r for r in rows if not r.ok]
        imported = request.query_params.get("imported", "")
        return self.views.page(
            request, "import.html", status, title="Import patients", rows=rows, bad=len(bad),
            problem=problem, refused=refused, columns=list(COLUMNS), required=REQUIRED,
            max_rows=MAX_ROWS, languages=languages(), csv_b64=base64.b64encode(data).decode() if rows and not bad
            else "", imported=int(imported) if imported.isdigit() else 0,
        )  # fmt: skip

    async def page(self, request: Request) -> Response:
        return self._show(request)

    async def submit(self, request: Request) -> Response:
        """POST /import (behind ``Guard.upload``: the CSRF token was checked)."""
        form: Form = request.state.form
        step = form.get("step", "check")
        data = self._data(step, form, request.state.files)
        if data is None:
            problem = ("Choose a CSV file to check." if step == "check"
                       else "The checked file did not come back: upload it again.")  # fmt: skip
            return self._show(request, 400, problem=problem)
        try:
            rows = read_rows(data)
        except BadFile as exc:
            return self._show(request, 400, problem=str(exc))
        await check(rows, self.desk.courses, self.desk.clock.now())
        bad = any(not r.ok for r in rows)
        if step != "import":
            return self._show(request, rows=rows, data=data)
        if bad:
            return self._show(request, 400, rows=rows, refused="Nothing was imported: the file "
                              "has problems now (see the rows below).")  # fmt: skip
        actor = f"staff:{request.state.staff.id}"
        try:
            enrolled = await enrol_all(rows, self.desk.care, self.desk.engine, actor)
        except ImportRefused as exc:
            row = exc.row
            return self._show(request, 400, rows=rows, refused=f"Nothing was imported: row "
                              f"{row.number} failed while saving: {exc.message}")  # fmt: skip
        return redirect(f"/import?imported={len(enrolled)}")

    @staticmethod
    def _data(step: str, form: Form, files: dict[str, bytes]) -> bytes | None:
        if step != "import":
            return files.get("file") or None
        try:
            return base64.b64decode(form.get("csv_b64", ""), validate=True) or None
        except (binascii.Error, ValueError):
            return None
