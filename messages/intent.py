"""The words of dose reports and commands: what "took it", "forgot", "not yet", STOP or a menu
number say, and which day a report names. Pure. ``messages.understand`` reads each clause of
a text with these."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from messages import search
from messages.leaflet import Topic

DoseReport = Literal["taken", "missed", "later"]

MAX_CHARS = search.MAX_CHARS
TOPIC_LIMIT = 3  # a routine answer offers at most "reply 1, 2 or 3"

# Carrier keywords only count as the whole message, as carriers apply them: "stop the
# diarrhoea" is a question, not an opt-out.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                        "OPTOUT", "OPT OUT", "STOP ALL"})  # fmt: skip
START_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO", "MENU", "OPTIONS", "COMMANDS", "HI", "HELLO", "HEY"})
# Replies to "have you taken it?" that carry no other meaning.
_YES = frozenset({"yes", "yep", "yeah", "yup", "y", "ya", "yes done", "done", "all done",
                  "yes thanks", "yes thank you", "done thanks", "yes i have", "did it",
                  "done it", "dun it", "i did it", "i done it", "i dun it"})  # fmt: skip
_NO = frozenset({"no", "nope", "nah", "n", "not today", "no i havent", "no not yet"})

_TAKEN = ("taken", "took", "done", "swallowed", "had it", "had them", "had my", "had todays",
          "taking it now", "just taking", "tkn", "tookit", "tuk it", "tk it", "did take",
          "remember to take", "remembered to take", "popped it", "popped my", "popped one", "popped a", "popped the", "had me",
          "had her", "had his", "have take", "take it already", "already take", "always take",
          "gave her", "gave him", "gave mum", "gave dad", "had the", "took hers",
          "took his", "down the hatch", "consumed", "ingested",
          # how people say it aloud: "gulped it down", "got it down me", "the wife had hers",
          # "had tuesdays dose", "mission accomplished"
          "gulped it", "gulped them", "gulped mine", "got it down", "had hers", "had mine", "had dose", "necked it",
          "knocked it back", "mission accomplished", "tooken")  # fmt: skip
_MISSED = ("missed", "forgot", "forgotten", "skipped", "forget to take", "4got", "failed to take",
           "didnt get to take", "refused", "refuses", "wouldnt take", "wouldnt have it",
           "would not take", "spat it out", "spat out",
           # "neglected to take", "slipped my mind", "ran out", "gave it a miss", "miss today",
           # "fell asleep before I took it": a miss however it is put
           "neglected", "slipped my mind", "slipped me mind", "clean forgot", "couldnt take",
           "could not take", "wasnt able to take", "ran out", "run out", "it a miss",
           "miss today", "miss todays", "miss tonights", "miss this one", "fell asleep before",
           "never took", "omitted", "did not take my", "didnt take my")  # fmt: skip
# Not taken (yet): "yet" makes these a "later", on their own they are a miss.
_NOT_TAKEN = ("didnt take", "did not take", "didnt have", "not taken", "havent taken",
              "have not taken", "not had", "havent had", "not taking", "wont take",
              "wont be taking", "skipping", "hasnt had", "hasnt taken", "havent taken any",
              "not taken any", "didnt take any", "not had any", "havent had any")  # fmt: skip
_LATER = ("later", "snooze", "not yet", "remind me", "in a bit", "in an hour", "in a while",
          "in a minute", "shortly", "soon", "will take", "ill take", "going to take",
          "gonna take", "about to take", "text me again", "message me again", "remind me again",
          "nudge me", "set a reminder", "need reminding", "not now", "text me later",
          "ask me again", "send the reminder again", "send me the reminder again",
          "send it again", "remind me after", "send a reminder", "a nudge", "ping me",
          "get back to me", "try me again", "catch me later", "need a reminder")  # fmt: skip
_NEGATIONS = frozenset({"not", "didnt", "havent", "hasnt", "never", "dont", "no", "wasnt",
                        "cant", "cannot", "havnt", "hadnt"})  # fmt: skip
# "took my temperature", "missed my appointment": the verb is about something else.
_FUTURE = frozenset({"ill", "will", "gonna", "shall", "going", "wll"})
_OTHER_OBJECTS = frozenset({
    "temperature", "temp", "test", "tests", "bloods", "blood", "pregnancy", "period",
    "periods", "appointment", "appt", "paracetamol", "ibuprofen", "aspirin", "painkiller",
    "painkillers", "laxative", "laxatives", "antibiotics", "steroids", "steroid", "dex",
    "dexamethasone", "vitamins", "jab", "vaccine", "bath", "shower", "walk", "nap", "tell",
    "say", "mention", "ask", "call", "ring", "bus", "train", "breakfast", "lunch", "dinner",
    "anything", "much", "something", "nothing", "text", "reply", "answer", "respond",
    "message", "phone", "mmr", "flu", "covid", "booster", "jabs", "vaccination",
    "injection", "scan", "operation", "op", "hair", "tea", "baby", "cold", "cough", "cuppa",
    "bowel", "bowels", "movement", "poo", "wee", "appetite", "energy", "sleep", "any", "food", "drink",
    # "took ages to stop", "took half an hour": a time, not a capsule
    "ages", "forever", "hours", "half", "minutes", "mins", "hrs",
    # "took a tumble", "had a funny turn": a fall, not the capsule
    "tumble", "fall", "turn", "funny", "knock", "trip", "nasty",
    "reminder", "reminders",  # "miss today's reminder"
})  # fmt: skip
_FILLERS = frozenset({"my", "the", "a", "an", "your", "todays", "this", "to", "some", "of"})
_EMOJI = {"\U0001f44d": " done ", "\u2705": " done ", "\u2714": " done ", "\u2611": " done ",
          "\U0001f44c": " done ", "\u274c": " missed ", "\u2716": " missed ",
          "\U0001f912": " fever ", "\U0001fa78": " blood ", "\U0001f922": " sick ", "\U0001f92e": " sick "}  # fmt: skip
_MENU = re.compile(r"(?:option|number|no\.?|#)?\s*([1-9])\s*[.)!]?", re.IGNORECASE)
_IN_A_WHILE = re.compile(
    r"\bin \d+ ?(?:min|mins|minutes|hour|hours|hrs?)\b|"
    r"\bgive me (?:an? |half an |\d+ ?)?(?:hour|hr|hrs|min|mins|minutes|bit|while|sec|mo)\b"
)  # "give me an hour": ask again then
_DURATION = re.compile(
    r"\b(\d+|a|one|two|three|four|five|six|seven|eight|nine|ten)\s*(?:(?:consecutive|straight|"
    r"solid|whole|full|long)\s+)?(day|days|week|weeks)\b"
)
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Command:
    """A text that is one command as a whole: stop, start, help, menu_choice (with its
    number), or a bare yes (taken) or no (missed) to "did you take it?"."""

    kind: str
    choice: int | None = None


def emoji_to_words(text: str) -> str:
    # Keycap digits ("1\ufe0f\u20e3") become plain digits for menu replies.
    text = text.replace("\ufe0f", "").replace("\u20e3", "")
    if "\U0001fa78" in text and _BLOOD_TEST.search(text):
        text = text.replace("\U0001fa78", " ")  # "next blood test? 🩸": a picture of the test
    return "".join(_EMOJI.get(ch, ch) for ch in text)


_BLOOD_TEST = re.compile(r"\bblood ?(?:tests?|work|count|results?|draw)\b|\bbloods\b|\blabs\b",
                         re.IGNORECASE)


def whole_command(text: str, toks: Sequence[str]) -> Command | None:
    """Messages whose whole body is one command, carrier-style (``toks``: ``tokens(text)``)."""
    bare = " ".join(re.sub(r"@\w+", " ", re.sub(r"[^\w@]+", " ", text)).split()).upper()
    if bare in STOP_WORDS:
        return Command("stop")
    if bare in START_WORDS:
        return Command("start")
    if bare in HELP_WORDS:
        return Command("help")
    menu = _MENU.fullmatch(text.strip())
    if menu:
        return Command("menu_choice", choice=int(menu.group(1)))
    words = " ".join(toks)
    if words in _YES:
        return Command("taken")
    if words in _NO:
        return Command("missed")
    return None


_DAY_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("last", "night"), "last_night"),
    (("last", "nite"), "last_night"),
    (("this", "morning"), "this_morning"),
    (("this", "mornings"), "this_morning"),
    (("last", "nights"), "last_night"),
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


_TIMES = re.compile(
    r"\b(\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|many)\s*"
    r"(?:x|times|occasions|goes|episodes|bouts|vaari|vari|baar)\b|\bx ?(\d+)\b"
)
_COUNTS = {**_NUMBERS, "eleven": 11, "twelve": 12, "several": 4, "many": 5}


def _times_mentioned(toks: Sequence[str]) -> int:
    """The most "N times" a text mentions ("8 times today", "five times"): a frequency."""
    found = [int(n or m) if (n or m).isdigit() else _COUNTS[n]
             for n, m in _TIMES.findall(" ".join(toks))]  # fmt: skip
    return max(found, default=0)


def escalations(topic: Topic, toks: Sequence[str]) -> list[str]:
    days, times = _days_mentioned(toks), _times_mentioned(toks)
    return [rule.to for rule in topic.escalate if rule.fires(toks, days, times)]


def _object(toks: Sequence[str], after: int) -> str:
    """The first real word after a verb: 'took my temperature' -> 'temperature'."""
    return next((t for t in toks[after + 1 :] if t not in _FILLERS), "")


# "the missed ones", "my missed doses": "missed" describing capsules, not reporting a miss.
_DESCRIBING = frozenset({"the", "those", "these", "any", "my", "all"})
_DOSE_NOUNS = frozenset({"one", "ones", "dose", "doses", "day", "days", "capsule", "capsules",
                         "tablet", "tablets", "pill", "pills"})  # fmt: skip
_CAPSULE_WORDS = frozenset({"capsules", "capsule", "tablets", "tablet", "pills", "pill", "meds",
                            "medication", "medicine", "lenalidomide", "revlimid", "them", "it"})  # fmt: skip
_STORY_AFTER_HAD = frozenset({"like", "since", "for", "all", "again", "badly", "bad"})
# Who "ran out" when it is the patient: the clause starts with it, or "I", "we" say it.
_SELF = frozenset({"", "i", "ive", "have", "had", "we", "weve", "just", "id"})
# "should have had it", "before I took it": the capsule that was due, not one swallowed.
_NOT_YET_DONE = (("should", "have"), ("should", "of"), ("shouldve",), ("meant", "to", "have"),
                 ("supposed", "to", "have"), ("before", "i"), ("before", "id"),
                 ("before", "ive"), ("before",))  # fmt: skip


def _reports(toks: Sequence[str], phrases: tuple[str, ...]) -> list[search.PhraseHit]:
    """Dose phrases that really report on the capsule, not a question or another object."""
    return [
        hit for hit in search.find_phrases(toks, phrases, ordered=True, gap=1)
        # "what if I forget" asks about missing; it does not report a miss.
        if "if" not in toks[max(0, min(hit.positions) - 4) : min(hit.positions)]
        and (_object(toks, max(hit.positions)) not in _OTHER_OBJECTS or _ago(toks, hit))
        and not _about_something_else(toks, hit)
    ]  # fmt: skip


def _ago(toks: Sequence[str], hit: search.PhraseHit) -> bool:
    """ "Taken hours ago": a time since the dose, not something else taken."""
    return "ago" in toks[max(hit.positions) + 1 : max(hit.positions) + 4]


def _about_something_else(toks: Sequence[str], hit: search.PhraseHit) -> bool:
    first, last = min(hit.positions), max(hit.positions)
    before = toks[first - 1] if first else ""
    after = toks[last + 1 : last + 3]
    if hit.phrase in ("done", "taken") and before in _OTHER_OBJECTS:
        return True  # "having bloods done at 10", "test done"
    if hit.phrase == "missed" and before in _DESCRIBING and after[:1] and after[0] in _DOSE_NOUNS:
        return True  # "can I catch up the missed ones"
    if hit.phrase in ("ran out", "run out") and before not in _SELF:
        return True  # "my friend ran out": someone else's capsules
    if hit.phrase in ("had it", "had them") and after[:1] and after[0] in _STORY_AFTER_HAD:
        return True  # "had it like this for days": a symptom
    if hit.phrase in ("had it", "had them") and before == "never" and "before" in after:
        return True  # "a rash, never had it before": a symptom, not a missed capsule
    if hit.phrase in ("ran out", "run out") and tuple(after[:1]) == ("of",):
        # "ran out of breath", "run out of paracetamol": not the capsules
        rest = [t for t in toks[last + 2 : last + 4] if t not in _FILLERS]
        return not rest or rest[0] not in _CAPSULE_WORDS
    return False


def _due_not_done(toks: Sequence[str], hit: search.PhraseHit) -> bool:
    """ "Should have had it", "before I took it": the words name a dose, not its taking."""
    first = min(hit.positions)
    return any(tuple(toks[first - len(p) : first]) == p for p in _NOT_YET_DONE if first >= len(p))


def dose_report(toks: Sequence[str]) -> tuple[DoseReport | Literal["conflict"] | None, set[int]]:
    """What the text says about today's capsule, and the token positions that say it."""
    missed, not_taken = _reports(toks, _MISSED), _reports(toks, _NOT_TAKEN)
    refused = set().union(*(h.positions for h in missed + not_taken))
    taken = [h for h in _reports(toks, _TAKEN) if not h.positions & refused]
    # "It's been 13 hours since I should have had it", "fell asleep before I took it"
    taken = [h for h in taken if not _due_not_done(toks, h)]
    later = [
        hit for hit in _reports(toks, _LATER)
        # "I don't need reminding", "thanks for reminding me": no request to remind
        if not _NEGATIONS.intersection(toks[max(0, min(hit.positions) - 2) : min(hit.positions)])
        and "for" not in toks[max(0, min(hit.positions) - 2) : min(hit.positions)]
    ]  # fmt: skip
    for hit in list(taken):
        # "haven't really taken": a negation just before a taken word flips it.
        before = toks[max(0, min(hit.positions) - 2) : min(hit.positions)]
        if _NEGATIONS.intersection(before):
            taken.remove(hit)
            # "can't take it right now, remind me in 2 hours": not now, later
            if {"cant", "cannot"} & set(before) and (later or "now" in toks):
                later.append(hit)
            else:
                not_taken.append(hit)
        elif _FUTURE.intersection(before):
            taken.remove(hit)  # "I'll just take tomorrow's": an intention, no report
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
