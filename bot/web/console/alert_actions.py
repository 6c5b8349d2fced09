"""``POST /alerts/{id}/acknowledge`` and ``POST /alerts/{id}/assign`` from Today's inbox.

Behind the guard (a session and its CSRF token). Each calls ``NurseAlerts`` as ``lenabot ack``
and ``lenabot assign`` do, with the member of staff as the actor (``staff:<id>``), so the
audit row names them. A refusal (already acknowledged, a note too long) shows Today again
with the sentence; a done one redirects back to Today (303) with a notice.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from bot.web.console.forms import Form
from bot.web.console.today import TodayPage
from bot.web.console.views import redirect
from scheduler.store.alerts import AlertError


@dataclass(frozen=True)
class AlertActions:
    today: TodayPage

    async def acknowledge(self, request: Request) -> Response:
        alert_id: int = request.path_params["alert_id"]
        form: Form = request.state.form
        note = form.get("note", "")
        try:
            await self.today.desk.alerts.acknowledge(alert_id, by=_actor(request), note=note)
        except AlertError as exc:
            return await self._refused(request, alert_id, str(exc), note)
        return redirect("/?done=acknowledged")

    async def assign(self, request: Request) -> Response:
        alert_id: int = request.path_params["alert_id"]
        try:
            await self.today.desk.alerts.assign(alert_id, to=_actor(request))
        except AlertError as exc:
            return await self._refused(request, alert_id, str(exc))
        return redirect("/?done=assigned")

    async def _refused(self, request: Request, alert_id: int, why: str, note: str = "") -> Response:
        why = why[:1].upper() + why[1:] + "."
        open_ids = {a.id for a in await self.today.desk.alerts.open_alerts()}
        if alert_id in open_ids:
            return await self.today.show(request, errors={alert_id: why}, notes={alert_id: note})
        return await self.today.show(request, problem=why)


def _actor(request: Request) -> str:
    return f"staff:{request.state.staff.id}"
