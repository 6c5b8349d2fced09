"""Signing in and out, and setting a password through a one-time link.

- ``GET/POST /login``: email, password and (when the account has one) the authenticator
  code; one refusal message for every failure (``signin.REFUSED``). A good sign-in always
  starts a new session (a new id and cookie) and ends the one the browser had. The form
  carries a CSRF token bound to a cookie set with it (``guard.LoginToken``): a sign-in POST
  without both, or with two that differ, gets 403 and signs nobody in (no "login CSRF",
  where another site signs the nurse into an account of its choosing).
- ``POST /logout``: the session row is deleted and the cookie cleared.
- ``GET/POST /set-password/{token}``: a new password, checked against the policy, through a
  link from ``lenabot staff add`` or ``staff reset`` (24 hours, once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.conversation.validate import InvalidInput
from bot.web.console import passwords
from bot.web.console.accounts import StaffAccounts
from bot.web.console.forms import BadForm, Errors, read_form, sentence
from bot.web.console.guard import COOKIE, Guard, local_path
from bot.web.console.signin import REFUSED, SignIn
from bot.web.console.views import Views, redirect, secured
from scheduler.ports import Clock

NOTICES = {
    "password": "Your password is set. Sign in with it.",
    "signed-out": "You are signed out.",
}
STALE_FORM = (
    "This sign-in form has expired or did not come from this site: nobody was signed in. "
    "Open the sign-in page again and sign in there."
)
DEAD_LINK = (
    "This link has expired or was already used. Ask an admin for a new one "
    "('lenabot staff reset --email ...')."
)


@dataclass(frozen=True)
class AuthPages:
    guard: Guard
    views: Views
    signin: SignIn
    accounts: StaffAccounts
    clock: Clock

    async def login_form(self, request: Request) -> Response:
        if await self.guard.session(request) is not None:
            return redirect(local_path(request.query_params.get("next", "/")))
        notice = NOTICES.get(request.query_params.get("done", ""), "")
        return self._login(request, notice=notice)

    def _with_token(self, request: Request, make: Callable[[], Response]) -> Response:
        """``make()``'s page with the sign-in form's CSRF token: the browser's own while its
        cookie lasts, else a new one in a new cookie."""
        token = self.guard.login_token.of(request) or self.guard.login_token.new()
        request.state.csrf = token
        response = make()
        self.guard.login_token.set(response, token)
        return response

    def _login(
        self, request: Request, *, email: str = "", error: str = "", notice: str = "",
        status: int = 200, next_: str | None = None,
    ) -> Response:  # fmt: skip
        return self._with_token(request, lambda: self.views.page(
            request, "login.html", status, title="Sign in", email=email, error=error,
            notice=notice, next=local_path(next_ or request.query_params.get("next", "/")),
        ))  # fmt: skip

    async def login(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except BadForm as exc:
            return secured(PlainTextResponse("not a form", status_code=exc.status))
        if not self.guard.login_token.matches(request, form.get("csrf", "")):
            return self._with_token(request, lambda: self.views.page(
                request, "message.html", 403, title="Not allowed", message=STALE_FORM,
                link=("/login", "Sign in again"),
            ))  # fmt: skip
        email = form.get("email", "")[:300]
        staff = await self.signin.attempt(email, form.get("password", ""), form.get("code", ""))
        target = local_path(form.get("next", "/"))
        if staff is None:
            return self._login(request, email=email.strip(), error=REFUSED, next_=target)
        old = request.cookies.get(COOKIE)
        if old:
            await self.guard.sessions.end(old)  # a planted or stale id never lives on
        token, _ = await self.guard.sessions.start(staff.id, self.clock.now())
        response = redirect(target)
        self.guard.set_cookie(response, token)
        self.guard.login_token.clear(response)  # the session has its own CSRF token
        return response

    async def logout(self, request: Request) -> Response:
        """Behind ``Guard.page``: a live session and the right CSRF token."""
        await self.guard.sessions.end(request.cookies.get(COOKIE, ""))
        response = redirect("/login?done=signed-out")
        self.guard.clear_cookie(response)
        return response

    async def set_password_form(self, request: Request) -> Response:
        token = request.path_params["token"]
        holder = await self.accounts.link_holder(token, self.clock.now())
        if holder is None:
            return self.views.page(request, "message.html", 404, title="Link not valid",
                                   message=DEAD_LINK)  # fmt: skip
        return self._set_password(request, holder.staff.email, Errors())

    def _set_password(self, request: Request, email: str, errors: Errors) -> Response:
        return self.views.page(
            request, "set_password.html", 400 if errors else 200, title="Set your password",
            email=email, errors=errors, min_length=passwords.MIN_LENGTH,
        )  # fmt: skip

    async def set_password(self, request: Request) -> Response:
        token = request.path_params["token"]
        holder = await self.accounts.link_holder(token, self.clock.now())
        if holder is None:
            return self.views.page(request, "message.html", 404, title="Link not valid",
                                   message=DEAD_LINK)  # fmt: skip
        try:
            form = await read_form(request)
        except BadForm as exc:
            return secured(PlainTextResponse("not a form", status_code=exc.status))
        errors = Errors()
        password = form.get("password", "")
        try:
            passwords.check_policy(password, holder.staff.email)
        except InvalidInput as exc:
            errors["password"] = sentence(exc)
        if not errors and form.get("confirm", "") != password:
            errors["confirm"] = "The two passwords are not the same."
        if errors:
            return self._set_password(request, holder.staff.email, errors)
        hashed = await asyncio.to_thread(passwords.hash_password, password)
        if await self.accounts.use_link(token, hashed, self.clock.now()) is None:
            return self.views.page(request, "message.html", 404, title="Link not valid",
                                   message=DEAD_LINK)  # fmt: skip
        return redirect("/login?done=password")
