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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.conversation.alerts import NurseAlerts
from bot.conversation.answers import schedule_answer
from bot.conversation.next import next_text
from messages.gsm import segments
from messages.leaflet import LEAFLET_SOURCE, Topic, topic_by_id
from messages.render import (
    Profile,
    fmt_date,
    fmt_time,
    profile_of,
    render,
    render_reply,
    reply_fragment,
)
from messages.understand import DOSE_KINDS as DOSE_READINGS
from messages.understand import Reading, Understanding, understand
from scheduler.domain.adherence import previous_dose_day
from scheduler.domain.calendar import locate
from scheduler.domain.guidance import (
    EXTRA,
    MISSED,
    TAKE_NOW,
    Advice,
    Decision,
    on_extra,
    on_intend,
    on_late_taken,
    on_later,
    on_missed,
    on_question,
    on_taken,
    on_unsure,
)
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Kind, Patient, PlanSettings, Reminder
from scheduler.domain.outbox import Planned
from scheduler.domain.safety import DOSE_KINDS
from scheduler.ports import Clock
from scheduler.services.care import CareTeam
from scheduler.store.db import is_sqlite, unit_of_work
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository

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
    IMMEDIATE, see scheduler.store.db). A connection that finds it taken waits in SQLite's busy
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
        transaction (a unit of work, see scheduler.store.db): the text, the dose record and the
        re-plan commit together or not at all. If answering fails, the text is still recorded
        on its own, and ``MessageFailed`` says whose it was. Nurse alerts are pushed after the
        transaction, still before the answer is returned. The caller must not hold a turn.
        """
        text = storable(text)
        meaning = understand(text)  # pure: before the turn, so others' database work goes on
        alerts: list[_Alert] = []
        patient: Patient | None = None
        try:
            async with self.turns(), unit_of_work(self.courses.engine):
                patient = await lookup()
                if patient is None:
                    return None
                reply = await self._handle(patient, text, meaning, channel, alerts)
        except Exception as exc:
            if patient is None:
                raise  # the lookup failed: nobody to answer, nothing to keep
            log.error("could not handle a message from patient %s", patient.id, exc_info=exc)
            await self._keep(patient, text, _labels(meaning), channel)
            raise MessageFailed(patient, await self._failed(patient, meaning, text)) from exc
        for kind, what, patient_id in alerts:
            await self.alerts.alert(kind, what, patient_id)
        return patient, reply

    async def _failed(self, patient: Patient, meaning: Understanding, text: str) -> Reply:
        """The answer and the nurse alert for a message whose handling failed: the team hears
        of it (of a red flag as a red flag), and the patient still gets an urgent answer."""
        profile = profile_of(patient)
        flags = meaning.of("red_flag") + meaning.of("extra")
        if flags:
            alerts: list[_Alert] = []
            reply = self._red_flag(patient, profile, flags[0], text, alerts)
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
        self,
        patient: Patient,
        text: str,
        meaning: Understanding,
        channel: str,
        alerts: list[_Alert],
    ) -> Reply:
        profile = profile_of(patient)
        now = self.clock.now()
        labels = _labels(meaning)
        inbound = await self.courses.record_inbound(patient.id, channel, text, labels, now)
        log.info("inbound from %s read as %s", patient.id, labels)
        kinds = {r.kind for r in meaning.readings}
        if "stop" in kinds:
            alert = await self.care.opt_out(patient.id, now, "texted a STOP word", actor="system")
            alerts.append((alert.kind, alert.text, alert.patient_id))
            return Reply(render_reply("stopped", profile), "stop")
        if patient.opted_out_at is not None:
            return await self._opted_out(patient, profile, text, meaning, channel, alerts, now)
        if "start" in kinds:
            return Reply(render_reply("started", profile), "start")
        menu = meaning.of("menu_choice")
        if menu and menu[0].choice is not None:
            offered = await self.courses.last_menu(patient.id, now - MENU_LIFETIME)
            if 1 <= menu[0].choice <= len(offered):
                return await self._topics(profile, [offered[menu[0].choice - 1]], inbound)
            return self._plain("unknown", profile)
        parts = await self._answers(patient, profile, text, meaning, alerts, now)
        if parts is None:  # one question with close topics: the numbered menu
            topics = list(meaning.of("topic")[0].topics)
            return await self._topics(profile, topics, inbound)
        reply, left = _compose(parts, meaning, profile)
        if left:  # the rest is one reply away: "For Diarrhoea, reply 1."
            await self.courses.set_inbound_intent(inbound, "menu:" + ",".join(left))
        return reply

    async def _answers(
        self,
        patient: Patient,
        profile: Profile,
        text: str,
        meaning: Understanding,
        alerts: list[_Alert],
        now: datetime,
    ) -> list[_Part] | None:
        """One answer for each reading, most urgent first (None: answer with a menu)."""
        parts: list[_Part] = []
        flags = meaning.of("red_flag")
        if flags:
            flag = flags[0]
            if meaning.language != "en":
                flag = replace(flag, topics=())  # the instruction alone: they read no English
            parts.append(_Part(self._red_flag(patient, profile, flag, text, alerts)))
        doses = [r for r in meaning.readings if r.kind in DOSE_READINGS]
        wanted = doses or meaning.has("schedule")
        course: Course | None = None
        records: dict[date, str] = {}
        if wanted:
            # The patient as read now, in this transaction: the re-plan after a dose uses it.
            # Reports that record something lock the course until the message is done.
            patient, course = await self.courses.load_one(patient.id, lock=bool(doses))
            records = await self.courses.dose_records(patient.id, _since(course, now))
        if doses:
            assert course is not None
            reply = await self._dose(patient, course, profile, doses, records, now, alerts)
            parts.append(_Part(reply))
            records = await self.courses.dose_records(patient.id, _since(course, now))
        for r in meaning.of("schedule"):
            assert course is not None and r.detail is not None
            answer = schedule_answer(r.detail, course, profile, self.plan_settings, now, records)
            parts.append(_Part(Reply(answer, "schedule")))
        for r in meaning.of("risk_question"):
            topic = topic_by_id(r.topics[0])
            answer = render_reply(
                "risk", profile, answer=topic.answer, team=self._urgent_team(profile),
                source=cite_source(topic, profile),
            )  # fmt: skip
            parts.append(_Part(Reply(answer, "risk_question", extras={"topics": r.topics})))
        topics = meaning.of("topic")
        if topics:
            alone = len(meaning.readings) == 1
            if alone and len(topics[0].topics) > 1:
                return None
            for i, r in enumerate(topics[:2]):
                topic = topic_by_id(r.topics[0])
                answer = render_reply("topic", profile, answer=topic.answer,
                                      source=cite_source(topic, profile))  # fmt: skip
                parts.append(_Part(Reply(answer, "topic", extras={"topics": r.topics})))
                if i == 0 and meaning.has("warning"):
                    # The symptom might be a bad one (messages.model): when to call, at once.
                    line = render_reply("possible_signs", profile, team=self._urgent_team(profile))
                    parts.append(_Part(Reply(line, "warning")))
        simple = {"stop_request": "stop_request", "other_language": "other_language",
                  "help": "help", "chat": "chat", "unknown": "unknown", "empty": "unknown"}
        for kind, key in simple.items():
            if meaning.has(kind):
                parts.append(_Part(self._plain(key, profile)))
        return parts

    async def _opted_out(
        self,
        patient: Patient,
        profile: Profile,
        text: str,
        meaning: Understanding,
        channel: str,
        alerts: list[_Alert],
        now: datetime,
    ) -> Reply:
        """An opted-out patient: START (or a bare YES, as carriers take it) opts back in. A red
        flag still reaches the nurses, and a dose report is still recorded (an extra capsule
        still alerted). They are answered on Telegram; an SMS number that said STOP gets
        nothing: carriers block it, and expect silence."""
        if meaning.has("start") or text.strip().strip(".!").upper() == "YES":
            await self.care.opt_in(patient.id, actor="system")
            return Reply(render_reply("started", profile), "start")
        parts: list[_Part] = []
        flags = meaning.of("red_flag")
        if flags:
            parts.append(_Part(self._red_flag(patient, profile, flags[0], text, alerts)))
        doses = [r for r in meaning.readings if r.kind in ("taken", "missed", "extra")]
        if doses:
            current, course = await self.courses.load_one(patient.id, lock=True)
            records = await self.courses.dose_records(patient.id, _since(course, now))
            reply = await self._dose(current, course, profile, doses, records, now, alerts)
            parts.append(_Part(reply))
        if channel == "sms" or not parts:
            return Reply("", meaning.readings[0].kind)
        off = reply_fragment("reminders_off", profile)
        composed, _ = _compose(parts, meaning)
        return Reply(f"{composed.text} {off}", composed.intent, extras=composed.extras)

    def _plain(self, key: str, profile: Profile) -> Reply:
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
        self,
        patient: Patient,
        profile: Profile,
        reading: Reading,
        text: str,
        alerts: list[_Alert],
    ) -> Reply:
        """Urgent instruction first, then tell every nurse who and what, word for word. An
        extra capsule is as urgent: the answer is the leaflet's on too many capsules."""
        extra = reading.kind == "extra"
        topic_id = "too-many" if extra else (reading.topics[0] if reading.topics else None)
        topic = topic_by_id(topic_id) if topic_id else None
        answer = topic.answer if topic else ""
        # "URGENT: call your treatment team now on <TEAM_PHONE>." comes first, then the answer;
        # a possible warning sign (the model's, not the word lists') says when to call.
        possible = reading.detail == "possible" and not extra
        reply = render_reply(
            "possible_urgent" if possible else "urgent", profile,
            team=self._urgent_team(profile), answer=answer, source=cite_source(topic, profile),
        )  # fmt: skip
        if not extra:
            t = reading.temperature_c
            temp = f" (temperature {t:.1f}C)" if t else ""
            what = "possible red flag (please check)" if possible else "red flag"
            alerts.append((
                "red_flag",
                f"{what} from patient {patient.id}: {topic.title if topic else 'urgent'}"
                f'{temp}. They wrote: "{text.strip()[:300]}"',
                patient.id,
            ))  # fmt: skip
        return Reply(reply, reading.kind, extras={"topics": reading.topics})

    def _urgent_team(self, profile: Profile) -> str:
        """" on <TEAM_PHONE>" for the urgent instruction, or nothing without a number."""
        if not self.team_phone:
            return ""
        return reply_fragment("urgent_team", profile, team_phone=self.team_phone)

    def _team(self, profile: Profile) -> str:
        if not self.team_phone:
            return ""
        return reply_fragment("team", profile, team_phone=self.team_phone)

    async def _dose(
        self,
        patient: Patient,
        course: Course,
        profile: Profile,
        doses: list[Reading],
        records: dict[date, str],
        now: datetime,
        alerts: list[_Alert],
    ) -> Reply:
        """The one answer to what a text says about the capsule: an extra capsule first, then
        a report (taken, missed, both: taken late), then a question, a doubt, an intention or
        a snooze. What it records is recorded here, with that day's messages cancelled."""
        kinds: set[str] = {r.kind for r in doses}
        if "later" in kinds and kinds <= {"later", "dose_question"}:
            return await self._later(patient, course, profile, records, now)
        if {"taken", "missed"} <= kinds:
            # Two doses, two days ("forgot yesterday's, took today's"): the miss first.
            missed = [r for r in doses if r.kind == "missed"]
            first = await self._dose(patient, course, profile, missed, records, now, alerts)
            records = await self.courses.dose_records(patient.id, _since(course, now))
            rest = [r for r in doses if r.kind != "missed"]
            second = await self._dose(patient, course, profile, rest, records, now, alerts)
            return Reply(f"{first.text} {second.text}", second.intent, extras=second.extras)
        named = next((r.day for r in doses if r.day), None)
        why = next((r.detail for r in doses if r.kind == "extra" and r.detail), "count")
        if why == "two_days":
            named = None  # "yesterday's and today's together": taken today
        late = any(r.kind == "taken" and r.detail == "late" for r in doses)
        decision = _decide(kinds, course, records, now, named, why, late)
        if decision.record and decision.dose_date:
            day = decision.dose_date
            await self.courses.record_dose(patient.id, day, decision.record, now)
            # That day's reminder, follow-up and LATER nudges must not go now; a LATER the
            # patient asked for still goes after "take it now".
            kinds_off = (
                DOSE_KINDS - {Kind.LATER.value} if decision.record == TAKE_NOW else DOSE_KINDS
            )
            await self.outbox.cancel_day(
                patient.id, day, sorted(kinds_off), f"dose recorded ({decision.record})", now
            )
            records = {**records, day: decision.record}
            # Re-plan from what this message has read and recorded, in its transaction (see
            # handle): a cancelled row stays cancelled, and nothing of that day is planned.
            await self.care.materialiser.patient_as_loaded(patient, course, records, now)
            if decision.record == MISSED:
                self._two_missed(patient, course, records, day, alerts)
            if decision.record == EXTRA:
                alerts.append(_extra_alert(patient, decision))
        if decision.advice is Advice.EXTRA_DOSE:
            extra = next(r for r in doses if r.kind == "extra")
            reply = self._red_flag(patient, profile, extra, "", alerts)
        else:
            reply = Reply(self._say(decision, course, profile), doses[0].kind)
        return Reply(
            reply.text,
            reply.intent,
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
        self,
        patient: Patient,
        course: Course,
        profile: Profile,
        records: dict[date, str],
        now: datetime,
    ) -> Reply:
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


@dataclass(frozen=True)
class _Part:
    """One answer of a reply that may answer several things."""

    reply: Reply


# A reply fits three SMS segments (replies may be longer than one; reminders never are).
REPLY_SEGMENTS = 3


def _compose(
    parts: list[_Part], meaning: Understanding, profile: Profile | None = None
) -> tuple[Reply, list[str]]:
    """The answers in order, as many as fit three SMS segments: the first always (it is the
    most urgent), the others while they fit. Leaflet topics that did not fit are offered as a
    numbered choice ("For Diarrhoea, reply 1."); their ids are returned, for the menu."""
    if not parts:
        return Reply("", meaning.readings[0].kind), []
    text = parts[0].reply.text
    left: list[str] = []
    for part in parts[1:]:
        joined = f"{text} {part.reply.text}".strip()
        if segments(joined) <= REPLY_SEGMENTS:
            text = joined
        elif part.reply.intent == "topic" and part.reply.extras.get("topics"):
            left.append(str(part.reply.extras["topics"][0]))  # type: ignore[index]
    if left and profile is not None:
        options = ", ".join(
            f"for {topic_by_id(t).title}, reply {i}" for i, t in enumerate(left, 1)
        )
        more = render_reply("more", profile, options=options[0].upper() + options[1:])
        if segments(f"{text} {more}") <= REPLY_SEGMENTS:
            text = f"{text} {more}"
        else:
            left = []
    extras: dict[str, object] = {}
    for part in reversed(parts):
        extras.update(part.reply.extras)
    extras["readings"] = [r.kind for r in meaning.readings]
    return Reply(text, parts[0].reply.intent, extras=extras), left


def _labels(meaning: Understanding) -> str:
    """How the inbound text was read, for the record: its labels, most urgent first."""
    return ",".join(sorted(meaning.labels()))[:200] or "empty"


def _decide(
    kinds: set[str],
    course: Course,
    records: dict[date, str],
    now: datetime,
    named: str | None,
    why: str = "count",
    late: bool = False,
) -> Decision:
    if "extra" in kinds:
        return on_extra(course, records, now, named, why)
    if "taken" in kinds and late:
        return on_late_taken(course, records, now, named)
    if "taken" in kinds:
        return on_taken(course, records, now, named)
    if "missed" in kinds:
        return on_missed(course, records, now, named)
    if "unsure" in kinds:
        return on_unsure(course, records, now)
    if "dose_question" in kinds:
        return on_question(course, records, now, named)
    return on_intend(course, records, now)


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
        "count": "more than one capsule at once",
        "two_days": "two days' capsules together",
        "someone_else": "someone else's capsule",
        "another": "another capsule after the day's dose",
    }[d.facts["why"]]
    return (
        "extra_capsule",
        f"patient {patient.id} reports a capsule taken when none was due: {d.dose_date}, {why}"
        + (". Urgent: they were told to call the team now" if d.advice is Advice.EXTRA_DOSE
           else ""),
        patient.id,
    )
