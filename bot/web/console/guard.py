"""Who may see a console page: the session cookie, the role, and the CSRF token of a POST.

``Guard.page`` wraps an endpoint. Without a live session the answer is 303 to ``/login``
(nothing of the page is computed, so nothing about a patient leaks); a nurse asking for an
admin page gets 403; a POST whose ``csrf`` field is missing or not the session's own gets
403 before the endpoint runs, so it changes nothing; ``Guard.upload`` wraps the one page that
takes a file (multipart, whose ``csrf`` field is checked the same way; the files are in
``request.state.files``). Every page gets the banners
(``request.state.banners``: urgent alerts not acknowledged, no nurse reachable). The
endpoint finds the staff member in ``request.state.staff`` and the form already read in
``request.state.form``.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.web.console.forms import BadForm, read_form, read_upload
from bot.web.console.sessions import ABSOLUTE, Session, SessionStore
from bot.web.console.views import Views, redirect, secured
from scheduler.ports import Clock

COOKIE = "lenabot_console"
LOGIN_COOKIE = "lenabot_login"
LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
LOGIN_TOKEN_FOR = timedelta(hours=12)
Endpoint = Callable[[Request], Awaitable[Response]]
BannerSource = Callable[[], Awaitable[object]]
UPLOAD_REFUSED = {
    413: "The file is too large: at most 1 MB. Nothing was imported. Split it into smaller "
    "files and upload each.",
    400: "The upload could not be read: nothing was imported. Choose the file again.",
}


def local_path(target: str) -> str:
    """``target`` if it is a path on this site, else ``/`` (never a redirect elsewhere)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target:
        return target
    return "/"


class LoginToken:
    """The sign-in form's CSRF token, before there is a session to hold one: a double-submit
    token. ``GET /login`` puts a random token in a cookie and the same in the form; a sign-in
    POST is let through only with both, equal (compared in constant time).

    Another site can make a browser POST to ``/login`` but can neither read this site's
    cookie nor set it, so it cannot send the matching field. The cookie is ``HttpOnly`` and
    ``SameSite=Strict``, and on https it is a ``__Host-`` cookie, which a sibling subdomain
    cannot plant. It is not signed: the service has no secret shared by its processes, and a
    signature would not help anyway (whoever could plant a cookie could plant a pair fetched
    from this very page). It lasts ``LOGIN_TOKEN_FOR``; a good sign-in removes it."""

    def __init__(self, secure: bool) -> None:
        self.secure = secure
        self.name = f"__Host-{LOGIN_COOKIE}" if secure else LOGIN_COOKIE

    @staticmethod
    def new() -> str:
        return secrets.token_urlsafe(32)

    def of(self, request: Request) -> str | None:
        """The browser's token, if it has a well-formed one."""
        token = request.cookies.get(self.name, "")
        return token if LOGIN_TOKEN.fullmatch(token) else None

    def matches(self, request: Request, sent: str) -> bool:
        token = self.of(request)
        return token is not None and hmac.compare_digest(sent.encode(), token.encode())

    def set(self, response: Response, token: str) -> None:
        response.set_cookie(
            self.name, token, max_age=int(LOGIN_TOKEN_FOR.total_seconds()), path="/",
            secure=self.secure, httponly=True, samesite="strict",
        )  # fmt: skip

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.name, path="/", secure=self.secure, httponly=True,
                               samesite="strict")  # fmt: skip


class Guard:
    def __init__(
        self, sessions: SessionStore, clock: Clock, views: Views, *, secure: bool,
        banners: BannerSource | None = None,
    ):  # fmt: skip
        self.sessions, self.clock, self.views, self.secure = sessions, clock, views, secure
        self.banners = banners
        self.login_token = LoginToken(secure)

    async def session(self, request: Request) -> Session | None:
        return await self.sessions.find(request.cookies.get(COOKIE, ""), self.clock.now())

    def set_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            COOKIE, token, max_age=int(ABSOLUTE.total_seconds()), path="/",
            secure=self.secure, httponly=True, samesite="lax",
        )  # fmt: skip

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")

    def page(self, endpoint: Endpoint, *, admin: bool = False, upload: bool = False) -> Endpoint:
        async def guarded(request: Request) -> Response:
            session = await self.session(request)
            if session is None:
                back = request.url.path if request.method == "GET" else "/"
                response = redirect("/login" + ("" if back == "/" else f"?next={quote(back)}"))
                if COOKIE in request.cookies:
                    self.clear_cookie(response)  # an expired or ended session: forget it
                return response
            request.state.staff = session.staff
            request.state.csrf = session.csrf
            if self.banners is not None:  # shown at the top of every page (base.html)
                request.state.banners = await self.banners()
            if admin and not session.staff.is_admin:
                return self.views.forbidden(request, "This page is for admins only.")
            if request.method == "POST":
                files: dict[str, bytes] = {}
                try:
                    if upload:
                        form, files = await read_upload(request)
                    else:
                        form = await read_form(request)
                except BadForm as exc:
                    if upload:  # a person chose the file: say what is wrong with it
                        why = UPLOAD_REFUSED.get(exc.status, UPLOAD_REFUSED[400])
                        return self.views.page(request, "message.html", exc.status,
                                               title="Not uploaded", message=why)  # fmt: skip
                    return secured(PlainTextResponse("not a form", status_code=exc.status))
                if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode()):
                    return self.views.forbidden(
                        request,
                        "This form has expired or did not come from this page: nothing was "
                        "changed. Go back, reload the page and try again.",
                    )
                request.state.form = form
                request.state.files = files
            return secured(await endpoint(request))

        return guarded

    def admin(self, endpoint: Endpoint) -> Endpoint:
        return self.page(endpoint, admin=True)

    def upload(self, endpoint: Endpoint) -> Endpoint:
        return self.page(endpoint, upload=True)
