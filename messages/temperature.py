"""Find a body temperature in a patient's free text and say how worrying it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Band = Literal["normal", "raised", "red_flag"]
Unit = Literal["C", "F"]

# The leaflet says to call when the temperature "goes above 38C". We count a reading of
# exactly 38.0 as a red flag too: thermometers round to one decimal, so "38.0" may be 38.04,
# and 100.4F (= 38.0C) is the usual fever threshold. A needless call is cheap; a missed
# neutropenic infection is not.
RED_FLAG_AT_C = 38.0
RAISED_AT_C = 37.5

# Plausible human readings only, so ages, doses, dates and times fall out.
CELSIUS_RANGE = (34.0, 43.0)
FAHRENHEIT_RANGE = (93.0, 110.0)

_MAX_CHARS = 1000  # a reading sits near the start; caps the work on pasted essays

_READING = re.compile(
    r"(?<![\d.,:/])(?P<num>\d{2,3}(?:[.,]\d{1,2})?)(?![\d:/]|[.,]\d)"
    r"(?:\s?(?P<deg>[\u00b0\u00ba]|degrees?|degs?\b|deg\b))?"
    r"(?:\s?(?P<unit>celsius|centigrade|fahrenheit|c|f)\b)?",
    re.IGNORECASE,
)
# Words that say the number next to them is a temperature.
_CONTEXT = re.compile(r"\b(?:temp|temps|temperature|fever|thermometer|reading)\b", re.I)
# A number followed by one of these is a dose, a time or a duration, never a temperature.
_NOT_TEMPERATURE = re.compile(
    r"\s?(?:%|(?:mg|mcg|ml|g|kg|lbs?|st|mm|cm|mmol|am|pm|h|hrs?|hours?|mins?|minutes?|days?|"
    r"weeks?|months?|years?|yrs?|capsules?|caps|tablets?|pills?|times)\b)",
    re.IGNORECASE,
)
# "cycle 38", "day 37": counters that happen to look like a temperature.
_COUNTER_BEFORE = re.compile(r"\b(?:day|cycle|week|dose|no|number|room|bed|ward|page)\s*$", re.I)
# The weather, not the patient: "it's 38 degrees in Seville today", "32C in the shade". Only
# in a text with no word saying a temperature was taken ("temp 38, roasting outside" stays).
_WEATHER = re.compile(
    r"\b(?:outside|out there|weather|heat ?wave|in the (?:shade|sun|garden)|sunny|scorching|"
    r"forecast|holiday|beach|pool|degrees in [a-z]+|here in [a-z]+|in (?:spain|greece|florida|"
    r"portugal|france|italy|turkey|dubai|cyprus))\b",
    re.IGNORECASE,
)
_WHOLE_NUMBER_ONLY = re.compile(r"\s*\d{2,3}(?:[.,]\d{1,2})?\s*[.!]?\s*")


@dataclass(frozen=True, slots=True)
class Reading:
    """One temperature found in a text, converted to Celsius."""

    celsius: float
    unit: Unit  # the unit the patient wrote or, when absent, the one the value implies


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _to_celsius(value: float, unit: Unit) -> float:
    return round(value if unit == "C" else (value - 32.0) * 5.0 / 9.0, 1)


def _near_context(text: str, start: int, end: int) -> bool:
    """A bare integer counts only right after 'temp'/'fever' etc., or right before one."""
    before = text[max(0, start - 30) : start]
    after = text[end : end + 32]
    last_word = _CONTEXT.search(before)
    if last_word and len(before[last_word.end() :].split()) <= 3:
        return True
    # "101 on the old thermometer"
    return bool(re.match(r"\s?(?:(?:exactly|flat|on the dot) )?(?:(?:on|by) (?:the|my|her|his|our) (?:\w+ )?)?(?:temp|temperature|"
                         r"fever|thermometer)\b", after, re.I))


def _reading(match: re.Match[str], text: str, whole: bool) -> Reading | None:
    value = float(match.group("num").replace(",", "."))
    unit_word = (match.group("unit") or "").lower()
    if _COUNTER_BEFORE.search(text, 0, match.start()):
        return None
    if _NOT_TEMPERATURE.match(text, match.end("num")) and not unit_word and not match.group("deg"):
        return None
    if unit_word:
        unit: Unit = "F" if unit_word.startswith("f") else "C"
        bounds = FAHRENHEIT_RANGE if unit == "F" else CELSIUS_RANGE
        return Reading(_to_celsius(value, unit), unit) if _in(value, bounds) else None
    # No unit: the value decides, but only when something says it is a temperature.
    decimal = "." in match.group("num") or "," in match.group("num")
    said_so = bool(match.group("deg")) or whole or _near_context(text, match.start(), match.end())
    if _in(value, CELSIUS_RANGE) and (decimal or said_so):
        return Reading(_to_celsius(value, "C"), "C")
    if _in(value, FAHRENHEIT_RANGE) and said_so:
        return Reading(_to_celsius(value, "F"), "F")
    return None


_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9}
_TENS = {"thirty": 30, "forty": 40}
# "thirty-eight and a half", "thirty nine point two", "a hundred and one": readings in words.
_IN_WORDS = re.compile(
    r"\b(?:(?P<tens>thirty|forty)[\s-]+(?P<unit>one|two|three|four|five|six|seven|eight|nine)"
    r"|(?:(?:a|one)\s+)?hundred(?:\s+(?:and|an|n))?\s+(?P<hunit>one|two|three|four|five)|(?:a|one)\s+"
    r"hundred)\b(?:\s+(?:and\s+a\s+(?P<half>half)|point\s+(?P<point>one|two|three|four|five|six|"
    r"seven|eight|nine)))?",
    re.IGNORECASE,
)


def _in_figures(text: str) -> str:
    """Temperatures written in words, as figures: "thirty nine" -> "39"."""

    def figure(m: re.Match[str]) -> str:
        if m.group("tens"):
            value = float(_TENS[m.group("tens").lower()] + _UNITS[m.group("unit").lower()])
        else:
            value = 100.0 + (_UNITS[m.group("hunit").lower()] if m.group("hunit") else 0)
        if m.group("half"):
            value += 0.5
        elif m.group("point"):
            value += _UNITS[m.group("point").lower()] / 10
        return f"{value:g}" if value != int(value) else f"{int(value)}"

    return _IN_WORDS.sub(figure, text) if _IN_WORDS.search(text) else text


def find_readings(text: str) -> list[Reading]:
    """Every plausible body temperature in the text, in the order written (figures, or
    words: "thirty-eight and a half")."""
    text = _in_figures(text[:_MAX_CHARS])
    if _weather_words(text):
        return []
    whole = bool(_WHOLE_NUMBER_ONLY.fullmatch(text))
    found = (_reading(m, text, whole) for m in _READING.finditer(text))
    return [r for r in found if r is not None]


def _weather_words(text: str) -> bool:
    """Weather words and no word saying a temperature was taken."""
    return _WEATHER.search(text) is not None and _CONTEXT.search(text) is None


def the_weather(text: str) -> bool:
    """Whether the text tells the weather's temperature, not the patient's ("38 degrees in
    Seville today"): a reading that would count but for the weather words around it."""
    text = _in_figures(text[:_MAX_CHARS])
    if not _weather_words(text):
        return False
    return any(m.group("deg") or m.group("unit") for m in _READING.finditer(text))


def parse_temperature(text: str) -> float | None:
    """The highest body temperature in the text in Celsius (1 decimal), or None.

    The highest, because "was 37.2 now 38.6" must not hide the reading that needs a call.
    """
    readings = find_readings(text)
    return max(r.celsius for r in readings) if readings else None


def band(celsius: float) -> Band:
    """red_flag at 38.0C and above, raised from 37.5C, otherwise normal."""
    if celsius >= RED_FLAG_AT_C:
        return "red_flag"
    if celsius >= RAISED_AT_C:
        return "raised"
    return "normal"
