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
                    "recoltare", "bluttest", "blutabnahme", "tahlil", "tahlili", "tahlilim",
                    "thu", "xet", "nghiem"})  # fmt: skip


# Two words together: a period late ("menstruacao ... atrasada"), diarrhoea four or more
# times ("diarrhee 6 fois"), black stools ("kaali potty").
_PERIOD = frozenset({"menstruacao", "menstruacion", "regla", "periodo", "okres", "miesiaczka",
                     "regles", "mestruazioni", "ciclo", "menstruatia", "mahwari", "mc"})  # fmt: skip
_LATE = frozenset({"atrasada", "atrasado", "atraso", "retraso", "retrasada", "retard", "ritardo",
                   "spozniony", "spoznia", "spoznienie", "intarzie", "intarziat", "intarziata",
                   "late", "der"})  # fmt: skip
_RUNS = frozenset({"diarrhee", "diarrea", "diarreia", "diarrhoea", "diarrhea", "biegunka", "biegunke", "biegunki", "dast",
                   "durchfall", "ishal", "diaree", "shuban"})  # fmt: skip
_TIMES = frozenset({"fois", "veces", "vezes", "volte", "razy", "baar", "bar", "ori", "mal", "kez",
                    "jeer", "times"})  # fmt: skip
_BLACK = frozenset({"kaali", "kali", "kala", "kaala", "noires", "negras", "pretas", "nere",
                    "czarny", "czarne", "schwarz", "schwarzer", "siyah", "madow"})  # fmt: skip
_STOOLS = frozenset({"potty", "tatti", "latrine", "pakhana", "selles", "heces", "fezes", "feci",
                     "kal", "stolec", "stuhl", "stuhlgang", "saxaro", "cocos", "caca"})  # fmt: skip


def _two_word_sign(toks: Sequence[str]) -> str | None:
    words = set(toks)
    if words & _PERIOD and words & _LATE:
        return "possible-pregnancy"
    if words & _BLACK and words & _STOOLS:
        return "bruising-bleeding"
    if words & _RUNS:
        counts = [int(t) for t in toks if t.isdigit() and len(t) <= 2]
        if any(c >= 4 for c in counts) or (words & _TIMES and counts and max(counts) >= 4):
            return "diarrhoea"
    return None


def foreign_red_flag(toks: Sequence[str]) -> str | None:
    """The urgent topic a warning-sign word in another language points to ("sangre": bleeding),
    or None. Only the commonest signs are listed: the answer asks them to call anyway."""
    pair = _two_word_sign(toks)
    if pair is not None:
        return pair
    testing = bool(_TESTS.intersection(toks))
    for lang in languages():
        for t in toks:
            topic = lang.red_flags.get(t)
            if topic is not None and not (testing and topic == "bruising-bleeding"):
                return topic
    return None


# Warning-sign words in other scripts: fever, bleeding, blood, chest pain, breathlessness,
# fainting, swelling, black stools, pregnancy; common words only, as the answer asks them to
# call the team whatever they wrote. Each entry is one or more pieces that must all be in the
# text; a piece in brackets must stand as a word of its own (short words hide inside longer
# ones: Arabic "dam", blood, is in "istakhdam", use), the others may begin a word (Cyrillic
# endings) or sit anywhere (Chinese has no spaces).
_SCRIPT_SIGNS: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (tuple(pieces.split("+")), topic)
    for pieces, topic in (
        # Arabic and Urdu (Arabic letters)
        ("\u062d\u0631\u0627\u0631\u0629", "fever"), ("[\u062d\u0645\u0649]", "fever"), ("\u0633\u062e\u0648\u0646\u0629", "fever"),
        ("\u0628\u062e\u0627\u0631", "fever"), ("\u0631\u062c\u0641\u0629", "fever"), ("\u0646\u0632\u064a\u0641", "bruising-bleeding"),
        ("[\u062f\u0645]", "bruising-bleeding"), ("[\u062e\u0648\u0646]", "bruising-bleeding"), ("[\u0635\u062f\u0631\u064a]", "heart-attack"),
        ("\u0633\u06cc\u0646\u06d2", "heart-attack"), ("\u0625\u063a\u0645\u0627\u0621", "fainting"), ("\u063a\u0645\u064a\u0627\u0646", "fainting"),
        ("\u0628\u06cc\u06c1\u0648\u0634", "fainting"), ("[\u062d\u0627\u0645\u0644]", "possible-pregnancy"),
        ("\u0636\u064a\u0642 \u062a\u0646\u0641\u0633", "blood-clots"), ("\u0633\u0627\u0646\u0633", "blood-clots"),
        # Hindi (Devanagari) and Punjabi (Gurmukhi)
        ("\u092c\u0941\u0916\u093e\u0930", "fever"), ("\u0916\u0942\u0928", "bruising-bleeding"), ("\u0930\u0915\u094d\u0924", "bruising-bleeding"),
        ("\u0938\u0940\u0928\u0947", "heart-attack"), ("\u091b\u093e\u0924\u0940", "heart-attack"), ("\u092c\u0947\u0939\u094b\u0936", "fainting"),
        ("\u0938\u093e\u0902\u0938", "blood-clots"), ("\u0917\u0930\u094d\u092d\u0935\u0924\u0940", "possible-pregnancy"),
        ("\u0a2c\u0a41\u0a16\u0a3e\u0a30", "fever"), ("\u0a16\u0a42\u0a28", "bruising-bleeding"), ("\u0a1b\u0a3e\u0a24\u0a40", "heart-attack"),
        ("\u0a2c\u0a47\u0a39\u0a4b\u0a38\u0a3c", "fainting"),
        # Bengali
        ("\u099c\u09cd\u09ac\u09b0", "fever"), ("\u09b0\u0995\u09cd\u09a4", "bruising-bleeding"), ("\u09ac\u09c1\u0995\u09c7", "heart-attack"),
        ("\u0985\u099c\u09cd\u099e\u09be\u09a8", "fainting"), ("\u09b6\u09cd\u09ac\u09be\u09b8", "blood-clots"),
        # Chinese
        ("\u53d1\u70e7", "fever"), ("\u53d1\u70ed", "fever"), ("\u9ad8\u70e7", "fever"), ("\u51fa\u8840", "bruising-bleeding"),
        ("\u6d41\u8840", "bruising-bleeding"), ("\u5410\u8840", "bruising-bleeding"), ("\u54b3\u8840", "bruising-bleeding"),
        ("\u80f8\u53e3\u75db", "heart-attack"), ("\u80f8\u75db", "heart-attack"), ("\u5598\u4e0d\u8fc7\u6c14", "blood-clots"),
        ("\u547c\u5438\u56f0\u96be", "blood-clots"), ("\u6655\u5012", "fainting"), ("\u660f\u5012", "fainting"),
        ("\u6000\u5b55", "possible-pregnancy"), ("\u5927\u4fbf+\u9ed1", "bruising-bleeding"), ("\u817f+\u80bf", "blood-clots"),
        # Russian and Ukrainian (Cyrillic)
        ("\u0442\u0435\u043c\u043f\u0435\u0440\u0430\u0442\u0443\u0440", "fever"), ("[\u0436\u0430\u0440]", "fever"), ("\u043b\u0438\u0445\u043e\u0440\u0430\u0434", "fever"),
        ("\u043e\u0437\u043d\u043e\u0431", "fever"), ("[\u043a\u0440\u043e\u0432\u044c]", "bruising-bleeding"), ("[\u043a\u0440\u043e\u0432\u0438]", "bruising-bleeding"),
        ("[\u043a\u0440\u043e\u0432]", "bruising-bleeding"), ("[\u043a\u0440\u043e\u0432\u0456]", "bruising-bleeding"), ("\u043a\u0440\u043e\u0432\u043e\u0442\u0435\u0447", "bruising-bleeding"),
        ("[\u0433\u0440\u0443\u0434\u0438]", "heart-attack"), ("[\u0433\u0440\u0443\u0434\u044c]", "heart-attack"), ("[\u0433\u0440\u0443\u0434\u044f\u0445]", "heart-attack"),
        ("\u0437\u0430\u0434\u044b\u0445", "blood-clots"), ("\u0437\u0430\u0434\u0438\u0445", "blood-clots"), ("\u043e\u0431\u043c\u043e\u0440\u043e\u043a", "fainting"),
        ("\u0437\u043d\u0435\u043f\u0440\u0438\u0442\u043e\u043c", "fainting"), ("\u043d\u0430\u0431\u0440\u044f\u043a", "blood-clots"),
        ("[\u043e\u043f\u0443\u0445\u043b\u0430]", "blood-clots"), ("\u0431\u0435\u0440\u0435\u043c\u0435\u043d", "possible-pregnancy"), ("\u0432\u0430\u0433\u0456\u0442\u043d", "possible-pregnancy"),
        # Greek
        ("\u03c0\u03c5\u03c1\u03b5\u03c4", "fever"), ("[\u03b1\u03af\u03bc\u03b1]", "bruising-bleeding"), ("\u03b1\u03b9\u03bc\u03bf\u03c1\u03c1\u03b1\u03b3", "bruising-bleeding"),
        ("\u03c3\u03c4\u03ae\u03b8\u03bf\u03c2", "heart-attack"), ("\u03bb\u03b9\u03c0\u03bf\u03b8\u03cd\u03bc", "fainting"),
    )
)
# Eastern Arabic and Persian digits, read as 0-9 (a temperature of \u0663\u0668.\u0668).
_DIGITS = str.maketrans("\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9\u066b",
                        "01234567890123456789.")  # fmt: skip


def _has(text: str, piece: str) -> bool:
    if piece.startswith("["):
        return re.search(rf"(?<!\w){re.escape(piece[1:-1])}(?!\w)", text) is not None
    if "\u4e00" <= piece[0] <= "\u9fff":
        return piece in text  # Chinese: no spaces between words
    return re.search(rf"(?<!\w){re.escape(piece)}", text) is not None


def script_red_flag(text: str) -> str | None:
    """The urgent topic a warning-sign word written in another script points to, or None.
    A temperature of 38C or more beside a fever word is a fever; one below it is not."""
    lowered = text.lower()
    found = next((topic for pieces, topic in _SCRIPT_SIGNS
                  if all(_has(lowered, p) for p in pieces)), None)  # fmt: skip
    if found != "fever":
        return found
    readings = [float(x.replace(",", ".")) for x in _NUMBER.findall(text.translate(_DIGITS))]
    celsius = [v if v <= 43.0 else (v - 32.0) * 5.0 / 9.0 for v in readings
               if 34.0 <= v <= 43.0 or 93.0 <= v <= 110.0]  # fmt: skip
    return None if celsius and max(celsius) < 38.0 else "fever"
