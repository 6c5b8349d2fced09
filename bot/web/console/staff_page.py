"""``/staff`` (admins only): the staff accounts; add one, disable one, or give one a new
set-password link. A link (and, for an account that needs one, the authenticator QR code) is
shown once, on the page that made it, and stored only as a hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from bot.web.console import totp
from bot.web.console.accounts import (
    Role,
    StaffAccounts,
    parse_email,
    parse_role,
    parse_staff_name,
    set_password_url,
)
from bot.web.console.desk import ConsoleDesk
from bot.web.console.forms import Errors, Form
from bot.web.console.views import Views, redirect

DONE = {
    "disabled": "Account disabled: its sessions have ended.",
    "enabled": "Account enabled. It signs in with its old password, or use a new link.",
}


@dataclass(frozen=True)
class Made:
    """What an admin must hand over once: the link, and the authenticator QR if any."""

    email: str
    link: str
    totp_uri: str = ""
    totp_svg: str = ""


@dataclass(frozen=True)
class StaffPage:
    desk: ConsoleDesk
    views: Views
    accounts: StaffAccounts

    def _root(self, request: Request) -> str:
        return self.desk.settings.public_url or str(request.base_url)

    async def _show(
        self, request: Request, *, errors: Errors | None = None, form: Form | None = None,
        made: Made | None = None,
    ) -> Response:  # fmt: skip
        return self.views.page(
            request, "staff.html", 400 if errors else 200, title="Staff",
            accounts=await self.accounts.everyone(), now=self.desk.clock.now(),
            errors=errors or Errors(), form=form or Form(), made=made,
            roles=[(r.value, r.value) for r in Role],
            done=DONE.get(request.query_params.get("done", ""), ""),
        )  # fmt: skip

    async def page(self, request: Request) -> Response:
        return await self._show(request)

    async def add(self, request: Request) -> Response:
        form: Form = request.state.form
        errors = Errors()
        email = errors.check("email", lambda: parse_email(form.get("email", "")))
        name = errors.check("name", lambda: parse_staff_name(form.get("name", "")))
        role = errors.check("role", lambda: parse_role(form.get("role", "")))
        if errors or email is None or name is None or role is None:
            return await self._show(request, errors=errors, form=form)
        now = self.desk.clock.now()
        wants_code = role is Role.ADMIN or self.desk.settings.console_require_totp
        secret = totp.new_secret() if wants_code else None
        staff = await errors.check_async(
            "email", lambda: self.accounts.add(email, name, role, now, totp_secret=secret)
        )
        if staff is None:
            return await self._show(request, errors=errors, form=form)
        link = set_password_url(self._root(request), await self.accounts.issue_link(staff.id, now))
        made = Made(email, link)
        if secret is not None:
            uri = totp.uri(secret, email)
            made = Made(email, link, uri, totp.svg_qr(uri))
        return await self._show(request, made=made)

    async def _target(self, request: Request) -> int | None:
        raw = request.path_params["staff_id"]
        return int(raw) if raw.isdigit() else None

    async def disable(self, request: Request) -> Response:
        staff_id = await self._target(request)
        if staff_id is None:
            return self.views.not_found(request, "There is no such account.")
        if staff_id == request.state.staff.id:
            errors = Errors(account="You cannot disable your own account.")
            return await self._show(request, errors=errors)
        await self.accounts.disable(staff_id, self.desk.clock.now())
        return redirect("/staff?done=disabled")

    async def enable(self, request: Request) -> Response:
        staff_id = await self._target(request)
        if staff_id is None:
            return self.views.not_found(request, "There is no such account.")
        await self.accounts.enable(staff_id)
        return redirect("/staff?done=enabled")

    async def reset(self, request: Request) -> Response:
        staff_id = await self._target(request)
        found = [a for a in await self.accounts.everyone() if a.staff.id == staff_id]
        if not found or found[0].disabled_at is not None:
            return self.views.not_found(request, "There is no such enabled account.")
        token = await self.accounts.issue_link(found[0].staff.id, self.desk.clock.now())
        made = Made(found[0].staff.email, set_password_url(self._root(request), token))
        return await self._show(request, made=made)
