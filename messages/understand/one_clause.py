"""Reading one clause: its red flags, dose readings, schedule questions and leaflet topics."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from messages import search
from messages.intent import TOPIC_LIMIT, day_named, dose_report, emoji_to_words, escalations
from messages.leaflet import Topic
from messages.temperature import band, parse_temperature
from messages.understand.chat import CHAT, HELP, STOP_REQUEST
from messages.understand.doses import (
    BUSY,
    CARER_DOSE,
    DOSE_ASK,
    DOSE_QUESTION,
    HOW_TO,
    INTEND,
    NOT_INTENDING,
    OTHER_PILLS,
    PAST_REPORT,
    PAST_STORY,
    SAMPLE_TAKEN,
    THOUGHT,
    TIMING,
    UNSURE,
)
from messages.understand.extra_doses import (
    NOT_A_COUNT,
    NOT_CAPSULES,
    OTHER_SWALLOWED,
    PET_SWALLOWED,
    THINK_I_DOUBLED,
    capsules_named,
    extra_reason,
    someone_else_got_one,
)
from messages.understand.false_friends import false_friends_masked
from messages.understand.negation import negated_positions
from messages.understand.questions import (
    HYPOTHETICAL,
    RISK_TOPICS,
    RISKY,
    WHAT_IF,
    is_question,
    risk_question,
    when_to_call,
)
from messages.understand.readings import DOSE_KINDS, Reading, ReadingKind
from messages.understand.red_flags import BODY_BLEED, NOT_A_SIGN, SIGNS, STILL_BLEEDING
from messages.understand.schedule import schedule

_DIZZY = re.compile(
    r"\b(?:dizz\w*|lightheaded|light headed|giddy|vertigo|wobbly|unsteady|spinning)\b"
)
_SECOND_SUBJECT = 96.0  # a second topic in a clause needs words as sure as a stem match
# Topics whose symptom is something not happening: a negation there is the symptom itself.
_ABSENCE_TOPICS = frozenset({"constipation", "sleep", "appetite-taste", "fertility",
                             "possible-pregnancy", "fatigue", "kidneys-urine"})  # fmt: skip


def _masked(toks: Sequence[str], hidden: set[int]) -> list[str]:
    return ["" if i in hidden else t for i, t in enumerate(toks)]


def read_clause(clause: str, topics: Sequence[Topic]) -> list[Reading]:
    """Every reading of one clause (usually one)."""
    text = emoji_to_words(clause)
    toks = search.tokens(text)
    if not toks:
        return []
    by_id = search.topics_by_id(topics)
    joined = " ".join(toks)
    negated = negated_positions(toks)
    celsius = parse_temperature(text)
    ignore = (
        frozenset({"temp", "temps", "temperature", "fever", "high", "degrees", "deg",
                   "thermometer", "reading"})
        if celsius is not None else frozenset()
    )  # fmt: skip
    # Words that share a stem with a topic word but mean something else ("the packet was
    # confusing" is not confusion; "thank you nurses" is not nursing).
    toks = false_friends_masked(toks)
    visible = _masked(toks, negated)
    matches = search.rank(visible, topics, ignore)
    everything = search.rank(toks, topics, ignore)
    kept_ids = {x.topic_id for x in matches}
    # "Haven't pooed in days" is constipation: for these topics the negation is the symptom.
    absent = [m for m in everything if m.topic_id in _ABSENCE_TOPICS and m.topic_id not in kept_ids]
    if absent:
        matches = sorted([*matches, *absent], key=lambda m: -m.score)
        kept_ids |= {m.topic_id for m in absent}
    denied = [m.topic_id for m in everything if m.topic_id not in kept_ids]
    ranked = [m.topic_id for m in matches]
    best = matches[0].score if matches else 0.0
    question = is_question(clause, toks)
    out: list[Reading] = []
    if CHAT.match(joined):
        return [Reading("chat", clause)]  # "Merry Christmas to all the nurses"
    about = when_to_call(joined, question) if celsius is None else None
    if about is not None:  # "what temp do I call you at?": the signs, and call if now
        return [Reading("risk_question", clause, (about,) if about in by_id else ())]

    # Red flags: urgent topics, escalations, a high reading; never when denied.
    hot = celsius is not None and band(celsius) == "red_flag"
    urgent = [t for t in ranked if by_id[t].urgency == "urgent"]
    for topic_id in ranked:
        urgent += escalations(by_id[topic_id], visible)
    if hot and "fever" in by_id:
        urgent.insert(0, "fever")
    # A safety net under the topics' phrases: bleeding from anywhere, and breathing trouble,
    # however they are put ("blood when I blow my nose"), unless denied.
    shown = " ".join(t for t in visible if t)
    for sign, topic_id in SIGNS:
        if (
            topic_id in by_id
            and sign.search(shown)
            # a blood test or a blood count is no bleed; it says nothing of a clot in a leg
            and (topic_id != "bruising-bleeding" or not NOT_A_SIGN.search(shown)
                 or BODY_BLEED.search(shown) or STILL_BLEEDING.search(shown))
        ):
            urgent.append(topic_id)
    # "Do we give her one?" from a carer is about the patient's own dose, not sharing capsules.
    carer_dose = CARER_DOSE.search(joined) is not None
    asked = set().union(*(m.at for m in matches if by_id[m.topic_id].asks_about_dose
                          and not (carer_dose and m.topic_id == "sharing-capsules")))  # fmt: skip
    # The dose words are read whole ("didn't take it" is a miss): dose_report has its own
    # negations. "I thought I took it" takes nothing.
    dose, spots = dose_report(_masked(toks, asked))
    if (
        dose == "taken"
        and OTHER_PILLS.search(joined)
        and re.search(
            r"\b(?:took|taken|had)\s+(?:\w+\s+){0,2}(?:paracetamol|ibuprofen|aspirin|co codamol|"
            r"codeine|painkillers?|antibiotics?|laxatives?|senna|vitamins?|antihistamines?|"
            r"antacids?|steroids?)\b",
            joined,
        )
        and not re.search(r"\b(?:capsule|lenalidomide|revlimid|my dose|it)\b", joined)
    ):
        dose = None  # "I have taken two paracetamol"
    if dose == "taken" and re.search(
        r"\bhad it (?:all|since|for|on and off|every|again)\b", joined
    ):
        dose = None  # "I've had it all morning": the pain, not the capsule
    if (
        dose == "taken"
        and re.search(
            r"\bhad (?:the|a) (?!capsule|tablet|pill|dose|one|"
            r"lenalidomide|revlimid|med|\d)\w+",
            joined,
        )
        and not re.search(
            r"\b(?:took|taken|swallowed|done|had (?:it|them|my|todays|tonights))\b", joined
        )
    ):
        dose = None  # "had the runs all week", "had a fall": a symptom, not the capsule
    if (
        dose == "taken"
        and re.search(
            r"\btook (?:about|around|nearly|over|almost|at least|roughly) (?:half an?|an?|half|\d+|ten|twenty|"
            r"thirty|forty|fifty|two|three) (?:hour|hours|minutes|mins|min|hrs|hr|half|ages|days)\b",
            joined,
        )
        and not re.search(r"\b(?:taken|had it|took (?:it|my|mine|todays))\b", joined)
    ):
        dose = None  # "took about half an hour to stop": a time, not the capsule
    if dose in ("taken", "missed") and re.search(
        r"\b(?:wont|cant|cannot|can t|unable to|struggl\w* to|hard to|difficult to|trouble|"
        r"refuses to|not able to) swallow\b|\b(?:hate|dont like|do not like|cant stand|"
        r"struggle with|difficulty|trouble|problems?|pain when|hurts when) swallowing\b",
        joined,
    ):
        dose = None  # "won't swallow the capsule": a problem to answer, not a report
    if dose == "taken" and SAMPLE_TAKEN.search(joined) and not re.search(r"\btook\b", joined):
        dose = None  # "my blood taken", "had my temp taken": a sample, not the capsule
    if dose == "taken" and THOUGHT.search(joined):
        dose = "missed" if re.search(r"\b(?:forgot|forgotten|missed|didnt)\b", joined) else None
    if asked and dose == "later":
        dose = None
    if (
        question
        and dose == "later"
        and ("?" in clause or toks[:1] in (("does",), ("is",), ("what",), ("how",), ("why",)))
        and not re.search(r"\b(?:remind|reminder|text me|message me|nudge|ask me|send)\b", joined)
    ):
        dose = None  # "does it give you a second cancer later on?": no snooze
    who = someone_else_got_one(joined)
    not_theirs = OTHER_SWALLOWED.search(joined) is not None or who == "child"
    pet = not not_theirs and (
        (PET_SWALLOWED.search(joined) is not None and capsules_named(joined)) or who == "pet"
    )
    if not_theirs or pet:
        urgent = ["too-many-other", *urgent]
    if not_theirs or pet:
        dose = None
    # Too many capsules is an extra dose, not a sign in the body (its own urgent answer).
    overdose = "too-many" in urgent
    urgent = ["too-many" if t == "too-many-other" else t for t in urgent if t != "too-many"]
    if urgent or hot:
        topics_found = tuple(dict.fromkeys(urgent + ranked))
        # "If my temp goes to 38, who do I ring?": a reading that might come, not one taken.
        if risk_question(clause, toks) and (not hot or HYPOTHETICAL.search(joined)):
            out.append(Reading("risk_question", clause, topics_found, score=best))
        else:
            out.append(Reading("red_flag", clause, topics_found, temperature_c=celsius,
                               score=best))  # fmt: skip
        inside = any(spots <= m.at for m in matches if m.topic_id in urgent)
        if inside:
            dose = None
    elif celsius is not None and band(celsius) == "raised" and "infection" in by_id:
        ranked.insert(0, "infection")  # 37.5-37.9: the infection advice

    # Dose readings. In a question, only a plain past report counts ("forgot, can I take it
    # now?" reports a miss; "can I take it now?" and "I can't swallow it" report nothing).
    if question and dose in ("taken", "missed", "conflict") and not PAST_REPORT.search(joined):
        dose = None
    # A question a leaflet topic answers about capsules ("can I take an extra one tomorrow?",
    # "sick after taking it") is that question, not a dose to decide on.
    told = bool(
        re.search(
            r"\b(?:took|taken|had|swallowed|doubled|double dosed|double dose|taking (?:\d|two)|by "
            r"taking (?:an? |my )?(?:extra|another|additional|second|two|both|\d)|instead of "
            r"(?:1|one)|(?:two|2|three|3) (?:tablets|capsules|pills|caps) (?:today|tonight|this "
            r"morning|yesterday|last night|by mistake|by accident|at once|together|in one go)|"
            r"mistake|by accident|accidentally)\b",
            joined,
        )
    )  # "by mistake I take 2 capsules": a report, whatever the tense
    what_if = WHAT_IF.search(joined) is not None  # "what happens if I take two?"
    # "think I double dosed??" is a report told with doubt, not a question about doubling.
    asked_only = asked and (question or not told) and not THINK_I_DOUBLED.search(joined)
    extra = None if asked_only or not_theirs or pet or what_if else extra_reason(clause, visible, text)
    if (
        extra is None
        and overdose
        and not asked
        and not OTHER_PILLS.search(joined)
        and not (not_theirs or pet)
        and not NOT_A_COUNT.search(joined)
        and not NOT_CAPSULES.search(joined)
        and not what_if
    ):
        extra = "count"  # the too-many topic's words ("took 2"), when no time says otherwise
    if overdose and what_if and "too-many" in by_id:  # its answer, and call if it happened
        out.append(Reading("risk_question", clause, ("too-many",)))
    unsure = bool(UNSURE.search(joined)) and not re.search(
        r"\bhow (?:would|will|do|can|could) i (?:know|tell)\b", joined
    )  # "how would I know if I had a clot" asks about a sign
    plan_only = NOT_INTENDING.search(joined) is not None
    if plan_only and dose == "later":
        dose = None  # "will take tomorrow's as normal": nothing to remind about now
    intend = (
        not asked
        # "Will do!" in reply to a reminder reads like "will I ...?" but tells
        and (not question or re.fullmatch(r"(?:ok |okay |yes |yep )?will do", joined) is not None)
        and not plan_only
        and bool(INTEND.search(joined))
        and not re.search(r"\b(?:took|taken|had)\b", joined)
    )
    dose_question = (
        (question or DOSE_ASK.search(joined) is not None)
        and not asked
        and bool(DOSE_QUESTION.search(joined))
        and not (HOW_TO.search(joined) and not TIMING.search(joined))
    )
    day = day_named(toks)
    if extra is not None and not (question and dose != "taken" and extra == "no_dose"):
        out.append(Reading("extra", clause, detail=extra, day=day))
    elif unsure:
        out.append(Reading("unsure", clause, day=day))
    elif dose in ("taken", "missed") and not (dose == "taken" and intend):
        out.append(Reading(dose, clause, day=day))
        if dose_question:
            out.append(Reading("dose_question", clause, day=day))
    elif dose == "conflict":
        out.append(Reading("missed", clause, day=day))
        out.append(Reading("taken", clause, day=day))
    elif dose_question:
        out.append(Reading("dose_question", clause, day=day))
    elif intend or (
        dose == "later"
        and re.search(r"\b(?:will|ill|going|gonna|about)\b", joined)
        and not re.search(r"\bremind\w*\b", joined)  # "I'll need reminding later"
    ):
        out.append(Reading("intend", clause, day=day))
    elif dose == "later" and ("yet" in toks or not PAST_STORY.search(joined)):
        out.append(Reading("later", clause, day=day))
    elif dose is None and not question and BUSY.fullmatch(joined):
        out.append(Reading("later", clause, day=day))  # "im driving": not now
    elif dose_question:
        out.append(Reading("dose_question", clause, day=day))

    # Schedule questions. "What time should I take it?" asks the time, not whether to take it.
    asked_when = schedule(clause, toks)
    what = asked_when[0] if asked_when else None
    if what == "dose_time" or (what is not None and question and not dose_question):
        out = [r for r in out if r.kind not in ("dose_question", "later", "intend")] + [
            Reading("schedule", clause, detail=w) for w in asked_when
        ]
    elif what is not None and not any(r.kind == "dose_question" for r in out):
        out += [Reading("schedule", clause, detail=w) for w in asked_when]

    # Topics: what is left of the clause once its dose words and schedule words are read. In
    # a report ("had it with a glass of milk", "wife took it"), the other words are the
    # story, not a question: a topic only where the clause asks one.
    reporting = any(r.kind in ("taken", "missed", "later", "intend", "extra") for r in out)
    # "Can you text me again at 9, I'm driving": a request with its reason, not a question.
    requesting = any(r.kind == "later" for r in out)
    if (not out or all(r.kind in DOSE_KINDS or r.kind == "schedule" for r in out)) and (
        not reporting or (question and not requesting)
    ):
        used = set(spots)
        routine = [
            m
            for m in matches
            if by_id[m.topic_id].urgency != "urgent" and not (m.at <= used and used)
        ]
        close = [m.topic_id for m in search.closest(routine, TOPIC_LIMIT)]
        kept = tuple(dict.fromkeys([t for t in ranked if t in close] + close))[:TOPIC_LIMIT]
        if dose_question:
            # "my platelets are low, do I still take it?": the bloods are why they ask, and
            # the dose answer (hold or take) is the answer; a carer's "do we give her one?"
            # is not about sharing capsules
            kept = tuple(t for t in kept if t not in ("blood-tests", "sharing-capsules"))
        # 37.5-37.9, or a normal reading and nothing else: the infection advice (when to call)
        if celsius is not None and (band(celsius) == "raised" or not kept) and "infection" in by_id:
            kept = tuple(dict.fromkeys(("infection", *kept)))[:TOPIC_LIMIT]  # 37.5-37.9
        if kept and not _only_schedule_words(kept, what):
            risky = (
                kept[0] in RISK_TOPICS
                and risk_question(clause, toks)
                and (kept[0] == "warning-signs" or RISKY.search(joined) is not None)
            )
            kind: ReadingKind = "risk_question" if risky else "topic"
            if kind == "topic" or not any(r.kind == "risk_question" for r in out):
                out.append(Reading(kind, clause, kept, temperature_c=celsius, score=best))
            # A second subject in other words ("feel sick and off my food"): its own answer.
            # Topics found by the same words are a close call for a menu, not two subjects.
            first = next((m for m in routine if m.topic_id == kept[0]), None)
            if first is not None and kind == "topic":
                other = next((m for m in routine if m.topic_id != kept[0] and m.score >=
                              _SECOND_SUBJECT and _apart(first.at, m.at, toks)), None)  # fmt: skip
                if other is not None:
                    out.append(Reading("topic", clause, (other.topic_id,), score=other.score))
    elif (
        [r.kind for r in out] == ["taken"]
        and not question
        and not re.search(r"\bnil by mouth\b", joined)
    ):
        # A report with a symptom in other words after it ("took it this am, mouth is sore",
        # "Took it, tummy's been crampy"): the symptom gets its answer; the story around a
        # dose ("had it with a glass of milk") does not.
        used = set(spots)
        after = max(used) if used else -1
        symptom = next(
            (m for m in matches
             if by_id[m.topic_id].urgency != "urgent" and by_id[m.topic_id].group == "side-effects"
             and m.score >= _SECOND_SUBJECT and not m.at & used and min(m.at) > after
             and (m.topic_id != "dizziness-driving" or _DIZZY.search(joined))),
            None,
        )  # fmt: skip
        if symptom is not None:
            out.append(Reading("topic", clause, (symptom.topic_id,), detail="beside_dose",
                               score=symptom.score))  # fmt: skip
    if not out and STOP_REQUEST.search(joined):
        out.append(Reading("stop_request", clause))
    if not out and HELP.search(joined):
        out.append(Reading("help", clause))
    if not out and CHAT.match(joined):
        out.append(Reading("chat", clause))
    if not out and len(toks) <= 5 and {"help", "info", "menu"}.intersection(toks):
        out.append(Reading("help", clause))
    return [replace(r, negated=tuple(denied)) for r in out] or [
        Reading("unknown", clause, negated=tuple(denied))
    ]


def _apart(a: frozenset[int], b: frozenset[int], toks: Sequence[str]) -> bool:
    """Two matches said apart, joined by "and" ("feel sick and off my food"), not one
    phrase two topics share words of ("metallic taste in my mouth")."""
    if not a or not b or a & b:
        return False
    lo, hi = (a, b) if max(a) < min(b) else (b, a)
    if max(lo) >= min(hi):
        return False
    return bool({"and", "also", "plus"} & set(toks[max(lo) + 1 : min(hi)]))


def _only_schedule_words(topic_ids: tuple[str, ...], what: str | None) -> bool:
    """A schedule question names blood or pregnancy tests: that topic is not a second ask."""
    if what == "blood_test":
        return set(topic_ids) <= {"blood-tests"}
    if what == "pregnancy_test":
        return set(topic_ids) <= {"pregnancy-tests"}
    return False
