"""What a patient's text means, clause by clause. Pure: same text, same understanding.

A text is split into clauses ("took it. constipated tho" -> "took it" / "constipated tho"),
and each clause is read on its own: a dose report (taken, missed, later, an intention, an
extra capsule, not sure), a question about the dose or the schedule, a symptom or question a
leaflet topic answers, a red flag, a command. A negated symptom ("no fever") is not read as
one, and a question *about* a risk ("am I more likely to get clots?") is not a red flag
happening now. The conversation answers every reading, most urgent first.

``explain`` lays out how a text was read (``lenabot explain "..."``).
"""

from __future__ import annotations

from messages.plain import plain_words
from messages.understand.explain import explain
from messages.understand.readings import DOSE_KINDS, Reading, Understanding
from messages.understand.whole_text import understand

__all__ = ["DOSE_KINDS", "Reading", "Understanding", "explain", "plain_words", "understand"]
