"""Settling a text's readings: one per kind and topic, most urgent first."""

from __future__ import annotations

from functools import cache

from messages import search
from messages.languages import ENGLISH_WORDS
from messages.leaflet import load_topics
from messages.understand.readings import PRIORITY, Reading


@cache
def symptom_topics() -> frozenset[str]:
    """Routine topics about a symptom (the leaflet's side effects)."""
    return frozenset(
        t.id for t in load_topics() if t.group == "side-effects" and t.urgency == "routine"
    )


def _small_talk(text: str) -> bool:
    """English words, or a picture (emoji) alone: something said, though nothing to act on."""
    toks = search.tokens(text)
    if not toks:
        return any(not ch.isspace() and not ch.isalnum() and ord(ch) > 0x2000 for ch in text)
    return len(toks) >= 2 and sum(1 for t in toks if t in ENGLISH_WORDS) >= 1


def settle(readings: list[Reading], text: str = "") -> list[Reading]:
    """One reading per kind and topic, most urgent first; chat and unknown only when alone."""
    kept: dict[tuple[str, str | None, tuple[str, ...]], Reading] = {}
    for r in readings:
        key = (r.kind, r.detail, r.topics[:1] if r.kind in ("topic", "risk_question") else ())
        kept.setdefault(key, r)
    found = list(kept.values())
    # A red flag already answers its own topic, and the symptoms that come with it are part
    # of its story: no routine answer for those too (a question on another subject stays).
    flagged = {t for r in found if r.kind == "red_flag" for t in r.topics[:1]}
    if flagged:
        symptoms = symptom_topics()
        found = [r for r in found if not (
            r.kind in ("topic", "risk_question") and r.topics[:1]
            and (r.topics[0] in flagged or r.topics[0] in symptoms)
        )]  # fmt: skip
    if any(r.kind not in ("help", "chat", "unknown") for r in found):
        found = [r for r in found if r.kind != "help"]  # "what do I do" after a question
    if not found:
        return [Reading("unknown")]
    # "No temperature, no shivers, all ok here": every sign denied is an all-clear, not a
    # question lenabot failed to understand. Likewise English small talk ("hope you're all
    # keeping well") and a bare emoji: chat. Only words that say nothing stay unknown.
    if all(r.kind == "unknown" for r in found) and (
        any(r.negated for r in readings) or _small_talk(text)
    ):
        return [Reading("chat", found[0].clause)]
    meaningful = [r for r in found if r.kind not in ("chat", "unknown")]
    if meaningful:
        found = meaningful
    elif any(r.kind == "chat" for r in found):
        found = [r for r in found if r.kind == "chat"][:1]
    else:
        found = found[:1]
    return sorted(found, key=lambda r: PRIORITY.index(r.kind))
