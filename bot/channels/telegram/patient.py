"""The patient's side of the bot: linking by deep link, commands, and plain text.

Plain text from a linked chat goes to the same Conversation as SMS, so the answer is the same
whichever way a patient writes. A chat that is neither linked nor a nurse's gets one generic
line and never any patient data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.channels.telegram import journal
from bot.channels.telegram.roster import NurseRoster
from bot.conversation.conversation import Lookup, MessageFailed, Reply
from bot.conversation.linking import LinkCodes, Outcome
from messages.render import fmt_time, short_name
from scheduler.domain.model import Course, Patient, Regimen

if TYPE_CHECKING:
    from bot.channels.desk import Desk

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

GENERIC = (
    "Hello. This is a private reminder service for patients of a treatment team. "
    "If your team gave you a link, open it to connect this chat."
)
OPTED_OUT = "Your reminders are off. Send /start to turn them back on."
NOT_TEXT = "Sorry, I can only read text. Please write in words, or call your treatment team."
REFUSED = {
    Outcome.WRONG: "That link code is not valid, so nothing was linked. Please open the link "
    "your treatment team gave you, or ask them for a new one.",
    Outcome.USED: "That link has already been used, so nothing was linked. Please ask your "
    "treatment team for a new link.",
    Outcome.EXPIRED: "That link has expired (links last 7 days), so nothing was linked. Please "
    "ask your treatment team for a new link.",
    Outcome.THROTTLED: "Too many wrong link codes were sent from this chat. Please try again "
    "in an hour, or ask your treatment team for help.",
    Outcome.CHAT_TAKEN: "This chat already receives someone else's reminders, so nothing was "
    "linked. Please ask your treatment team.",
    Outcome.ALREADY_LINKED: "This chat is already linked to your reminders. Send /next to see "
    "what is coming, or /help.",
}


def describe(regimen: Regimen) -> str:
    """The regimen in words a patient reads, e.g. 'days 1-21 of each 28-day cycle'."""
    text = str(regimen)
    if text == "continuous" or regimen.is_continuous:
        return "every day"
    days = (
        text.removeprefix("days=").split("/")[0]
        if text.startswith("days=")
        else f"1-{len(regimen.dose_days)}"
    )
    return f"days {days} of each {regimen.cycle_length}-day cycle"


def welcome(patient: Patient, course: Course, summary: str) -> str:
    what = "your capsules" if patient.discreet else "your lenalidomide"
    return (
        f"Hello {short_name(patient.name)}, this chat is now linked: your treatment team's "
        f"reminders for {what} come here. Dose time: {fmt_time(course.dose_time)} "
        f"({patient.tz}), on {describe(course.regimen)}.\n\n{summary}\n\n"
        "Under each dose reminder, tap Taken or Missed. Send /next for what is coming, "
        "/help for help, /stop to stop messages."
    )


class PatientSide:
    def __init__(
        self,
        desk: Desk,
        links: LinkCodes,
        roster: NurseRoster,
        nurse_help: Callable[[], str],
    ) -> None:
        self.desk = desk
        self.links = links
        self.roster = roster
        self.nurse_help = nurse_help

    def handlers(self) -> list[BaseHandler[Update, Context, object]]:
        return [
            CommandHandler("start", self.start, filters=PRIVATE),
            CommandHandler("next", self._command("NEXT"), filters=PRIVATE),
            CommandHandler("help", self.help, filters=PRIVATE),
            CommandHandler("stop", self._command("STOP"), filters=PRIVATE),
            MessageHandler(PRIVATE & filters.TEXT, self.text),  # "/taken" counts as "taken"
            MessageHandler(PRIVATE & ~filters.TEXT, self.not_text),
        ]

    async def start(self, update: Update, context: Context) -> None:
        chat_id = _chat(update)
        if context.args:
            await self._link(context, chat_id, context.args[0])
            return
        patient = await self._find(chat_id)
        if patient is not None:
            # Opted out: /start turns reminders back on; otherwise it is a request for help.
            await self._converse(context, patient, "START" if patient.opted_out_at else "HELP")
        else:
            await self._say(context, chat_id, await self._stranger(update))

    async def help(self, update: Update, context: Context) -> None:
        await self._with_patient(update, context, "HELP")

    def _command(self, word: str) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        async def handle(update: Update, context: Context) -> None:
            await self._with_patient(update, context, word)

        return handle

    async def text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        text = (message.text or "") if message else ""
        await self._with_patient(update, context, text.removeprefix("/"))

    async def not_text(self, update: Update, context: Context) -> None:
        patient = await self._find(_chat(update))
        await self._say(
            context,
            _chat(update),
            NOT_TEXT if patient is not None else await self._stranger(update),
        )

    async def _find(self, chat_id: int) -> Patient | None:
        # In a database turn (see bot.conversation.conversation.Turns); the reply is sent outside it.
        async with self.desk.conversation.turns():
            return await self.desk.courses.find(chat_id=chat_id)

    async def _with_patient(self, update: Update, context: Context, text: str) -> None:
        chat_id = _chat(update)

        async def chat_patient() -> Patient | None:
            return await self.desk.courses.find(chat_id=chat_id)

        # The lookup is part of the message's one transaction (Conversation.handle_from).
        found = await self._handle(chat_patient, text)
        if found is None:
            await self._say(context, chat_id, await self._stranger(update))
        else:
            await self._answer(context, *found)

    async def _converse(self, context: Context, patient: Patient, text: str) -> None:
        async def given() -> Patient:
            return patient

        found = await self._handle(given, text)
        assert found is not None
        await self._answer(context, *found)

    async def _handle(self, lookup: Lookup, text: str) -> tuple[Patient, Reply] | None:
        """The conversation's answer, done once per update (see journal.py)."""
        try:
            return await self.desk.conversation.handle_from(
                lookup, text, "telegram", steps=journal.current()
            )
        except MessageFailed as failed:  # logged, and the nurses told, by the conversation
            return failed.patient, failed.reply

    async def _answer(self, context: Context, patient: Patient, reply: Reply) -> None:
        assert patient.telegram_chat_id is not None
        answer = reply.text
        if not answer and patient.opted_out_at is not None and reply.intent != "stop":
            answer = OPTED_OUT  # a chat is not a carrier: silence would only puzzle them
        if answer:
            await self._say(context, patient.telegram_chat_id, answer)

    async def _stranger(self, update: Update) -> str:
        user = update.effective_user
        if user is not None and await self.roster.is_nurse(user.id):
            return self.nurse_help()
        log.info("message from an unlinked Telegram chat")
        return GENERIC

    async def _link(self, context: Context, chat_id: int, code: str) -> None:
        now = self.desk.clock.now()
        async with self.desk.conversation.turns():
            result = await self.links.redeem(code, chat_id, now)
        if not result.linked:
            log.warning("link code refused for Telegram chat %s: %s", chat_id, result.outcome)
            await self._say(context, chat_id, REFUSED[result.outcome])
            return
        assert result.patient_id is not None
        log.info("Telegram chat linked to patient %s", result.patient_id)
        async with self.desk.conversation.turns():
            await self.desk.care.replan(result.patient_id)
            patient, course = await self.desk.courses.load_one(result.patient_id)
        summary = await self.desk.conversation.summary(patient)
        await self._say(context, chat_id, welcome(patient, course, summary))

    @staticmethod
    async def _say(context: Context, chat_id: int, text: str) -> None:
        # No keyboard change: a question typed under a dose reminder keeps its Taken / Missed.
        # Once per update, even if it is handled again after a crash (journal.py).
        await journal.say(context.bot, chat_id, text)


def _chat(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None  # every handler here filters on a private chat
    return chat.id
