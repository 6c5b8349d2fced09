"""The nurses' side of the bot: the allow-list guard and the one-line course commands.

Only Telegram users on the allow-list (the ``nurses`` table, plus NURSE_TELEGRAM_IDS) get past
``guard``; anyone else gets a refusal, and the attempt is logged with their user id only.
Mistakes are answered with the same one-sentence messages as the CLI (``bot/conversation/validate.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, ConversationHandler, filters

from bot.channels.telegram.roster import NurseRoster
from bot.conversation import validate as v
from messages.render import profile_of, render
from scheduler.domain.model import ChannelKind, Patient
from scheduler.domain.plan import plan
from scheduler.services.care import CareError, course_state
from scheduler.store.repository import UnknownPatientError

if TYPE_CHECKING:
    from bot.channels.desk import Desk

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Coroutine[Any, Any, Any]]


class LinkMaker(Protocol):
    """``TelegramGateway.new_link``: a one-time link for a patient, asked for by ``actor``."""

    def __call__(self, patient_id: str, *, actor: str) -> Awaitable[str]: ...


MAX_CHARS = 4000  # Telegram takes 4096 per message
_DATE_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")

REFUSAL = "Sorry, that command is only for the treatment team."
NURSE_HELP = """Nurse commands:
/enrol - enrol a patient, one question at a time
/patients - everyone on the service
/preview PATIENT [DAYS] - the planned messages (default 7 days)
/pause PATIENT [YYYY-MM-DD] [reason] - hold dosing (default today)
/resume PATIENT [YYYY-MM-DD] - restart dosing (default today)
/end PATIENT YYYY-MM-DD - the last dose day
/link PATIENT - a new one-time link for a Telegram patient
/cancel - stop an enrolment"""


class UsageError(ValueError):
    pass


def actor_of(update: Update) -> str:
    """The audit trail's name for the Telegram user who sent ``update``."""
    user = update.effective_user
    assert user is not None  # the guard let them in: there is a user
    return f"telegram:{user.id}"


def chunks(lines: list[str], limit: int = MAX_CHARS) -> list[str]:
    """Lines packed into as few messages as fit Telegram's size limit."""
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) + 1 + len(line) <= limit:
            out[-1] += "\n" + line
        else:
            out.append(line[:limit])
    return out


class NurseGuard:
    def __init__(self, roster: NurseRoster) -> None:
        self.roster = roster

    def __call__(self, fn: Callback) -> Callback:
        async def guarded(update: Update, context: Context) -> Any:
            user = update.effective_user
            if not await self.roster.is_nurse(user.id if user else None):
                message = update.effective_message
                command = (message.text or "").split(maxsplit=1)[0][:40] if message else ""
                log.warning(
                    "refused nurse command %s from Telegram user %s",
                    command,
                    user.id if user else "unknown",
                )
                if update.effective_chat is not None:
                    await context.bot.send_message(update.effective_chat.id, REFUSAL)
                return ConversationHandler.END
            return await fn(update, context)

        return guarded


class NurseCommands:
    def __init__(self, desk: Desk, guard: NurseGuard, link_for: LinkMaker) -> None:
        self.desk = desk
        self.guard = guard
        self.link_for = link_for

    def handlers(self) -> list[BaseHandler[Update, Context, object]]:
        # Private chats only: a nurse's /patients in a group would show patients to everyone.
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        commands = {
            "patients": self.patients,
            "preview": self.preview,
            "pause": self.pause,
            "resume": self.resume,
            "end": self.end,
            "link": self.link,
            "cancel": self.cancel,
        }
        return [
            CommandHandler(name, self.guard(self._run(fn)), filters=private)
            for name, fn in commands.items()
        ]

    def _run(self, fn: Callable[[list[str], str], Awaitable[list[str]]]) -> Callback:
        """Call ``fn(args, actor)`` and send its lines, or the one sentence saying what was
        wrong; ``actor`` (``telegram:<user id>``) is who the audit trail says acted."""

        async def run(update: Update, context: Context) -> None:
            chat = update.effective_chat
            assert chat is not None
            try:
                lines = await fn(list(context.args or []), actor_of(update))
            except UnknownPatientError as exc:
                lines = [f"unknown patient {exc.patient_id!r}: see /patients"]
            except (UsageError, v.InvalidInput, CareError) as exc:
                lines = [str(exc)]
            for text in chunks(lines):
                await context.bot.send_message(chat.id, text)

        return run

    def _today(self, patient: Patient) -> date:
        return self.desk.care.today(patient)

    async def patients(self, args: list[str], actor: str) -> list[str]:
        courses = self.desk.courses
        everyone = await courses.all_patients()
        if not everyone:
            return ["No patients yet: enrol one with /enrol."]
        loaded = await courses.load([p.id for p in everyone])
        lines = []
        for p in everyone:
            _, c = loaded[p.id]
            where = p.channel.value
            if p.channel is ChannelKind.TELEGRAM:
                where += " (linked)" if p.telegram_chat_id else " (not linked yet)"
            lines.append(
                f"{p.id}  {p.name}  {where}  {c.regimen} from {c.start}, "
                f"{c.dose_time:%H:%M} {p.tz}  {course_state(p, c, self._today(p))}"
            )
        return lines

    async def preview(self, args: list[str], actor: str) -> list[str]:
        if not args:
            raise UsageError("usage: /preview PATIENT [DAYS]")
        days = v.parse_days(args[1], "days", 1, 35) if len(args) > 1 else 7
        patient, course = await self.desk.courses.load_one(args[0])
        first = self._today(patient)
        last = first + timedelta(days=days - 1)
        profile = profile_of(patient)
        items = plan(course, self.desk.plan, first, last)
        if not items:
            return [f"Nothing planned for {patient.id} from {first} to {last}."]
        return [
            f"{r.local_date} {r.local_time:%H:%M} {r.kind.value}: {render(r, profile)}"
            for r in items
        ]

    async def pause(self, args: list[str], actor: str) -> list[str]:
        if not args:
            raise UsageError("usage: /pause PATIENT [YYYY-MM-DD] [reason]")
        patient = await self.desk.courses.get(args[0])
        rest, start = args[1:], self._today(patient)
        if rest and _DATE_LIKE.fullmatch(rest[0]):
            start = v.check_near(v.parse_date(rest[0], "pause date"), start, "pause date")
            rest = rest[1:]
        await self.desk.care.pause(patient.id, start, " ".join(rest), actor=actor)
        log.info("nurse paused patient %s from %s", patient.id, start)
        return [f"Paused {patient.id} from {start}: no dose reminders until /resume."]

    async def resume(self, args: list[str], actor: str) -> list[str]:
        if not args or len(args) > 2:
            raise UsageError("usage: /resume PATIENT [YYYY-MM-DD]")
        patient = await self.desk.courses.get(args[0])
        on = self._today(patient)
        if len(args) == 2:
            on = v.check_near(v.parse_date(args[1], "resume date"), on, "resume date")
        await self.desk.care.resume(patient.id, on, actor=actor)
        log.info("nurse resumed patient %s on %s", patient.id, on)
        return [f"Resumed {patient.id}: capsules restart on {on}."]

    async def end(self, args: list[str], actor: str) -> list[str]:
        if len(args) != 2:
            raise UsageError("usage: /end PATIENT YYYY-MM-DD (the last dose day)")
        patient = await self.desk.courses.get(args[0])
        on = v.check_near(v.parse_date(args[1], "end date"), self._today(patient), "end date")
        await self.desk.care.end(patient.id, on, actor=actor)
        log.info("nurse ended the course of patient %s on %s", patient.id, on)
        return [f"The course of {patient.id} ends after {on}; after-treatment messages follow."]

    async def link(self, args: list[str], actor: str) -> list[str]:
        if len(args) != 1:
            raise UsageError("usage: /link PATIENT")
        url = await self.link_for(args[0], actor=actor)
        return [
            f"New one-time link for {args[0]} (valid 7 days; the old one no longer "
            f"works). Give it to the patient only:",
            url,
        ]

    async def cancel(self, args: list[str], actor: str) -> list[str]:
        return ["Nothing to cancel."]
