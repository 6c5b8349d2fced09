"""Rendering console pages: Jinja2 templates from ``templates/``, escaped by default, with the
security headers every console response carries, and the one stylesheet from ``static/``."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

# No script at all, no inline style: the pages work with JavaScript off, and an injected
# <script> or style attribute would not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Pages hold patient data: not kept by the browser (the back button after sign-out) or
    # by a proxy.
    "Cache-Control": "no-store",
}
NAV = (("/", "Today"), ("/patients", "Patients"), ("/enrol", "Enrol"), ("/import", "Import"))
ADMIN_NAV = (("/staff", "Staff"), ("/audit", "Audit"))


def secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def redirect(url: str) -> Response:
    """303 See Other: after a POST the browser GETs ``url``."""
    return secured(RedirectResponse(url, status_code=303))


class Views:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("bot.web.console", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        static = resources.files(__package__).joinpath("static")
        self.static = {name: static.joinpath(name).read_bytes() for name in ("console.css",)}

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        staff = getattr(request.state, "staff", None)
        html = self.env.get_template(template).render(
            staff=staff,
            csrf=getattr(request.state, "csrf", ""),
            banners=getattr(request.state, "banners", None),
            path=request.url.path,
            nav=NAV + (ADMIN_NAV if staff is not None and staff.is_admin else ()),
            **context,
        )
        return secured(HTMLResponse(html, status_code=status))

    def forbidden(self, request: Request, why: str) -> Response:
        return self.page(request, "message.html", 403, title="Not allowed", message=why)

    def not_found(self, request: Request, what: str) -> Response:
        return self.page(request, "message.html", 404, title="Not found", message=what)

    def stylesheet(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = self.static.get(name)
        if body is None:
            return secured(Response("not found", status_code=404, media_type="text/plain"))
        response = secured(Response(body, media_type="text/css"))
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response
