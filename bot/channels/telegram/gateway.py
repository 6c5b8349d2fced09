"""The Telegram gateway: one python-telegram-bot Application inside the desk.

- Sending: ``channel`` (a TelegramChannel) for the dispatcher; replies, welcomes and nurse
  alerts go through the same bot, whose rate limiter puts them ahead of bulk reminders.
- Receiving, only in a process started with ``start(inbound=True)``: with PUBLIC_URL set, a
  webhook (``POST /telegram`` in our Starlette app, see ``webhook.py``); without it, long
  polling (for a laptop, ``inbox.Poller``). Either way each update is stored in the inbox
  first and handled from there by ``inbox.InboxPump`` (one at a time per chat, in order); the
  PTB Application is built with ``updater(None)`` and only runs the handlers. A worker-only process never receives, so it never competes
  for updates, and it never touches the webhook.
- Handlers: ``telegram_enrol`` and ``telegram_nurse`` (nurses), ``telegram_patient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route
from telegram import BotCommand, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.enrol import Enrolling
from bot.channels.telegram.inbox import MAX_ATTEMPTS, InboxPump, Poller
from bot.channels.telegram.limiter import PriorityRateLimiter
from bot.channels.telegram.nurse import NURSE_HELP, NurseCommands, NurseGuard
from bot.channels.telegram.patient import PatientSide
from bot.channels.telegram.roster import NurseRoster
from bot.channels.telegram.webhook import WEBHOOK_PATH, TelegramWebhook
from bot.conversation import validate as v
from bot.conversation.linking import LinkCodes, deep_link
from bot.settings import SettingsError
from scheduler.domain.audit import SYSTEM
from scheduler.domain.model import ChannelKind
from scheduler.ports import Channel
from scheduler.store.inbox import SqlAlchemyInbox

if TYPE_CHECKING:
    from bot.channels.desk import Desk

log = logging.getLogger(__name__)

__all__ = ["TelegramChannel", "TelegramGateway"]

ALLOWED_UPDATES = ["message"]
COMMANDS = [
    BotCommand("next", "What is coming next"),
    BotCommand("help", "How this works"),
    BotCommand("stop", "Stop all messages"),
]
_RETRY_CONNECT = (5.0, 300.0)  # first and longest wait between start-up attempts, seconds


class TelegramGateway:
    kind = ChannelKind.TELEGRAM

    def __init__(self, desk: Desk) -> None:
        s = desk.settings
        assert s.telegram_bot_token is not None
        self.desk = desk
        self.webhook = bool(s.public_url)
        self.limiter = PriorityRateLimiter()
        builder = (
            Application.builder()
            .token(s.telegram_bot_token.get_secret_value())
            .base_url(f"{s.telegram_api_base}/bot")
            .base_file_url(f"{s.telegram_api_base}/file/bot")
            .rate_limiter(self.limiter)
            .job_queue(None)
            .connect_timeout(5.0)
            .pool_timeout(5.0)
            .read_timeout(10.0)
            .write_timeout(10.0)
            .updater(None)  # updates come from the inbox (inbox.py), in both modes
        )
        self.app = builder.build()
        self.roster = NurseRoster(desk.engine, s.nurse_ids)
        self.links = LinkCodes(desk.engine)
        self.sender = TelegramChannel(self.app.bot, desk.clock, self._unreachable)
        self.channel: Channel = self.sender
        self.inbox = SqlAlchemyInbox(desk.engine)
        self.pump = InboxPump(
            self.app, self.inbox, desk.clock.now,
            lease=timedelta(seconds=s.telegram_lease_seconds),
            turns=desk.conversation.turns, on_failed=self._gave_up,
        )  # fmt: skip
        self.poller = Poller(self.app, self.inbox, desk.clock.now, self.pump.nudge, ALLOWED_UPDATES)
        self.running = False
        self._connecting: asyncio.Task[None] | None = None
        self._reported: dict[str, datetime] = {}
        guard = NurseGuard(self.roster)
        self.app.add_handler(Enrolling(desk, guard, self.new_link).handler())
        self.app.add_handlers(NurseCommands(desk, guard, self.new_link).handlers())
        self.app.add_handlers(
            PatientSide(desk, self.links, self.roster, lambda: NURSE_HELP).handlers()
        )
        self.app.add_error_handler(self._on_error)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, *, inbound: bool) -> None:
        try:
            await self._connect(inbound)
        except NetworkError as exc:
            if isinstance(exc, BadRequest):
                raise
            # Telegram being down must not stop the rest of the service (SMS, planning).
            log.warning(
                "Telegram is unreachable at start-up (%s); retrying in the background", exc.message
            )
            self._connecting = asyncio.create_task(self._connect_later(inbound))

    async def _connect(self, inbound: bool) -> None:
        try:
            await self.app.initialize()  # getMe: the bot's username, and checks the token
        except InvalidToken:
            raise SettingsError(
                "setting TELEGRAM_BOT_TOKEN is invalid: Telegram refused it "
                "(check it with @BotFather)"
            ) from None
        self.sender.ready = True
        if not inbound:
            return
        with contextlib.suppress(TelegramError):  # a nicety: the menu of patient commands
            await self.app.bot.set_my_commands(COMMANDS)
        s = self.desk.settings
        if self.webhook:
            assert s.telegram_webhook_secret is not None
            url = f"{s.public_url}{WEBHOOK_PATH}"
            try:
                await self.app.bot.set_webhook(
                    url=url,
                    allowed_updates=ALLOWED_UPDATES,
                    secret_token=s.telegram_webhook_secret.get_secret_value(),
                )
            except BadRequest as exc:
                raise SettingsError(
                    f"Telegram refused the webhook {url} ({exc.message}): check PUBLIC_URL "
                    "(https) and TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -)"
                ) from None
            log.info("Telegram webhook set to %s%s", s.public_url, WEBHOOK_PATH)
        await self.app.start()
        self.pump.start()
        if not self.webhook:
            await self.poller.start()
            log.info("Telegram long polling started (no PUBLIC_URL)")
        self.running = True

    async def _connect_later(self, inbound: bool) -> None:
        wait, cap = _RETRY_CONNECT
        while True:
            await asyncio.sleep(wait)
            try:
                await self._connect(inbound)
                log.info("Telegram connected")
                return
            except NetworkError as exc:
                log.warning("Telegram still unreachable (%s)", exc.message)
                wait = min(cap, wait * 2)
            except Exception:
                log.exception("Telegram could not be started; sends will keep failing")
                return

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self.running:
            self.running = False
            await self.poller.stop()
            await self.pump.stop()
            await self.app.stop()
        if self.sender.ready:
            # The webhook stays set: another web process (or the next deploy) serves it.
            self.sender.ready = False
            await self.app.shutdown()

    # --- receiving -------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        if not self.webhook:
            return []  # polling: no endpoint at all, so none to forge
        s = self.desk.settings
        assert s.telegram_webhook_secret is not None
        endpoint = TelegramWebhook(
            self.app,
            s.telegram_webhook_secret.get_secret_value(),
            s.max_body_bytes,
            ready=lambda: self.running,
            inbox=self.inbox,
            now=self.desk.clock.now,
            stored=self.pump.nudge,
        )
        return [Route(WEBHOOK_PATH, endpoint.handle, methods=["POST"])]

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only the update id: an update carries what a patient wrote.
        uid = update.update_id if isinstance(update, Update) else "-"
        log.error("error handling Telegram update %s", uid, exc_info=context.error)

    # --- for nurses and the CLI ------------------------------------------------------------

    async def new_link(self, patient_id: str, *, actor: str = SYSTEM) -> str:
        """A new one-time deep link for a Telegram patient; their older unused link dies.
        ``actor`` (who asked for it) goes in the audit trail."""
        patient = await self.desk.courses.get(patient_id)
        if patient.channel is not ChannelKind.TELEGRAM:
            raise v.InvalidInput(f"patient {patient_id} gets SMS, not Telegram: no link needed")
        username = await self.username()
        code = await self.links.issue(patient.id, self.desk.clock.now(), actor=actor)
        return deep_link(username, code)

    async def username(self) -> str:
        if not self.sender.ready:
            await self._connect(inbound=False)
        return self.app.bot.username

    async def notify_nurses(self, text: str) -> int:
        if not self.sender.ready:
            return 0
        reached = 0
        for chat_id in await self.roster.chat_ids():
            try:
                await self.app.bot.send_message(chat_id, text)
                reached += 1
            except TelegramError as exc:
                # A nurse who never opened a chat with the bot cannot be messaged (403).
                log.warning("could not reach nurse %s on Telegram: %s", chat_id, exc.message)
        return reached

    async def _gave_up(self, failed: list[tuple[int, int | None]]) -> None:
        """Tell the nurses of each update the inbox gave up on (MAX_ATTEMPTS): whoever wrote
        it got no answer."""
        for update_id, chat_id in failed:
            async with self.desk.conversation.turns():
                patient = await self.desk.courses.find(chat_id=chat_id) if chat_id else None
            who = f"patient {patient.id}" if patient else f"Telegram chat {chat_id or '-'}"
            await self.desk.alerts.alert(
                "inbound_failed",
                f"a Telegram message from {who} could not be handled after {MAX_ATTEMPTS} "
                f"attempts (update {update_id}), so it was not answered; please check on them",
                patient.id if patient else None,
            )

    async def _unreachable(self, patient_id: str, blocked: bool) -> None:
        """Tell the nurses (once a day per patient) that Telegram refused a patient's chat."""
        now = self.desk.clock.now()
        last = self._reported.get(patient_id)
        if last is not None and now - last < timedelta(hours=24):
            return
        self._reported[patient_id] = now
        if blocked:
            # Like STOP: no more reminders; unblocking and sending /start turns them back on.
            await self.desk.care.opt_out(patient_id, now, "blocked the Telegram bot", actor=SYSTEM)
            text = (
                f"patient {patient_id} has blocked the Telegram bot: their reminders are "
                "stopped (opted out) until they unblock it and send /start"
            )
        else:
            text = (
                f"Telegram cannot find the chat of patient {patient_id}: reminders are not "
                f"reaching them; give them a new link (lenabot link {patient_id})"
            )
        await self.desk.alerts.alert("unreachable", text, patient_id)
