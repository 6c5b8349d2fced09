"""GSM-7 alphabet checks, lookalike normalisation and SMS segment counting (3GPP TS 23.038)."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from anyascii import anyascii

Encoding = Literal["GSM-7", "UCS-2"]

# The default alphabet. ESC (0x1B) is left out: it only introduces an extension character.
BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these costs two septets (ESC + code), which matters for segment counting.
EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153  # septets; a split message loses 7 septets to the UDH
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units

# Characters phones and word processors slip into text that have a readable GSM-7 stand-in.
# One of these left in a message would switch all of it to UCS-2 and more than double its cost.
_LOOKALIKES: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-", "\u25e6": "-", "\u25aa": "-", "\u2023": "-", "\u2043": "-", "\u00b7": "-",
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u3000": " ", "\t": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4",
    "\u00d7": "x", "\u00f7": "/", "\u2264": "<=", "\u2265": ">=", "\u2192": "->",
    "\u2122": "TM", "\u00a9": "(c)", "\u00ae": "(R)",
}
# Temperatures are the one place a degree sign is common; "38C" reads well and stays GSM-7.
_DEGREE_UNIT = re.compile(r"\s?[\u00b0\u00ba]\s?([CcFf])\b")
_DEGREE_ALONE = re.compile(r"\s?[\u00b0\u00ba]")
_SPACES = re.compile(r"[\u2000-\u200a]")
_GSM7: frozenset[str] = BASIC | EXTENSION
# Characters normalise() leaves exactly as they are.
_PLAIN: frozenset[str] = (BASIC | EXTENSION) - frozenset(_LOOKALIKES)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return _GSM7.issuperset(text)  # one set operation, not a generator step per character


def encoding(text: str) -> Encoding:
    """The encoding a carrier will use: one non-GSM character makes the whole message UCS-2."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _fold(ch: str) -> str:
    """An accented letter outside GSM-7 loses its accent when that yields GSM-7 ('á' -> 'a')."""
    if ch in BASIC or ch in EXTENSION:
        return ch
    if unicodedata.category(ch) == "Cc":
        return "" if ch not in "\n\r" else ch  # control characters are invisible noise
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
    )
    return stripped if stripped and is_gsm7(stripped) else ch


def normalise(text: str) -> str:
    """Replace common non-GSM lookalikes with GSM-7 text; characters with no stand-in are kept.

    Kept characters (emoji, other scripts) are left for the caller to judge with `is_gsm7`,
    because dropping them silently could change what a message says.
    """
    if _PLAIN.issuperset(text):
        return text  # already GSM-7 with nothing to replace: the common case, kept cheap
    text = _DEGREE_UNIT.sub(lambda m: m.group(1).upper(), text)
    text = _DEGREE_ALONE.sub(" deg", text)
    text = _SPACES.sub(" ", text)
    return "".join(_LOOKALIKES[ch] if ch in _LOOKALIKES else _fold(ch) for ch in text)


# In a name, symbols (emoji, pictographs, skin-tone modifiers, flags), format and private-use
# characters are decoration: anyascii would spell an emoji out as ":grinning:".
_DECORATION = frozenset({"So", "Sk", "Sm", "Sc", "Cf", "Co", "Cn", "Cs", "Me"})
# GSM-7 has these Greek capitals, but a Greek name reads better wholly in Latin letters than as
# "Σofia"; outside Greek names they are rare.
_GREEK = frozenset("ΔΦΓΛΩΠΨΣΘΞ")


def transliterate(text: str) -> str:
    """``text`` in GSM-7 letters, for names: lookalikes replaced and accents dropped as
    ``normalise`` does ('Zoë' -> 'Zoe'), other scripts spelt in Latin letters by anyascii
    ('李雷' -> 'LiLei', 'Иван' -> 'Ivan'), emoji and other symbols dropped. May be empty."""
    out = []
    for ch in normalise(unicodedata.normalize("NFC", text)):
        if (ch in BASIC and ch not in _GREEK) or ch in EXTENSION:
            out.append(ch)
        elif unicodedata.category(ch) not in _DECORATION:
            out.append(anyascii(ch))  # ASCII, or "" for combining marks it cannot place
    return normalise("".join(out))


def _units(text: str) -> list[int]:
    """Cost of each character in the message's encoding (septets or UTF-16 code units)."""
    if is_gsm7(text):
        return [2 if ch in EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def length(text: str) -> int:
    """Length as the network counts it: septets for GSM-7, UTF-16 code units for UCS-2."""
    return sum(_units(text))


def segments(text: str) -> int:
    """Number of SMS segments needed; 0 for an empty text (nothing to send).

    A two-unit character (escape pair, surrogate pair) is never split across segments,
    as handsets do, so this can be one more than a naive ceil(length / 153).
    """
    units = _units(text)
    total = sum(units)
    if total == 0:
        return 0
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if is_gsm7(text) else (UCS2_SINGLE, UCS2_MULTI)
    if total <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return count
