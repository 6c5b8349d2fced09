"""Channel-agnostic conversation: inbound text -> intent -> reply and side effects.

SMS, Telegram and `lenabot say` all come through `Conversation.handle`, so a patient gets the
same answer whichever way they write. Medical answers come only from the leaflet topics; what
is not understood gets the help line, never a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.alerts import NurseAlerts
from bot.conversation_next import next_text
from messages.intent import Intent, classify
from messages.leaflet import LEAFLET_SOURCE, Topic, topic_by_id
from messages.render import Profile, fmt_date, fmt_time, render, render_reply, reply_fragment
from scheduler.adherence import previous_dose_day
from scheduler.care import CareTeam
from scheduler.db import is_sqlite, unit_of_work
from scheduler.guidance import (
    EXTRA,
    MISSED,
    TAKE_NOW,
    Advice,
    Decision,
    on_later,
    on_missed,
    on_taken,
)
from scheduler.localtime import zone
from scheduler.materialise import profile_of
from scheduler.model import Course, Kind, Patient, PlanSettings, Reminder
from scheduler.outbox import Planned, SqlAlchemyOutbox
from scheduler.ports import Clock
from scheduler.regimen import locate
from scheduler.repository import SqlAlchemyCourseRepository
from scheduler.safety import DOSE_KINDS

log = logging.getLogger(__name__)

MENU_LIFETIME = timedelta(hours=1)
_Alert = tuple[str, str, str | None]  # NurseAlerts.alert's (kind, text, patient id)
BAD_DAYS = (MISSED, "unconfirmed")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as the database can hold it: NUL dropped (PostgreSQL text cannot hold it),
    lone surrogates (only a JSON escape can make them) replaced by U+FFFD. Else unchanged."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


Lookup = Callable[[], Awaitable[Patient | None]]


class MessageFailed(Exception):
    """Answering a patient's message failed (the cause says why); their words were kept, the
    nurses were alerted, and ``reply`` is what to answer instead: the urgent instruction for a
    red flag (worked out without the database), else a short apology saying whom to call."""

    def __init__(self, patient: Patient, reply: Reply) -> None:
        super().__init__(f"could not answer a message from patient {patient.id}")
        self.patient = patient
        self.reply = reply


@dataclass(frozen=True)
class Reply:
    """What to answer (empty: answer nothing)."""

    text: str
    intent: str
    extras: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


class Turns:
    """Inbound messages take turns at the database on SQLite; on PostgreSQL they do not wait.

    On SQLite every transaction, reads included, takes the one write lock up front (BEGIN
    IMMEDIATE, see scheduler.db). A connection that finds it taken waits in SQLite's busy
    handler: sleeps of 1, 2, 5, ... 100 ms, unfair and blind to the event loop. With ten
    messages in flight at 100 a second, a quarter of BEGINs waited over 20 ms and some over
    a second (p99 of the SMS webhook 100-900 ms). Waiting here instead, in the event loop's
    FIFO, costs almost nothing: the messages share one event loop anyway, and one message's
    database work is a few ms. Only database work is done in a turn: nurse alerts (which may
    wait on Telegram) and replies are sent outside it.

    Not re-entrant: code holding a turn must not take another.
    """

    def __init__(self, serial: bool) -> None:
        self.serial = serial
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self) -> contextlib.AbstractAsyncContextManager[object]:
        """``async with turns():`` around one message's database work."""
        if not self.serial:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:  # a lock belongs to one loop
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock


@dataclass
class Conversation:
    courses: SqlAlchemyCourseRepository
    care: CareTeam
    clock: Clock
    plan_settings: PlanSettings
    alerts: NurseAlerts
    outbox: SqlAlchemyOutbox
    team_phone: str = ""
    turns: Turns = field(init=False)

    def __post_init__(self) -> None:
        self.turns = Turns(serial=is_sqlite(self.courses.engine))

    async def handle(self, patient: Patient, text: str, channel: str = "console") -> Reply:
        """Answer ``text`` from ``patient``; records the text exactly as received (but see
        ``storable``: no NUL, no lone surrogates). See ``handle_from``."""

        async def given() -> Patient:
            return patient

        try:
            found = await self.handle_from(given, text, channel)
        except MessageFailed as exc:
            assert exc.__cause__ is not None
            raise exc.__cause__ from None
        assert found is not None
        return found[1]

    async def handle_from(
        self, lookup: Lookup, text: str, channel: str
    ) -> tuple[Patient, Reply] | None:
        """Find who wrote (``lookup``, e.g. by phone number) and answer them; None if nobody
        is enrolled there (nothing is recorded then).

        The database work, the lookup included, is done in one turn (see Turns) and one
        transaction (a unit of work, see scheduler.db): the text, the dose record and the
        re-plan commit together or not at all. If answering fails, the text is still recorded
        on its own, and ``MessageFailed`` says whose it was. Nurse alerts are pushed after the
        transaction, still before the answer is returned. The caller must not hold a turn.
        """
        text = storable(text)
        intent = classify(text)  # pure: before the turn, so others' database work goes on
        alerts: list[_Alert] = []
        patient: Patient | None = None
        try:
            async with self.turns(), unit_of_work(self.courses.engine):
                patient = await lookup()
                if patient is None:
                    return None
                reply = await self._handle(patient, text, intent, channel, alerts)
        except Exception as exc:
            if patient is None:
                raise  # the lookup failed: nobody to answer, nothing to keep
            log.error("could not handle a message from patient %s", patient.id, exc_info=exc)
            await self._keep(patient, text, intent.kind, channel)
            raise MessageFailed(patient, await self._failed(patient, intent, text)) from exc
        for kind, what, patient_id in alerts:
            await self.alerts.alert(kind, what, patient_id)
        return patient, reply

    async def _failed(self, patient: Patient, intent: Intent, text: str) -> Reply:
        """The answer and the nurse alert for a message whose handling failed: the team hears
        of it (of a red flag as a red flag), and the patient still gets an urgent answer."""
        profile = profile_of(patient)
        if intent.kind == "red_flag":
            alerts: list[_Alert] = []
            reply = self._red_flag(patient, profile, intent, text, alerts)
            kind, what, _ = alerts[0]
        else:
            reply = Reply(render_reply("fallback", profile, team=self._team(profile)), "failed")
            kind, what = "inbound_failed", (
                f"a message from patient {patient.id} could not be handled; please check on them"
            )
        try:
            await self.alerts.alert(kind, what, patient.id)
        except Exception:  # the database may be what failed: the answer must still go
            log.exception("could not alert the nurses about patient %s", patient.id)
        return reply

    async def _keep(self, patient: Patient, text: str, intent: str, channel: str) -> None:
        """After a failed message: what the patient wrote is kept, whatever else was lost."""
        try:
            async with self.turns():
                await self.courses.record_inbound(
                    patient.id, channel, text, intent, self.clock.now()
                )
        except Exception:
            log.exception("could not record an inbound message from patient %s", patient.id)

    async def _handle(
        self, patient: Patient, text: str, intent: Intent, channel: str, alerts: list[_Alert]
    ) -> Reply:
        profile = profile_of(patient)
        now = self.clock.now()
        inbound = await self.courses.record_inbound(patient.id, channel, text, intent.kind, now)
        log.info("inbound from %s classified as %s", patient.id, intent.kind)
        if intent.kind == "red_flag":
            # Even an opted-out patient's red flag reaches the nurses, and gets the urgent
            # answer where it can still be read: not by SMS, which carriers block after STOP.
            reply = self._red_flag(patient, profile, intent, text, alerts)
            silent = patient.opted_out_at is not None and channel == "sms"
            return Reply("", "red_flag") if silent else reply
        if intent.kind == "stop":
            await self.care.opt_out(patient.id, now)
            alerts.append(
                ("opt_out", f"patient {patient.id} opted out (texted a STOP word)", patient.id)
            )
            return Reply(render_reply("stopped", profile), "stop")
        if patient.opted_out_at is not None:
            # Carriers and Twilio also take a bare YES as opting back in.
            if intent.kind == "start" or text.strip().strip(".!").upper() == "YES":
                await self.care.opt_in(patient.id)
                return Reply(render_reply("started", profile), "start")
            if intent.kind in ("taken", "missed"):
                # Still recorded (the team sees it; an extra capsule is still alerted), and
                # answered on Telegram. An SMS number that said STOP gets nothing: carriers
                # block it, and expect silence.
                current, course = await self.courses.load_one(patient.id, lock=True)
                reply = await self._dose(current, course, profile, intent, now, alerts)
                if channel == "sms":
                    return Reply("", intent.kind)
                off = reply_fragment("reminders_off", profile)
                return Reply(f"{reply.text} {off}", intent.kind, extras=reply.extras)
            return Reply("", intent.kind)  # opted out: carriers expect silence
        if intent.kind == "start":
            return Reply(render_reply("started", profile), "start")
        if intent.kind == "topic" and intent.topics:
            return await self._topics(profile, list(intent.topics), inbound)
        if intent.kind == "menu_choice" and intent.choice is not None:
            offered = await self.courses.last_menu(patient.id, now - MENU_LIFETIME)
            if 1 <= intent.choice <= len(offered):
                return await self._topics(profile, [offered[intent.choice - 1]], inbound)
        if intent.kind in ("taken", "missed", "later", "next"):
            # Only these answers need the course (two queries): help and unknown do not. Those
            # that record something lock it until the message is done (see load_one).
            # The patient as read now, in this transaction: the re-plan after a dose uses it.
            current, course = await self.courses.load_one(patient.id, lock=intent.kind != "next")
            if intent.kind == "later":
                return await self._later(current, course, profile, now)
            if intent.kind == "next":
                records = await self.courses.dose_records(patient.id, _since(course, now))
                return Reply(
                    next_text(course, profile, self.plan_settings, now, records), "next"
                )
            return await self._dose(current, course, profile, intent, now, alerts)
        key = "help" if intent.kind == "help" else "unknown"
        return Reply(render_reply(key, profile, team=self._team(profile)), key)

    async def summary(self, patient: Patient) -> str:
        """What NEXT answers, without recording an inbound text (e.g. for a welcome)."""
        now = self.clock.now()
        async with self.turns():
            _, course = await self.courses.load_one(patient.id)
            records = await self.courses.dose_records(patient.id, _since(course, now))
        return next_text(course, profile_of(patient), self.plan_settings, now, records)

    async def _topics(self, profile: Profile, topics: list[str], inbound: int) -> Reply:
        """One topic: its answer. Close ties: a numbered menu, remembered for the reply."""
        if len(topics) == 1:
            topic = topic_by_id(topics[0])
            return Reply(
                render_reply("topic", profile, answer=topic.answer, source=cite_source(topic, profile)),
                "topic",
                extras={"topics": topics},
            )
        options = ", ".join(f"{i} {topic_by_id(t).title}" for i, t in enumerate(topics, 1))
        await self.courses.set_inbound_intent(inbound, "menu:" + ",".join(topics))
        return Reply(
            render_reply("menu", profile, options=options), "menu", extras={"topics": topics}
        )

    def _red_flag(
        self, patient: Patient, profile: Profile, intent: Intent, text: str, alerts: list[_Alert]
    ) -> Reply:
        """Urgent instruction first, then tell every nurse who and what, word for word."""
        topic = topic_by_id(intent.topics[0]) if intent.topics else None
        answer = topic.answer if topic else ""
        # "URGENT: call your treatment team now on <TEAM_PHONE>." comes first, then the answer.
        on = reply_fragment("urgent_team", profile, team_phone=self.team_phone)
        reply = render_reply(
            "urgent", profile, team=on if self.team_phone else "", answer=answer,
            source=cite_source(topic, profile),
        )  # fmt: skip
        temp = f" (temperature {intent.temperature_c:.1f}C)" if intent.temperature_c else ""
        alerts.append((
            "red_flag",
            f"red flag from patient {patient.id}: {topic.title if topic else 'urgent'}{temp}. "
            f'They wrote: "{text.strip()[:300]}"',
            patient.id,
        ))  # fmt: skip
        return Reply(reply, "red_flag", extras={"topics": intent.topics})

    def _team(self, profile: Profile) -> str:
        if not self.team_phone:
            return ""
        return reply_fragment("team", profile, team_phone=self.team_phone)

    async def _dose(
        self,
        patient: Patient,
        course: Course,
        profile: Profile,
        intent: Intent,
        now: datetime,
        alerts: list[_Alert],
    ) -> Reply:
        kind = intent.kind
        records = await self.courses.dose_records(patient.id, _since(course, now))
        decide = on_taken if kind == "taken" else on_missed
        decision = decide(course, records, now, intent.day)
        if decision.record and decision.dose_date:
            day = decision.dose_date
            await self.courses.record_dose(patient.id, day, decision.record, now)
            # That day's reminder, follow-up and LATER nudges must not go now; a LATER the
            # patient asked for still goes after "take it now".
            kinds = DOSE_KINDS - {Kind.LATER.value} if decision.record == TAKE_NOW else DOSE_KINDS
            await self.outbox.cancel_day(
                patient.id, day, sorted(kinds), f"dose recorded ({decision.record})", now
            )
            records = {**records, day: decision.record}
            # Re-plan from what this message has read and recorded, in its transaction (see
            # handle): a cancelled row stays cancelled, and nothing of that day is planned.
            await self.care.materialiser.patient_as_loaded(patient, course, records, now)
            if decision.record == MISSED:
                self._two_missed(patient, course, records, day, alerts)
            if decision.record == EXTRA:
                alerts.append(_extra_alert(patient, decision))
        return Reply(
            self._say(decision, course, profile),
            kind,
            extras={"advice": decision.advice.value, "dose_date": decision.dose_date,
                    "next_date": decision.facts.get("next_date")},
        )  # fmt: skip

    def _two_missed(
        self,
        patient: Patient,
        course: Course,
        records: dict[date, str],
        day: date,
        alerts: list[_Alert],
    ) -> None:
        prev = previous_dose_day(course, day)
        if prev is not None and records.get(prev) in BAD_DAYS:
            alerts.append((
                "two_missed",
                f"patient {patient.id} has missed or not confirmed two dose days "
                f"in a row ({prev} and {day})",
                patient.id,
            ))  # fmt: skip

    async def _later(
        self, patient: Patient, course: Course, profile: Profile, now: datetime
    ) -> Reply:
        records = await self.courses.dose_records(patient.id, _since(course, now))
        d = on_later(course, records, now)
        if d.advice is Advice.SNOOZED and d.dose_date is not None:
            where = locate(course, d.dose_date)
            at: datetime = d.facts["at"]
            reminder = Reminder(
                kind=Kind.LATER,
                local_date=d.dose_date,
                due_at=at,
                expires_at=d.facts["until"],
                local_time=at.astimezone(zone(course.tz)).time().replace(second=0, microsecond=0),
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
        return Reply(
            self._say(d, course, profile),
            "later",
            extras={"advice": d.advice.value, "dose_date": d.dose_date},
        )

    def _say(self, d: Decision, course: Course, profile: Profile) -> str:
        f = d.facts
        nxt: date | None = f.get("next_date")
        values: dict[str, object] = {
            "dose_date": fmt_date(d.dose_date) if d.dose_date else "",
            "dose_time": fmt_time(
                f.get("dose_time") or course.dose_time_on(d.dose_date or course.start)
            ),
            "next": f"{fmt_date(nxt)} at {fmt_time(f.get('next_time') or course.dose_time)}"
            if nxt
            else reply_fragment("none", profile),
            "team": self._team(profile),
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
        if d.advice is Advice.EXTRA_CAPSULE:
            values["why"] = reply_fragment(f"extra_{f['why']}", profile)
        if d.advice in (Advice.NO_DOSE_TODAY, Advice.NO_DOSE_THAT_DAY) and nxt is None:
            return render_reply("no_next", profile)
        return render_reply(d.advice.value, profile, **values)


def cite_source(topic: Topic | None, profile: Profile) -> str:
    """The source an answer names: the patient leaflet, or the product's safety guidance for
    answers whose facts the leaflet does not hold (docs/safety/wording-beyond-leaflet.md)."""
    leaflet = topic is None or topic.source.startswith(LEAFLET_SOURCE)
    key = "source_leaflet" if leaflet else "source_guidance"
    return reply_fragment(f"{key}_discreet" if profile.discreet else key, profile)


def _since(course: Course, now: datetime) -> date:
    """The first local date a dose report or NEXT may need the record of: a weekday named
    reaches a week back, and a "next dose" looks at the days ahead."""
    return now.astimezone(zone(course.tz)).date() - timedelta(days=8)


def _extra_alert(patient: Patient, d: Decision) -> _Alert:
    """The nurses hear of every capsule taken when none was due, with why none was."""
    why = {
        "skipped": "after being told to skip that dose",
        "no_dose": "on a day with no dose (a break or a pause)",
        "ended": "after the course ended",
        "before_start": "before the course started",
    }[d.facts["why"]]
    return (
        "extra_capsule",
        f"patient {patient.id} reports a capsule taken when none was due: {d.dose_date}, {why}",
        patient.id,
    )
