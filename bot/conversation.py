"""Channel-agnostic conversation: inbound text -> intent -> reply and side effects.

SMS, Telegram and `lenabot say` all come through `Conversation.handle`, so a patient gets the
same answer whichever way they write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.alerts import NurseAlerts
from messages.intent import Intent, classify
from messages.leaflet import topic_by_id
from messages.render import Profile, fmt_date, fmt_time, render_reply, reply_fragment
from scheduler.care import CareTeam
from scheduler.guidance import Advice, Decision, on_missed, on_taken
from scheduler.localtime import zone
from scheduler.materialise import profile_of
from scheduler.model import Course, Kind, Patient, PlanSettings
from scheduler.plan import plan
from scheduler.ports import Clock
from scheduler.regimen import locate, on_regimen
from scheduler.repository import SqlAlchemyCourseRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What to answer (empty: answer nothing) and, if any, what to tell the nurses."""

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
    team_phone: str = ""

    async def handle(self, patient: Patient, text: str, channel: str = "console") -> Reply:
        """Answer ``text`` from ``patient``; records the text exactly as received."""
        intent = classify(text)
        profile = profile_of(patient)
        now = self.clock.now()
        await self.courses.record_inbound(patient.id, channel, text, intent.kind, now)
        log.info("inbound from %s classified as %s", patient.id, intent.kind)
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
        if intent.kind == "red_flag":
            return await self._red_flag(patient, profile, intent, text)
        if intent.kind == "topic" and intent.topics:
            answer = topic_by_id(intent.topics[0]).answer
            return Reply(render_reply("topic", profile, answer=answer), "topic",
                         extras={"topics": intent.topics})
        _, course = await self.courses.load_one(patient.id)
        if intent.kind in ("taken", "missed"):
            return await self._dose(patient, course, profile, intent, now)
        if intent.kind == "next":
            return Reply(self._next(course, profile, now), "next")
        key = "help" if intent.kind == "help" else "unknown"
        return Reply(render_reply(key, profile, team=self._team(profile)), key)

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

    async def summary(self, patient: Patient) -> str:
        """What NEXT answers, without recording an inbound text (e.g. for a welcome)."""
        _, course = await self.courses.load_one(patient.id)
        return self._next(course, profile_of(patient), self.clock.now())

    def _team(self, profile: Profile) -> str:
        return (
            reply_fragment("team", profile, team_phone=self.team_phone) if self.team_phone else ""
        )

    async def _dose(
        self, patient: Patient, course: Course, profile: Profile, intent: Intent, now: datetime
    ) -> Reply:
        records = await self.courses.dose_records(patient.id, now.date() - timedelta(days=3))
        decide = on_taken if intent.kind == "taken" else on_missed
        decision = decide(course, records, now)
        if decision.record and decision.dose_date:
            await self.courses.record_dose(patient.id, decision.dose_date, decision.record, now)
        return Reply(
            self._say(decision, course, profile),
            intent.kind,
            extras={"advice": decision.advice.value},
        )

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
        if d.advice is Advice.TAKE_NOW:
            until = f["until"]
            values["until"] = f"{fmt_time(until.time())}" + (
                f" on {fmt_date(until.date())}" if until.date() != d.dose_date else ""
            )
        if d.advice is Advice.COURSE_ENDED:
            values["end"] = fmt_date(f["end"])
        if d.advice is Advice.NO_DOSE_TODAY and nxt is None:
            return render_reply("no_next", profile)
        return render_reply(d.advice.value, profile, **values)

    def _next(self, course: Course, profile: Profile, now: datetime) -> str:
        tz = zone(course.tz)
        today = now.astimezone(tz).date()
        ahead = [
            r
            for r in plan(course, self.plan_settings, today, today + timedelta(days=120))
            if r.expires_at > now
        ]

        def first(kind: Kind) -> date | None:
            return next((r.local_date for r in ahead if r.kind is kind), None)

        none = reply_fragment("none", profile)
        dose = next((r for r in ahead if r.kind is Kind.DOSE), None)
        where = locate(course, today)
        if where and on_regimen(course, today) and where[1] <= course.regimen.cycle_length:
            today_text = reply_fragment("today_cycle", profile, cycle=where[0], day=where[1])
        elif where and (course.end is None or today <= course.end):
            today_text = reply_fragment("today_break", profile)
        else:
            today_text = ""
        brk, blood, preg = (
            first(Kind.BREAK_START),
            first(Kind.BLOOD_TEST),
            first(Kind.PREGNANCY_TEST),
        )
        pregnancy = (
            reply_fragment("pregnancy", profile, next_pregnancy=fmt_date(preg))
            if course.can_become_pregnant and preg
            else ""
        )
        return render_reply(
            "next",
            profile,
            today=today_text,
            next=f"{fmt_date(dose.local_date)} at {fmt_time(dose.local_time)}" if dose else none,
            next_break=fmt_date(brk) if brk else none,
            next_blood=fmt_date(blood) if blood else none,
            pregnancy=pregnancy,
        )
