"""Understanding a whole text: its language, its clauses read one by one, then read together."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from messages import search
from messages.intent import MAX_CHARS, day_named, emoji_to_words
from messages.languages import (
    foreign_fever,
    foreign_language,
    foreign_red_flag,
    script_red_flag,
)
from messages.leaflet import Topic, load_topics
from messages.plain import plain_words
from messages.temperature import band, parse_temperature, the_weather
from messages.understand.chat import whole_message
from messages.understand.clauses import clauses
from messages.understand.doses import TWO_NOW, VOMITED
from messages.understand.extra_doses import (
    EMPTY_SLOTS,
    GIVEN_TWICE,
    NOT_CAPSULES,
    ROUTINE_ONE,
    extra_reason,
)
from messages.understand.not_now import CAN_CAUSE, EXPLAINED, IDIOMS, WEATHER_EXPLAINED
from messages.understand.one_clause import read_clause
from messages.understand.questions import general_risk, is_question
from messages.understand.readings import DOSE_KINDS, Reading, Understanding
from messages.understand.red_flags import (
    ANIMAL_SIGN,
    BRUISE_HEALING,
    HAVE_IT,
    LONG_AGO,
    NO_HEAD,
    NOT_PREGNANT,
    NOT_THE_PATIENT,
    OVER,
    OWN_DOSE_OR_CONTACT,
    PAST,
    SOMEONE_ELSES,
    STILL_BLEEDING,
    STOPPED_SOON,
    THEIR_RISK_ASKED,
    THEIRS_NOW,
    THEIRS_OVER,
    UNWELL,
    WORRIED,
)
from messages.understand.second_reader import second_reader
from messages.understand.settle import settle, symptom_topics


def understand(text: str, topics: Sequence[Topic] | None = None) -> Understanding:
    """The readings of a text, most urgent first. Only the first 1,000 characters count."""
    topics = load_topics() if topics is None else topics
    text = text[:MAX_CHARS]
    words = emoji_to_words(text)
    toks = search.tokens(words)
    if not toks and not words.replace("\u200b", "").strip():
        return Understanding(text, (Reading("empty"),))
    if not toks and any(ch.isalpha() for ch in words):
        # Letters, but none a-z: another script (Chinese, Arabic, Bengali...).
        other = Reading("other_language", text, detail="script")
        sign = script_red_flag(text)
        said = (Reading("red_flag", text, (sign,)), other) if sign else (other,)
        return Understanding(text, said, (text,), "script")
    whole = whole_message(words, toks)
    words = plain_words(words)
    toks = search.tokens(words)
    if whole is not None:
        return Understanding(text, (whole,), (text,))
    # Idioms carry no sign: "that reminder nearly gave me a heart attack".
    idiom = IDIOMS.search(words) is not None
    if idiom:
        words = IDIOMS.sub(" ", words)
        toks = search.tokens(words)
    language = foreign_language(toks)
    readings: list[Reading] = []
    if language is not None:
        fever, celsius = foreign_fever(words, toks)
        sign = foreign_red_flag(toks)
        if fever:
            readings.append(Reading("red_flag", text, ("fever",), temperature_c=celsius))
        elif sign is not None:
            readings.append(Reading("red_flag", text, (sign,)))
        else:
            # Written partly in English ("pair vich dard, left leg swollen red and hot"): the
            # English words are read for a warning sign too.
            readings += [r for r in read_clause(words, topics) if r.kind == "red_flag"][:1]
        readings.append(Reading("other_language", text, detail=language))
        return Understanding(text, tuple(readings), (text,), language)
    # "1) taken 2) feeling sick 3) ...": a numbered list's numbers are no counts.
    words = _LIST_NUMBERS.sub(". ", words)
    parts = clauses(words)
    answered_no = False
    for i, part in enumerate(parts):
        found = read_clause(part, topics)
        # "Shivery? No. Temp? 36.8": a sign asked and answered "no" is denied.
        if "?" in part and i + 1 < len(parts) and search.tokens(parts[i + 1]) in _NO:
            answered_no = answered_no or any(r.kind == "red_flag" for r in found)
            found = [r for r in found if r.kind not in ("red_flag", "topic")]
        readings += found
    # The dose answer covers how to take a capsule, and a missed one: those topics add
    # nothing to a dose or schedule reading (but "can I take two to catch up?" is its own).
    dosing = {r.clause for r in readings if r.kind in DOSE_KINDS or r.kind == "schedule"}
    asks_when = any(r.kind in ("dose_question", "schedule") for r in readings)
    if dosing:
        readings = [
            r for r in readings
            if not (r.kind == "topic" and r.topics[:1] in (("how-to-take",), ("missed-dose",))
                    and (r.clause in dosing or asks_when
                         or not is_question(r.clause, search.tokens(r.clause))))
            and not (r.kind == "topic" and r.topics[:1] == ("make-up-dose",)
                     and not TWO_NOW.search(" ".join(toks)))
        ]  # fmt: skip
    # "Forgot this morning, just took it now": one capsule, taken late. "Forgot yesterday's,
    # took today's" is two doses, two days: both stay.
    missed = [r for r in readings if r.kind == "missed"]
    taken = [r for r in readings if r.kind == "taken"]
    if missed and taken and not _two_days(missed[0], taken[0]):
        readings = [r for r in readings if r.kind != "missed"]
        readings = [
            replace(r, detail="late", day=r.day or missed[0].day) if r.kind == "taken" else r
            for r in readings
        ]
    # "Not yet, will take it at lunch": an intention, not a request to be reminded.
    if any(r.kind == "intend" for r in readings):
        readings = [r for r in readings if r.kind != "later"]
    # "Can't remember if I took it, should I take one?", "I think I took it but I'm not
    # sure": the safe rule answers it all.
    if any(r.kind == "unsure" for r in readings):
        readings = [r for r in readings if r.kind not in ("dose_question", "taken", "missed")]
    # "Forgot last night, should I take it now?" is the question: its answer covers the miss,
    # and the question is about the dose the miss names.
    if any(r.kind == "dose_question" for r in readings):
        named = next((r.day for r in readings if r.kind == "missed" and r.day), None)
        readings = [
            replace(r, day=named) if r.kind == "dose_question" and named else r
            for r in readings
            if r.kind != "missed"
        ]
    # An extra capsule is the whole story of the dose: "forgot I'd already had one" and
    # "took two" are one event, not a miss and a report.
    if any(r.kind == "extra" for r in readings):
        readings = [
            r for r in readings if r.kind not in ("taken", "missed", "intend", "later", "unsure")
        ]
    # A capsule someone else's, or one more than their own, is often said across clauses
    # ("I took mine, then my husband's by mistake"): the whole text decides that too.
    if (
        any(r.kind == "taken" for r in readings) or EMPTY_SLOTS.search(" ".join(toks))
        or GIVEN_TWICE.search(" ".join(toks))
    ) and not ASKS_ANOTHER.search(" ".join(toks)):
        why = extra_reason(words, search.tokens(words), words)
        if why is not None:
            readings = [r for r in readings
                        if r.kind not in ("taken", "extra", "missed", "intend", "later", "unsure")]
            readings.append(Reading("extra", words, detail=why, day=day_named(toks)))  # fmt: skip
    # Sick after taking it: being sick with the capsule in you is its own question.
    if any(r.kind == "taken" for r in readings) and VOMITED.search(" ".join(toks)):
        readings = [
            replace(r, topics=("vomited-dose",)) if r.kind == "topic" and r.topics[:1] ==
            ("sickness",) else r for r in readings
        ]  # fmt: skip
        if not any(r.kind == "topic" and r.topics[:1] == ("vomited-dose",) for r in readings):
            readings.append(Reading("topic", words, ("vomited-dose",)))
    # "Is chest pain a side effect? I've had it all morning": the question was about now.
    if any(r.kind == "risk_question" for r in readings) and HAVE_IT.search(" ".join(toks)):
        urgent = {t.id for t in topics if t.urgency == "urgent"}
        readings = [
            replace(r, kind="red_flag") if r.kind == "risk_question" and r.topics[:1]
            and r.topics[0] in urgent else r for r in readings
        ]  # fmt: skip
    # A warning sign can take two clauses to say ("it burns when I pee and I feel cold"):
    # the whole text is read for red flags too, so splitting never hides one.
    if (
        len(parts) > 1
        and not answered_no
        and not any(r.kind in ("red_flag", "risk_question") for r in readings)
    ):
        for r in read_clause(words, topics):
            if r.kind == "red_flag":
                readings.insert(0, r)
                break
    if (
        not any(r.kind in ("red_flag", "risk_question") for r in readings)
        and UNWELL.search(" ".join(toks))
        and not is_question(words, toks)
        # "feeling kind of down lately, not myself": low mood, answered by its topic
        and not _LOW_MOOD.search(" ".join(toks))
    ):
        readings.insert(0, Reading("red_flag", words, ("warning-signs",), detail="possible"))
    readings = _fever_asked_of_a_normal_reading(readings, words, toks)
    flagged = any(r.kind == "red_flag" for r in readings)
    readings = _not_now_not_theirs(readings, " ".join(toks), parts)
    # Signs the rules read as over, someone else's, the weather's or no sign at all ("period
    # came on time"): the model is not asked to find one again in the same words.
    # The weather's temperature and "period came" settle it only where the rules read no
    # symptom at all beside them.
    settled = (flagged and not any(r.kind == "red_flag" for r in readings)) or (
        (the_weather(words) or NOT_PREGNANT.search(" ".join(toks)) is not None
         or EXPLAINED.search(" ".join(toks)) is not None
         # an idiom that borrows a sign's words ("bleeding me dry"), in one clause, and
         # nothing else read; a check-in ("cycle 2 day 38 all good": no temperature)
         or (idiom and len(parts) == 1) or CHECK_IN.search(" ".join(toks)) is not None)
        and not any(r.kind == "topic" for r in readings)
    )
    # "What happens if I get pregnant on this?", "which signs mean I should ring?": a question
    # about a serious risk that a routine topic or small talk would answer without when to call.
    risk = general_risk(" ".join(toks)) if is_question(words, toks) else None
    if risk is not None and not any(
        r.kind in ("red_flag", "risk_question", "extra") for r in readings
    ):
        readings = [r for r in readings if r.kind not in ("chat", "unknown", "help")
                    and not (r.kind == "topic" and r.topics[:1] in _RISK_ASIDES)]
        readings.insert(0, Reading("risk_question", words, (risk,)))
    # The day's one capsule told as routine, or counts the rules read as something else ("the
    # second one in the box is for tomorrow", "didn't double up"): the model does not count again.
    routine = (ROUTINE_ONE.search(" ".join(toks)) or NOT_CAPSULES.search(" ".join(toks))) is not None
    readings = second_reader(words if idiom else text, readings, topics, settled, routine)
    if routine:
        # Told as the day's routine ("another one down"): one capsule, unless the day's dose
        # is already recorded (bot.conversation.dose decides, knowing the records).
        readings = [replace(r, detail="again") if r.kind == "taken" and r.detail is None else r
                    for r in readings]  # fmt: skip
    # The story around an extra capsule ("nurse said stop because of my bloods, but I took
    # one") asks nothing about blood tests or how to take it: the urgent answer covers it.
    if any(r.kind == "extra" for r in readings):
        readings = [
            r for r in readings
            if not (r.kind == "topic" and r.topics[:1] and r.topics[0] in _DOSE_STORY
                    and not is_question(r.clause, search.tokens(r.clause)))
            and not (r.kind == "topic" and r.detail == "beside_dose")
        ]  # fmt: skip
    return Understanding(text, tuple(settle(readings, text)), tuple(parts))


# Routine topics a general risk question is read as, which its answer covers.
_RISK_ASIDES = frozenset({("contraception",), ("pregnancy-tests",), ("side-effects",),
                          ("infection",), ("warning-signs",)})  # fmt: skip
_NO = (("no",), ("nope",), ("nah",), ("none",), ("no way",), ("not at all",))
_DOSE_STORY = frozenset({"how-to-take", "missed-dose", "make-up-dose", "blood-tests",
                         "stopping-treatment"})  # fmt: skip


def _two_days(missed: Reading, taken: Reading) -> bool:
    """A miss and a report about different doses ("forgot yesterday's, took today's"). A
    report that names no day is the missed dose, taken late ("forgot last night, took it at
    2am")."""
    if taken.day is None:
        return False
    return (missed.day or "today") != taken.day and {missed.day, taken.day} != {
        "today",
        "this_morning",
    }


_LIST_NUMBERS = re.compile(r"(?:^|(?<=\s))\d\)\s+|(?:^|(?<=\n))\s*\d\.\s+")
# "Took it but was sick 20 mins later, do I take another one?": asked, not done.
ASKS_ANOTHER = re.compile(
    r"\b(?:do|should|can|shall|must|could) i (?:take|have) (?:another|an extra|one more|a second|"
    r"a new one|a replacement)\b"
)


def _fever_asked_of_a_normal_reading(
    readings: list[Reading], words: str, toks: Sequence[str]
) -> list[Reading]:
    """ "99.5 F, is that a fever?": the fever word is in the question, the reading below 38C
    (raised at most): the infection advice, which says 38C is the line, not a red flag."""
    flags = [r for r in readings if r.kind == "red_flag"]
    celsius = parse_temperature(words)
    if (
        not flags
        or celsius is None
        or band(celsius) == "red_flag"
        or not all(f.topics[:1] == ("fever",) and f.temperature_c is None for f in flags)
        or not all(is_question(f.clause, search.tokens(f.clause)) for f in flags)
    ):
        return readings
    kept = [r for r in readings if r.kind != "red_flag"]
    if not any(r.kind == "topic" and r.topics[:1] == ("infection",) for r in kept):
        kept.append(Reading("topic", flags[0].clause, ("infection",), temperature_c=celsius))
    return kept


_LOW_MOOD = re.compile(r"\b(?:down|low|sad|depressed|fed up|blue|flat|tearful|weepy|miserable)\b")
CHECK_IN = re.compile(
    r"^(?:cycle|c) ?\d+ ?(?:day|d) ?\d+\b(?!.*\b(?:temp|temperature|fever|bleed\w*|pain|hot|"
    r"shiver\w*|blood)\b).*\b(?:all good|fine|ok|okay|good|grand|no problems|no issues|all well)\b"
)


def _said(clause: str) -> str:
    return " ".join(search.tokens(clause))


def _told_over(clause: str) -> bool:
    said = _said(clause)
    return THEIRS_OVER.search(said) is not None and THEIRS_NOW.search(said) is None


def _not_now_not_theirs(readings: list[Reading], joined: str, parts: Sequence[str]) -> list[Reading]:
    """A warning sign that is over ("had a fall last month, all healed now") or someone
    else's, told by a patient about their own dose or asking about contact ("my son has a
    temperature, can I still look after him?"), is no red flag of the patient's: its routine
    topic (if any) answers it."""
    flags = [r for r in readings if r.kind == "red_flag" and r.detail != "possible"]
    if not flags:
        return readings
    over = (
        bool(PAST.search(joined) and OVER.search(joined))
        # one sign, explained away ("the black was from the liquorice"): never a second
        or (EXPLAINED.search(joined) is not None and len(flags) == 1)
        # shivers put down to the weather: "that was purely the English weather"
        or (WEATHER_EXPLAINED.search(joined) is not None
            and all(f.topics[:1] == ("fever",) for f in flags)
            and not any(f.temperature_c for f in flags))
        or (bool(NO_HEAD.search(joined))
            and all(f.topics[:1] == ("bleeding-skull",) for f in flags))
        # a bleed that stopped at once or a bruise healing, unless a bleed goes on
        or (bool(STOPPED_SOON.search(joined) or BRUISE_HEALING.search(joined))
            and not STILL_BLEEDING.search(joined)
            and all(f.topics[:1] == ("bruising-bleeding",) for f in flags))
        or (bool(NOT_PREGNANT.search(joined))
            and all(f.topics[:1] == ("possible-pregnancy",) for f in flags))
    )  # fmt: skip
    # Every sign read is a body's sign told of an animal, or long ago, in its own clause (a pet
    # that may have eaten a capsule is never this: it stays urgent).
    long_ago = all(
        f.topics[:1] not in (("too-many",), ("too-many-other",))
        and (ANIMAL_SIGN.search(_said(f.clause)) or LONG_AGO.search(_said(f.clause)))
        for f in flags
    )
    others = [_said(p) for p in parts]
    # Every sign read is told of someone else ("my daughter has a temp of 38.9"), not only
    # some clause ("I fainted in the bathroom, my daughter found me" is the patient's).
    theirs = bool(OWN_DOSE_OR_CONTACT.search(joined)) and all(
        SOMEONE_ELSES.search(_said(f.clause)) for f in flags
    )
    # A friend's or a neighbour's (not someone a carer texts for): "Neighbour collapsed at the
    # bus stop yesterday, she's ok".
    theirs = theirs or all(NOT_THE_PATIENT.search(_said(f.clause)) for f in flags)
    # "My friend on the same drug had a clot, does that happen a lot?": a question about the
    # patient's own risk, answered with the signs and when to call.
    told = [p for p in others if SOMEONE_ELSES.search(p)]
    asked = any(is_question(p, search.tokens(p)) for p in parts) and (
        # a friend's or a neighbour's sign, and a worry or a question about the drug's risk
        (
            any(NOT_THE_PATIENT.search(p) for p in told)
            and (THEIR_RISK_ASKED.search(joined) or WORRIED.search(joined)) is not None
        )
        # anyone's, told as over, and a question about the drug's risk
        or (
            THEIR_RISK_ASKED.search(joined) is not None
            and any(THEIRS_OVER.search(p) and not THEIRS_NOW.search(p) for p in told)
        )
        # the patient's own, long over ("had nosebleeds as a kid, will this bring them
        # back?"): every sign read is in a clause told as over
        or (
            THEIR_RISK_ASKED.search(joined) is not None
            and all(_told_over(f.clause) for f in flags)
        )
    )
    # "My friend says lenalidomide can cause heart attacks. Is this true?": the sign is named
    # as what the drug can do, and asked about.
    asked = asked or (
        any(is_question(p, search.tokens(p)) for p in parts)
        and all(CAN_CAUSE.search(_said(f.clause)) for f in flags)
    )
    if asked and not over:
        kept = [r for r in readings if r.kind != "red_flag"]
        topics = tuple(dict.fromkeys(t for f in flags for t in f.topics))
        return [Reading("risk_question", flags[0].clause, topics), *kept]
    if not (over or theirs or long_ago):
        return readings
    kept = [r for r in readings if r.kind != "red_flag"]
    if not any(r.kind == "topic" for r in kept):
        routine = next((t for f in flags for t in f.topics if t in symptom_topics()), None)
        if routine is not None:
            kept.append(Reading("topic", flags[0].clause, (routine,)))
    return kept

