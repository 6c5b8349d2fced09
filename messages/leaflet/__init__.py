"""Leaflet topics: the packaged TOML data as frozen dataclasses, checked once at load."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Urgency = Literal["routine", "urgent"]
URGENCIES: tuple[Urgency, ...] = ("routine", "urgent")

# Topic data files start with this; lexicon.toml holds words, not topics.
_TOPIC_FILES = "topics-"
_LEXICON = "lexicon.toml"
# Escalation terms are matched against words with punctuation removed ("can't" -> "cant").
_TERM = re.compile(r"=?[a-z0-9]+( =?[a-z0-9]+)*")  # "=red": that whole word only


class LeafletError(ValueError):
    """The packaged leaflet data is malformed; raised at load so a bad deploy fails at once."""


@dataclass(frozen=True, slots=True)
class Escalation:
    """A rule that turns a routine topic into a red flag (pointing at topic `to`)."""

    to: str
    any_of: tuple[str, ...] = ()  # fires if any of these terms appears
    all_of: tuple[str, ...] = ()  # ... and all of these
    after_days: int | None = None  # ... and the text mentions a duration longer than this
    after_times: int | None = None  # ... and "N times" (a day) with N more than this

    def fires(self, words: Sequence[str], days: int, times: int = 0) -> bool:
        """Whether a text (as lowercase words, mentioning `days` days and `times` times at
        most) meets the rule."""
        conditions = []
        if self.after_times is not None:
            conditions.append(times > self.after_times)
        if self.any_of:
            conditions.append(any(_has_term(words, t) for t in self.any_of))
        if self.all_of:
            conditions.append(all(_has_term(words, t) for t in self.all_of))
        if self.after_days is not None:
            conditions.append(days > self.after_days)
        return all(conditions)


def _has_term(words: Sequence[str], term: str) -> bool:
    """Term words as prefixes of consecutive words, so 'wheez' finds 'wheezing'; a word
    written '=red' must be that word ('red', not 'ready'; '=blood', not 'bloods')."""
    parts = term.split()
    return any(
        all(
            words[i + j] == p[1:] if p.startswith("=") else words[i + j].startswith(p)
            for j, p in enumerate(parts)
        )
        for i in range(len(words) - len(parts) + 1)
    )


# How the patient leaflet is named in a topic's ``source``; other sources (the product brief's
# clinical rules) are cited to the patient as safety guidance.
LEAFLET_SOURCE = "Cancer Research UK patient leaflet"


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    title: str
    keywords: tuple[str, ...]
    synonyms: tuple[str, ...]
    urgency: Urgency
    answer: str
    source: str
    broad: bool = False  # an overview that should rank after specific topics
    escalate: tuple[Escalation, ...] = ()
    # Texts about it use dose words that report nothing ("sick after taking it", "can I take
    # two tomorrow?"): a dose word inside one of its phrases is part of the question.
    asks_about_dose: bool = False
    # The file it comes from, e.g. "side-effects" for topics-side-effects.toml: a symptom.
    group: str = ""

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.keywords + self.synonyms


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LeafletError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _words(raw: dict[str, Any], key: str, where: str, required: bool = True) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LeafletError(f"{where}: '{key}' must be a list of non-empty strings")
    if required and not value:
        raise LeafletError(f"{where}: '{key}' must not be empty")
    # Matching is on lowercase words, so data is stored that way whatever the author typed.
    return tuple(v.strip().lower() for v in value)


def _flag(raw: dict[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise LeafletError(f"{where}: '{key}' must be true or false")
    return value


def _escalation(raw: dict[str, Any], topic_id: str) -> Escalation:
    where = f"topic '{topic_id}' escalate rule"
    days, times = raw.get("after_days"), raw.get("after_times")
    for key, value in (("after_days", days), ("after_times", times)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise LeafletError(f"{where}: '{key}' must be a whole number, 0 or more")
    rule = Escalation(
        to=str(raw.get("to", topic_id)),
        any_of=_words(raw, "any_of", where, required=False),
        all_of=_words(raw, "all_of", where, required=False),
        after_days=days,
        after_times=times,
    )
    if not (rule.any_of or rule.all_of or rule.after_days is not None or times is not None):
        raise LeafletError(
            f"{where}: give at least one of any_of, all_of, after_days or after_times"
        )
    bad = [t for t in rule.any_of + rule.all_of if not _TERM.fullmatch(t)]
    if bad:
        raise LeafletError(f"{where}: terms must be plain lowercase words, not {bad}")
    return rule


def _topic(raw: dict[str, Any], filename: str) -> Topic:
    topic_id = _text(raw, "id", filename)
    where = f"{filename}: topic '{topic_id}'"
    urgency = _text(raw, "urgency", where)
    if urgency not in URGENCIES:
        raise LeafletError(f"{where}: 'urgency' must be 'routine' or 'urgent', not {urgency!r}")
    return Topic(
        id=topic_id,
        title=_text(raw, "title", where),
        keywords=_words(raw, "keywords", where),
        synonyms=_words(raw, "synonyms", where, required=False),
        urgency=urgency,
        answer=_text(raw, "answer", where),
        source=_text(raw, "source", where),
        broad=_flag(raw, "broad", where),
        asks_about_dose=_flag(raw, "asks_about_dose", where),
        escalate=tuple(_escalation(r, topic_id) for r in raw.get("escalate", [])),
        group=filename.removeprefix(_TOPIC_FILES).removesuffix(".toml"),
    )


def _read(name: str) -> dict[str, Any]:
    # importlib.resources, not a path on disk, so this works from a wheel or a zip too.
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))


@cache
def load_topics() -> tuple[Topic, ...]:
    """Every topic from the packaged TOML files, in file order; validated."""
    names = sorted(
        entry.name
        for entry in resources.files(__name__).iterdir()
        if entry.name.startswith(_TOPIC_FILES) and entry.name.endswith(".toml")
    )
    topics = tuple(_topic(raw, name) for name in names for raw in _read(name).get("topic", []))
    ids = [t.id for t in topics]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise LeafletError(f"topic ids must be unique; repeated: {', '.join(duplicates)}")
    for topic in topics:
        for rule in topic.escalate:
            if rule.to not in ids:
                raise LeafletError(f"topic '{topic.id}' escalates to unknown topic '{rule.to}'")
    return topics


def topic_by_id(topic_id: str) -> Topic:
    """The topic with this id; KeyError names the id when there is none."""
    for topic in load_topics():
        if topic.id == topic_id:
            return topic
    raise KeyError(f"no leaflet topic with id {topic_id!r}")


@cache
def known_words() -> frozenset[str]:
    """Correctly spelt everyday words that typo tolerance must never 'correct' into a keyword."""
    words = _read(_LEXICON).get("words", [])
    return frozenset(w.lower() for w in words if isinstance(w, str))
