"""Reading an urlencoded form with bounds: the declared and the real size, the type, UTF-8
and the number of fields, for the Twilio webhooks and the console's pages alike; and a
multipart one (a file upload) with the same bounds, parsed by Starlette's multipart parser."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Final
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

FORM: Final = "application/x-www-form-urlencoded"
MULTIPART: Final = "multipart/form-data"

Form = ImmutableMultiDict[str, str]


class BadForm(Exception):
    """Not a form to read: ``status`` (400, 413 or 415) and ``why``, in a few words."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def kind_of(request: Request) -> str:
    """The media type of the body, lower case, without its parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _check_declared(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > max_bytes):
        raise BadForm(413 if declared.isdigit() else 400, "body too large")


async def _body(request: Request, max_bytes: int) -> bytes:
    """The whole body, refused (413) as soon as it is longer than ``max_bytes``."""
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise BadForm(413, "body too large")
    except ClientDisconnect:
        raise BadForm(400, "client went away") from None
    return bytes(body)


async def read_urlencoded(request: Request, max_bytes: int, max_fields: int) -> Form:
    _check_declared(request, max_bytes)
    if kind_of(request) != FORM:
        raise BadForm(415, "expected an urlencoded form")
    body = await _body(request, max_bytes)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=max_fields)  # fmt: skip
    except ValueError:  # not UTF-8, or too many fields
        raise BadForm(400, "not a valid form") from None
    return Form(pairs)


async def read_multipart(
    request: Request, max_bytes: int, max_fields: int
) -> tuple[Form, dict[str, bytes]]:
    """A ``multipart/form-data`` body of at most ``max_bytes``: its text fields (UTF-8, as a
    browser sends them from a UTF-8 page) and its files' contents by field name, as bytes
    (what they are written in is for the caller to judge). At most one file a field."""
    _check_declared(request, max_bytes)
    if kind_of(request) != MULTIPART:
        raise BadForm(415, "expected a multipart form")
    body = await _body(request, max_bytes)

    async def replay() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(request.headers, replay(), max_files=max_fields,
                             max_fields=max_fields, max_part_size=max_bytes)  # fmt: skip
    try:
        parsed = await parser.parse()
    except MultiPartException:
        raise BadForm(400, "not a valid form") from None
    fields: list[tuple[str, str]] = []
    files: dict[str, bytes] = {}
    try:
        for name, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                if name in files:
                    raise BadForm(400, "more than one file in a field")
                files[name] = await value.read()
            else:
                fields.append((name, value))
    finally:
        await parsed.close()
    return Form(fields), files
