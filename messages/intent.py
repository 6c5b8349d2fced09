"""What a patient's inbound text means: a dose report, a command, a question or a red flag."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from messages import search
from messages.leaflet import Topic, Urgency, load_topics
from messages.temperature import band, parse_temperature

Kind = Literal[
    "taken", "missed", "later", "next", "help", "stop", "start",
    "menu_choice", "topic", "red_flag", "unknown", "empty",
]  # fmt: skip
DoseReport = Literal["taken", "missed", "later"]

MAX_CHARS = search.MAX_CHARS
TOPIC_LIMIT = 3  # a routine answer offers at most "reply 1, 2 or 3"
_SHORT = 5  # words; longer texts that merely mention "help" are not asking for the menu

# Carrier keywords only count as the whole message, as carriers apply them: "stop the
# diarrhoea" is a question, not an opt-out.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                        "OPTOUT", "OPT OUT", "STOP ALL"})  # fmt: skip
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO", "MENU", "OPTIONS", "COMMANDS", "HI", "HELLO", "HEY"})
# Replies to "have you taken it?" that carry no other meaning.
_YES = frozenset({"yes", "yep", "yeah", "yup", "y", "ya", "yes done", "done", "all done",
                  "yes thanks", "yes thank you", "done thanks", "yes i have"})  # fmt: skip
_NO = frozenset({"no", "nope", "nah", "n", "not today", "no i havent", "no not yet"})

_TAKEN = ("taken", "took", "done", "swallowed", "had it", "had them", "had my", "had todays",
          "taking it now", "just taking")  # fmt: skip
_MISSED = ("missed", "forgot", "forgotten", "skipped", "forget to take")
# Not taken (yet): "yet" makes these a "later", on their own they are a miss.
_NOT_TAKEN = ("didnt take", "did not take", "didnt have", "not taken", "havent taken",
              "have not taken", "not had", "havent had")  # fmt: skip
_LATER = ("later", "snooze", "not yet", "remind me", "in a bit", "in an hour", "in a while",
          "in a minute", "shortly", "soon", "will take", "ill take", "going to take",
          "gonna take", "about to take")  # fmt: skip
_NEXT = ("next", "restart", "start again", "when do i start")
_NEGATIONS = frozenset({"not", "didnt", "havent", "hasnt", "never", "dont", "no", "wasnt",
                        "cant", "cannot", "havnt", "hadnt"})  # fmt: skip
# "took my temperature", "missed my appointment": the verb is about something else.
_OTHER_OBJECTS = frozenset({
    "temperature", "temp", "test", "tests", "bloods", "blood", "pregnancy", "period",
    "periods", "appointment", "appt", "paracetamol", "ibuprofen", "aspirin", "painkiller",
    "painkillers", "laxative", "laxatives", "antibiotics", "steroids", "steroid", "dex",
    "dexamethasone", "vitamins", "jab", "vaccine", "bath", "shower", "walk", "nap", "tell",
    "say", "mention", "ask", "call", "ring", "bus", "train", "breakfast", "lunch", "dinner",
})  # fmt: skip
_FILLERS = frozenset({"my", "the", "a", "an", "your", "todays", "this", "to", "some", "of"})
# When a reading is present, the number decides: "fever 37.6" is raised, not a red flag.
_TEMPERATURE_WORDS = frozenset({"temp", "temps", "temperature", "fever", "high", "degrees",
                                "deg", "thermometer", "reading"})  # fmt: skip
_EMOJI = {"\U0001f44d": " done ", "\u2705": " done ", "\u2714": " done ", "\u2611": " done ",
          "\U0001f44c": " done ", "\u274c": " missed ", "\u2716": " missed ",
          "\U0001f912": " fever ", "\U0001f922": " sick ", "\U0001f92e": " sick "}  # fmt: skip
_MENU = re.compile(r"(?:option|number|no\.?|#)?\s*([1-9])\s*[.)!]?", re.IGNORECASE)
_IN_A_WHILE = re.compile(r"\bin \d+ ?(?:min|mins|minutes|hour|hours|hrs?)\b")
_DURATION = re.compile(
    r"\b(\d+|a|one|two|three|four|five|six|seven|eight|nine|ten)\s*(day|days|week|weeks)\b"
)
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Intent:
    """The meaning of one inbound text. `topics` are leaflet topic ids, most urgent first."""

    kind: Kind
    topics: tuple[str, ...] = ()
    urgency: Urgency = "routine"
    temperature_c: float | None = None
    choice: int | None = None  # for menu_choice
    dose: DoseReport | None = None  # a dose report found alongside a red flag or a question
    # The day a dose report names (see ``day_named``): "yesterday", "last_night",
    # "this_morning", "today" or "weekday:<0-6>" (Monday 0); None when it names none.
    day: str | None = None


def _emoji_to_words(text: str) -> str:
    # Keycap digits ("1\ufe0f\u20e3") become plain digits for menu replies.
    text = text.replace("\ufe0f", "").replace("\u20e3", "")
    return "".join(_EMOJI.get(ch, ch) for ch in text)


def _whole(text: str, toks: Sequence[str]) -> Intent | None:
    """Messages whose whole body is one command, carrier-style (``toks``: ``tokens(text)``)."""
    bare = " ".join(re.sub(r"@\w+", " ", re.sub(r"[^\w@]+", " ", text)).split()).upper()
    if bare in STOP_WORDS:
        return Intent("stop")
    if bare in START_WORDS:
        return Intent("start")
    if bare in HELP_WORDS or text.strip() == "?":
        return Intent("help")
    menu = _MENU.fullmatch(text.strip())
    if menu:
        return Intent("menu_choice", choice=int(menu.group(1)))
    words = " ".join(toks)
    if words in _YES:
        return Intent("taken", dose="taken")
    if words in _NO:
        return Intent("missed", dose="missed")
    return None


_DAY_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("last", "night"), "last_night"),
    (("last", "nite"), "last_night"),
    (("this", "morning"), "this_morning"),
    (("this", "am"), "this_morning"),
    (("yesterday",), "yesterday"),
    (("yesterdays",), "yesterday"),
    (("yday",), "yesterday"),
    (("today",), "today"),
    (("todays",), "today"),
    (("tonight",), "today"),
    (("tonights",), "today"),
    (("this", "evening"), "today"),
)
_WEEKDAYS = {name: i for i, names in enumerate((
    ("monday", "mon", "mondays"), ("tuesday", "tue", "tues", "tuesdays"),
    ("wednesday", "wed", "weds", "wednesdays"), ("thursday", "thu", "thur", "thurs", "thursdays"),
    ("friday", "fri", "fridays"), ("saturday", "sat", "saturdays"), ("sunday", "sun", "sundays"),
)) for name in names}  # fmt: skip
# Short weekday forms are common words too ("sun", "sat", "wed"): only after "on" or "last".
_WEEKDAY_ALONE = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                            "sunday", "mondays", "tuesdays", "wednesdays", "thursdays",
                            "fridays", "saturdays", "sundays"})  # fmt: skip


def day_named(toks: Sequence[str]) -> str | None:
    """The first day a text names for a dose: "took it last night" -> "last_night"."""
    for i, tok in enumerate(toks):
        for phrase, day in _DAY_PHRASES:
            if tuple(toks[i : i + len(phrase)]) == phrase:
                return day
        if tok in _WEEKDAYS and (tok in _WEEKDAY_ALONE or (i and toks[i - 1] in ("on", "last"))):
            return f"weekday:{_WEEKDAYS[tok]}"
    return None


def _days_mentioned(toks: Sequence[str]) -> int:
    longest = 0
    for count, unit in _DURATION.findall(" ".join(toks)):
        n = int(count) if count.isdigit() else _NUMBERS[count]
        longest = max(longest, n * (7 if unit.startswith("week") else 1))
    return longest


def _escalations(topic: Topic, toks: Sequence[str]) -> list[str]:
    days = _days_mentioned(toks)
    return [rule.to for rule in topic.escalate if rule.fires(toks, days)]


def _object(toks: Sequence[str], after: int) -> str:
    """The first real word after a verb: 'took my temperature' -> 'temperature'."""
    return next((t for t in toks[after + 1 :] if t not in _FILLERS), "")


def _reports(toks: Sequence[str], phrases: tuple[str, ...]) -> list[search.PhraseHit]:
    """Dose phrases that really report on the capsule, not a question or another object."""
    return [
        hit for hit in search.find_phrases(toks, phrases, ordered=True)
        # "what if I forget" asks about missing; it does not report a miss.
        if "if" not in toks[max(0, min(hit.positions) - 4) : min(hit.positions)]
        and _object(toks, max(hit.positions)) not in _OTHER_OBJECTS
    ]  # fmt: skip


def _dose_report(toks: Sequence[str]) -> tuple[DoseReport | Literal["conflict"] | None, set[int]]:
    """What the text says about today's capsule, and the token positions that say it."""
    missed, not_taken = _reports(toks, _MISSED), _reports(toks, _NOT_TAKEN)
    refused = set().union(*(h.positions for h in missed + not_taken))
    taken = [h for h in _reports(toks, _TAKEN) if not h.positions & refused]
    for hit in list(taken):
        # "haven't really taken": a negation just before a taken word flips it.
        if _NEGATIONS.intersection(toks[max(0, min(hit.positions) - 2) : min(hit.positions)]):
            taken.remove(hit)
            not_taken.append(hit)
    later = _reports(toks, _LATER)
    if not_taken and not missed and "yet" in toks:
        not_taken, later = [], later + not_taken
    spots = set().union(*(h.positions for h in missed + not_taken + taken + later))
    if (missed or not_taken) and taken:
        return "conflict", spots  # "forgot yesterday, took today's": ask rather than guess
    if missed or not_taken:
        return "missed", spots
    if taken:
        return "taken", spots
    if later or _IN_A_WHILE.search(" ".join(toks)):
        return "later", spots
    return None, spots


def classify(text: str, topics: Sequence[Topic] | None = None) -> Intent:
    """Classify one inbound text. Pure: same text, same answer. Only the first 1,000 chars count."""
    topics = load_topics() if topics is None else topics
    text = _emoji_to_words(text[:MAX_CHARS])
    toks = search.tokens(text)
    if not toks and not text.replace("\u200b", "").strip():
        return Intent("empty")
    whole = _whole(text, toks)
    if whole:
        return whole
    by_id = search.topics_by_id(topics)
    celsius = parse_temperature(text)
    # With a reading, the number decides, so "temperature"/"fever" words stop voting.
    ignore = _TEMPERATURE_WORDS if celsius is not None else frozenset()
    # Scored once: the close calls below come from these same matches.
    matches = search.rank(toks, topics, ignore)
    ranked = [m.topic_id for m in matches]
    hot = celsius is not None and band(celsius) == "red_flag"
    if celsius is not None and (reading_topic := "fever" if hot else "infection") in by_id:
        ranked.insert(0, reading_topic)
    urgent = [t for t in ranked if by_id[t].urgency == "urgent"]
    for topic_id in ranked:
        urgent += _escalations(by_id[topic_id], toks)
    # "Sick after taking it", "can I take two tomorrow?": dose words inside a phrase of a topic
    # that asks about a dose are part of the question, not a report (leaflet asks_about_dose).
    asked = set().union(*(m.at for m in matches if by_id[m.topic_id].asks_about_dose))
    dose, spots = _dose_report([("" if i in asked else t) for i, t in enumerate(toks)])
    if asked and dose == "later":
        dose = None  # "sick 10 minutes later" tells the story; a snooze would invite a 2nd dose
    if urgent or hot:
        # A dose word inside a red-flag phrase ("took two", "missed my period") is not a report.
        inside = any(spots <= m.at for m in matches if m.topic_id in urgent)
        report = None if dose == "conflict" or inside else dose
        return Intent("red_flag", tuple(dict.fromkeys(urgent + ranked)), "urgent", celsius,
                      dose=report, day=day_named(toks) if report else None)  # fmt: skip
    close = [m.topic_id for m in search.closest(matches, TOPIC_LIMIT)]
    shown = tuple(dict.fromkeys(ranked[:1] + close))[:TOPIC_LIMIT]
    if dose == "conflict":
        return Intent("unknown", shown, temperature_c=celsius)
    if dose is not None:
        return Intent(dose, shown, temperature_c=celsius, dose=dose, day=day_named(toks))
    if search.find_phrases(toks, _NEXT, ordered=True):
        return Intent("next", shown, temperature_c=celsius)
    if shown:
        return Intent("topic", shown, temperature_c=celsius)
    # "can you help?" wants the menu; "thanks, the reminders help" is just chat.
    if len(toks) <= _SHORT and {"help", "info", "menu"}.intersection(toks):
        return Intent("help")
    return Intent("unknown")
