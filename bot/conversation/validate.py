"""Parsing what nurses type (CLI and Telegram alike): one clear sentence per mistake."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import phonenumbers

from messages.gsm import is_gsm7, length, normalise, segments
from scheduler.domain.localtime import UnknownTimezoneError, zone
from scheduler.domain.model import Regimen, RegimenError


class InvalidInput(ValueError):
    """A value a person typed is wrong; the message says which and what is allowed."""


def parse_phone(text: str) -> str:
    """An E.164 number that is a possible phone number, normalised (+447700900123)."""
    raw = text.strip()
    if not re.fullmatch(r"\+[1-9]\d{6,14}", raw):
        raise InvalidInput(
            f"phone {text!r} is not in E.164 form: use + then country code and number, "
            "e.g. +447700900123"
        )
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"phone {text!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"phone {text!r} is not a possible phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_tz(text: str) -> str:
    try:
        return zone(text.strip()).key
    except UnknownTimezoneError as exc:
        raise InvalidInput(str(exc)) from None


def parse_hhmm(text: str, what: str = "dose time") -> time:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if not m:
        raise InvalidInput(
            f"{what} {text!r} is not a time: use HH:MM on a 24-hour clock, e.g. 09:00"
        )
    return time(int(m[1]), int(m[2]))


def parse_date(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a real date: use YYYY-MM-DD") from None


def check_start(start: date, today: date) -> date:
    if start > today + timedelta(days=365):
        raise InvalidInput(f"start date {start} is more than a year away: check the year")
    if start < today - timedelta(days=5 * 365):
        raise InvalidInput(f"start date {start} is more than 5 years ago: check the year")
    return start


def check_near(day: date, today: date, what: str) -> date:
    if abs((day - today).days) > 365:
        raise InvalidInput(f"{what} {day} is more than a year from today: check the year")
    return day


def parse_regimen(text: str) -> Regimen:
    try:
        return Regimen.parse(text)
    except RegimenError as exc:
        raise InvalidInput(str(exc)) from None


def parse_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidInput("name is empty: give the patient's name or initials")
    if len(name) > 100:
        raise InvalidInput("name is longer than 100 characters")
    if any(not (ch.isprintable()) for ch in name):
        raise InvalidInput("name contains control characters")
    return name


def parse_days(text: str | int, what: str = "days", low: int = 1, high: int = 90) -> int:
    try:
        n = int(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a whole number") from None
    if not low <= n <= high:
        raise InvalidInput(f"{what} must be from {low} to {high}, not {n}")
    return n


NOTE_LIMIT = 40  # keeps the booked-test reminder inside one SMS with a 30-character name


def parse_note(text: str) -> str:
    note = " ".join(text.split())
    if len(note) > NOTE_LIMIT:
        raise InvalidInput(f"note is {len(note)} characters: keep it to {NOTE_LIMIT}")
    return note


# A care-team message: at most 3 SMS segments (as a reply may be: 459 GSM-7 characters, or 201
# when a character outside GSM-7 makes it UCS-2); on Telegram, at most this many characters.
MESSAGE_SEGMENTS = 3
MESSAGE_TELEGRAM_CHARACTERS = 1000


def parse_message(text: str, sms: bool) -> str:
    """A care-team message as it will be sent: spaces tidied (line breaks kept), and for SMS
    lookalikes replaced by their GSM-7 stand-ins (curly quotes, dashes) so that a pasted text
    does not cost UCS-2 segments. Refused when empty or over the channel's budget, saying by
    how much."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    tidy = "\n".join(lines).strip()
    if sms:
        tidy = normalise(tidy)
    if not tidy:
        raise InvalidInput("write the message to send")
    if sms:
        used = segments(tidy)
        if used > MESSAGE_SEGMENTS:
            single = "" if is_gsm7(tidy) else (
                " (a character outside the SMS alphabet, such as an emoji, makes every "
                "segment 67 characters)"
            )  # fmt: skip
            raise InvalidInput(
                f"the message needs {used} SMS segments: shorten it to {MESSAGE_SEGMENTS} "
                f"({length(tidy)} characters now){single}"
            )
    elif len(tidy) > MESSAGE_TELEGRAM_CHARACTERS:
        raise InvalidInput(
            f"the message has {len(tidy)} characters: shorten it to {MESSAGE_TELEGRAM_CHARACTERS}"
        )
    return tidy
