"""Reading an urlencoded form with bounds: the declared and the real size, the type, UTF-8
and the number of fields, for the Twilio webhooks and the console's pages alike."""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import ClientDisconnect, Request

FORM: Final = "application/x-www-form-urlencoded"

Form = ImmutableMultiDict[str, str]


class BadForm(Exception):
    """Not a form to read: ``status`` (400, 413 or 415) and ``why``, in a few words."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


async def read_urlencoded(request: Request, max_bytes: int, max_fields: int) -> Form:
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > max_bytes):
        raise BadForm(413 if declared.isdigit() else 400, "body too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM:
        raise BadForm(415, "expected an urlencoded form")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise BadForm(413, "body too large")
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=max_fields)  # fmt: skip
    except ClientDisconnect:
        raise BadForm(400, "client went away") from None
    except ValueError:  # not UTF-8, or too many fields
        raise BadForm(400, "not a valid form") from None
    return Form(pairs)
