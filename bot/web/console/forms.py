"""Reading a console form: urlencoded, at most ``MAX_BYTES``, never more than the fields a
page has (or, for the one upload page, multipart of at most ``MAX_UPLOAD_BYTES``); and the
field errors a page shows beside each field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request

from bot.conversation.validate import InvalidInput
from bot.web.forms import BadForm, Form, read_multipart, read_urlencoded
from scheduler.services.care import CareError

MAX_BYTES = 64 * 1024
MAX_FIELDS = 100
# An upload: a file of up to 1 MiB (``patient_csv.MAX_FILE_BYTES``) sent as itself, or sent
# back from the dry run's page in base64 (4/3 as long), and the few fields around it.
MAX_UPLOAD_BYTES = 1536 * 1024
MAX_UPLOAD_FIELDS = 10
T = TypeVar("T")

__all__ = ["BadForm", "Errors", "Form", "read_form", "read_upload", "sentence"]


async def read_form(request: Request) -> Form:
    """A console page's form; an empty one when it is not urlencoded (it then carries no CSRF
    token, so a session's POST is refused with 403)."""
    try:
        return await read_urlencoded(request, MAX_BYTES, MAX_FIELDS)
    except BadForm as exc:
        if exc.status == 415:
            return Form()
        raise


async def read_upload(request: Request) -> tuple[Form, dict[str, bytes]]:
    """An upload page's form and files: multipart, or urlencoded (no file) like any page."""
    try:
        return await read_multipart(request, MAX_UPLOAD_BYTES, MAX_UPLOAD_FIELDS)
    except BadForm as exc:
        if exc.status == 415:
            return await read_form(request), {}
        raise


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
