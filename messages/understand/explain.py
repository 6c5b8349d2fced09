"""How a text was read, laid out for a person (``lenabot explain``)."""

from __future__ import annotations

from messages.leaflet import load_topics
from messages.understand.one_clause import read_clause
from messages.understand.whole_text import understand


def explain(text: str) -> str:
    """How a text is read, for a person: its clauses, each clause's readings with their
    topics and scores, and what the whole text comes to (``lenabot explain``)."""
    topics = load_topics()
    u = understand(text, topics)
    lines = [f"text: {text!r}"]
    if u.language != "en":
        lines.append(f"language: not English ({u.language})")
    for part in u.clauses:
        lines.append(f"clause: {part!r}")
        for r in read_clause(part, topics) if u.language == "en" else ():
            extra = []
            if r.topics:
                extra.append("topics " + ", ".join(r.topics))
            if r.detail:
                extra.append(r.detail)
            if r.day:
                extra.append(f"day {r.day}")
            if r.temperature_c is not None:
                extra.append(f"{r.temperature_c:.1f}C")
            if r.score:
                extra.append(f"score {r.score:.0f}")
            if r.negated:
                extra.append("denied " + ", ".join(r.negated))
            lines.append(f"  {r.kind}" + (f" ({'; '.join(extra)})" if extra else ""))
    if u.language == "en":
        from messages import model

        p = model.probabilities(text)
        lines.append("model: " + ", ".join(
            f"{label} {p[label]:.2f} (threshold {model.THRESHOLDS[label]:.2f})"
            for label in model.LABELS
        ))  # fmt: skip
    possible = [r.kind for r in u.readings if r.detail == "possible"]
    if possible:
        lines.append("from the model: " + ", ".join(possible))
    lines.append("reading: " + ", ".join(sorted(u.labels())))
    return "\n".join(lines)
