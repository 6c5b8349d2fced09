"""Text speak spelt out ("4got 2day" -> "forgot today"): the words the rules and the model read."""

from __future__ import annotations

import re

# Phone shorthand, as whole words, in the spelling the rules read.
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
}  # fmt: skip
_SPEAK_WORD = re.compile(
    r"(?<![\w'])("
    + "|".join(re.escape(k) for k in sorted(_SPEAK, key=len, reverse=True) if _SPEAK[k] != k)
    + r")(?![\w'])",
    re.IGNORECASE,
)


_ASKED_TK = re.compile(r"\b((?:can|should|shall|could|do|will|to|may)(?: i)?) tk\b", re.IGNORECASE)


def plain_words(text: str) -> str:
    """Text speak spelt out: "4got 2day, tk it l8r?" -> "forgot today, take it later?"."""
    text = _ASKED_TK.sub(r"\1 take", text)  # "can i tk it" asks to take; "tk it" reports
    return _SPEAK_WORD.sub(lambda m: _SPEAK[m.group(1).lower()], text)
