"""Build an async twilio 9 `Client` that can be pointed at another REST root (the fake).

Production-grade on purpose: the lead moves this into ``bot/sms.py`` unchanged.

How the pointing works (twilio 9.x source):

* ``client.messages.create_async(...)`` goes ``Client.api`` (a ``twilio.base.domain.Domain``
  whose ``base_url`` attribute is ``"https://api.twilio.com"``) -> ``Version("2010-04-01")`` ->
  ``Domain.absolute_url()`` = ``base_url + "/2010-04-01/Accounts/<sid>/Messages.json"``.
  Setting ``client.api.base_url`` therefore re-roots every Api-domain call (Messages, Calls...)
  and nothing else; other domains (messaging.twilio.com, verify...) keep their real hosts.
* ``ClientBase.get_hostname`` rewrites the host when an edge/region is set, including from the
  ``TWILIO_EDGE`` / ``TWILIO_REGION`` environment variables (and ``environment={}`` does NOT
  prevent that: an empty mapping is falsy, so twilio falls back to ``os.environ``). It would
  mangle ``127.0.0.1:port``, so edge/region are cleared when a custom root is used.
* ``AsyncTwilioHttpClient(timeout=...)`` stores the timeout but never uses it: ``request()``
  hands aiohttp the per-call ``timeout``, which the generated resources always leave ``None``,
  and aiohttp turns an explicit ``None`` into "no timeout at all". A hung Twilio would hang the
  sender forever, hence ``LenabotAsyncTwilioHttpClient``.
* ``AsyncTwilioHttpClient()`` creates its aiohttp session in ``__init__``, which needs a running
  event loop: build the client from async code and close it with ``await client.http_client
  .close()`` (or use ``open_async_twilio_client``).

Errors: non-2xx answers raise ``twilio.base.exceptions.TwilioRestException`` (``.status`` = HTTP
status, ``.code`` = Twilio error code, ``.msg`` = "Unable to create record: <message>"). Timeouts
raise the builtin ``TimeoutError`` (aiohttp's ``ServerTimeoutError`` is a subclass); connection
failures raise ``aiohttp.ClientError`` subclasses. Twilio wraps neither.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Final

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API_BASE_URL: Final = "https://api.twilio.com"
DEFAULT_TIMEOUT_S: Final = 10.0


class LenabotAsyncTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """AsyncTwilioHttpClient that applies its constructor timeout to every request.

    Also sends basic auth as a header instead of twilio's deprecated aiohttp.BasicAuth.
    """

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
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=self.timeout if timeout is None else timeout,
            allow_redirects=allow_redirects,
        )


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
        account_sid,
        auth_token,
        http_client=LenabotAsyncTwilioHttpClient(timeout=request_timeout),
    )
    base = api_base_url.rstrip("/")
    if base != TWILIO_API_BASE_URL:
        client.api.base_url = base
        # Edge/region routing only makes sense for *.twilio.com hosts.
        client.edge = None
        client.region = None
    return client


@contextlib.asynccontextmanager
async def open_async_twilio_client(
    account_sid: str,
    auth_token: str,
    *,
    api_base_url: str = TWILIO_API_BASE_URL,
    request_timeout: float = DEFAULT_TIMEOUT_S,
) -> AsyncIterator[Client]:
    """`build_async_twilio_client` whose aiohttp session is closed on exit."""
    client = build_async_twilio_client(
        account_sid, auth_token, api_base_url=api_base_url, request_timeout=request_timeout
    )
    try:
        yield client
    finally:
        await client.http_client.close()
