"""What a patient's text comes to, given their state: the reply, how the text is recorded, and
what it changes. Pure: no I/O, ``now`` is a parameter; the read phase (``needs`` says what
to read) and the write phase (``effects.apply``) are the conversation's.

Medical answers come only from the leaflet topics; what is not understood gets the help line,
never a guess.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.conversation.answers import schedule_answer
from bot.conversation.dose import dose
from bot.conversation.effects import Alert, Effects
from bot.conversation.replies import Reply, Voice, compose
from messages.leaflet import topic_by_id
from messages.render import profile_of, render_reply
from messages.understand import DOSE_KINDS as DOSE_READINGS
from messages.understand import Reading, Understanding
from scheduler.domain.localtime import zone
from scheduler.domain.model import Course, Patient, PlanSettings

SIMPLE = {"stop_request": "stop_request", "other_language": "other_language", "help": "help",
          "chat": "chat", "unknown": "unknown", "empty": "unknown"}  # fmt: skip


class Route(enum.Enum):
    """Which way a text is answered, given who sent it."""

    STOP = "stop"  # a STOP word: opted out
    OPT_IN = "opt_in"  # START, or a bare YES as carriers take it, from an opted-out patient
    OPTED_OUT = "opted_out"  # anything else from an opted-out patient
    START = "start"
    MENU_CHOICE = "menu_choice"  # a number, for the menu last offered
    ANSWERS = "answers"  # one answer for each reading


def route(meaning: Understanding, patient: Patient, text: str) -> Route:
    if meaning.has("stop"):
        return Route.STOP
    if patient.opted_out_at is not None:
        if meaning.has("start") or text.strip().strip(".!").upper() == "YES":
            return Route.OPT_IN
        return Route.OPTED_OUT
    if meaning.has("start"):
        return Route.START
    menu = meaning.of("menu_choice")
    if menu and menu[0].choice is not None:
        return Route.MENU_CHOICE
    return Route.ANSWERS


def dose_readings(meaning: Understanding, way: Route) -> list[Reading]:
    """The readings about the capsule that are answered: from an opted-out patient, only the
    reports (a dose is still recorded, an extra capsule still alerted)."""
    if way is Route.OPTED_OUT:
        return [r for r in meaning.readings if r.kind in ("taken", "missed", "extra")]
    if way is Route.ANSWERS:
        return [r for r in meaning.readings if r.kind in DOSE_READINGS]
    return []


@dataclass(frozen=True)
class Needs:
    """What ``decide`` will read of the patient's state, for the read phase to load."""

    course: bool = False  # the course, and its dose records since ``since``
    lock: bool = False  # the course row locked until the message is done: a dose report
    menu: bool = False  # the topics of the menu last offered


def needs(meaning: Understanding, patient: Patient, text: str) -> Needs:
    way = route(meaning, patient, text)
    if way is Route.MENU_CHOICE:
        return Needs(menu=True)
    doses = bool(dose_readings(meaning, way))
    schedule = way is Route.ANSWERS and meaning.has("schedule")
    return Needs(course=doses or schedule, lock=doses)


@dataclass(frozen=True)
class State:
    """The patient's state as the read phase found it: all ``decide`` reads of the database."""

    patient: Patient  # who wrote
    course: Course | None = None  # when ``Needs.course``
    records: Mapping[date, str] = field(default_factory=dict)  # dose records since ``since``
    menu: Sequence[str] = ()  # when ``Needs.menu``: the topic ids of the last menu offered


@dataclass(frozen=True)
class Outcome:
    """What a text comes to: the reply, the text's record (``intent``), and its effects."""

    reply: Reply
    intent: str  # how the text was read (``labels``), or the menu it was answered with
    effects: Effects


def decide(
    meaning: Understanding,
    text: str,
    channel: str,
    state: State,
    now: datetime,
    settings: PlanSettings,
    team_phone: str = "",
) -> Outcome:
    """The answer to ``text`` (read as ``meaning``) and what it changes."""
    patient = state.patient
    voice = Voice(profile_of(patient), team_phone)
    effects = Effects()
    intent = labels(meaning)
    way = route(meaning, patient, text)
    if way is Route.STOP:
        effects.opt_out = "texted a STOP word"  # the alert is CareTeam.opt_out's
        reply = Reply(render_reply("stopped", voice.profile), "stop")
    elif way is Route.OPT_IN:
        effects.opt_in = True
        reply = Reply(render_reply("started", voice.profile), "start")
    elif way is Route.OPTED_OUT:
        reply = _opted_out(meaning, text, channel, state, voice, now, effects)
    elif way is Route.START:
        reply = Reply(render_reply("started", voice.profile), "start")
    elif way is Route.MENU_CHOICE:
        choice = meaning.of("menu_choice")[0].choice
        assert choice is not None
        if 1 <= choice <= len(state.menu):
            topic = state.menu[choice - 1]
            reply = voice.topic(topic, [topic])
        else:
            reply = voice.plain("unknown")
    else:
        parts = _answers(meaning, text, state, voice, now, settings, effects)
        if parts is None:  # one question with close topics: the numbered menu
            topics = list(meaning.of("topic")[0].topics)
            reply, intent = voice.menu(topics), "menu:" + ",".join(topics)
        else:
            reply, left = compose(parts, meaning, voice.profile)
            if left:  # the rest is one reply away: "For Diarrhoea, reply 1."
                intent = "menu:" + ",".join(left)
    return Outcome(reply, intent[:200], effects)


def _answers(
    meaning: Understanding,
    text: str,
    state: State,
    voice: Voice,
    now: datetime,
    settings: PlanSettings,
    effects: Effects,
) -> list[Reply] | None:
    """One answer for each reading, most urgent first (None: answer with a menu)."""
    parts: list[Reply] = []
    patient, course, records = state.patient, state.course, state.records
    flags = meaning.of("red_flag")
    if flags:
        flag = flags[0]
        if meaning.language != "en":
            flag = replace(flag, topics=())  # the instruction alone: they read no English
        reply, alerts = red_flag(patient.id, voice, flag, text)
        parts.append(reply)
        effects.alerts.extend(alerts)
    elif meaning.language != "en":
        # lenabot reads English only, and its warning words in other languages are few: a
        # person reads it (most missed red flags on the held-out texts were in another language)
        effects.alerts.append((
            "other_language",
            f"message in another language from patient {patient.id} (please check: it may be "
            f'urgent). They wrote: "{text.strip()[:300]}"',
            patient.id,
        ))  # fmt: skip
    doses = dose_readings(meaning, Route.ANSWERS)
    if doses:
        assert course is not None
        reply, records = dose(patient.id, course, voice, doses, records, now, effects)
        parts.append(reply)
    for r in meaning.of("schedule"):
        assert course is not None and r.detail is not None
        answer = schedule_answer(r.detail, course, voice.profile, settings, now, records)
        parts.append(Reply(answer, "schedule"))
    for r in meaning.of("risk_question"):
        parts.append(voice.risk(r.topics))
    topics = meaning.of("topic")
    if topics:
        alone = len(meaning.readings) == 1
        if alone and len(topics[0].topics) > 1:
            return None
        for i, r in enumerate(topics[:2]):
            parts.append(voice.topic(r.topics[0], r.topics))
            if i == 0 and meaning.has("warning"):
                parts.append(voice.possible_signs())
    for kind, key in SIMPLE.items():
        if meaning.has(kind):
            parts.append(voice.plain(key))
    return parts


def _opted_out(
    meaning: Understanding,
    text: str,
    channel: str,
    state: State,
    voice: Voice,
    now: datetime,
    effects: Effects,
) -> Reply:
    """An opted-out patient (START, or a bare YES, opts back in: ``Route.OPT_IN``). A red
    flag still reaches the nurses, and a dose report is still recorded (an extra capsule
    still alerted). They are answered on Telegram; an SMS number that said STOP gets
    nothing: carriers block it, and expect silence."""
    parts: list[Reply] = []
    flags = meaning.of("red_flag")
    if flags:
        reply, alerts = red_flag(state.patient.id, voice, flags[0], text)
        parts.append(reply)
        effects.alerts.extend(alerts)
    doses = dose_readings(meaning, Route.OPTED_OUT)
    if doses:
        assert state.course is not None
        reply, _ = dose(state.patient.id, state.course, voice, doses, state.records, now, effects)
        parts.append(reply)
    if channel == "sms" or not parts:
        return Reply("", meaning.readings[0].kind)
    composed, _ = compose(parts, meaning)
    return Reply(f"{composed.text} {voice.reminders_off()}", composed.intent,
                 extras=composed.extras)  # fmt: skip


def red_flag(
    patient_id: str, voice: Voice, reading: Reading, text: str
) -> tuple[Reply, list[Alert]]:
    """Urgent instruction first, then tell every nurse who and what, word for word. An
    extra capsule is as urgent, but its alert is the dose report's (``dose.extra_alert``)."""
    reply = voice.urgent(reading)
    if reading.kind == "extra":
        return reply, []
    title = topic_by_id(reading.topics[0]).title if reading.topics else "urgent"
    t = reading.temperature_c
    temp = f" (temperature {t:.1f}C)" if t else ""
    what = "possible red flag (please check)" if reading.detail == "possible" else "red flag"
    return reply, [(
        "red_flag",
        f'{what} from patient {patient_id}: {title}{temp}. They wrote: "{text.strip()[:300]}"',
        patient_id,
    )]  # fmt: skip


def labels(meaning: Understanding) -> str:
    """How the inbound text was read, for the record: its labels, most urgent first."""
    return ",".join(sorted(meaning.labels()))[:200] or "empty"


def since(course: Course, now: datetime) -> date:
    """The first local date a dose report or NEXT may need the record of: a weekday named
    reaches a week back, and a "next dose" looks at the days ahead."""
    return now.astimezone(zone(course.tz)).date() - timedelta(days=8)
