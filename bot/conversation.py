"""Channel-agnostic conversation: inbound text -> intent -> reply and side effects.

SMS, Telegram and `lenabot say` all come through `Conversation.handle`, so a patient gets the
same answer whichever way they write. Medical answers come only from the leaflet topics; what
is not understood gets the help line, never a guess.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.alerts import NurseAlerts
from bot.conversation_next import next_text
from messages.intent import Intent, classify
from messages.leaflet import topic_by_id
from messages.render import Profile, fmt_date, fmt_time, render, render_reply, reply_fragment
from scheduler.adherence import previous_dose_day
from scheduler.care import CareTeam
from scheduler.guidance import MISSED, Advice, Decision, on_later, on_missed, on_taken
from scheduler.materialise import profile_of
from scheduler.model import Course, Kind, Patient, PlanSettings, Reminder
from scheduler.outbox import Planned, SqlAlchemyOutbox
from scheduler.ports import Clock
from scheduler.regimen import locate
from scheduler.repository import SqlAlchemyCourseRepository

log = logging.getLogger(__name__)

MENU_LIFETIME = timedelta(hours=1)
BAD_DAYS = (MISSED, "unconfirmed")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as the database can hold it: NUL dropped (PostgreSQL text cannot hold it),
    lone surrogates (only a JSON escape can make them) replaced by U+FFFD. Else unchanged."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


@dataclass(frozen=True)
class Reply:
    """What to answer (empty: answer nothing)."""

    text: str
    intent: str
    extras: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Conversation:
    courses: SqlAlchemyCourseRepository
    care: CareTeam
    clock: Clock
    plan_settings: PlanSettings
    alerts: NurseAlerts
    outbox: SqlAlchemyOutbox
    team_phone: str = ""

    async def handle(self, patient: Patient, text: str, channel: str = "console") -> Reply:
        """Answer ``text`` from ``patient``; records the text exactly as received (but see
        ``storable``: no NUL, no lone surrogates)."""
        text = storable(text)
        intent = classify(text)
        profile = profile_of(patient)
        now = self.clock.now()
        inbound = await self.courses.record_inbound(patient.id, channel, text, intent.kind, now)
        log.info("inbound from %s classified as %s", patient.id, intent.kind)
        if intent.kind == "red_flag":
            # Even an opted-out patient's red flag reaches the nurses.
            reply = await self._red_flag(patient, profile, intent, text)
            return reply if patient.opted_out_at is None else Reply("", "red_flag")
        if intent.kind == "stop":
            await self.care.opt_out(patient.id, now)
            await self.alerts.alert(
                "opt_out", f"patient {patient.id} opted out (texted a STOP word)", patient.id
            )
            return Reply(render_reply("stopped", profile), "stop")
        if patient.opted_out_at is not None:
            # Carriers and Twilio also take a bare YES as opting back in.
            if intent.kind == "start" or text.strip().strip(".!").upper() == "YES":
                await self.care.opt_in(patient.id)
                return Reply(render_reply("started", profile), "start")
            return Reply("", intent.kind)  # opted out: carriers expect silence
        if intent.kind == "start":
            return Reply(render_reply("started", profile), "start")
        if intent.kind == "topic" and intent.topics:
            return await self._topics(profile, list(intent.topics), inbound)
        if intent.kind == "menu_choice" and intent.choice is not None:
            offered = await self.courses.last_menu(patient.id, now - MENU_LIFETIME)
            if 1 <= intent.choice <= len(offered):
                return await self._topics(profile, [offered[intent.choice - 1]], inbound)
        _, course = await self.courses.load_one(patient.id)
        if intent.kind in ("taken", "missed"):
            return await self._dose(patient, course, profile, intent.kind, now)
        if intent.kind == "later":
            return await self._later(patient, course, profile, now)
        if intent.kind == "next":
            return Reply(next_text(course, profile, self.plan_settings, now), "next")
        key = "help" if intent.kind == "help" else "unknown"
        return Reply(render_reply(key, profile, team=self._team(profile)), key)

    async def summary(self, patient: Patient) -> str:
        """What NEXT answers, without recording an inbound text (e.g. for a welcome)."""
        _, course = await self.courses.load_one(patient.id)
        return next_text(course, profile_of(patient), self.plan_settings, self.clock.now())

    async def _topics(self, profile: Profile, topics: list[str], inbound: int) -> Reply:
        """One topic: its answer. Close ties: a numbered menu, remembered for the reply."""
        if len(topics) == 1:
            answer = topic_by_id(topics[0]).answer
            return Reply(
                render_reply("topic", profile, answer=answer), "topic", extras={"topics": topics}
            )
        options = ", ".join(f"{i} {topic_by_id(t).title}" for i, t in enumerate(topics, 1))
        await self.courses.set_inbound_intent(inbound, "menu:" + ",".join(topics))
        return Reply(
            render_reply("menu", profile, options=options), "menu", extras={"topics": topics}
        )

    async def _red_flag(
        self, patient: Patient, profile: Profile, intent: Intent, text: str
    ) -> Reply:
        """Urgent instruction first, then tell every nurse who and what, word for word."""
        topic = topic_by_id(intent.topics[0]) if intent.topics else None
        answer = topic.answer if topic else ""
        reply = render_reply("urgent", profile, team=self._team(profile), answer=answer)
        temp = f" (temperature {intent.temperature_c:.1f}C)" if intent.temperature_c else ""
        await self.alerts.alert(
            "red_flag",
            f"red flag from patient {patient.id}: {topic.title if topic else 'urgent'}{temp}. "
            f'They wrote: "{text.strip()[:300]}"',
            patient.id,
        )
        return Reply(reply, "red_flag", extras={"topics": intent.topics})

    def _team(self, profile: Profile) -> str:
        if not self.team_phone:
            return ""
        return reply_fragment("team", profile, team_phone=self.team_phone)

    async def _dose(
        self, patient: Patient, course: Course, profile: Profile, kind: str, now: datetime
    ) -> Reply:
        records = await self.courses.dose_records(patient.id, now.date() - timedelta(days=40))
        decision = (on_taken if kind == "taken" else on_missed)(course, records, now)
        if decision.record and decision.dose_date:
            await self.courses.record_dose(patient.id, decision.dose_date, decision.record, now)
            if kind == "taken":
                await self.outbox.cancel_kind(patient.id, Kind.LATER.value, now)
            await self.care.replan(patient.id)  # a pending follow-up is no longer needed
            if decision.record == MISSED:
                await self._two_missed(
                    patient, course, {**records, decision.dose_date: MISSED}, decision.dose_date
                )
        return Reply(
            self._say(decision, course, profile), kind, extras={"advice": decision.advice.value}
        )

    async def _two_missed(
        self, patient: Patient, course: Course, records: dict[date, str], day: date
    ) -> None:
        prev = previous_dose_day(course, day)
        if prev is not None and records.get(prev) in BAD_DAYS:
            await self.alerts.alert(
                "two_missed",
                f"patient {patient.id} has missed or not confirmed two dose days "
                f"in a row ({prev} and {day})",
                patient.id,
            )

    async def _later(
        self, patient: Patient, course: Course, profile: Profile, now: datetime
    ) -> Reply:
        records = await self.courses.dose_records(patient.id, now.date() - timedelta(days=3))
        d = on_later(course, records, now)
        if d.advice is Advice.SNOOZED and d.dose_date is not None:
            where = locate(course, d.dose_date)
            at: datetime = d.facts["at"]
            reminder = Reminder(
                kind=Kind.LATER,
                local_date=d.dose_date,
                due_at=at,
                expires_at=d.facts["until"],
                local_time=d.facts["until"].time(),
                cycle=where[0] if where else None,
                day=where[1] if where else None,
                facts={"date": d.dose_date, "of": course.regimen.last_dose_day},
            )
            n = await self.outbox.count_keys(patient.id, f"later:{d.dose_date}") + 1
            await self.outbox.add_extra(
                patient.id,
                Planned(reminder, render(reminder, profile)),
                f"later:{d.dose_date}:{n}",
                now,
            )
        return Reply(self._say(d, course, profile), "later", extras={"advice": d.advice.value})

    def _say(self, d: Decision, course: Course, profile: Profile) -> str:
        f = d.facts
        nxt = f.get("next_date")
        values: dict[str, object] = {
            "dose_date": fmt_date(d.dose_date) if d.dose_date else "",
            "dose_time": fmt_time(course.dose_time),
            "next": f"{fmt_date(nxt)} at {fmt_time(course.dose_time)}"
            if nxt
            else reply_fragment("none", profile),
        }
        if "until" in f:
            until = f["until"]
            values["until"] = fmt_time(until.time()) + (
                f" on {fmt_date(until.date())}" if until.date() != d.dose_date else ""
            )
        if "at" in f:
            values["at"] = fmt_time(f["at"].astimezone(f["until"].tzinfo).time())
        if d.advice is Advice.COURSE_ENDED:
            values["end"] = fmt_date(f["end"])
        if d.advice is Advice.NO_DOSE_TODAY and nxt is None:
            return render_reply("no_next", profile)
        return render_reply(d.advice.value, profile, **values)
