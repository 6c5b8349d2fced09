"""``/enrol``: the fields of ``lenabot enrol`` as a form, a confirmation step that shows the
first two weeks of messages, then the enrolment through ``CareTeam.enrol``.

Every field goes through the CLI's parsers (``bot/conversation/validate.py``); each error is
shown beside its field and nothing is saved until every field is valid and the nurse has
seen the preview and pressed Enrol. The values travel in the form itself (hidden on the
confirmation step) and are checked again when saved, never trusted from the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from bot.conversation import validate as v
from bot.conversation.preview import preview_items
from bot.web.console.desk import ConsoleDesk
from bot.web.console.forms import Errors, Form
from bot.web.console.views import Views, redirect
from messages.render import UnknownLanguageError, check_language, languages, profile_of
from scheduler.domain.localtime import zone
from scheduler.domain.model import ChannelKind, Course, Patient, RuleSet
from scheduler.domain.plan import plan
from scheduler.services.care import Enrolment

PREVIEW_DAYS = 14
FLAGS = ("telegram", "can_become_pregnant", "partner_can_become_pregnant", "irregular_periods",
         "discreet")  # fmt: skip
TEXTS = ("name", "phone", "start", "dose_time", "tz", "regimen", "rules", "language")
DEFAULTS = {"tz": "Europe/London", "regimen": "21/28", "rules": "uk", "language": "en-GB"}


def _values(form: Form) -> dict[str, str]:
    """The form's own fields only, as typed (checkboxes as "yes" or "")."""
    values = {k: form.get(k, "").strip() for k in TEXTS}
    values.update({k: "yes" if form.get(k) == "yes" else "" for k in FLAGS})
    return values


class PhoneBook(Protocol):
    """Who is enrolled already: the course store, or the numbers of a whole file looked up
    at once (``patient_csv``)."""

    async def phone_taken(self, phone: str) -> bool: ...


async def parse_enrolment(
    values: dict[str, str], courses: PhoneBook, now: datetime
) -> tuple[Enrolment | None, Errors]:
    """The enrolment, or the errors field by field (both checks of ``lenabot enrol`` and of
    ``CareTeam.enrol``, so that saving cannot fail on a field afterwards). ``values`` holds
    every field of ``TEXTS`` and ``FLAGS`` as typed (flags "yes" or ""): the Enrol form's, or
    one row of an imported CSV (``patient_csv``)."""
    e = Errors()
    name = e.check("name", lambda: v.parse_name(values["name"]))
    telegram = values["telegram"] == "yes"
    phone = None
    if telegram and values["phone"]:
        e["phone"] = "Give a phone number for SMS, or tick Telegram: not both."
    elif not telegram and not values["phone"]:
        e["phone"] = "Give the patient's mobile number for SMS, or tick Telegram."
    elif not telegram:
        phone = e.check("phone", lambda: v.parse_phone(values["phone"]))
        if phone is not None and await courses.phone_taken(phone):
            e["phone"] = f"The phone number {phone} is already enrolled."
    tz = e.check("tz", lambda: v.parse_tz(values["tz"]))
    start = e.check("start", lambda: v.parse_date(values["start"], "start date"))
    if start is not None and tz is not None:
        today = now.astimezone(zone(tz)).date()
        e.check("start", lambda: v.check_start(start, today))
    dose_time = e.check("dose_time", lambda: v.parse_hhmm(values["dose_time"]))
    regimen = e.check("regimen", lambda: v.parse_regimen(values["regimen"]))
    rules = None
    if values["rules"] in {r.value for r in RuleSet}:
        rules = RuleSet(values["rules"])
    else:
        e["rules"] = "Choose uk or us-rems."
    try:
        language = check_language(values["language"])
    except UnknownLanguageError as exc:
        e["language"] = str(exc).capitalize() + "."
    pregnant = values["can_become_pregnant"] == "yes"
    if values["irregular_periods"] and not (rules is RuleSet.US_REMS and pregnant):
        e["irregular_periods"] = (
            "Irregular periods apply only with the us-rems rules and Can become pregnant."
        )
    if e:
        return None, e
    assert name and tz and start and dose_time and regimen and rules
    return Enrolment(
        name=name, tz=tz, start=start, dose_time=dose_time, regimen=regimen,
        channel=ChannelKind.TELEGRAM if telegram else ChannelKind.SMS, phone=phone,
        rules=rules, can_become_pregnant=pregnant,
        partner_can_become_pregnant=values["partner_can_become_pregnant"] == "yes",
        discreet=values["discreet"] == "yes", language=language,
        irregular_periods=values["irregular_periods"] == "yes",
    ), e  # fmt: skip


@dataclass(frozen=True)
class EnrolPage:
    desk: ConsoleDesk
    views: Views

    def _form(self, request: Request, values: dict[str, str], errors: Errors) -> Response:
        return self.views.page(
            request, "enrol.html", 400 if errors else 200, title="Enrol", values=values,
            errors=errors, rules=[(r.value, r.value) for r in RuleSet],
            languages=[(x, x) for x in languages()],
        )  # fmt: skip

    async def page(self, request: Request) -> Response:
        return self._form(request, {**dict.fromkeys(TEXTS + FLAGS, ""), **DEFAULTS}, Errors())

    async def parse(self, values: dict[str, str]) -> tuple[Enrolment | None, Errors]:
        return await parse_enrolment(values, self.desk.courses, self.desk.clock.now())

    def _preview(self, e: Enrolment) -> list[dict[str, object]]:
        """The first two weeks of messages, as ``lenabot preview`` would show them."""
        now = self.desk.clock.now()
        patient = Patient(
            id="new", name=e.name, channel=e.channel, tz=e.tz, language=e.language,
            rules=e.rules, created_at=now, discreet=e.discreet,
        )  # fmt: skip
        course = Course(
            start=e.start, dose_time=e.dose_time, tz=e.tz, regimen=e.regimen, enrolled_at=now,
            rules=e.rules, can_become_pregnant=e.can_become_pregnant,
            partner_can_become_pregnant=e.partner_can_become_pregnant,
            irregular_periods=e.irregular_periods,
        )  # fmt: skip
        first = max(e.start, now.astimezone(zone(e.tz)).date())
        last = first + timedelta(days=PREVIEW_DAYS - 1)
        planned = [r for r in plan(course, self.desk.plan, first, last) if r.due_at >= now]
        return preview_items(course, profile_of(patient), planned, [], {}, first, last)

    async def submit(self, request: Request) -> Response:
        """POST /enrol (behind the guard): ``step`` is check, edit or save."""
        form: Form = request.state.form
        values = _values(form)
        step = form.get("step", "check")
        if step == "edit":
            return self._form(request, values, Errors())
        enrolment, errors = await self.parse(values)
        if enrolment is None:
            return self._form(request, values, errors)
        if step != "save":
            return self.views.page(
                request, "enrol_confirm.html", title="Check and enrol", values=values,
                e=enrolment, items=self._preview(enrolment), days=PREVIEW_DAYS,
            )  # fmt: skip
        actor = f"staff:{request.state.staff.id}"
        patient = await errors.check_async(
            "phone", lambda: self.desk.care.enrol(enrolment, actor=actor)
        )
        if patient is None:
            return self._form(request, values, errors)
        return redirect(f"/patients/{patient.id}?done=enrolled")
