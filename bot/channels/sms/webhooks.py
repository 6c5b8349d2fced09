"""Twilio's webhooks: a signed form in, a patient's answer out as TwiML.

Nothing is read from a request, let alone recorded, before its ``X-Twilio-Signature`` checks
out against the URL Twilio was given: ``PUBLIC_URL`` + the route's path. Behind a proxy the
URL the app sees (http, another host, no prefix) is not the one Twilio signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Final
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import (
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)

from bot.conversation.alerts import NurseAlerts
from bot.conversation.conversation import MessageFailed
from bot.web.forms import BadForm, Form, read_urlencoded
from messages.understand import understand
from scheduler.domain.audit import SYSTEM

if TYPE_CHECKING:
    from bot.channels.desk import Desk
    from scheduler.domain.model import Patient

log = logging.getLogger(__name__)

MAX_FIELDS: Final = 200  # Twilio sends about 20; more is not Twilio
NOT_ENROLLED: Final = (
    "This number is not enrolled with a care team. Please contact your treatment centre."
)
# The single words Twilio itself treats as opt-out: it confirms them and blocks any reply.
TWILIO_OPT_OUT: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                                   "REVOKE", "OPTOUT"})  # fmt: skip
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TWIML: Final = '<?xml version="1.0" encoding="UTF-8"?>'
_HASHES: Final = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


class SignedForm:
    """Reads a Twilio webhook's form: size, type and signature checked, in that order."""

    def __init__(self, public_url: str, auth_token: str, max_bytes: int) -> None:
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.token = auth_token.encode("utf-8")
        self.max_bytes = max_bytes

    async def read(self, request: Request, path: str) -> Form | Response:
        """The form, or the refusal to answer with (413, 415, 400 or 403)."""
        try:
            form = await read_urlencoded(request, self.max_bytes, MAX_FIELDS)
        except BadForm as exc:
            return _refuse(exc.status, exc.why, path)
        signature = request.headers.get("x-twilio-signature", "")
        # request.url parses the whole URL: only worth it when there is a query to take.
        query = request.url.query if request.scope.get("query_string") else ""
        url = self.public_url + path + (f"?{query}" if query else "")
        algorithm = get_signature_algorithm(
            request.headers.get("x-twilio-webhooks-signature-settings"))
        if not signature or not self.signed(url, form, signature, algorithm):
            return _refuse(403, "missing or wrong X-Twilio-Signature", path)
        return form

    def signed(self, url: str, form: Form, signature: str, algorithm: str) -> bool:
        """``RequestValidator.validate(url, form, signature, algorithm)``, for a form, at a
        fraction of its CPU: the URL's two spellings (without and with its port) worked out
        once per URL, the form's fields grouped in one pass instead of a scan per name, and
        the second HMAC computed only when the first does not match."""
        digest = _HASHES.get(algorithm.upper())
        if digest is None:  # the validator refuses it, and logs which
            return bool(self.validator.validate(url, form, signature, algorithm))
        fields: dict[str, set[str]] = {}
        for name, value in form.multi_items():
            fields.setdefault(name, set()).add(value)
        signed = "".join(name + value for name in sorted(fields) for value in sorted(fields[name]))
        given = signature.encode("utf-8")
        for spelling in _spellings(url):
            mac = hmac.new(self.token, (spelling + signed).encode("utf-8"), digest).digest()
            if hmac.compare_digest(base64.b64encode(mac), given):
                return True
        return False


@lru_cache(maxsize=64)
def _spellings(url: str) -> tuple[str, str]:
    """The URL as Twilio may have signed it: without its port, and with it (443 or 80)."""
    parsed = urlparse(url)
    return remove_port(parsed), add_port(parsed)


async def safe_alert(alerts: NurseAlerts, kind: str, text: str, patient_id: str | None) -> None:
    """Alert the nurses; a failing alert must not hide the error being reported."""
    try:
        await alerts.alert(kind, text, patient_id)
    except Exception:
        log.exception("could not record a %s alert for patient %s", kind, patient_id or "-")


def _refuse(status: int, why: str, path: str) -> Response:
    route = "/twilio/status/*" if path.startswith("/twilio/status/") else path
    (log.warning if status == 403 else log.info)("refused a request to %s: %s", route, why)
    return PlainTextResponse(why, status_code=status)


def twiml(text: str) -> Response:
    """A TwiML answer: one <Message>, or an empty <Response/> when there is nothing to say.

    Written out as twilio's ``MessagingResponse`` writes it (by way of ElementTree), without
    building the tree: the same characters, for a third of the CPU."""
    if not text:
        return Response(_TWIML + "<Response />", media_type="text/xml")
    message = escape(_NOT_XML.sub("", text))
    message = f"<Message>{message}</Message>" if message else "<Message />"
    return Response(f"{_TWIML}<Response>{message}</Response>", media_type="text/xml")


async def answer_text(desk: Desk, form: Form) -> str:
    """What to text back to one inbound SMS ("" for nothing), with its side effects done."""
    sender = form.get("From", "")
    body = form.get("Body", "").replace("\x00", "")  # PostgreSQL text cannot hold NUL
    told = form.get("OptOutType", "").upper()  # STOP/START/HELP: Twilio already acted on it
    turns = desk.conversation.turns  # database work takes turns (SQLite), alerts do not

    async def sender_patient() -> Patient | None:
        return await desk.courses.find(phone=sender) if sender else None

    try:
        found = await desk.conversation.handle_from(sender_patient, body, channel="sms")
    except MessageFailed as failed:  # logged, and the nurses told, by the conversation
        return failed.reply.text
    if found is None:
        log.info("inbound SMS from a number that is not enrolled")
        return "" if told or understand(body).has("stop", "start") else NOT_ENROLLED
    patient, reply = found
    now = desk.clock.now()
    if told == "STOP":
        if reply.intent != "stop":  # a keyword Twilio has and we do not (Advanced Opt-Out)
            async with turns():
                alert = await desk.care.opt_out(
                    patient.id, now, "texted an opt-out keyword set up at Twilio", actor=SYSTEM
                )
            await safe_alert(desk.alerts, alert.kind, alert.text, alert.patient_id)
        return ""  # Twilio confirmed it and refuses anything more
    if told == "START":
        if reply.intent != "start" and patient.opted_out_at is not None:
            async with turns():
                # a keyword Twilio has and we do not
                await desk.care.opt_in(patient.id, actor=SYSTEM)
        return ""  # Twilio sent its own confirmation
    if reply.intent == "stop" and body.strip().upper() in TWILIO_OPT_OUT:
        return ""  # Twilio confirms its own keywords; a reply would be refused (21610)
    return reply.text
