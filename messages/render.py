"""Pure rendering: a planned reminder plus a patient's profile -> the words we send."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from importlib import resources
from typing import Any

from messages.gsm import length, normalise, transliterate
from scheduler.domain.model import Kind, Patient, Reminder

DEFAULT_LANGUAGE = "en-GB"
NAME_LIMIT = 30


class UnknownLanguageError(ValueError):
    pass


@dataclass(frozen=True)
class Profile:
    """What rendering needs to know about the person: never more."""

    name: str
    discreet: bool = False
    language: str = DEFAULT_LANGUAGE
    # The text goes by SMS: GSM-7 only, names spelt in Latin letters. Telegram shows any script.
    gsm: bool = True


def languages() -> list[str]:
    folder = resources.files("messages") / "catalog"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def check_language(language: str) -> str:
    if language not in languages():
        raise UnknownLanguageError(
            f"language {language!r} is not available: use one of {', '.join(languages())}"
        )
    return language


@lru_cache(maxsize=8)
def catalog(language: str) -> dict[str, Any]:
    path = resources.files("messages") / "catalog" / f"{check_language(language)}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=4096)  # every reminder of a planning pass asks for the same few names
def short_name(name: str, gsm: bool = False) -> str:
    """The first word of the enrolled name, cut to the length the SMS budget allows.

    For SMS (``gsm``) the name is first spelt in GSM-7 letters ('李雷' -> 'LiLei'; emoji
    dropped), so no name can turn a reminder into UCS-2 (70 characters a segment). A name
    left with no letters greets the patient as a blank one does.
    """
    if not gsm:
        first = name.strip().split()[0] if name.strip() else "Hello"
        return first[:NAME_LIMIT]
    for word in name.split():
        spelt = transliterate(word).split()
        if spelt:
            first = spelt[0]
            # Scripts without capitals come out lower case ('محمد' -> 'mhmd'): a name has one.
            if first[0].islower() and not word[0].islower():
                first = first[0].upper() + first[1:]
            while length(first) > NAME_LIMIT:  # septets: '[' or '€' cost two
                first = first[:-1]
            return first
    return "Hello"


@lru_cache(maxsize=4096)
def fmt_date(day: date) -> str:
    """Cached: strftime is slow, and a planning pass renders the same few dates many times."""
    return f"{day:%a} {day.day} {day:%b}"


def fmt_time(at: time) -> str:
    return f"{at:%H:%M}"


def _fill(template: str, values: dict[str, Any]) -> str:
    shown = {
        k: fmt_date(v) if isinstance(v, date) else fmt_time(v) if isinstance(v, time) else v
        for k, v in values.items()
    }
    return template.format(**shown)


def template_key(reminder: Reminder) -> str:
    f = reminder.facts
    kind = reminder.kind
    if kind is Kind.CYCLE_START and f.get("cycle") == 1:
        return "cycle_start_first"
    if kind is Kind.BLOOD_TEST:
        if f.get("appointment"):
            return "blood_test_appointment"
        return "blood_test_before_start" if f.get("before_start") else "blood_test"
    if kind is Kind.PREGNANCY_TEST:
        if f.get("after_end"):
            return "pregnancy_test_after_end"
        # Each test before the end also reminds the patient of contraception, as their rule
        # set words it (US REMS: two forms at the same time).
        two = "_two_methods" if f.get("two_methods") else ""
        if f.get("before_start"):
            return f"pregnancy_test_before_start{two}"
        return f"pregnancy_test_weekly{two}" if f.get("weekly") else f"pregnancy_test{two}"
    if kind is Kind.CONTRACEPTION:
        return f"contraception_{f.get('phase', 'before')}"
    if kind is Kind.CHANGE:
        return f"change_{f['change']}"
    return kind.value


def render(reminder: Reminder, profile: Profile) -> str:
    """The text of ``reminder`` for ``profile``: GSM-7 safe for SMS, discreet when asked."""
    words = catalog(profile.language)
    variant = "discreet" if profile.discreet else "plain"
    values: dict[str, Any] = {
        "name": short_name(profile.name, profile.gsm),
        "cycle": reminder.cycle,
        "day": reminder.day,
        **reminder.facts,
    }
    if reminder.kind is Kind.CONTRACEPTION:
        values["who"] = _contraception(reminder, words["fragment"])
    if reminder.kind is Kind.BLOOD_TEST:
        values["note"] = values.get("note") or "Bring your blood test form if you have one."
    text = _fill(words[template_key(reminder)][variant], values)
    return _for_channel(text, profile)


def _contraception(reminder: Reminder, fragment: dict[str, str]) -> str:
    """What to use (before, on enrolment, during treatment) or until when (after)."""
    f = reminder.facts
    female, partner = bool(f.get("female")), bool(f.get("partner"))
    # Two forms at the same time (US REMS) is for the patient who can become pregnant.
    two = "_two_methods" if female and f.get("two_methods") else ""
    if f.get("phase", "before") != "after":
        if female and partner:
            return fragment[f"use_both{two}"]
        return fragment[f"use_contraception{two}"] if female else fragment["use_condoms"]
    if female and partner:
        values = dict(f)
        if two:  # one date for both (US REMS: the same 4 weeks); the later, never too early
            values["until"] = max(f["until"], f["condoms_until"])
        return _fill(fragment[f"keep_both{two}"], values)
    parts = []
    if female:
        parts.append(_fill(fragment[f"keep_contraception{two}"], dict(f)))
    if partner:
        parts.append(_fill(fragment["keep_condoms"], dict(f)))
    return " ".join(parts)


def render_reply(key: str, profile: Profile, **values: Any) -> str:
    """A reply from the catalogue's [reply.<key>] entry, GSM-7 safe for SMS."""
    words = catalog(profile.language)["reply"]
    variant = "discreet" if profile.discreet else "plain"
    text = _fill(words[key][variant], {"name": short_name(profile.name, profile.gsm), **values})
    return _for_channel(text, profile)


def _for_channel(text: str, profile: Profile) -> str:
    """One space between words; for SMS, GSM-7 stand-ins for lookalikes (a pasted note's
    curly quotes). Telegram keeps what was written."""
    text = " ".join(text.split())
    return normalise(text) if profile.gsm else text


def resent_line(kind: str, language: str = "en-GB") -> str | None:
    """The line under a reminder of this kind sent again when it may have arrived already
    (``[resent]``): None for kinds a repeat cannot harm."""
    line = catalog(language).get("resent", {}).get(kind)
    return None if line is None else str(line)


def reply_fragment(key: str, profile: Profile, **values: Any) -> str:
    return _fill(catalog(profile.language)["reply"]["fragment"][key], values)


def profile_of(patient: Patient) -> Profile:
    return Profile(name=patient.name, discreet=patient.discreet, language=patient.language,
                   gsm=patient.channel != "telegram")  # fmt: skip


def render_for(reminder: Reminder, patient: Patient) -> str:
    """The renderer port (``scheduler.ports.Renderer``): this reminder in this patient's words."""
    return render(reminder, profile_of(patient))
