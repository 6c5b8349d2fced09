"""Questions about the schedule: cycle day, capsules left, dose time, break, tests, what next."""

from __future__ import annotations

import re
from collections.abc import Sequence

from messages.understand.questions import is_question

_SCHEDULE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "dose_time",
        re.compile(
            r"\b(?:what|wot|wat|which) time\b|\b(?:change|move|switch) (?:the|my) (?:time|dose time)\b|"
            r"\btime (?:i|do i|should i) take\b|\b(?:tablet|capsule|pill|dose)s? at \d+ or\b|"
            r"\bkeep it at \d+\b|\binstead\b.*\bfrom now on\b|\bfrom now on\b|"
            r"\b(?:dose|capsule|tablet|pill)s? time\b|\btime (?:for|of) my\b|\bwhat time is my\b|"
            r"\bmorning or (?:evening|night|afternoon)\b|\bthe hour (?:at which|when|i)\b|\bwhat hour\b|\b(?:evening|night) or morning\b|"
            r"\b(?:move|change|switch) my time\b|"
            # "when do I take my tablet": the time, asked as when (not about a missed one)
            r"^when (?:do|should|shall|am) i (?:meant to |supposed to )?(?:take|have) my "
            r"(?:tablet|capsule|pill|dose|meds|medication|lenalidomide|revlimid)s?$|"
            # "was it 9 or 10 I take it at?"
            r"\b(?:was|is) it \d+(?: ?[ap]m)? or \d+(?: ?[ap]m)?\b|\btake (?:it|them|my \w+) at$|"
            # "do I take it in the morning or at night", "when's mum meant to have hers"
            r"\bin the morning or (?:at night|in the evening|at bedtime)\b|\bwhen (?:is|s) (?:\w+ )?"
            r"(?:meant|supposed) to (?:have|take) (?:it|hers|his|them|her \w+|his \w+)\b"
        ),
    ),
    (
        "capsules_left",
        re.compile(
            r"\bhow many\b.{0,30}\b(?:left|more|remaining|remain|to go|still)\b|\b(?:capsules?|tablets?|"
            r"pills?|days?|doses?) (?:left|remaining|to go)\b|\bleft (?:in|this|of) (?:this|the|my)?"
            r"\s*(?:cycle|pack|box|course)\b|\bhow many (?:days|more days)\b|\bhave \d+ left\b|"
            r"\bgot \d+ left(?! over)\b|\bhw mny\b|\bhow mny\b|\blast (?:capsule|tablet|pill|one|dose) of (?:the|this) "
            r"cycle\b|\benough (?:capsules|tablets|pills)\b"
        ),
    ),
    (
        "break",
        re.compile(
            r"\b(?:week off|weeks off|rest week|break week|off week|week of rest|my break|the "
            r"break|next break|a break|time off|days off|rest days?|rest period|off period|rest weeks|no capsules? week|stop for a "
            r"week|brek|off the (?:tablets|capsules|pills)|week without|days without|restart|"
            r"start again|holiday from (?:the |my )?(?:tablets|capsules|pills|meds|lenalidomide)|"
            r"(?:rest|breather|holiday) from (?:the |my )?(?:tablets|capsules|pills|meds)|"
            r"stop for the (?:7|seven) days|(?:break|week off|rest week)s? (?:start|begin)|when "
            r"(?:do|does) (?:i|we|he|she|\w+s?) (?:stop|have (?:a|the|my|his|her) break))\b"
        ),
    ),
    (
        "blood_test",
        re.compile(
            r"\b(?:blood tests?|bloods|blood test|blood work|bloodwork|fbc|blood check|blood count|"
            r"my blood taken|for my blood|phlebotomy|phlebotomist|blood draw|book (?:my |in |in for "
            r"|me in for )?(?:my )?bloods)\b"
        ),
    ),
    (
        "pregnancy_test",
        re.compile(r"\bpregnancy tests?\b|\bpreg tests?\b|\bpg tests?\b|\bhcg(?: tests?)?\b|\bbeta hcg\b"),
    ),
    (
        "cycle_day",
        re.compile(
            r"\b(?:what|which|wat|wot)\s+(?:day|cycle|week)\b|\bday of (?:the|my) cycle\b|"
            r"\bwhere am i\b|\bwhat day (?:am i|are we|is it)\b|\bwhich day\b|\bcycle (?:am i|"
            r"are we)\b|\bday \d+\b|\bcycle \d+ or\b|\bday number\b|\bday what\b|\bhow many "
            r"cycles\b|\blost (?:track|count)\b|\bweek of the cycle\b|"
            # "how far through the 21 days am I"
            r"\bhow far (?:through|into|along|in)\b|"
            # "am I now on day twenty or day twenty-one?", "day fourteen or fifteen today?"
            r"\bday (?:\w+ ){0,2}or (?:day )?\w+\b.*\b(?:today|now|count)\b|\b(?:am i|is (?:she|he|mum|"
            r"dad)) (?:now )?on day\b"
        ),
    ),
    (
        "next",
        re.compile(
            r"^next\b|\b(?:whats|what is|what s|wats|wots|what)\s+(?:next|coming up|coming|"
            r"happening|planned|happens next|on the schedule|the plan)\b|\bnext (?:dose|capsule|"
            r"tablet|pill|one|step|steps|cycle|appointment)\b|\bwhen (?:is|s) (?:the|my) next\b|"
            r"\bwhen do i (?:start|restart)\b|\bwhen (?:does|will) (?:my )?(?:next )?cycle (?:start|"
            r"begin)\b|\banything (?:coming up|on|i need|for)\b|\bwhat (?:have i got|do i need to "
            r"do)\b|\bwhen do i next\b|\bschedule\b|\bthe plan\b|\bwhat happens (?:after|at the end "
            r"of) (?:this|the|my) cycle\b|\bwhat (?:comes|happens) (?:after|next)\b"
        ),
    ),
)
_WHEN_WORDS = frozenset({"when", "wen", "what", "which", "how", "whens", "whats", "date",
                         "due", "next", "wot", "wat", "anything", "where", "hw"})  # fmt: skip


# A question about when, not why or what: "when's my blood test?" is the schedule, "why do
# I need blood tests?" a topic.
_WHEN = re.compile(
    r"\b(?:when|wen|whens|next|date|due|day|this week|next week|tomorrow|today|on (?:monday|"
    r"tuesday|wednesday|thursday|friday|saturday|sunday)|have i got|do i have|is my|is it|"
    r"am i|how long|what day|or|is this|this week|is that|book|its my)\b"
)


_AFTER_BREAK = re.compile(
    r"\bwhat (?:comes|happens) (?:after|following|at the end of) (?:the|my) (?:break|week off|rest)\b"
)


def schedule(clause: str, toks: Sequence[str]) -> list[str]:
    """What schedule questions a clause asks ("what day am I on and how many left?": two)."""
    joined = " ".join(toks)
    asked = (
        is_question(clause, toks)
        or bool(_WHEN_WORDS & set(toks))
        or "how many" in joined
        or "need to book" in joined
        or bool(
            re.search(
                r"\b(?:please|tell me|i want|i d like|id like|i would like|can you|"
                r"could you)\b",
                joined,
            )
        )
    )
    # "Doesn't know what day it is": someone confused, not a question about the cycle.
    if not asked or re.search(r"\b(?:know|knows|knowing|sure) what day it is\b", joined):
        return []
    found = []
    for what, pattern in _SCHEDULE:
        if pattern.search(joined):
            if what in ("blood_test", "pregnancy_test", "break") and not _WHEN.search(joined):
                continue
            found.append(what)
    if "next" in found and "break" in found and _AFTER_BREAK.search(joined):
        found.remove("break")  # "what comes after the break?" asks what is next
    if "cycle_day" in found and {"break", "blood_test", "pregnancy_test"} & set(found):
        found.remove("cycle_day")  # "what day is my week off?"
    if len(found) > 1 and "next" in found:
        found.remove("next")
    return found[:2]
