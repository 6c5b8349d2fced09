"""Small request helpers shared by the fake provider apps."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import Receive

T = TypeVar("T")


class ClientDisconnected(Exception):
    """The HTTP client went away while the fake was still waiting."""


class UnsupportedBody(ValueError):
    """A request body the fakes cannot parse (multipart needs python-multipart)."""


async def _wait_for_disconnect(receive: Receive) -> None:
    # Once the body has been read, the ASGI receive() only returns when the client disconnects
    # (uvicorn answers {"type": "http.disconnect"}); that is the only disconnect signal we get.
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def wait_unless_disconnected(
    request: Request, awaitable: Awaitable[T] | None, max_wait: float | None
) -> tuple[bool, T | None]:
    """Wait for `awaitable` (or just `max_wait` s if None), but stop early if the client leaves.

    Returns (completed, result): completed is False when max_wait ran out. Raises
    ClientDisconnected if the client hung up first: hanging handlers and long polls must not
    outlive their client, otherwise uvicorn's shutdown waits for them.

    The request body must have been fully read before calling this.
    """
    disconnect = asyncio.ensure_future(_wait_for_disconnect(request.receive))
    work = asyncio.ensure_future(awaitable) if awaitable is not None else None
    waiting: set[asyncio.Future[Any]] = {disconnect} if work is None else {disconnect, work}
    try:
        done, _ = await asyncio.wait(waiting, timeout=max_wait, return_when=asyncio.FIRST_COMPLETED)
        if work is not None and work in done:
            return True, work.result()
        if disconnect in done:
            raise ClientDisconnected
        return False, None
    finally:
        for fut in waiting:
            fut.cancel()
        for fut in waiting:
            with contextlib.suppress(asyncio.CancelledError):
                await fut


def parse_urlencoded(body: bytes) -> list[tuple[str, str]]:
    """All (key, value) pairs, repeats kept (Twilio sends MediaUrl once per URL)."""
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


async def read_params(request: Request) -> dict[str, Any]:
    """Query string merged with a JSON or urlencoded body (last value wins for repeats).

    Starlette's request.form() needs python-multipart, which is not a dependency; the clients
    we fake only send urlencoded/JSON bodies for the methods we implement.
    """
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise UnsupportedBody("JSON body must be an object")
        params.update(decoded)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        params.update(parse_urlencoded(body))
    else:
        raise UnsupportedBody(f"unsupported content type {content_type!r}")
    return params
