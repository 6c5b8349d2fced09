"""The words of a reply: each answer rendered for the patient, and the answers put together as
one reply that fits three SMS segments. Pure: what to say in, words out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from messages.gsm import segments
from messages.leaflet import LEAFLET_SOURCE, Topic, topic_by_id
from messages.render import Profile, fmt_date, fmt_time, render_reply, reply_fragment
from messages.understand import Reading, Understanding
from scheduler.domain.guidance import Advice, Decision
from scheduler.domain.model import Course

# A reply fits three SMS segments (replies may be longer than one; reminders never are).
REPLY_SEGMENTS = 3


@dataclass(frozen=True)
class Reply:
    """What to answer (empty: answer nothing)."""

    text: str
    intent: str
    extras: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


def cite_source(topic: Topic | None, profile: Profile) -> str:
    """The source an answer names: the patient leaflet, or the product's safety guidance for
    answers whose facts the leaflet does not hold (docs/safety/wording-beyond-leaflet.md)."""
    leaflet = topic is None or topic.source.startswith(LEAFLET_SOURCE)
    key = "source_leaflet" if leaflet else "source_guidance"
    return reply_fragment(f"{key}_discreet" if profile.discreet else key, profile)


@dataclass(frozen=True)
class Voice:
    """The answers, worded for one patient (their profile) with the team's number, if any."""

    profile: Profile
    team_phone: str = ""

    @property
    def team(self) -> str:
        if not self.team_phone:
            return ""
        return reply_fragment("team", self.profile, team_phone=self.team_phone)

    @property
    def urgent_team(self) -> str:
        """ " on <TEAM_PHONE>" for the urgent instruction, or nothing without a number."""
        if not self.team_phone:
            return ""
        return reply_fragment("urgent_team", self.profile, team_phone=self.team_phone)

    def says(self, key: str) -> str:
        return render_reply(key, self.profile, team=self.team)

    def plain(self, key: str) -> Reply:
        return Reply(self.says(key), key)

    def topic(self, topic_id: str, topics: Sequence[str]) -> Reply:
        """A leaflet topic's answer (``topics``: the close ones, for the record)."""
        topic = topic_by_id(topic_id)
        answer = render_reply("topic", self.profile, answer=topic.answer,
                              source=cite_source(topic, self.profile))  # fmt: skip
        return Reply(answer, "topic", extras={"topics": topics})

    def menu(self, topics: list[str]) -> Reply:
        """Close ties: a numbered menu, for the patient to choose by number."""
        options = ", ".join(f"{i} {topic_by_id(t).title}" for i, t in enumerate(topics, 1))
        return Reply(
            render_reply("menu", self.profile, options=options), "menu", extras={"topics": topics}
        )

    def risk(self, topics: tuple[str, ...]) -> Reply:
        topic = topic_by_id(topics[0])
        answer = render_reply(
            "risk", self.profile, answer=topic.answer, team=self.urgent_team,
            source=cite_source(topic, self.profile),
        )  # fmt: skip
        return Reply(answer, "risk_question", extras={"topics": topics})

    def possible_signs(self) -> Reply:
        """The symptom might be a bad one (messages.model): when to call, at once."""
        return Reply(render_reply("possible_signs", self.profile, team=self.urgent_team), "warning")

    def urgent(self, reading: Reading) -> Reply:
        """The urgent instruction for a red flag, or for an extra capsule: as urgent, and
        answered with the leaflet's answer on too many capsules."""
        extra = reading.kind == "extra"
        topic_id = "too-many" if extra else (reading.topics[0] if reading.topics else None)
        topic = topic_by_id(topic_id) if topic_id else None
        answer = topic.answer if topic else ""
        # "URGENT: call your treatment team now on <TEAM_PHONE>." comes first, then the answer;
        # a possible warning sign (the model's, not the word lists') says when to call.
        possible = reading.detail == "possible" and not extra
        reply = render_reply(
            "possible_urgent" if possible else "urgent", self.profile,
            team=self.urgent_team, answer=answer, source=cite_source(topic, self.profile),
        )  # fmt: skip
        return Reply(reply, reading.kind, extras={"topics": reading.topics})

    def reminders_off(self) -> str:
        return reply_fragment("reminders_off", self.profile)

    def advice(self, d: Decision, course: Course) -> str:
        """What to do about the capsule, as ``scheduler.domain.guidance`` advised."""
        f = d.facts
        nxt: date | None = f.get("next_date")
        values: dict[str, object] = {
            "dose_date": fmt_date(d.dose_date) if d.dose_date else "",
            "dose_time": fmt_time(
                f.get("dose_time") or course.dose_time_on(d.dose_date or course.start)
            ),
            "next": f"{fmt_date(nxt)} at {fmt_time(f.get('next_time') or course.dose_time)}"
            if nxt
            else reply_fragment("none", self.profile),
            "team": self.team,
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
            values["why"] = reply_fragment(f"extra_{f['why']}", self.profile)
        if d.advice in (Advice.NO_DOSE_TODAY, Advice.NO_DOSE_THAT_DAY) and nxt is None:
            return render_reply("no_next", self.profile)
        return render_reply(d.advice.value, self.profile, **values)


def compose(
    parts: list[Reply], meaning: Understanding, profile: Profile | None = None
) -> tuple[Reply, list[str]]:
    """The answers in order, as many as fit three SMS segments: the first always (it is the
    most urgent), the others while they fit. Leaflet topics that did not fit are offered as a
    numbered choice ("For Diarrhoea, reply 1."); their ids are returned, for the menu."""
    if not parts:
        return Reply("", meaning.readings[0].kind), []
    text = parts[0].text
    left: list[str] = []
    for part in parts[1:]:
        joined = f"{text} {part.text}".strip()
        if segments(joined) <= REPLY_SEGMENTS:
            text = joined
        elif part.intent == "topic" and part.extras.get("topics"):
            left.append(str(part.extras["topics"][0]))  # type: ignore[index]
    if left and profile is not None:
        options = ", ".join(f"for {topic_by_id(t).title}, reply {i}" for i, t in enumerate(left, 1))
        more = render_reply("more", profile, options=options[0].upper() + options[1:])
        if segments(f"{text} {more}") <= REPLY_SEGMENTS:
            text = f"{text} {more}"
        else:
            left = []
    extras: dict[str, object] = {}
    for part in reversed(parts):
        extras.update(part.extras)
    extras["readings"] = [r.kind for r in meaning.readings]
    return Reply(text, parts[0].intent, extras=extras), left
