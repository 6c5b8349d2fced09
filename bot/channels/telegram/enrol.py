"""/enrol on Telegram: a conversation that asks each enrolment field in turn.

Every answer goes through the same validators as ``lenabot enrol`` (``bot/conversation/validate.py``); a bad
one is answered with the error sentence and the question is asked again. A summary is confirmed
before anything is written. The state is per nurse (PTB keys it by chat and user), and an
enrolment left alone for an hour is forgotten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.channels.telegram.nurse import Callback, LinkMaker, NurseGuard, actor_of
from bot.conversation import validate as v
from scheduler.domain.guidance import first_reminder
from scheduler.domain.model import ChannelKind, RuleSet
from scheduler.services.care import CareError, Enrolment

if TYPE_CHECKING:
    from bot.channels.desk import Desk

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
TIMEOUT = timedelta(hours=1)
_YES, _NO = frozenset({"yes", "y"}), frozenset({"no", "n"})


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    choices: tuple[str, ...] = ()


QUESTIONS = (
    Question("name", "Patient's name or initials?"),
    Question(
        "channel",
        "Their mobile number for SMS (E.164, e.g. +447700900123), or "
        "'telegram' for a Telegram patient?",
        ("telegram",),
    ),
    Question("start", "Course start date, cycle 1 day 1 (YYYY-MM-DD)?"),
    Question("dose_time", "Daily dose time, in the patient's local time (HH:MM)?"),
    Question("tz", "The patient's timezone (e.g. Europe/London)?", ("Europe/London",)),
    Question(
        "regimen",
        "Regimen? 21/28, continuous, days=1-21/28 or days=1,3,5,...,27/28",
        ("21/28", "continuous"),
    ),
    Question("pregnant", "Can the patient become pregnant? (yes/no)", ("yes", "no")),
    Question(
        "partner",
        "Is the patient a man with a partner who could become pregnant? (yes/no)",
        ("yes", "no"),
    ),
    Question("rules", "Pregnancy prevention rules: uk or us-rems?", ("uk", "us-rems")),
    Question(
        "discreet", "Discreet wording, naming neither drug nor illness? (yes/no)", ("yes", "no")
    ),
    Question("confirm", "Enrol this patient? (yes/no)", ("yes", "no")),
)


def yes_no(text: str, what: str) -> bool:
    word = text.strip().lower()
    if word in _YES | _NO:
        return word in _YES
    raise v.InvalidInput(f"{what}: answer yes or no")


def _keyboard(q: Question) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    if not q.choices:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup([list(q.choices)], resize_keyboard=True, one_time_keyboard=True)


class Enrolling:
    def __init__(self, desk: Desk, guard: NurseGuard, link_for: LinkMaker) -> None:
        self.desk = desk
        self.guard = guard
        self.link_for = link_for

    def handler(self) -> BaseHandler[Update, Context, object]:
        text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
        return ConversationHandler(
            entry_points=[
                CommandHandler("enrol", self.guard(self.begin), filters=filters.ChatType.PRIVATE)
            ],
            states={i: [MessageHandler(text, self._answer(i))] for i in range(len(QUESTIONS))},
            fallbacks=[CommandHandler("cancel", self.cancel)],
            per_chat=True,
            per_user=True,
            allow_reentry=True,
            name="enrol",
        )

    async def begin(self, update: Update, context: Context) -> int:
        _data(context)["enrol"] = {"at": self.desk.clock.now()}
        await self._ask(update, context, 0)
        return 0

    async def cancel(self, update: Update, context: Context) -> int:
        _data(context).pop("enrol", None)
        await _say(
            update, context, "Enrolment cancelled: nothing was saved.", ReplyKeyboardRemove()
        )
        return ConversationHandler.END

    def _answer(self, i: int) -> Callback:
        async def answer(update: Update, context: Context) -> int:
            draft: dict[str, Any] | None = _data(context).get("enrol")
            if draft is None or self.desk.clock.now() - draft["at"] > TIMEOUT:
                _data(context).pop("enrol", None)
                await _say(
                    update,
                    context,
                    "That enrolment timed out: start again with /enrol.",
                    ReplyKeyboardRemove(),
                )
                return ConversationHandler.END
            message = update.effective_message
            assert message is not None and message.text is not None
            q = QUESTIONS[i]
            try:
                draft[q.key] = await self._parse(q.key, message.text)
            except v.InvalidInput as exc:
                await _say(update, context, f"{str(exc).rstrip('.')}.\n{q.text}", _keyboard(q))
                return i
            if q.key == "confirm":
                return await self._finish(update, context, draft)
            if QUESTIONS[i + 1].key == "confirm":
                await _say(update, context, self._summary(draft))
            await self._ask(update, context, i + 1)
            return i + 1

        return answer

    async def _parse(self, key: str, text: str) -> Any:
        today = self.desk.clock.now().date()
        match key:
            case "name":
                return v.parse_name(text)
            case "channel":
                if text.strip().lower() == "telegram":
                    return None
                phone = v.parse_phone(text)
                if await self.desk.courses.phone_taken(phone):
                    raise v.InvalidInput(f"phone {phone} is already enrolled: see /patients")
                return phone
            case "start":
                return v.check_start(v.parse_date(text, "start date"), today)
            case "dose_time":
                return v.parse_hhmm(text)
            case "tz":
                return v.parse_tz(text)
            case "regimen":
                return v.parse_regimen(text)
            case "rules":
                word = text.strip().lower()
                if word not in {r.value for r in RuleSet}:
                    raise v.InvalidInput(f"rules {text!r} are not known: answer uk or us-rems")
                return RuleSet(word)
            case _:
                return yes_no(
                    text,
                    {
                        "pregnant": "can become pregnant",
                        "partner": "partner could become pregnant",
                        "discreet": "discreet wording",
                        "confirm": "enrol",
                    }[key],
                )

    @staticmethod
    def _summary(d: dict[str, Any]) -> str:
        def yn(flag: bool) -> str:
            return "yes" if flag else "no"

        channel = f"SMS {d['channel']}" if d["channel"] else "Telegram (one-time link)"
        return (
            f"Name: {d['name']}\nChannel: {channel}\nStart: {d['start']}\n"
            f"Dose time: {d['dose_time']:%H:%M} {d['tz']}\nRegimen: {d['regimen']}\n"
            f"Can become pregnant: {yn(d['pregnant'])}\n"
            f"Partner could become pregnant: {yn(d['partner'])}\n"
            f"Rules: {d['rules'].value}\nDiscreet: {yn(d['discreet'])}"
        )

    async def _finish(self, update: Update, context: Context, d: dict[str, Any]) -> int:
        _data(context).pop("enrol", None)
        user = update.effective_user
        if not d["confirm"]:
            await _say(update, context, "Not enrolled: nothing was saved.", ReplyKeyboardRemove())
            return ConversationHandler.END
        if not await self.guard.roster.is_nurse(user.id if user else None):
            await _say(
                update,
                context,
                "You are no longer on the nurse list: nothing was saved.",
                ReplyKeyboardRemove(),
            )
            return ConversationHandler.END
        e = Enrolment(
            name=d["name"],
            tz=d["tz"],
            start=d["start"],
            dose_time=d["dose_time"],
            regimen=d["regimen"],
            phone=d["channel"],
            rules=d["rules"],
            channel=ChannelKind.SMS if d["channel"] else ChannelKind.TELEGRAM,
            can_become_pregnant=d["pregnant"],
            partner_can_become_pregnant=d["partner"],
            discreet=d["discreet"],
        )
        try:
            patient = await self.desk.care.enrol(e, actor=actor_of(update))
        except CareError as exc:
            await _say(update, context, f"Not enrolled: {exc}", ReplyKeyboardRemove())
            return ConversationHandler.END
        log.info("Telegram user %s enrolled patient %s", user.id if user else "?", patient.id)
        _, course = await self.desk.courses.load_one(patient.id)
        found = first_reminder(course, self.desk.clock.now())
        first = f"next dose {found[0]} at {found[1]:%H:%M}" if found else "no dose days ahead"
        done = f"Enrolled {patient.name} as {patient.id} ({patient.channel.value}), {first}."
        if patient.channel is ChannelKind.TELEGRAM:
            done += (
                "\nSend the patient this one-time link (valid 7 days, single use). "
                "Whoever opens it gets the reminders, so give it to the patient only:\n"
                + await self.link_for(patient.id, actor=actor_of(update))
            )
        else:
            done += " Reminders go by SMS."
        await _say(update, context, done, ReplyKeyboardRemove())
        return ConversationHandler.END

    async def _ask(self, update: Update, context: Context, i: int) -> None:
        await _say(update, context, QUESTIONS[i].text, _keyboard(QUESTIONS[i]))


def _data(context: Context) -> dict[str, Any]:
    assert context.user_data is not None  # per-user conversation: there is always a user
    return context.user_data


async def _say(
    update: Update,
    context: Context,
    text: str,
    markup: ReplyKeyboardMarkup | ReplyKeyboardRemove | None = None,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, reply_markup=markup)
