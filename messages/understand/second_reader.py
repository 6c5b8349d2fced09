"""The model's net under the rules (``messages.model``), for red flags and extra doses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from messages import search
from messages.leaflet import Topic
from messages.understand.questions import is_question
from messages.understand.readings import Reading

_PLAN = re.compile(r"\b(?:tomorrow|tmrw|tonight|later|next (?:time|week|cycle))\b")
_PAST_DOSE = re.compile(
    r"\b(?:took|taken|had|swallowed|ate|eaten|gave|given|popped|doubled|double dosed|tooken|"
    r"necked|downed|ingested)\b"
)

def second_reader(
    text: str,
    readings: list[Reading],
    topics: Sequence[Topic],
    settled: bool = False,
    routine: bool = False,
) -> list[Reading]:
    """The model's net under the rules, for the two things that must never be missed
    (``messages.model``): a possible red flag where the rules found none (where they read a
    routine symptom, a line on when to call), and an extra dose where they read one capsule
    or nothing. Not where the rules read the warning sign and
    its negation ("no fever"), a question about a risk or about doses ("can I take an extra
    one tomorrow?"), or the sign or extra dose already; nor for red flags where the rules
    ``settled`` that the sign is not the patient's now (over, someone else's, the weather), nor
    for extra doses where they read the day's one capsule told as ``routine`` ("another one
    down", "one more week and then break")."""
    kinds = {r.kind for r in readings}
    urgent = {t.id for t in topics if t.urgency == "urgent"}
    denied = any(urgent.intersection(r.negated) for r in readings)
    about_doses = any(
        r.kind == "topic" and r.topics[:1] in (("make-up-dose",), ("sharing-capsules",),
                                               ("missed-dose",), ("vomited-dose",))
        for r in readings
    )  # fmt: skip
    # An extra capsule read by the rules is answered urgently with a nurse alert already: the
    # model's red flag in its words ("two times ... the chart") is not asked for.
    need_red = not kinds & {"red_flag", "risk_question", "extra"} and not denied and not settled
    # A question about doses ("can I take two to catch up?") is no report; a statement that a
    # topic about doses matched ("by mistake I take 2 capsules") may be one.
    asks = "?" in text or is_question(text, search.tokens(text))
    need_extra = (
        not kinds & {"extra", "dose_question", "unsure", "intend", "risk_question"}
        and not (about_doses and asks)
        and not routine
        # a plan, not a report: "take two tomorrow to catch up" (no capsule taken yet)
        and not (_PLAN.search(text.lower()) and not _PAST_DOSE.search(text.lower()))
        # a child's or a pet's capsule: urgent already, and the patient took none
        and not any(r.kind == "red_flag" and r.topics[:1] == ("too-many",) for r in readings)
    )
    if not (need_red or need_extra):
        return readings
    from messages import model  # scikit-learn loads only when a text needs it

    hit = model.flags(text)
    if need_red and "red_flag" in hit:
        if any(r.kind == "topic" for r in readings):
            # The rules read a routine symptom ("diarrhoea") and no sign of a bad one: the
            # model cannot tell how bad either (it would flag every diarrhoea), so the answer
            # says when to call, without an alert.
            readings.append(Reading("warning", text, ("warning-signs",), detail="possible"))
        else:
            readings = [Reading("red_flag", text, ("warning-signs",), detail="possible"),
                        *readings]  # fmt: skip
    if need_extra and "extra" in hit:
        day = next((r.day for r in readings if r.kind in ("taken", "missed") and r.day), None)
        readings = [r for r in readings if r.kind not in ("taken", "missed", "later")]
        readings.append(Reading("extra", text, detail="possible", day=day))
    return readings
