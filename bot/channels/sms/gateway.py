"""SMS through Twilio: the channel that sends reminders, the signed webhooks that receive texts.

Replies go back as TwiML in the webhook answer (never through the REST API), so a reply is
exactly one HTTP answer; reminders go through the REST API with a status callback per message.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

import aiohttp
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.channels.sms.client import (
    DEFAULT_TIMEOUT_S,
    OPTED_OUT,
    build_async_twilio_client,
    capture_response_headers,
    describe,
    retry_after,
    retryable,
)
from bot.channels.sms.webhooks import SignedForm, answer_text, safe_alert, twiml
from bot.conversation.alerts import NurseAlerts
from bot.settings import Settings
from scheduler.domain.model import ChannelKind
from scheduler.ports import (
    Channel,
    Clock,
    Outgoing,
    PermanentSendError,
    SendError,
    TransientSendError,
)

if TYPE_CHECKING:
    from starlette.requests import Request

    from bot.channels.desk import Desk

log = logging.getLogger(__name__)

MAX_VALIDITY_S: Final = 36000  # Twilio accepts ValidityPeriod 1..36000 seconds
PAGE_VALIDITY_S: Final = 3600  # an urgent page an hour late is not worth delivering
LOOKBACK_S: Final = 120  # clock skew allowed when matching an earlier attempt at Twilio
FINAL_FAILURES: Final = frozenset({"undelivered", "failed"})
DELIVERY_STATES: Final = frozenset({
    "queued", "accepted", "scheduled", "sending", "sent", "delivered", "undelivered", "failed",
    "read", "canceled",
})  # fmt: skip


class TwilioChannel:
    """Sends through Twilio's Messages API; implements ``scheduler.ports.Channel``."""

    name = "sms"

    def __init__(self, settings: Settings, clock: Clock, alerts: NurseAlerts) -> None:
        self.settings = settings
        self.clock = clock
        self.alerts = alerts
        self.client: Client | None = None

    async def open(self, request_timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Create the aiohttp-backed client: must run inside the serving event loop."""
        if self.client is None:
            token = self.settings.twilio_auth_token
            self.client = build_async_twilio_client(
                self.settings.twilio_account_sid, token.get_secret_value() if token else "",
                api_base_url=self.settings.twilio_api_base, request_timeout=request_timeout,
            )

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.http_client.close()

    async def send(self, message: Outgoing) -> str:
        client = self.client
        if client is None:
            raise TransientSendError("the Twilio client is not started")
        left = (message.expires_at - self.clock.now()).total_seconds()
        if left <= 0:
            # Never hand Twilio a late reminder: the next dispatch tick marks the row expired.
            raise TransientSendError("expired before it reached Twilio", code="expired")
        if message.maybe_sent:
            # An earlier attempt may have reached Twilio unanswered (a timeout, a gateway
            # error, a worker killed before it recorded the answer: the outbox row says so,
            # whichever process made it). Look for it before sending, so that a slow answer or
            # a crash never becomes two texts.
            sid = await self._sent_before(client, message)
            if sid is not None:
                return sid
        fields: dict[str, object] = {
            "to": message.address.to, "body": message.text,
            # Twilio drops it unsent once the reminder's moment has passed.
            "validity_period": max(1, min(MAX_VALIDITY_S, int(left))),
        }
        fields.update(self._sender())
        if message.callback_token:
            fields["status_callback"] = (
                f"{self.settings.public_url}/twilio/status/{message.callback_token}"
            )
        error: SendError
        with capture_response_headers() as headers:
            try:
                created = await client.messages.create_async(**fields)
            except TwilioRestException as exc:
                error = self._rest_error(exc, headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                # A refused or never-made connection cannot have created a message.
                reached = not isinstance(
                    exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
                )
                error = TransientSendError(f"Twilio did not answer ({type(exc).__name__})",
                                           code="network", maybe_sent=reached)
            else:
                return str(created.sid)
        if isinstance(error, PermanentSendError):
            if not error.opted_out:  # the dispatcher's opt-out hook tells the nurses itself
                await safe_alert(self.alerts, "delivery_failed",
                                 f"an SMS for patient {message.patient_id} could not be sent "
                                 f"({error.reason}); please contact them another way",
                                 message.patient_id)
        raise error

    def _sender(self) -> dict[str, object]:
        if self.settings.twilio_messaging_service_sid:
            return {"messaging_service_sid": self.settings.twilio_messaging_service_sid}
        return {"from_": self.settings.twilio_from}

    async def page(self, to: str, text: str) -> str:
        """One SMS to the care team (an ALERT_SMS_TO number), outside the outbox: no status
        callback, one attempt (an urgent alert still unacknowledged is sent again later), and
        a failure never becomes an alert about a patient. The provider's id, or SendError."""
        if self.client is None:  # e.g. `lenabot say` from the CLI: the service closes it
            await self.open(self.settings.twilio_timeout_seconds)
        assert self.client is not None
        fields = {"to": to, "body": text, "validity_period": PAGE_VALIDITY_S, **self._sender()}
        try:
            created = await self.client.messages.create_async(**fields)
        except TwilioRestException as exc:
            raise PermanentSendError(
                describe(int(exc.status), exc.code), code=str(exc.code or exc.status)
            ) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientSendError(
                f"Twilio did not answer ({type(exc).__name__})", code="network"
            ) from None
        return str(created.sid)

    def _rest_error(self, exc: TwilioRestException, headers: dict[str, str]) -> SendError:
        status, code = int(exc.status), exc.code
        reason = describe(status, code)
        if code == OPTED_OUT:
            return PermanentSendError(reason, code=str(code), opted_out=True)
        if retryable(status, code):
            # A gateway error may hide a message Twilio did create.
            return TransientSendError(reason, code=str(code or status),
                                      retry_after=retry_after(headers),
                                      maybe_sent=status >= 500)
        if status in (401, 403) or code == 20003:
            log.error("%s", reason)
        return PermanentSendError(reason, code=str(code or status))

    async def _sent_before(self, client: Client, message: Outgoing) -> str | None:
        """The sid of this message if an unanswered earlier attempt did reach Twilio: the
        same text to the same number, made at Twilio since the row's planned moment (every
        attempt of a row is at or after it), less ``LOOKBACK_S`` of clock skew."""
        planned = message.due_at or self.clock.now()
        since = planned.timestamp() - LOOKBACK_S
        try:
            page = await client.messages.page_async(to=message.address.to, page_size=20)
        except (TwilioRestException, TimeoutError, aiohttp.ClientError) as exc:
            # Not knowing means not sending: a missed reminder is safer than a double one.
            raise TransientSendError("could not check whether an earlier attempt reached "
                                     f"Twilio ({type(exc).__name__})", code="lookup",
                                     maybe_sent=True) from None
        for found in page:
            created = found.date_created
            if (found.body == message.text and created is not None
                    and created.timestamp() >= since
                    and str(found.direction or "").startswith("outbound")):
                log.info("row %s had reached Twilio unanswered: not sending it again", message.ref)
                return str(found.sid)
        return None


class TwilioGateway:
    """The SMS provider: TwilioChannel for sending, /twilio/sms and /twilio/status/* webhooks."""

    kind = ChannelKind.SMS

    def __init__(self, desk: Desk, *, request_timeout: float | None = None) -> None:
        self.desk = desk
        self.request_timeout = (
            request_timeout if request_timeout is not None
            else desk.settings.twilio_timeout_seconds
        )
        self.sender = TwilioChannel(desk.settings, desk.clock, desk.alerts)
        self.channel: Channel = self.sender
        token = desk.settings.twilio_auth_token
        self.form = SignedForm(desk.settings.public_url,
                               token.get_secret_value() if token else "",
                               desk.settings.max_body_bytes)
        # MessageSid -> reply, so a webhook Twilio repeats is answered again, not re-handled.
        self._answered: OrderedDict[str, str] = OrderedDict()

    async def start(self, *, inbound: bool) -> None:
        await self.sender.open(self.request_timeout)  # web and worker processes both send

    async def stop(self) -> None:
        await self.sender.close()

    def routes(self) -> list[BaseRoute]:
        return [Route("/twilio/sms", self.inbound, methods=["POST"]),
                Route("/twilio/status/{token}", self.status, methods=["POST"])]

    async def inbound(self, request: Request) -> Response:
        form = await self.form.read(request, "/twilio/sms")
        if isinstance(form, Response):
            return form  # refused: nothing is read or recorded
        sid = form.get("MessageSid", "")
        text = self._answered.get(sid) if sid else None
        if text is None:
            text = await answer_text(self.desk, form)
            if sid:
                self._answered[sid] = text
                while len(self._answered) > 1000:
                    self._answered.popitem(last=False)
        return twiml(text)

    async def status(self, request: Request) -> Response:
        token = request.path_params["token"]
        form = await self.form.read(request, f"/twilio/status/{token}")
        if isinstance(form, Response):
            return form
        state = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        s = self.desk
        known = "\x00" not in token and len(token) <= 43  # ours: 43 URL-safe characters
        if known and state in DELIVERY_STATES and await s.outbox.set_delivery(
            token, state, s.clock.now()
        ):
            if state in FINAL_FAILURES:
                await self._not_delivered(state, form.get("ErrorCode", ""), form.get("To", ""))
        return Response(status_code=200)  # even for unknown tokens: Twilio has nothing to fix

    async def _not_delivered(self, state: str, code: str, to: str) -> None:
        s = self.desk
        patient = await s.courses.find(phone=to) if to else None
        pid = patient.id if patient else None
        log.warning("SMS %s (Twilio error %s) for patient %s", state, code or "-", pid or "-")
        if patient is not None and code == str(OPTED_OUT):
            await s.provider_opt_out(patient, s.clock.now())
            return
        await safe_alert(s.alerts, "delivery_failed",
                         f"an SMS for patient {pid or '(not found)'} was {state} (Twilio error "
                         f"{code or '-'}); please contact them another way", pid)
