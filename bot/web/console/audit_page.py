"""``GET /audit`` (admins): the audit trail, newest first, filtered by who (one member of staff
or a family of actors), patient, action and a range of UTC days, 50 a page; ``GET
/audit.csv`` the same choice as a spreadsheet (every matching row, up to ``CSV_MAX``).

Read from ``SqlAlchemyAudit.entries``, as ``lenabot audit`` reads it. The CSV never starts a
cell with ``= + - @`` (a spreadsheet would run it as a formula): ``sheets`` gives such a cell
a ``'``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.conversation import validate as v
from bot.web.console.accounts import StaffAccounts
from bot.web.console.desk import ConsoleDesk
from bot.web.console.forms import Errors
from bot.web.console.sheets import csv_text, download
from bot.web.console.views import Views
from scheduler.domain.audit import describe
from scheduler.ports import AuditEntry
from scheduler.store.audit import MAX_LIMIT, SqlAlchemyAudit

PER_PAGE = 50
CSV_MAX = 50_000
ACTIONS = (
    "enrol", "pause", "resume", "delay_cycle", "set_dose_time", "end", "appointment",
    "follow_ups", "opt_out", "opt_in", "forget", "link", "nurse_add", "nurse_remove",
    "acknowledge", "assign", "escalate", "export",
)  # fmt: skip
FAMILIES = (("staff", "Any member of staff"), ("cli", "The lenabot command"),
            ("telegram", "A nurse on Telegram"), ("system", "The system"))  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """What the filters ask for, as typed, and as ``entries`` takes it."""

    values: dict[str, str]
    query: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    desk: ConsoleDesk
    views: Views
    accounts: StaffAccounts

    @property
    def audit(self) -> SqlAlchemyAudit:
        return SqlAlchemyAudit(self.desk.engine)

    async def _actors(self) -> list[tuple[str, str]]:
        staff = [(f"staff:{a.staff.id}", f"{a.staff.name} (staff:{a.staff.id})")
                 for a in await self.accounts.everyone()]  # fmt: skip
        return [*staff, *FAMILIES]

    def _choice(self, request: Request, actors: list[tuple[str, str]], errors: Errors) -> Choice:
        q = request.query_params
        values = {k: q.get(k, "").strip() for k in ("actor", "patient", "action", "since", "until")}
        query: dict[str, Any] = {}
        if values["actor"]:
            if values["actor"] in dict(actors):
                query["actor"] = values["actor"]
            else:
                errors["actor"] = "Choose someone from the list."
        if values["patient"]:
            query["patient_id"] = values["patient"].lower()
        if values["action"]:
            if values["action"] in ACTIONS:
                query["action"] = values["action"]
            else:
                errors["action"] = "Choose an action from the list."
        for name, what, extra in (("since", "from date", 0), ("until", "to date", 1)):
            if values[name]:
                day = errors.check(name, _date_of(values[name], what))
                if day is not None:  # "to" takes in the whole day
                    query[name] = datetime.combine(day + timedelta(days=extra), time(0), UTC)
        return Choice(values, query)

    async def page(self, request: Request) -> Response:
        errors = Errors()
        actors = await self._actors()
        choice = self._choice(request, actors, errors)
        try:
            number = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            number = 1
        found: list[AuditEntry] = []
        if not errors:
            found = await self.audit.entries(
                **choice.query, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE
            )
        kept = {k: val for k, val in choice.values.items() if val}
        return self.views.page(
            request, "audit.html", 400 if errors else 200, title="Audit trail",
            entries=[(e, describe(e.before, e.after)) for e in found[:PER_PAGE]],
            values=choice.values, errors=errors, actors=actors, actions=[(a, a) for a in ACTIONS],
            number=number, more=len(found) > PER_PAGE, kept=kept,
        )  # fmt: skip

    async def csv(self, request: Request) -> Response:
        errors = Errors()
        choice = self._choice(request, await self._actors(), errors)
        if errors:
            return self.views.page(request, "message.html", 400, title="Not a valid choice",
                                   message=" ".join(errors.values()))  # fmt: skip
        rows: list[tuple[str, ...]] = []
        offset = 0
        while offset < CSV_MAX:
            batch = await self.audit.entries(**choice.query, limit=MAX_LIMIT, offset=offset)
            rows += [(str(e.id), e.at.strftime("%Y-%m-%dT%H:%M:%SZ"), e.actor, e.action,
                      e.patient_id or "", describe(e.before, e.after)) for e in batch]  # fmt: skip
            if len(batch) < MAX_LIMIT:
                break
            offset += MAX_LIMIT
        stamp = self.desk.clock.now().strftime("%Y%m%d-%H%M")
        header = ["id", "at_utc", "actor", "action", "patient_id", "change"]
        return download(csv_text(header, rows), f"lenabot-audit-{stamp}.csv")


def _date_of(text: str, what: str) -> Callable[[], date]:
    return lambda: v.parse_date(text, what)
