"""``/patients/{id}``: one patient's course, conversation and upcoming messages, and the
nurse's actions on the course.

Each action reads the form with the CLI's parsers (``bot/conversation/validate.py``) and calls
the same ``CareTeam`` method as ``bot/cli/nurse.py``, so the checks, the re-plan and the
correction the patient is sent are the same. A refused action changes nothing and shows the
page again with the sentence beside the field; a done one redirects back (303) with a notice.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.conversation import validate as v
from bot.conversation.preview import preview_items
from bot.web.console.cycle_calendar import legend, picture
from bot.web.console.desk import ConsoleDesk
from bot.web.console.forms import Errors, Form
from bot.web.console.patient_list import local_time, today_in_course
from bot.web.console.views import Views, redirect
from messages.render import profile_of
from scheduler.domain.localtime import zone
from scheduler.domain.model import ChannelKind
from scheduler.domain.plan import plan
from scheduler.services.care import course_state
from scheduler.store import tables as t
from scheduler.store.db import reading
from scheduler.store.repository import UnknownPatientError

THREAD = 100  # the latest messages either way
UPCOMING_DAYS = 14
_LEFT = ("sent", "sending", "failed", "expired")  # outbox rows the patient was (to be) sent

DONE = {
    "enrolled": (
        "Enrolled: reminders are planned from today. A Telegram patient needs their one-time "
        "link before anything is sent."
    ),
    "pause": "Paused: no dose reminders until resumed. The patient is told.",
    "resume": "Resumed. The patient is told when capsules restart.",
    "delay": "Next cycle delayed; later cycles follow. The patient is told.",
    "dose-time": "Dose time changed. The patient is told.",
    "end": "End date set; after-treatment messages follow. The patient is told.",
    "appointment": "Blood test added. The patient is reminded that day.",
    "follow-ups": "Follow-ups changed.",
    "message": (
        "Message queued: it is sent at once (at 08:00 when written between 21:00 and 08:00, "
        "the patient's time) and shows in the conversation with its delivery status."
    ),
}
# The sending form's one-off token (``CareTeam.message``): as ``secrets.token_urlsafe(16)``.
MESSAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def _token(typed: str) -> str:
    """The sending form's token: the one it was shown with when shown again after an error
    (so that posting it again still sends one message), else a new one."""
    return typed if MESSAGE_TOKEN.fullmatch(typed) else secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Entry:
    """One message of the conversation, either way."""

    at: str
    inbound: bool
    text: str
    status: str


@dataclass(frozen=True)
class PatientPage:
    desk: ConsoleDesk
    views: Views

    def _today(self, tz: str) -> date:
        return self.desk.clock.now().astimezone(zone(tz)).date()

    async def page(self, request: Request) -> Response:
        return await self._show(request)

    async def _show(
        self, request: Request, *, errors: Errors | None = None, form: Form | None = None,
        link: str = "",
    ) -> Response:  # fmt: skip
        pid = request.path_params["patient_id"]
        try:
            patient, course = await self.desk.courses.load_one(pid)
        except UnknownPatientError:
            return self.views.not_found(request, "There is no patient with that id.")
        today = self._today(patient.tz)
        first, last = today, today + timedelta(days=UPCOMING_DAYS - 1)
        rows = await self.desk.outbox.rows(pid)
        taken = await self.desk.courses.dose_records(pid, course.start - timedelta(days=1))
        upcoming = [
            i for i in preview_items(
                course, profile_of(patient), plan(course, self.desk.plan, first, last), rows,
                await self.desk.courses.dose_records(pid, first), first, last,
            )
            if i["status"] not in _LEFT
        ]  # fmt: skip
        return self.views.page(
            request, "patient.html", 400 if errors else 200, title=f"Patient {pid}",
            patient=patient, course=course, state=course_state(patient, course, today),
            today_text=today_in_course(patient, course, today), thread=await self._thread(pid),
            upcoming=upcoming, errors=errors or Errors(), form=form or Form(), link=link,
            can_link=self.desk.link_for is not None and patient.channel is ChannelKind.TELEGRAM,
            done=DONE.get(request.query_params.get("done", ""), ""), today=today,
            calendar=picture(course, taken, today), legend=legend(),
            message_token=_token((form or Form()).get("message_token", "")),
            sms=patient.channel is ChannelKind.SMS, budget=v.MESSAGE_SEGMENTS,
            telegram_budget=v.MESSAGE_TELEGRAM_CHARACTERS,
            can_message=patient.opted_out_at is None,
        )  # fmt: skip

    async def _thread(self, pid: str) -> list[Entry]:
        """What the patient wrote and what they were sent, newest first, each at its time on
        the patient's clock, with the delivery status of what was sent."""
        tz = (await self.desk.courses.get(pid)).tz
        i = t.inbound.c
        async with reading(self.desk.engine) as conn:
            wrote = await conn.execute(
                select(i.text, i.received_at).where(i.patient_id == pid)
                .order_by(i.id.desc()).limit(THREAD)
            )  # fmt: skip
            entries = [(r.received_at, Entry(local_time(r.received_at, tz), True, r.text, ""))
                       for r in wrote]  # fmt: skip
        for r in await self.desk.outbox.rows(pid, _LEFT):
            at = r.sent_at or r.due_at
            status = r.delivery_status or r.status
            entries.append((at, Entry(local_time(at, tz), False, r.text, status)))
        entries.sort(key=lambda e: e[0], reverse=True)
        return [e for _, e in entries[:THREAD]]

    async def act(self, request: Request) -> Response:
        """POST /patients/{id}/{action}: behind the guard, so the CSRF token was checked."""
        pid = request.path_params["patient_id"]
        action = request.path_params["action"]
        form: Form = request.state.form
        do = self._actions().get(action)
        if do is None:
            return self.views.not_found(request, "There is no such action.")
        try:
            patient = await self.desk.courses.get(pid)
        except UnknownPatientError:
            return self.views.not_found(request, "There is no patient with that id.")
        errors = Errors()
        link = ""
        actor = f"staff:{request.state.staff.id}"  # every change's audit row names them
        result = await do(pid, self._today(patient.tz), form, errors, actor)
        if errors:
            return await self._show(request, errors=errors, form=form)
        if action == "link":
            link = str(result)
            return await self._show(request, link=link)
        return redirect(f"/patients/{pid}?done={action}")

    async def forget(self, request: Request) -> Response:
        """POST /patients/{id}/forget, admins only (``Guard.admin``): erase the patient's
        personal data with ``CareTeam.forget``, as ``lenabot patients forget`` does (audited
        as ``staff:<id>``), once the patient id is typed again to confirm; then the patients
        list. A wrong or missing confirmation erases nothing."""
        pid = request.path_params["patient_id"]
        form: Form = request.state.form
        try:
            await self.desk.courses.get(pid)
        except UnknownPatientError:
            return self.views.not_found(request, "There is no patient with that id.")
        if form.get("confirm_id", "").strip() != pid:
            errors = Errors(
                confirm_id=f"Type the patient id, {pid}, to confirm: nothing was erased."
            )
            return await self._show(request, errors=errors, form=form)
        await self.desk.care.forget(pid, actor=f"staff:{request.state.staff.id}")
        return redirect(f"/patients?q={pid}&done=forgotten")

    def _actions(self) -> dict[str, Callable[[str, date, Form, Errors, str], Awaitable[Any]]]:
        return {
            "pause": self._pause, "resume": self._resume, "delay": self._delay,
            "dose-time": self._dose_time, "end": self._end, "appointment": self._appointment,
            "follow-ups": self._follow_ups, "link": self._link, "message": self._message,
        }  # fmt: skip

    async def _message(self, pid: str, today: date, form: Form, errors: Errors, actor: str) -> None:
        """The team's own words to the patient (``CareTeam.message``, as ``lenabot message``)."""
        token = form.get("message_token", "")
        if not MESSAGE_TOKEN.fullmatch(token):
            errors["message"] = "This form is incomplete: reload the page and try again."
            return
        sms = (await self.desk.courses.get(pid)).channel is ChannelKind.SMS
        text = errors.check("message", lambda: v.parse_message(form.get("message", ""), sms))
        if text is not None:
            care = self.desk.care
            await errors.check_async("message", lambda: care.message(pid, text, token, actor=actor))

    async def _pause(self, pid: str, today: date, form: Form, errors: Errors, actor: str) -> None:
        text = form.get("pause_from", "").strip()
        start = errors.check(
            "pause_from",
            lambda: v.check_near(v.parse_date(text, "pause date"), today, "pause date")
            if text else today,
        )  # fmt: skip
        if start is not None:
            care = self.desk.care
            await errors.check_async(
                "pause_from",
                lambda: care.pause(pid, start, form.get("pause_reason", ""), actor=actor),
            )

    async def _resume(self, pid: str, today: date, form: Form, errors: Errors, actor: str) -> None:
        text = form.get("resume_on", "").strip()
        on = errors.check(
            "resume_on",
            lambda: v.check_near(v.parse_date(text, "restart date"), today, "restart date")
            if text else today,
        )  # fmt: skip
        if on is not None:
            await errors.check_async(
                "resume_on", lambda: self.desk.care.resume(pid, on, actor=actor)
            )

    async def _delay(self, pid: str, today: date, form: Form, errors: Errors, actor: str) -> None:
        days = errors.check("delay_days", lambda: v.parse_days(form.get("delay_days", ""), "days"))
        if days is not None:
            await errors.check_async(
                "delay_days", lambda: self.desk.care.delay_cycle(pid, days, actor=actor)
            )

    async def _dose_time(
        self, pid: str, today: date, form: Form, errors: Errors, actor: str
    ) -> None:
        at = errors.check("dose_time", lambda: v.parse_hhmm(form.get("dose_time", "")))
        if at is not None:
            await errors.check_async(
                "dose_time", lambda: self.desk.care.set_dose_time(pid, at, actor=actor)
            )

    async def _end(self, pid: str, today: date, form: Form, errors: Errors, actor: str) -> None:
        text = form.get("end_on", "")
        on = errors.check(
            "end_on", lambda: v.check_near(v.parse_date(text, "end date"), today, "end date")
        )
        if on is not None:
            await errors.check_async("end_on", lambda: self.desk.care.end(pid, on, actor=actor))

    async def _appointment(
        self, pid: str, today: date, form: Form, errors: Errors, actor: str
    ) -> None:
        text = form.get("appointment_on", "")
        on = errors.check(
            "appointment_on",
            lambda: v.check_near(v.parse_date(text, "blood test date"), today, "blood test date"),
        )
        note = errors.check(
            "appointment_note", lambda: v.parse_note(form.get("appointment_note", ""))
        )
        if on is not None and note is not None:
            await errors.check_async(
                "appointment_on", lambda: self.desk.care.appointment(pid, on, note, actor=actor)
            )

    async def _follow_ups(
        self, pid: str, today: date, form: Form, errors: Errors, actor: str
    ) -> None:
        state = form.get("follow_ups", "")
        if state not in ("on", "off"):
            errors["follow_ups"] = "Choose on or off."
            return
        await self.desk.care.follow_ups(pid, state == "on", actor=actor)

    async def _link(
        self, pid: str, today: date, form: Form, errors: Errors, actor: str
    ) -> str | None:
        if self.desk.link_for is None:
            errors["link"] = "Telegram is not set up (TELEGRAM_BOT_TOKEN)."
            return None
        link_for = self.desk.link_for
        return await errors.check_async("link", lambda: link_for(pid))
