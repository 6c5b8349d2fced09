"""What a text means: a Reading per clause, the Understanding of a text, their order of urgency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ReadingKind = Literal[
    "taken", "missed", "later", "intend", "extra", "unsure", "dose_question", "schedule",
    "red_flag", "risk_question", "topic", "warning", "stop", "start", "help", "stop_request",
    "other_language", "chat", "menu_choice", "unknown", "empty",
]  # fmt: skip
DOSE_KINDS: frozenset[str] = frozenset(
    {"taken", "missed", "later", "intend", "extra", "unsure", "dose_question"}
)
# Most urgent first: the order the conversation answers readings in.
PRIORITY: tuple[str, ...] = (
    "red_flag", "extra", "taken", "missed", "dose_question", "unsure", "intend", "later",
    "schedule", "risk_question", "topic", "warning", "stop_request", "other_language", "help",
    "menu_choice", "stop", "start", "chat", "unknown", "empty",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reading:
    """The meaning of one clause (or of the whole text, for a command)."""

    kind: ReadingKind
    clause: str = ""
    topics: tuple[str, ...] = ()  # leaflet topic ids, best first
    # schedule: what is asked (cycle_day, capsules_left, dose_time, break, blood_test,
    # pregnancy_test, next); extra: why (count, someone_else, another, two_days).
    detail: str | None = None
    day: str | None = None  # the day a dose report names (messages.intent.day_named)
    temperature_c: float | None = None
    choice: int | None = None  # menu_choice
    score: float = 0.0  # the best topic's match score
    negated: tuple[str, ...] = ()  # topics the clause names only to deny ("no fever")


@dataclass(frozen=True, slots=True)
class Understanding:
    text: str
    readings: tuple[Reading, ...]
    clauses: tuple[str, ...] = ()
    language: str = "en"
    notes: tuple[str, ...] = field(default=(), compare=False)  # for ``explain``

    def of(self, kind: str) -> list[Reading]:
        return [r for r in self.readings if r.kind == kind]

    def has(self, *kinds: str) -> bool:
        return any(r.kind in kinds for r in self.readings)

    @property
    def urgent(self) -> bool:
        return self.has("red_flag", "extra")

    def labels(self) -> set[str]:
        """The corpus labels of this understanding (tests/corpus/README.md)."""
        out: set[str] = set()
        for r in self.readings:
            if r.kind == "topic":
                out |= {f"topic:{t}" for t in r.topics[:1]}
            elif r.kind == "schedule":
                out.add(f"schedule:{r.detail}")
            elif r.kind == "menu_choice":
                out.add("unknown")
            elif r.kind not in ("empty", "warning"):
                out.add(r.kind)
        return out
