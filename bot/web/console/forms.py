"""Reading a console form: urlencoded only, at most ``MAX_BYTES``, never more than the fields
a page has; and the field errors a page shows beside each field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import ClientDisconnect, Request

from bot.conversation.validate import InvalidInput
from scheduler.services.care import CareError

MAX_BYTES = 64 * 1024
MAX_FIELDS = 100
FORM = "application/x-www-form-urlencoded"

Form = ImmutableMultiDict[str, str]
T = TypeVar("T")


class BadForm(Exception):
    """Not a form a console page sent (too big, not urlencoded, not UTF-8): 400 or 413."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def read_form(request: Request) -> Form:
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BYTES):
        raise BadForm(413 if declared.isdigit() else 400)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM:
        return Form()  # not read: no CSRF token in it, so a session's POST is refused (403)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BYTES:
                raise BadForm(413)
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=MAX_FIELDS)  # fmt: skip
    except (ClientDisconnect, ValueError):  # ValueError: not UTF-8, or too many fields
        raise BadForm(400) from None
    return Form(pairs)


class Errors(dict[str, str]):
    """Field name -> the sentence shown beside that field."""

    def check(self, field: str, parse: Callable[[], T]) -> T | None:
        """``parse()``, or None with its one-sentence error recorded against ``field``."""
        try:
            return parse()
        except (InvalidInput, CareError) as exc:
            self[field] = sentence(exc)
            return None

    async def check_async(self, field: str, act: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await act()
        except (InvalidInput, CareError) as exc:
            self[field] = sentence(exc)
            return None


def sentence(exc: Exception) -> str:
    """An error's message as a sentence: a capital first letter and a full stop."""
    text = str(exc.args[0] if exc.args else exc).strip().rstrip(".")
    return (text[:1].upper() + text[1:] + ".") if text else "Not valid."
