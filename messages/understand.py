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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Literal

from messages import search
from messages.intent import (
    MAX_CHARS,
    TOPIC_LIMIT,
    day_named,
    dose_report,
    emoji_to_words,
    escalations,
    whole_command,
)
from messages.languages import ENGLISH_WORDS, foreign_fever, foreign_language, foreign_red_flag
from messages.leaflet import Topic, load_topics
from messages.temperature import band, parse_temperature

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


# -- text speak ------------------------------------------------------------------------------

# Phone shorthand, as whole words, in the spelling the rest of this module reads.
_SPEAK = {
    "2day": "today", "2dy": "today", "tday": "today", "2nite": "tonight", "2nyt": "tonight",
    "tonite": "tonight", "2moro": "tomorrow", "2morrow": "tomorrow", "tmrw": "tomorrow",
    "tmr": "tomorrow", "tomoz": "tomorrow", "yest": "yesterday", "ystrdy": "yesterday",
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "b4": "before",
    "l8r": "later", "l8": "late", "4got": "forgot", "4gt": "forgot", "frgt": "forgot",
    "dis": "this", "tkn": "taken", "tkin": "taking", "cos": "because", "coz": "because",
    "cuz": "because", "wot": "what", "wat": "what", "wen": "when", "shud": "should",
    "shld": "should", "cud": "could", "wud": "would", "hv": "have", "hav": "have",
    "av": "have", "gt": "got", "thx": "thanks", "thnx": "thanks", "ty": "thanks",
    "nite": "night", "mornin": "morning", "mrng": "morning", "evng": "evening",
    "abt": "about", "bout": "about", "w/": "with", "wiv": "with", "dnt": "dont",
    "cnt": "cant", "rmbr": "remember", "remeber": "remember", "im": "im", "n": "and",
    "caps": "capsules", "tabs": "tablets", "meds": "meds", "temp": "temp", "dr": "doctor",
    "doc": "doctor", "hosp": "hospital", "appt": "appointment", "xx": "xx", "tuk": "took",
    "tuck": "took", "tookd": "took",
}
_SPEAK_WORD = re.compile(r"(?<![\w'])(" + "|".join(
    re.escape(k) for k in sorted(_SPEAK, key=len, reverse=True) if _SPEAK[k] != k
) + r")(?![\w'])", re.IGNORECASE)


_ASKED_TK = re.compile(r"\b((?:can|should|shall|could|do|will|to|may)(?: i)?) tk\b", re.IGNORECASE)


def plain_words(text: str) -> str:
    """Text speak spelt out: "4got 2day, tk it l8r?" -> "forgot today, take it later?"."""
    text = _ASKED_TK.sub(r"\1 take", text)  # "can i tk it" asks to take; "tk it" reports
    return _SPEAK_WORD.sub(lambda m: _SPEAK[m.group(1).lower()], text)


# -- clauses ---------------------------------------------------------------------------------

# Sentence ends, and the joins where a new thought starts ("took it but feel sick").
_CLAUSE_BREAK = re.compile(
    r"(?:[.!?;\n]+(?:\s+|$)|\s*[,:]\s+(?=(?:but|and|also|though|tho|however|plus|then|"
    r"just|no|not|i|im|ive|my|its|when|what|how|can|could|should|shall|do|does|is|am|will|"
    r"would|did|any|got|feel|feeling|had|have|been|took|taken|forgot|missed|remembered)\b)|"
    r"\s+(?:but|also|though|tho|however|"
    r"plus|and then|and also)\s+|\s+and\s+(?=(?:i|im|ive|my|its|now|then|feel|feeling|got|"
    r"have|had|it|when|what|can|should|is|am)\b)|\s+-\s+)",
    re.IGNORECASE,
)


# A dose report said first, then a comma: "taken, temp is 38.4 though".
_REPORT_FIRST = re.compile(
    r"^((?:yes\s+|no\s+|just\s+|i\s+)*(?:taken|took it|took mine|took my \w+|done|had it|"
    r"had mine|tkn|tkn it|missed|missed it|forgot|forgot it|yes|yes done|no)(?:\s+(?:last night|"
    r"this morning|yesterday|today|earlier|tonight|at \d+(?::\d+)?(?:\s*[ap]m)?|as usual|with "
    r"\w+))?)\s*,\s*(.+)$",
    re.IGNORECASE,
)


def clauses(text: str) -> list[str]:
    """The clauses of a text: sentences, and the parts of a sentence joined by "but",
    "also", "and I...", a comma before a new subject or question, or after a dose report.
    A short start before "and" stays with what follows ("my partner and I want...")."""
    parts: list[str] = []
    start = 0
    pieces: list[tuple[str, str]] = []  # (text, the break that ended it)
    for m in _CLAUSE_BREAK.finditer(text):
        pieces.append((text[start : m.start()], m.group(0)))
        start = m.end()
    pieces.append((text[start:], ""))
    carry = ""
    for piece, brk in pieces:
        piece = carry + piece
        carry = ""
        if "?" in brk:
            piece = piece.rstrip() + "?"  # the clause asks: keep its question mark
        toks = search.tokens(piece)
        if (brk.strip().lower() == "and" and len(toks) <= 2
                and toks[0] in ("my", "me", "our", "the", "his", "her", "mum", "dad", "wife",
                                "husband", "partner")):  # fmt: skip
            carry = piece + brk
            continue
        piece = piece.strip(" ,.;:-")
        first = _REPORT_FIRST.match(piece.rstrip("?"))
        parts += [first[1], first[2]] if first else [piece]
    return [p for p in parts if p and search.tokens(p)]


# -- negation --------------------------------------------------------------------------------

_NEGATORS = frozenset({"no", "not", "without", "never", "nor", "dont", "didnt", "doesnt",
                       "havent", "hasnt", "isnt", "arent", "wasnt", "aint", "none", "nothing",
                       "free", "denies", "neither", "longer"})  # fmt: skip
_ENDED = frozenset({"stopped", "gone", "cleared", "settled", "eased"})
# Words that end a negation's reach ("no fever but a cough": the cough is real).
_NEGATION_ENDS = frozenset({"but", "just", "only", "except", "apart", "though", "tho", "yet",
                            "however", "still", "now", "and"})  # fmt: skip
_SIGNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:blood|bleed|bleeding|bleeds|bled|bloody|bleedin)\b"), "bruising-bleeding"),
    (re.compile(r"\b(?:breathless|breathlessness|short of breath|out of breath|cant breathe|"
                r"cant breath|cannot breathe|struggling to breathe|hard to breathe|difficulty "
                r"breathing|breathing is (?:hard|difficult|bad|a struggle)|gasping|wheez\w*|puffed out|out of puff|"
                r"cant catch my breath|cannot catch my breath)\b"),
     "blood-clots"),
    # Black or tarry stools however put: "stools have gone very dark, almost black".
    (re.compile(r"\b(?:poo|poos|stool|stools|poop|faeces|feces|motions?|bowel movements?|number "
                r"twos?)\b.{0,40}\b(?:black|tarry|like tar|jet black)\b|\b(?:black|tarry)\b.{0,20}"
                r"\b(?:poo|poos|stool|stools|poop|faeces|feces|motions?)\b"), "bruising-bleeding"),
)
# Where blood is a sample or a measure, not a bleed: "blood test", "blood pressure".
_NOT_A_SIGN = re.compile(
    r"\bblood (?:tests?|test results?|results?|pressure|sugars?|counts?|cells?|levels?|work|"
    r"donation|donor|type|transfusions?|thinners?|clots?|form|forms|check|checks|taken|sample|"
    r"samples|appointment|clinic)\b|\bbloods\b|\b(?:give|giving|gave|donate|donating) blood\b|"
    r"\bblood (?:and|or) (?:urine|wee)\b|\b(?:high|low) blood\b|\bin my blood\b|\bfor my "
    r"blood\b|\bmy blood (?:was|is|were) (?:low|high|ok|fine|normal)\b"
)
_HAVE_IT = re.compile(
    r"\b(?:i ve had it|ive had it|i have it|ive got it|i ve got it|had it all|got it now|"
    r"had it since|i do have|its happening|it s happening|happening now)\b"
)
_FALSE_FRIENDS = frozenset({"confusing", "nurses", "nurse", "nursery"})
_SECOND_SUBJECT = 96.0  # a second topic in a clause needs words as sure as a stem match
_NEGATION_REACH = 4  # words a negator covers: "no high temperature or shivers"
# Topics whose symptom is something not happening: a negation there is the symptom itself.
_ABSENCE_TOPICS = frozenset({"constipation", "sleep", "appetite-taste", "fertility",
                             "possible-pregnancy", "fatigue", "kidneys-urine"})


def negated_positions(toks: Sequence[str]) -> set[int]:
    """Token positions a negation covers: "no fever" -> the position of "fever".

    "not sure" and "no idea" deny nothing about the body; "no better" and "not stopping" say
    the symptom is there.
    """
    out: set[int] = set()
    for i, tok in enumerate(toks):
        if tok in _ENDED:
            # "stopped bleeding" denies what follows; "the rash has gone", "treatment has
            # stopped" what came before.
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            if nxt.endswith("ing"):
                out.add(i + 1)
            elif nxt in ("", "now", "away", "thanks", "thank", "and", "but", "completely",
                         "off", "down", "today", "x"):  # fmt: skip
                out.update(range(max(0, i - 3), i))
            continue
        if tok not in _NEGATORS:
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if nxt in ("sure", "idea", "better", "stopping", "stop", "improving", "going", "able",
                   "know", "recognise", "recognize", "making", "make"):
            continue
        for j in range(i + 1, min(len(toks), i + 1 + _NEGATION_REACH)):
            if toks[j] in _NEGATION_ENDS:
                break
            out.add(j)
    return out


# -- questions -------------------------------------------------------------------------------

_QUESTION_STARTS = frozenset({"can", "could", "should", "shall", "do", "does", "is", "are", "am",
                              "will", "would", "what", "when", "how", "why", "which", "where",
                              "did", "may", "must", "any", "wat", "wot", "whats", "hows",
                              "wen", "cn", "shud", "shld", "r"})  # fmt: skip
# Routine topics that are about a serious risk: a general question about them is a question
# about warning signs ("should I worry about infections?").
_RISK_TOPICS = frozenset({"infection", "warning-signs"})
# Words that make a question about infection one about its warning signs.
_RISKY = re.compile(
    r"\b(?:signs?|symptoms?|watch|look out|worry|worried|at risk|risk|risks|danger|dangerous|"
    r"when (?:do|should) i (?:call|ring)|what does .{1,30} mean|feel like|temp|temperature|"
    r"thermometer|sepsis|neutropenic|neutrophils|white cell)\b"
)
_RISK_WORDS = ("likely", "more easily", "counts as", "what is a", "how high", "how do i tell",
               "what temperature", "should i watch", "risk", "risks", "chance", "chances", "signs", "sign", "symptoms",
               "symptom", "cause", "causes", "side effect", "side effects", "watch out",
               "look out", "what happens if", "what if", "how do i know", "how would i know",
               "how will i know", "what are", "prone", "increase", "danger", "dangerous")  # fmt: skip
# "I have ...", "my leg is ...": a symptom happening now, even in a question.
_HAPPENING = re.compile(
    r"\b(?:i\s+(?:have|ve|got|am|m|feel|felt|keep|cant|can't|been|woke|noticed|just)\b|"
    r"ive\s+(?:got|been|had|noticed)|im\s+(?:having|getting|feeling|coughing|bleeding|"
    r"shaking|shivering|burning|being)|my\s+\w+\s+(?:is|are|has|have|feels|keeps|wont|"
    r"won't)|i\s+m\b|there\s+is\s+blood|theres\s+blood|since\s|today|tonight|this\s+morning|"
    r"now|at\s+the\s+moment|currently|all\s+day|last\s+night|keep\s+getting)",
    re.IGNORECASE,
)


_ASKING = re.compile(r"\b(?:can|could|should|shall|do|may|must|am) i\b|\bis it (?:ok|okay|safe|alright|"
                     r"too late)\b|\bam i (?:allowed|ok|okay|supposed)\b")


_SUBJECTS = frozenset({"i", "it", "my", "this", "the", "you", "we", "they", "he", "she", "that"})


def is_question(clause: str, toks: Sequence[str]) -> bool:
    if "?" in clause or _ASKING.search(" ".join(toks)):
        return True
    if tuple(toks[:1]) == ("if",) or tuple(toks[:2]) == ("what", "if"):
        return True  # "if my poo goes black, what does it mean": a condition, not a report
    if not toks or toks[0] not in _QUESTION_STARTS:
        return False
    # "Will have it with my tea" tells; "will I lose my hair" asks.
    if toks[0] in ("will", "would", "shall") and len(toks) > 1:
        return toks[1] in _SUBJECTS or toks[1] in _QUESTION_STARTS
    return True


# "If I get a temperature...", "how will I know...", "what does a clot feel like": about a
# sign that might come, not one that has.
_HYPOTHETICAL = re.compile(
    r"\b(?:if i|if my|if it|if you|if the|what if|in case|could i|could that|could it|can i get|"
    r"will i|would i|how will i|how would i|how do i know|what does .{1,30} (?:feel|look) like|"
    r"what does .{1,30} mean|is it dangerous|who do i (?:ring|call|phone)|when "
    r"(?:should|do|would) i (?:call|ring|phone|contact|go|worry)|should i worry|does it (?:make|"
    r"cause|affect|increase)|do i need (?:a|to)|what number|at what|am i at risk|more likely|"
    r"how long can|can it (?:make|give|cause) (?:you|me|people)|should i be (?:worried|concerned)|"
    r"(?:worried|worry|concerned) about (?:getting|having|a|bleeding|clots|infections?))\b"
)


def _risk_question(clause: str, toks: Sequence[str]) -> bool:
    """A question about a risk in general, not a sign happening now."""
    if not is_question(clause, toks):
        return False
    joined = " ".join(toks)
    if _HYPOTHETICAL.search(joined):
        return True
    if _HAPPENING.search(clause):
        return False
    return any(re.search(rf"\b{re.escape(w)}\b", joined) for w in _RISK_WORDS)


# -- dose readings beyond taken / missed / later ---------------------------------------------

_NUMBER_WORDS = {"two": 2, "2": 2, "three": 3, "3": 3, "four": 4, "4": 4, "five": 5, "5": 5,
                 "both": 2, "double": 2, "twice": 2, "extra": 2, "another": 2, "second": 2,
                 "couple": 2, "several": 3, "few": 3}  # fmt: skip
_TAKE_VERBS = frozenset({"took", "taken", "had", "swallowed", "take", "taking", "tooken",
                         "tkn", "tken", "takn", "tok", "popped", "consumed", "ingested"})  # fmt: skip
_PAST_TAKE = frozenset({"took", "taken", "had", "swallowed", "tooken", "tkn", "tken", "takn",
                        "tok", "done", "popped", "consumed", "ingested"})  # fmt: skip
_PEOPLE = (r"(?:husband|wife|partner|mum|mam|mom|mother|dad|father|son|daughter|sister|brother|"
           r"friend|neighbour|neighbor|nan|nana|gran|grandad|grandpa|grandma|carer|other half|"
           r"hubby|missus|flatmate|lodger|auntie|aunt|uncle|cousin|someone|somebody|someone "
           r"else|somebody else)")
# Someone else's capsule: "my husband's tablet", "someone else's", "I took his by mistake",
# "thinking it was mine", "took mine as well" (a carer writing about another person).
_SOMEONE_ELSE = re.compile(
    rf"\b{_PEOPLE}s\s+(?:capsule|capsules|tablet|tablets|pill|pills|meds|medication|medicine|"
    r"dose|one|ones|lenalidomide|revlimid|by mistake|as well|too|instead)\b|"
    r"\bone of (?:my|his|her|their) (?:husbands|wifes|partners|mums|dads|\w+s)\b|"
    r"\b(?:someone|somebody) elses\b|\bnot (?:mine|my own|hers|his)\b|\bwasnt mine\b|"
    r"\bthinking (?:it was|they were) mine\b|\bi (?:took|have taken|had|swallowed) "
    r"(?:his|hers|theirs)\b|\btook (?:his|hers|theirs) and (?:then )?(?:took )?mine\b|"
    r"\btook mine as well\b|\bgave me (?:his|hers|her|their)\b|"
    r"\balong with mine\b"
)
# A child or another person who swallowed the patient's capsule: urgent (the too-many answer
# says to get medical advice for them), and no dose of the patient's to record.
_OTHER_SWALLOWED = re.compile(
    r"\b(?:child|children|grandson|granddaughter|grandchild|grandkid|grandkids|kid|kids|little "
    r"one|toddler|baby|niece|nephew)\b.{0,40}\b(?:swallowed|ate|eaten|chewed|got into|took|had "
    r"(?:one|it|some)|put (?:one|it) in (?:his|her|their) mouth)\b|\b(?:someone|somebody) "
    r"(?:else )?(?:has )?(?:swallowed|took|taken|ate|eaten)\b|\b(?:swallowed|eaten|ate) one "
    r"of my\b|\bmay have eaten one\b|\bthinking (?:it|they) (?:was|were) (?:her|his|their)\b"
)
# A pet that ate one: the capsule is lost, the patient took nothing (storage advice).
_PET_SWALLOWED = re.compile(
    r"\b(?:dog|dogs|cat|cats|puppy|kitten|pet)\b.{0,40}\b(?:swallowed|ate|eaten|chewed|got into|"
    r"had)\b"
)
_EXTRA_PHRASES = re.compile(
    r"\b(?:double dose|double dosed|double dosing|doubled up|doubled|took (?:an )?extra|"
    r"taken (?:an )?extra|had (?:an )?extra|another one|another capsule|another tablet|another "
    r"pill|another at|and then another|one more|extra (?:dose|capsule|one|tablet) (?:taken|by "
    r"accident|by mistake)|gave (?:him|her|dad|mum|me|them) (?:two|2|3|three|both)|took (?:it |"
    r"them |my \w+ )?twice|taken (?:it )?"
    r"twice|had (?:it )?twice|as well as my own|and my own|on top of|too many|"
    r"two at once|2 at once|both at once|tooktwo|took2|ingested two|ingested 2|instead of (?:1|"
    r"one)|insted of (?:1|one)|insteada (?:1|one)|2 capsules gone|two capsules gone|(?:took|"
    r"taken|had) (?:it |my \w+ |my tablet |my capsule )?again|then again|took both|"
    r"old one and the new one|along with todays|1 at \d+ and 1 at|one at \d+ and (?:then )?"
    r"(?:another|one)|overdose|overdosed|overdone|(?:2nd|second) (?:one|capsule|tablet|dose|"
    r"pill)|took (?:tomorrows|tomorrow s)|gave me (?:one|a|my)\b.{0,30}\btook|an additional|"
    r"additional (?:capsule|tablet|pill|dose|one)|(?:two|2|three|3|four|4|several|few) days? "
    r"(?:worth|worths)|by taking (?:an? )?(?:extra|another|additional|second)|took (?:that|that one|it|one) "
    r"(?:too|as well)|(?:took|had|taken) one\b.{0,40}\b(?:as well|too)|(?:took|had|taken) one "
    r"from\b.{0,30}\band (?:then )?one from|then (?:took|had) (?:that|another|one)|"
    r"from (?:yesterdays|tomorrows|another) (?:compartment|slot|day|box|section) as well)\b"
)
# A capsule on a day with none due, said in words: "took one on my rest week".
_NO_DOSE_DAY = re.compile(
    r"\b(?:(?:on|in|during) (?:my|the) (?:rest week|break week|week off|off week|break)|"
    r"supposed to be (?:on|off)|meant to be (?:on|off)|told me to stop|stopped them|paused|"
    r"on hold|not supposed to|shouldnt have)\b"
)
_TWO_DAYS = re.compile(
    r"\b(?:yesterdays?|last nights?)\b.{0,30}\b(?:and|with|plus|then|\+|&)\b.{0,18}\b(?:todays?|"
    r"this mornings?|tonights?)\b|\b(?:todays?)\b.{0,20}\b(?:and|with|plus)\b.{0,12}"
    r"\b(?:yesterdays?|tomorrows?)\b"
)
_UNSURE = re.compile(
    r"\b(?:cant|cannot|dont|do not|not) (?:remember|recall|be sure) (?:if|whether|wether|"
    r"weather|wot|what)?|\b(?:cant|cannot|dont|do not|not) (?:know|tell) (?:if|whether|wether|"
    r"weather) i\b|\bnot sure (?:if|whether|wether|i|weather)\b|\bnot sure\b|"
    r"\b(?:did|have) i (?:already |actually |even |definitely )?(?:take|taken|had|have)\b|"
    r"\bnot (?:100|a hundred|one hundred)\b|\bforgot (?:if|whether) i"
    r"\b|\bmight have (?:taken|had)\b|\bmight not\b|\buncertain\b|\bunsure\b|"
    r"\bno idea if\b|\bdid i tell you\b|\bor (?:was it|was that) yesterday\b|\btoday or "
    r"yesterday\b|\bmay (?:or may not )?have (?:taken|had)\b|\bi think i (?:took|had|have taken)"
    r" (?:it|one|my \w+) but\b|\ball at sea\b|\bblank\b|\brmbr\b|\brmember\b|"
    r"\b(?:tell|check|see|know) (?:me )?(?:if|whether) i(?:ve| have)? (?:taken|took|had)\b"
)
_INTEND = re.compile(
    r"\bgetting (?:my water|it out|them out|a glass|ready)\b|\bplan to take\b|\babout 2 take\b|"
    r"^will do\b|^in a (?:minute|min|mo|sec|second)\b|"
    r"\b(?:about to|bout to|abt to|going to|gonna|gna|will|ill|i'll|i will|shall|off to|"
    r"just going to|"
    r"fixing to|getting ready to|on my way to|after (?:dinner|tea|breakfast|lunch)|in a (?:mo|"
    r"minute|min|sec|second|bit)|later on|shortly|soon)\b.{0,20}\b(?:take|tk|have)\b|"
    r"\b(?:take|taking|have) (?:it|them|my \w+) (?:in a (?:bit|minute|min|mo|sec|second|"
    r"while)|shortly|soon|later|after)\b|\babout to\b"
)
_CAPSULE = (r"(?:it|one(?!\s+(?:small|glass|drink|cup|pint|of|more|large|big))|them|my\s+(?:capsule|capsules|tablet|tablets|pill|pills|dose|meds|"
            r"medication|medicine|lenalidomide|revlimid|revlamid)|the\s+(?:capsule|tablet|pill|"
            r"dose)|a\s+(?:capsule|tablet|pill|dose)|todays|tonights|this\s+mornings|"
            r"lenalidomide|revlimid|last\s+nights|yesterdays|the\s+old\s+ones|now)")
_DOSE_QUESTION = re.compile(
    r"\b(?:can|could|should|shall|shud|shld|do|must|may|ok to|okay to|safe to|too late to|"
    r"still|late to|supposed to|meant to|cn|allowed to)"
    rf"\b.{{0,20}}\b(?:take|tk|tak|have|hav|skip|taking|be taking)\s+{_CAPSULE}\b|"
    r"\b(?:too late|still ok|still okay|take it or (?:leave|skip)|take now|still take)\b|"
    r"\bis (?:today|tomorrow) a (?:tablet|capsule|pill|"
    r"dose|dosing) day\b|\b(?:ok|okay|safe|alright|fine|in order) to take(?= (?:it|one|them|now|"
    r"today|tonight|late|my (?:capsule|tablet|pill|dose|lenalidomide))\b|$)|"
    r"\btake (?:it |one |them )?now$|\bnow or (?:skip|leave|wait)\b|\b(?:do|should|"
    r"shall) i (?:just )?(?:leave|skip|miss) (?:it|todays|this one)\b|\bno (?:tablet|capsule|"
    r"pill|dose) (?:today|tonight)\b|^(?!when\b).*\b(?:start|restart) (?:the )?(?:new cycle|again|my "
    r"tablets|my capsules)\b|\b(?:what|wot) (?:do i do|about) (?:about )?(?:todays|tonights|my dose)\b"
)
_VOMITED = re.compile(
    r"\b(?:threw up|thrown up|throw up|vomited|vomit|vomiting|was sick|been sick|brought it "
    r"(?:back )?up|came back up|puked|sick it up|spewed)\b"
)
# "Sick 10 minutes later": a story, not a request to be reminded.
_PAST_STORY = re.compile(r"\b(?:was|were|been|threw|brought|came|had|took|taken|went|got)\b")
# Asking to take two now: "can I take it today as well as today's?", "double up?".
_TWO_NOW = re.compile(
    r"\b(?:as well as|with todays|both|two|2|double|extra|catch up|make up)\b.*\?|"
    r"\b(?:can|should|could|shall) i\b.*\b(?:as well as|both|two|2|double|extra|catch up|"
    r"make up)\b"
)
_SAMPLE_TAKEN = re.compile(
    r"\b(?:blood|bloods|temp|temperature|pressure|sample|samples|test|tests|swab|weight|"
    r"photo|picture|x ray|xray)s? (?:was |were |being |been )?taken\b"
)
_THOUGHT = re.compile(r"\b(?:thought|assumed) i (?:had|took|taken|d taken|d had)\b")
# Pills that are not lenalidomide: "took two paracetamol" is about those.
_OTHER_PILLS = re.compile(
    r"\b(?:paracetamol|ibuprofen|aspirin|co codamol|cocodamol|codeine|painkillers?|"
    r"antibiotics?|laxatives?|senna|vitamins?|folic|steroids?|dex|dexamethasone|antacids?|"
    r"rennies|gaviscon|piriton|antihistamines?|sleeping pills?|omeprazole|lansoprazole|"
    r"aciclovir|co trimoxazole|allopurinol|warfarin|apixaban|rivaroxaban|statins?)\b"
)
# "Can I take it with food?" asks how, not whether or when.
_HOW_TO = re.compile(
    r"\b(?:take|have) (?:it|them|one|my \w+) (?:with|alongside|after (?:food|a meal|eating|"
    r"breakfast|dinner)|before (?:food|a meal|eating|breakfast|bed)|on an empty|without)\b"
)
_TIMING = re.compile(
    r"\b(?:now|today|tonight|late|later|still|yet|tomorrow|this morning|this evening|at \d|"
    r"instead|skip|missed|forgot|too late)\b"
)
_PAST_REPORT = re.compile(
    r"\b(?:forgot|forgotten|forget|missed|skipped|took|taken|had|swallowed|didnt take|"
    r"didnt have|havent taken|not taken|did not take)\b"
)
_DOSE_OBJECTS = frozenset({"it", "one", "them", "capsule", "capsules", "tablet", "tablets", "pill",
                           "pills", "dose", "doses", "lenalidomide", "revlimid", "medication",
                           "medicine", "meds", "todays", "tonights", "yesterdays", "mine",
                           "my"})  # fmt: skip

_SCHEDULE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dose_time", re.compile(
        r"\b(?:what|wot|wat|which) time\b|\b(?:change|move|switch) (?:the|my) (?:time|dose time)\b|"
        r"\btime (?:i|do i|should i) take\b|\b(?:tablet|capsule|pill|dose)s? at \d+ or\b|"
        r"\bkeep it at \d+\b|\binstead\b.*\bfrom now on\b|\bfrom now on\b|"
        r"\b(?:dose|capsule|tablet|pill)s? time\b|\btime (?:for|of) my\b|\bwhat time is my\b|"
        r"\bmorning or (?:evening|night|afternoon)\b|\bthe hour (?:at which|when|i)\b|\bwhat hour\b|\b(?:evening|night) or morning\b|"
        r"\b(?:move|change|switch) my time\b")),
    ("capsules_left", re.compile(
        r"\bhow many\b.{0,30}\b(?:left|more|remaining|to go|still)\b|\b(?:capsules?|tablets?|"
        r"pills?|days?|doses?) (?:left|remaining|to go)\b|\bleft (?:in|this|of) (?:this|the|my)?"
        r"\s*(?:cycle|pack|box|course)\b|\bhow many (?:days|more days)\b|\bhave \d+ left\b|"
        r"\bgot \d+ left\b|\bhw mny\b|\blast (?:capsule|tablet|pill|one|dose) of (?:the|this) "
        r"cycle\b|\benough (?:capsules|tablets|pills)\b")),
    ("break", re.compile(
        r"\b(?:week off|weeks off|rest week|break week|off week|week of rest|my break|the "
        r"break|next break|a break|time off|days off|rest days?|rest period|off period|rest weeks|no capsules? week|stop for a "
        r"week|brek|off the (?:tablets|capsules|pills)|week without|days without|restart|"
        r"start again)\b")),
    ("blood_test", re.compile(
        r"\b(?:blood tests?|bloods|blood test|blood work|bloodwork|fbc|blood check|blood count|"
        r"my blood taken|for my blood)\b")),
    ("pregnancy_test", re.compile(r"\bpregnancy tests?\b|\bpreg tests?\b")),
    ("cycle_day", re.compile(
        r"\b(?:what|which|wat|wot)\s+(?:day|cycle|week)\b|\bday of (?:the|my) cycle\b|"
        r"\bwhere am i\b|\bwhat day (?:am i|are we|is it)\b|\bwhich day\b|\bcycle (?:am i|"
        r"are we)\b|\bday \d+\b|\bcycle \d+ or\b|\bday number\b|\bday what\b|\bhow many "
        r"cycles\b|\blost (?:track|count)\b|\bweek of the cycle\b")),
    ("next", re.compile(
        r"^next\b|\b(?:whats|what is|what s|wats|wots|what)\s+(?:next|coming up|coming|"
        r"happening|planned|happens next|on the schedule|the plan)\b|\bnext (?:dose|capsule|"
        r"tablet|pill|one|step|steps|cycle|appointment)\b|\bwhen (?:is|s) (?:the|my) next\b|"
        r"\bwhen do i (?:start|restart)\b|\bwhen (?:does|will) (?:my )?(?:next )?cycle (?:start|"
        r"begin)\b|\banything (?:coming up|on|i need|for)\b|\bwhat (?:have i got|do i need to "
        r"do)\b|\bwhen do i next\b|\bschedule\b|\bthe plan\b|\bwhat happens (?:after|at the end "
        r"of) (?:this|the|my) cycle\b")),
)
_WHEN_WORDS = frozenset({"when", "wen", "what", "which", "how", "whens", "whats", "date",
                         "due", "next", "wot", "wat", "anything", "where", "hw"})  # fmt: skip

# -- chat, stop requests ---------------------------------------------------------------------

_CHAT = re.compile(
    r"^(?:(?:thank you|thankyou|thanks|thanx|thx|ty|cheers|ta|lovely|great|brilliant|perfect|"
    r"ok|okay|k|kk|fine|good|grand|noted|got it|understood|will do|hello|hi|hiya|hey|good "
    r"(?:morning|afternoon|evening|night)|morning|evening|bless you|god bless|merry christmas|"
    r"happy (?:christmas|new year|easter|birthday|holidays)|season s greetings|love|xx+|x|"
    r"lol|haha|you re welcome|youre welcome|no problem|np|sorry|bye|goodbye|see you|take "
    r"care|have a (?:nice|good|lovely) (?:day|evening|weekend)|much appreciated|appreciate "
    r"it|to (?:all )?(?:the|you)?\s*(?:nurses|team|staff|everyone|all)|all|you|the|so much|"
    r"very much|for|your help|everything|and|dear|nurse|nurses|team|staff|everyone|doctor|"
    r"doc|again|really|as always|wonderful|amazing|kind|very|same to you|too|all of you|"
    r"happy|christmas|new year|\s)+)$"
)
_HELP = re.compile(
    r"\bwhat (?:can|do) (?:you|i) (?:do|reply|say|text|ask|send)\b|\bhow (?:does|do) (?:this|"
    r"it|you) work\b|\bhow (?:do i|to) use (?:this|it|you)\b|\bwhat words\b|\b(?:wot|wat|"
    r"what) can i (?:ask|say|text|send)\b|\bconfused by (?:these|the|this) (?:messages|texts)\b|"
    r"\bwhat (?:are|r) (?:these|the) (?:messages|texts) for\b|\bwhat do you understand\b|"
    r"\binstructions\b"
)
_STOP_REQUEST = re.compile(
    r"\bunsubscribe\b|\bno longer (?:wish|want) to (?:receive|get)\b|\b(?:texts|messages|"
    r"reminders) (?:to )?stop\b|\bcan (?:the|these) (?:texts|messages|reminders) stop\b|"
    r"\b(?:stop|no more|dont want|don't want|do not want|take me off|remove me|"
    r"opt me out|cancel)\b.{0,40}\b(?:messages?|texts?|reminders?|sms|notifications|"
    r"sending|texting|messaging|contacting|this service|these)\b|\bstop (?:sending|texting|"
    r"messaging|contacting|bothering)\b|\bleave me alone\b|\btake me off (?:the|your|this|"
    r"that) list\b|\bopt (?:me )?out\b|\b(?:turn|switch) (?:these|this|them|it|the "
    r"(?:messages|texts|reminders)) off\b"
)


# -- reading one clause ----------------------------------------------------------------------


def _masked(toks: Sequence[str], hidden: set[int]) -> list[str]:
    return ["" if i in hidden else t for i, t in enumerate(toks)]


def _extra_reason(clause: str, toks: Sequence[str], whole: str) -> str | None:
    """Why a report of a capsule taken is about more than one (or not theirs), or None."""
    joined = " ".join(toks)
    if not (_PAST_TAKE & set(toks) or re.search(
        r"\b(?:taken|swallowed|ingested|gone down|gave (?:her|him|them|dad|mum|me)|eaten|ate|"
        r"double dosed|doubled up|double dose|overdosed|tooktwo|taking \d|taking two|by taking "
        r"(?:an? |my )?(?:extra|another|additional|second|two|2|both))\b", joined
    )):
        return None
    if _TWO_DAYS.search(joined):
        return "two_days"
    for i, tok in enumerate(toks):
        if tok not in _TAKE_VERBS:
            continue
        # The count right after the verb ("took 2", "took it twice", "had 3 of them").
        k = i + 2 if i + 2 < len(toks) and toks[i + 1] in ("it", "them", "like", "about",
                                                            "maybe", "all", "an", "a") else i + 1
        if k >= len(toks):
            continue
        count = _NUMBER_WORDS.get(toks[k])
        if count is None or count < 2:
            continue
        rest = toks[k + 1] if k + 1 < len(toks) else ""
        after = toks[k + 2] if k + 2 < len(toks) else ""
        if toks[k] == "both" and rest in ("my", "the", "his", "her") and after not in (
            "capsules", "tablets", "pills", "doses", "lenalidomide", "revlimid", "meds"
        ):
            continue  # "taken it. both my ankles are puffy"
        # "took 2 paracetamol" is about something else; "took 3" is capsules.
        if not rest or rest in _DOSE_OBJECTS or rest in (
            "by", "at", "today", "this", "instead", "of", "together", "in", "not", "again",
            "accidentally", "accidently", "yesterday", "last", "lenalidomide", "doses",
            "caps", "x", "times", "tonight", "tonite", "2day", "on", "because", "cos", "so",
            "yday", "yest", "yesterday", "yesterdays", "last", "earlier", "this", "tonight", "to",
            "and", "dose", "insted", "insteada", "thinking", "the", "i", "but", "then", "when",
            "as", "which", "with", "after", "before",
        ):
            return "count"
    if _SOMEONE_ELSE.search(joined):
        return "someone_else"
    if _EXTRA_PHRASES.search(joined):
        if re.search(r"\banother\b|\bone more\b|\bextra\b|\btwice\b|\bagain\b", joined):
            return "another"
        return "count"
    if _NO_DOSE_DAY.search(joined):
        return "no_dose"
    return None


# A question about when, not why or what: "when's my blood test?" is the schedule, "why do
# I need blood tests?" a topic.
_WHEN = re.compile(
    r"\b(?:when|wen|whens|next|date|due|day|this week|next week|tomorrow|today|on (?:monday|"
    r"tuesday|wednesday|thursday|friday|saturday|sunday)|have i got|do i have|is my|is it|"
    r"am i|how long|what day|or|is this|this week|is that)\b"
)


def _schedule(clause: str, toks: Sequence[str]) -> list[str]:
    """What schedule questions a clause asks ("what day am I on and how many left?": two)."""
    joined = " ".join(toks)
    asked = (
        is_question(clause, toks) or bool(_WHEN_WORDS & set(toks)) or "how many" in joined
        or bool(re.search(r"\b(?:please|tell me|i want|i d like|id like|i would like|can you|"
                          r"could you)\b", joined))
    )
    if not asked:
        return []
    found = []
    for what, pattern in _SCHEDULE:
        if pattern.search(joined):
            if what in ("blood_test", "pregnancy_test", "break") and not _WHEN.search(joined):
                continue
            found.append(what)
    if "cycle_day" in found and {"break", "blood_test", "pregnancy_test"} & set(found):
        found.remove("cycle_day")  # "what day is my week off?"
    if len(found) > 1 and "next" in found:
        found.remove("next")
    return found[:2]


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
    toks = tuple(
        "" if t in _FALSE_FRIENDS or (t == "confused" and i + 1 < len(toks) and toks[i + 1] in (
            "by", "about", "with", "as", "what", "how", "which", "whether", "over")) else t
        for i, t in enumerate(toks)
    )
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
    if _CHAT.match(joined):
        return [Reading("chat", clause)]  # "Merry Christmas to all the nurses"

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
    for sign, topic_id in _SIGNS:
        if topic_id in by_id and sign.search(shown) and not _NOT_A_SIGN.search(shown):
            urgent.append(topic_id)
    asked = set().union(*(m.at for m in matches if by_id[m.topic_id].asks_about_dose))
    # The dose words are read whole ("didn't take it" is a miss): dose_report has its own
    # negations. "I thought I took it" takes nothing.
    dose, spots = dose_report(_masked(toks, asked))
    if dose == "taken" and _OTHER_PILLS.search(joined) and re.search(
        r"\b(?:took|taken|had)\s+(?:\w+\s+){0,2}(?:paracetamol|ibuprofen|aspirin|co codamol|"
        r"codeine|painkillers?|antibiotics?|laxatives?|senna|vitamins?|antihistamines?|"
        r"antacids?|steroids?)\b", joined
    ) and not re.search(r"\b(?:capsule|lenalidomide|revlimid|my dose|it)\b", joined):
        dose = None  # "I have taken two paracetamol"
    if dose == "taken" and re.search(r"\bhad it (?:all|since|for|on and off|every|again)\b",
                                     joined):
        dose = None  # "I've had it all morning": the pain, not the capsule
    if dose == "taken" and re.search(r"\bhad (?:the|a) (?!capsule|tablet|pill|dose|one|"
                                     r"lenalidomide|revlimid|med|\d)\w+", joined) and not re.search(
        r"\b(?:took|taken|swallowed|done|had (?:it|them|my|todays|tonights))\b", joined
    ):
        dose = None  # "had the runs all week", "had a fall": a symptom, not the capsule
    if dose == "taken" and re.search(
        r"\btook (?:about|around|nearly|over|almost|at least|roughly) (?:half an?|an?|half|\d+|ten|twenty|"
        r"thirty|forty|fifty|two|three) (?:hour|hours|minutes|mins|min|hrs|hr|half|ages|days)\b",
        joined,
    ) and not re.search(r"\b(?:taken|had it|took (?:it|my|mine|todays))\b", joined):
        dose = None  # "took about half an hour to stop": a time, not the capsule
    if dose in ("taken", "missed") and re.search(
        r"\b(?:wont|cant|cannot|can t|unable to|struggl\w* to|hard to|difficult to|trouble|"
        r"refuses to|not able to) swallow\b", joined
    ):
        dose = None  # "won't swallow the capsule": a problem to answer, not a report
    if dose == "taken" and _SAMPLE_TAKEN.search(joined) and not re.search(r"\btook\b", joined):
        dose = None  # "my blood taken", "had my temp taken": a sample, not the capsule
    if dose == "taken" and _THOUGHT.search(joined):
        dose = "missed" if re.search(r"\b(?:forgot|forgotten|missed|didnt)\b", joined) else None
    if asked and dose == "later":
        dose = None
    not_theirs = _OTHER_SWALLOWED.search(joined) is not None
    pet = not not_theirs and _PET_SWALLOWED.search(joined) is not None
    if not_theirs:
        urgent = ["too-many-other", *urgent]
    if not_theirs or pet:
        dose = None
    # Too many capsules is an extra dose, not a sign in the body (its own urgent answer).
    overdose = "too-many" in urgent
    urgent = ["too-many" if t == "too-many-other" else t for t in urgent if t != "too-many"]
    if urgent or hot:
        topics_found = tuple(dict.fromkeys(urgent + ranked))
        # "If my temp goes to 38, who do I ring?": a reading that might come, not one taken.
        if _risk_question(clause, toks) and (not hot or _HYPOTHETICAL.search(joined)):
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
    if question and dose in ("taken", "missed", "conflict") and not _PAST_REPORT.search(joined):
        dose = None
    # A question a leaflet topic answers about capsules ("can I take an extra one tomorrow?",
    # "sick after taking it") is that question, not a dose to decide on.
    told = bool(re.search(
        r"\b(?:took|taken|had|swallowed|doubled|double dosed|double dose|taking (?:\d|two)|by "
        r"taking (?:an? |my )?(?:extra|another|additional|second|two|both|\d))\b",
        joined,
    ))
    extra = (
        None if (asked and (question or not told)) or not_theirs or pet
        else _extra_reason(clause, visible, text)
    )
    if extra is None and overdose and not asked and not _OTHER_PILLS.search(joined) and not (
        not_theirs or pet
    ):
        extra = "count"
    unsure = bool(_UNSURE.search(joined)) and not re.search(
        r"\bhow (?:would|will|do|can|could) i (?:know|tell)\b", joined
    )  # "how would I know if I had a clot" asks about a sign
    intend = (
        not asked
        and not question
        and bool(_INTEND.search(joined))
        and not re.search(r"\b(?:took|taken|had)\b", joined)
    )
    dose_question = (
        question
        and not asked
        and bool(_DOSE_QUESTION.search(joined))
        and not (_HOW_TO.search(joined) and not _TIMING.search(joined))
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
    elif intend or (dose == "later" and re.search(r"\b(?:will|ill|going|gonna|about)\b", joined)
                    and not re.search(r"\bremind\b", joined)):
        out.append(Reading("intend", clause, day=day))
    elif dose == "later" and ("yet" in toks or not _PAST_STORY.search(joined)):
        out.append(Reading("later", clause, day=day))
    elif dose_question:
        out.append(Reading("dose_question", clause, day=day))

    # Schedule questions. "What time should I take it?" asks the time, not whether to take it.
    asked_when = _schedule(clause, toks)
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
    if (not out or all(r.kind in DOSE_KINDS or r.kind == "schedule" for r in out)) and (
        not reporting or question
    ):
        used = set(spots)
        routine = [
            m for m in matches
            if by_id[m.topic_id].urgency != "urgent" and not (m.at <= used and used)
        ]
        close = [m.topic_id for m in search.closest(routine, TOPIC_LIMIT)]
        kept = tuple(dict.fromkeys([t for t in ranked if t in close] + close))[:TOPIC_LIMIT]
        # 37.5-37.9, or a normal reading and nothing else: the infection advice (when to call)
        if celsius is not None and (band(celsius) == "raised" or not kept) and "infection" in by_id:
            kept = tuple(dict.fromkeys(("infection", *kept)))[:TOPIC_LIMIT]  # 37.5-37.9
        if kept and not _only_schedule_words(kept, what):
            risky = kept[0] in _RISK_TOPICS and _risk_question(clause, toks) and (
                kept[0] == "warning-signs" or _RISKY.search(joined) is not None
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
    if pet and "storage-handling" in by_id and not any(r.kind == "topic" for r in out):
        out.append(Reading("topic", clause, ("storage-handling",)))  # keep them out of reach
    if not out and _STOP_REQUEST.search(joined):
        out.append(Reading("stop_request", clause))
    if not out and _HELP.search(joined):
        out.append(Reading("help", clause))
    if not out and _CHAT.match(joined):
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


# -- the whole text --------------------------------------------------------------------------

_GREETINGS = frozenset({"HI", "HELLO", "HEY"})


def whole_message(text: str, toks: Sequence[str]) -> Reading | None:
    """A text that is one command as a whole, carrier-style (STOP, START, HELP, a menu
    number, a bare yes or no to "did you take it?"); a bare greeting is chat."""
    found = whole_command(text, toks)
    if found is None:
        return None
    if found.kind == "help" and " ".join(toks).upper() in _GREETINGS:
        return Reading("chat", text)
    kind: ReadingKind = found.kind  # type: ignore[assignment]
    return Reading(kind, text, choice=found.choice)



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
        return Understanding(text, (Reading("other_language", text, detail="script"),), (text,),
                             "script")  # fmt: skip
    whole = whole_message(words, toks)
    words = plain_words(words)
    toks = search.tokens(words)
    if whole is not None:
        return Understanding(text, (whole,), (text,))
    language = foreign_language(toks)
    readings: list[Reading] = []
    if language is not None:
        fever, celsius = foreign_fever(words, toks)
        sign = foreign_red_flag(toks)
        if fever:
            readings.append(Reading("red_flag", text, ("fever",), temperature_c=celsius))
        elif sign is not None:
            readings.append(Reading("red_flag", text, (sign,)))
        readings.append(Reading("other_language", text, detail=language))
        return Understanding(text, tuple(readings), (text,), language)
    parts = clauses(words)
    for part in parts:
        readings += read_clause(part, topics)
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
                     and not _TWO_NOW.search(" ".join(toks)))
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
            for r in readings if r.kind != "missed"
        ]
    # An extra capsule is the whole story of the dose: "forgot I'd already had one" and
    # "took two" are one event, not a miss and a report.
    if any(r.kind == "extra" for r in readings):
        readings = [r for r in readings if r.kind not in ("taken", "missed", "intend", "later",
                                                          "unsure")]
    # A capsule someone else's, or one more than their own, is often said across clauses
    # ("I took mine, then my husband's by mistake"): the whole text decides that too.
    if any(r.kind == "taken" for r in readings):
        why = _extra_reason(words, search.tokens(words), words)
        if why is not None:
            readings = [r for r in readings if r.kind not in ("taken", "extra")]
            readings.append(Reading("extra", words, detail=why, day=day_named(toks)))
    # Sick after taking it: being sick with the capsule in you is its own question.
    if any(r.kind == "taken" for r in readings) and _VOMITED.search(" ".join(toks)):
        readings = [
            replace(r, topics=("vomited-dose",)) if r.kind == "topic" and r.topics[:1] ==
            ("sickness",) else r for r in readings
        ]  # fmt: skip
        if not any(r.kind == "topic" and r.topics[:1] == ("vomited-dose",) for r in readings):
            readings.append(Reading("topic", words, ("vomited-dose",)))
    # "Is chest pain a side effect? I've had it all morning": the question was about now.
    if any(r.kind == "risk_question" for r in readings) and _HAVE_IT.search(" ".join(toks)):
        urgent = {t.id for t in topics if t.urgency == "urgent"}
        readings = [
            replace(r, kind="red_flag") if r.kind == "risk_question" and r.topics[:1]
            and r.topics[0] in urgent else r for r in readings
        ]  # fmt: skip
    # A warning sign can take two clauses to say ("it burns when I pee and I feel cold"):
    # the whole text is read for red flags too, so splitting never hides one.
    if len(parts) > 1 and not any(r.kind in ("red_flag", "risk_question") for r in readings):
        for r in read_clause(words, topics):
            if r.kind == "red_flag":
                readings.insert(0, r)
                break
    readings = _second_reader(text, readings, topics)
    return Understanding(text, tuple(_settle(readings, text)), tuple(parts))


def _second_reader(text: str, readings: list[Reading], topics: Sequence[Topic]) -> list[Reading]:
    """The model's net under the rules, for the two things that must never be missed
    (``messages.model``): a possible red flag where the rules found none (where they read a
    routine symptom, a line on when to call), and an extra dose where they read one capsule
    or nothing. Not where the rules read the warning sign and
    its negation ("no fever"), a question about a risk or about doses ("can I take an extra
    one tomorrow?"), or the sign or extra dose already."""
    kinds = {r.kind for r in readings}
    urgent = {t.id for t in topics if t.urgency == "urgent"}
    denied = any(urgent.intersection(r.negated) for r in readings)
    about_doses = any(
        r.kind == "topic" and r.topics[:1] in (("make-up-dose",), ("sharing-capsules",),
                                               ("missed-dose",), ("vomited-dose",))
        for r in readings
    )  # fmt: skip
    need_red = not kinds & {"red_flag", "risk_question"} and not denied
    need_extra = not kinds & {"extra", "dose_question", "unsure", "intend", "risk_question"} and (
        not about_doses
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


@cache
def _symptom_topics() -> frozenset[str]:
    """Routine topics about a symptom (the leaflet's side effects)."""
    return frozenset(
        t.id for t in load_topics() if t.group == "side-effects" and t.urgency == "routine"
    )


def _two_days(missed: Reading, taken: Reading) -> bool:
    """A miss and a report about different doses ("forgot yesterday's, took today's"). A
    report that names no day is the missed dose, taken late ("forgot last night, took it at
    2am")."""
    if taken.day is None:
        return False
    return (missed.day or "today") != taken.day and {missed.day, taken.day} != {
        "today", "this_morning"}


def _small_talk(text: str) -> bool:
    """English words, or a picture (emoji) alone: something said, though nothing to act on."""
    toks = search.tokens(text)
    if not toks:
        return any(not ch.isspace() and not ch.isalnum() and ord(ch) > 0x2000 for ch in text)
    return len(toks) >= 2 and sum(1 for t in toks if t in ENGLISH_WORDS) >= 1


def _settle(readings: list[Reading], text: str = "") -> list[Reading]:
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
        symptoms = _symptom_topics()
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
