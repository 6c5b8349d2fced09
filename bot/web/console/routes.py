"""The console's routes, built from a ``ConsoleDesk``; ``bot.web.app`` mounts them.

Every page but ``/login``, ``/set-password/{token}`` and the stylesheet is behind
``Guard.page`` (a live session; admins only for ``/staff``, ``/audit`` and forgetting a
patient; a CSRF token on every POST, ``Guard.upload`` for ``/import``'s multipart one). The
webhooks, ``/healthz``, ``/readyz`` and ``/metrics`` are not console routes and are untouched.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bot.web.console.accounts import StaffAccounts
from bot.web.console.alert_actions import AlertActions
from bot.web.console.audit_page import AuditPage
from bot.web.console.auth import AuthPages
from bot.web.console.banners import BannerReader
from bot.web.console.desk import ConsoleDesk
from bot.web.console.enrol_page import EnrolPage
from bot.web.console.exports import Exports
from bot.web.console.guard import Guard
from bot.web.console.import_page import ImportPage
from bot.web.console.patient_list import PatientList
from bot.web.console.patient_page import PatientPage
from bot.web.console.sessions import SessionStore
from bot.web.console.signin import SignIn
from bot.web.console.staff_page import StaffPage
from bot.web.console.today import Attention, TodayPage
from bot.web.console.views import Views


def console_routes(desk: ConsoleDesk) -> list[BaseRoute]:
    views = Views()
    accounts = StaffAccounts(desk.engine)
    secure = desk.settings.public_url.startswith("https://")
    guard = Guard(SessionStore(desk.engine), desk.clock, views, secure=secure,
                  banners=BannerReader(desk))  # fmt: skip
    signin = SignIn(accounts, desk.clock, desk.settings.console_require_totp)
    auth = AuthPages(guard, views, signin, accounts, desk.clock)
    attention = Attention(desk)  # one cache for Today's list and the "below 90%" filter
    today = TodayPage(desk, views, attention)
    alerts = AlertActions(today)
    audit = AuditPage(desk, views, accounts)
    patients = PatientList(desk, views, attention)
    patient = PatientPage(desk, views)
    enrol = EnrolPage(desk, views)
    staff = StaffPage(desk, views, accounts)
    imports, exports = ImportPage(desk, views), Exports(desk, views)
    page, admin = guard.page, guard.admin
    return [
        Route("/login", auth.login_form, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", page(auth.logout), methods=["POST"]),
        Route("/set-password/{token}", auth.set_password_form, methods=["GET"]),
        Route("/set-password/{token}", auth.set_password, methods=["POST"]),
        Route("/static/{name}", views.stylesheet, methods=["GET"]),
        Route("/", page(today.page), methods=["GET"]),
        Route("/alerts/{alert_id:int}/acknowledge", page(alerts.acknowledge), methods=["POST"]),
        Route("/alerts/{alert_id:int}/assign", page(alerts.assign), methods=["POST"]),
        Route("/patients", page(patients.page), methods=["GET"]),
        Route("/patients/{patient_id}", page(patient.page), methods=["GET"]),
        Route("/patients/{patient_id}/adherence.csv", page(exports.adherence), methods=["GET"]),
        Route("/patients/{patient_id}/conversation.csv", page(exports.conversation)),
        Route("/patients/{patient_id}/forget", admin(patient.forget), methods=["POST"]),
        Route("/patients/{patient_id}/{action}", page(patient.act), methods=["POST"]),
        Route("/enrol", page(enrol.page), methods=["GET"]),
        Route("/enrol", page(enrol.submit), methods=["POST"]),
        Route("/import", page(imports.page), methods=["GET"]),
        Route("/import", guard.upload(imports.submit), methods=["POST"]),
        Route("/adherence.csv", page(exports.clinic), methods=["GET"]),
        Route("/audit", admin(audit.page), methods=["GET"]),
        Route("/audit.csv", admin(audit.csv), methods=["GET"]),
        Route("/staff", admin(staff.page), methods=["GET"]),
        Route("/staff/add", admin(staff.add), methods=["POST"]),
        Route("/staff/{staff_id}/disable", admin(staff.disable), methods=["POST"]),
        Route("/staff/{staff_id}/enable", admin(staff.enable), methods=["POST"]),
        Route("/staff/{staff_id}/reset", admin(staff.reset), methods=["POST"]),
    ]
