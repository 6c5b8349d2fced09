"""The twilio 9 async client, made safe to run for months: timeouts, Retry-After, a quiet log.

How the pointing at another REST root (``TWILIO_API_BASE``, a test fake) works in twilio 9.x:

* ``client.messages.create_async(...)`` builds ``client.api.base_url + "/2010-04-01/Accounts/
  <sid>/Messages.json"``, so setting ``client.api.base_url`` re-roots every Api-domain call and
  nothing else.
* ``ClientBase.get_hostname`` rewrites the host when an edge/region is set (also from the
  ``TWILIO_EDGE`` / ``TWILIO_REGION`` environment variables), which would mangle
  ``127.0.0.1:port``; edge/region are cleared when a custom root is used.
* ``AsyncTwilioHttpClient(timeout=...)`` stores the timeout but never uses it: the generated
  resources pass ``timeout=None`` per call and aiohttp reads that as "no timeout at all". A hung
  Twilio would hang the sender for ever, hence ``LenabotAsyncTwilioHttpClient``.
* ``AsyncTwilioHttpClient()`` creates its aiohttp session in ``__init__``: build the client in
  the running loop and ``await client.http_client.close()`` at shutdown.
* ``TwilioRestException`` carries the status and code but not the response headers; the
  ``Retry-After`` of a 429/503 is caught here, per task, with ``capture_response_headers``.

Non-2xx answers raise ``TwilioRestException``; timeouts raise ``TimeoutError``; connection
failures raise ``aiohttp.ClientError`` subclasses. Twilio wraps neither.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API_BASE_URL: Final = "https://api.twilio.com"
DEFAULT_TIMEOUT_S: Final = 10.0
MAX_RETRY_AFTER_S: Final = 3600.0

# twilio logs every request's query parameters (a phone number for a list call) at INFO: keep
# its request log at WARNING whatever the root logger says.
_quiet = logging.getLogger("bot.channels.sms.client.http")
_quiet.setLevel(logging.WARNING)

_headers_sink: ContextVar[dict[str, str] | None] = ContextVar("twilio_headers", default=None)


@contextlib.contextmanager
def capture_response_headers() -> Iterator[dict[str, str]]:
    """Headers (lower-case names) of the last Twilio response within this block and task."""
    sink: dict[str, str] = {}
    token = _headers_sink.set(sink)
    try:
        yield sink
    finally:
        _headers_sink.reset(token)


def retry_after(headers: dict[str, str], now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), capped at 1 h."""
    raw = headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


class LenabotAsyncTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """AsyncTwilioHttpClient that applies its constructor timeout to every request.

    Also sends basic auth as a header instead of twilio's deprecated aiohttp.BasicAuth, and
    hands the response headers to ``capture_response_headers``.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(timeout=timeout, logger=_quiet)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (twilio's signature)
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            # twilio turns `auth` into aiohttp.BasicAuth, deprecated since aiohttp 3.14 (gone
            # in 4.0); sending the header ourselves is equivalent and future-proof.
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {credentials}"}
        response: Response = await super().request(
            method, url, params=params, data=data, headers=headers, auth=None,
            timeout=self.timeout if timeout is None else timeout,
            allow_redirects=allow_redirects,
        )
        sink = _headers_sink.get()
        if sink is not None:
            sink.clear()
            sink.update({str(k).lower(): str(v) for k, v in (response.headers or {}).items()})
        return response


def build_async_twilio_client(
    account_sid: str,
    auth_token: str,
    *,
    api_base_url: str = TWILIO_API_BASE_URL,
    request_timeout: float = DEFAULT_TIMEOUT_S,
) -> Client:
    """Async-capable twilio Client whose Api domain lives at `api_base_url`.

    Must be called with a running event loop (aiohttp). The caller owns the session:
    ``await client.http_client.close()`` on shutdown.
    """
    client = Client(
        account_sid, auth_token, http_client=LenabotAsyncTwilioHttpClient(request_timeout)
    )
    base = api_base_url.rstrip("/")
    if base != TWILIO_API_BASE_URL:
        client.api.base_url = base
        # Edge/region routing only makes sense for *.twilio.com hosts.
        client.edge = None
        client.region = None
    return client


# --- what Twilio's answers mean for a send --------------------------------------------------

OPTED_OUT: Final = 21610
# The recipient's number itself is the problem: retrying cannot help, a nurse must look.
RECIPIENT_ERRORS: Final[dict[int, str]] = {
    21211: "the number is not a valid phone number",
    21214: "the number cannot be reached",
    21217: "the number does not appear to be valid",
    21265: "the number is a short code",
    21266: "the number is the sender's own number",
    21401: "the number is not a valid phone number",
    21407: "this kind of number cannot receive SMS",
    21408: "sending to this country is not enabled on the Twilio account",
    21612: "the number cannot be reached from this sender",
    21614: "the number is not a mobile number",
    21635: "the number is a landline",
}
# Busy rather than wrong: 20429 rate limit, 21611 sender queue full, 20500/20503 Twilio down.
RETRYABLE_CODES: Final = frozenset({20429, 20500, 20503, 21611})


def describe(status: int, code: int | None) -> str:
    """One line about a Twilio error, never Twilio's own message (it can quote the number)."""
    what = RECIPIENT_ERRORS.get(code or 0)
    if code == OPTED_OUT:
        what = "the recipient replied STOP"
    elif status in (401, 403) or code == 20003:
        what = "Twilio refused lenabot's credentials: check TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN"
    elif what is None:
        what = f"see https://www.twilio.com/docs/errors/{code}" if code else "no error code"
    return f"Twilio {status} error {code or '-'}: {what}"


def retryable(status: int, code: int | None) -> bool:
    return status == 429 or status >= 500 or (code in RETRYABLE_CODES)
