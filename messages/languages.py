"""Is a text written in English? Pure, from word lists (messages/languages.toml).

lenabot reads English only. A text in another language gets an answer, in English, saying so
and to call the team for anything urgent; a fever written in Spanish, Portuguese, French,
Polish or romanised Urdu/Punjabi is still a red flag. Word lists rather than a statistical
language detector: a text message is a few words, the languages that matter are few, and a
list says exactly why a text was read as it was (``lenabot explain``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

# The commonest English words in patients' texts: a text that uses them is English, whatever
# foreign word it also holds ("gracias for the reminder").
ENGLISH_WORDS = frozenset("""
i im ive me my mine you your youre it its is was am are be been have has had do did does done
not no yes and or but the a an to of in on at for with from this that today yesterday tonight
morning night took taken take taking forgot missed feel feeling felt got get pain sick
temperature temp fever what when how can could should will would just still now thanks
thank please dose capsule capsules tablet tablets pill pills again very bit bad good ok okay
hope all well keeping lovely day out at seaside so much wonderful angels real person new
phone number sorry wrong right birthday saw doctor dr nice thinking hospital job grand grandson
granddaughter wife husband son daughter sister brother dog cat lunch dinner tea walk garden
weather sun rain went back home weekend week see going there here they we he she his her
""".split())
# Words a foreign text shares with English ("no entiendo"): they count for neither.
_SHARED = frozenset({"no", "me", "a", "i", "de", "la", "le", "el", "en", "mi", "tu", "te", "se",
                     "si", "y", "o", "e", "do", "da", "na", "nie", "ma", "et", "con"})
# A number that may be a temperature (38,5 / 38.5 / 102).
_NUMBER = re.compile(r"(?<![\d.,])(\d{2,3}(?:[.,]\d)?)(?![\d])")


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    words: frozenset[str]
    fever: frozenset[str]
    red_flags: dict[str, str]  # word -> the urgent leaflet topic it points to


@cache
def languages() -> tuple[Language, ...]:
    data = tomllib.loads(
        resources.files("messages").joinpath("languages.toml").read_text(encoding="utf-8")
    )
    return tuple(
        Language(x["code"], x["name"], frozenset(x["words"]), frozenset(x["fever"]),
                 dict(x.get("red_flags", {})))
        for x in data["language"]
    )


def foreign_language(toks: Sequence[str]) -> str | None:
    """The code of the language a text is written in, if it is not English, else None.

    Foreign when words of one language outnumber the common English ones, with at least two
    of them, or one in a text of no English word at all ("gracias", "merci"). A fever word
    of five letters or more that is not also English counts as two.
    """
    english = sum(1 for t in toks if t in ENGLISH_WORDS and t not in _SHARED)
    best: tuple[int, str] | None = None
    for lang in languages():
        # A fever word that is no English word counts twice: "am febra 39" is Romanian.
        # So does a warning-sign word: "tata a lesinat ... s a lovit la cap" is Romanian.
        n = sum(2 if (t in lang.fever or t in lang.red_flags) and len(t) >= 5
                and t not in ENGLISH_WORDS else 1
                for t in toks if t in lang.words or t in lang.fever or t in lang.red_flags)  # fmt: skip
        if n and (best is None or n > best[0]):
            best = (n, lang.code)
    if best is None:
        return None
    n, code = best
    if (n >= 2 and n > english) or (english == 0 and n >= 1):
        return code
    return None


def foreign_fever(text: str, toks: Sequence[str]) -> tuple[bool, float | None]:
    """Whether a text not in English tells of a fever, and the temperature in Celsius when it
    writes one: a fever word with a reading of 38C (100.4F) or more, or a fever word alone
    ("tengo fiebre", as "I have a fever" is in English). A normal reading is no fever."""
    words = set(toks)
    if not any(lang.fever & words for lang in languages()):
        return False, None
    readings = []
    for raw in _NUMBER.findall(text):
        value = float(raw.replace(",", "."))
        if 34.0 <= value <= 43.0:
            readings.append(value)
        elif 93.0 <= value <= 110.0:
            readings.append(round((value - 32.0) * 5.0 / 9.0, 1))
    if not readings:
        return True, None
    top = max(readings)
    return top >= 38.0, top


# "Blood test" in these languages: the blood there is a sample, not a bleed.
_TESTS = frozenset({"exame", "exames", "analisis", "analise", "badanie", "badania", "prise",
                    "analyse", "analyses", "test", "testy", "prueba", "pruebas", "esame", "esami",
                    "analisi", "prelievo", "analize", "analiza", "analizy", "badan", "pobranie",
                    "recoltare", "bluttest", "blutabnahme", "tahlil", "tahlili"})  # fmt: skip


def foreign_red_flag(toks: Sequence[str]) -> str | None:
    """The urgent topic a warning-sign word in another language points to ("sangre": bleeding),
    or None. Only the commonest signs are listed: the answer asks them to call anyway."""
    testing = bool(_TESTS.intersection(toks))
    for lang in languages():
        for t in toks:
            topic = lang.red_flags.get(t)
            if topic is not None and not (testing and topic == "bruising-bleeding"):
                return topic
    return None
