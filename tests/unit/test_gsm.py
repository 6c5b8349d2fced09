"""GSM-7 checks, normalisation and segment counting, as a patient's phone bill sees them."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages import gsm

# Text people actually paste: ASCII plus the typographic characters phones and editors add.
TYPOGRAPHIC = "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00b0\u00a0\u2022\u00b7\u00bd\t\u200b"
ASCII_ISH = st.text(alphabet=string.printable + TYPOGRAPHIC + "éèàçñüáíóú", max_size=400)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Don\u2019t forget", "Don't forget"),
        ("\u201cTaken\u201d", '"Taken"'),
        ("days 1\u201321", "days 1-21"),
        ("wait \u2014 then", "wait - then"),
        ("see you\u2026", "see you..."),
        ("temp 38.5\u00b0C", "temp 38.5C"),
        ("temp 101 \u00b0F", "temp 101F"),
        ("about 38\u00b0 now", "about 38 deg now"),
        ("10\u00a0mg", "10 mg"),
        ("\u2022 swallow whole", "- swallow whole"),
        ("zero\u200bwidth", "zerowidth"),
        ("caf\u00e9 na\u00efve", "caf\u00e9 naive"),  # é is GSM-7 and kept; ï is not
        ("tab\there", "tab here"),
    ],
)
def test_normalise_replaces_lookalikes_with_gsm7(raw: str, expected: str) -> None:
    assert gsm.normalise(raw) == expected
    assert gsm.is_gsm7(gsm.normalise(raw))


def test_normalise_keeps_characters_it_cannot_replace() -> None:
    # Dropping an emoji or a name in another script would change the message silently.
    assert gsm.normalise("ok \U0001f44d \u0416") == "ok \U0001f44d \u0416"
    assert not gsm.is_gsm7("ok \U0001f44d")


def test_extension_characters_are_gsm7_but_cost_two_septets() -> None:
    assert gsm.is_gsm7("[x] {y} ~ ^ | \\ \u20ac")
    assert gsm.length("\u20ac") == 2
    assert gsm.length("a") == 1
    assert gsm.encoding("\u20ac10") == "GSM-7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("\u20ac" * 80, 1),  # 160 septets
        ("\u20ac" * 81, 2),
        ("a" * 152 + "\u20ac" + "a", 1),  # 155 septets
        ("a" * 152 + "\u20ac" + "a" * 152, 3),  # 306 septets, but the escape pair is not split
        ("\u00e0" * 70, 1),  # à is GSM-7
        ("\u0101" * 70, 1),  # ā is not: UCS-2, 70 per single message
        ("\u0101" * 71, 2),
        ("\u0101" * 134, 2),
        ("\u0101" * 135, 3),
        ("\U0001f44d" * 35, 1),  # each emoji is two UTF-16 units
        ("\U0001f44d" * 36, 2),
    ],
)
def test_segments_follow_the_carrier_limits(text: str, expected: int) -> None:
    assert gsm.segments(text) == expected


def test_one_curly_quote_turns_a_whole_reminder_into_ucs2() -> None:
    reminder = "Time for your capsule. Reply TAKEN when done. " * 2  # 92 GSM-7 characters
    assert gsm.segments(reminder) == 1
    assert gsm.segments(reminder.replace("'", "\u2019") + "\u2019") == 2
    assert gsm.segments(gsm.normalise(reminder + "\u2019")) == 1


@settings(max_examples=80, deadline=None)
@given(ASCII_ISH)
def test_normalised_ascii_ish_text_is_always_gsm7(text: str) -> None:
    assert gsm.is_gsm7(gsm.normalise(text))


@settings(max_examples=80, deadline=None)
@given(ASCII_ISH)
def test_normalise_is_idempotent(text: str) -> None:
    once = gsm.normalise(text)
    assert gsm.normalise(once) == once


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=300), st.text(min_size=1, max_size=50))
def test_adding_text_never_needs_fewer_segments(head: str, tail: str) -> None:
    assert gsm.segments(head) <= gsm.segments(head + tail)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=600))
def test_segments_hold_the_whole_message(text: str) -> None:
    count = gsm.segments(text)
    multi = gsm.GSM7_MULTI if gsm.is_gsm7(text) else gsm.UCS2_MULTI
    assert (count == 0) == (text == "")
    assert count * multi >= gsm.length(text) or count == 1


@given(
    st.text(
        alphabet=st.sampled_from(
            [*sorted(gsm.BASIC | gsm.EXTENSION), "é", "\u2019", "°", "…", "\u2009", "😀", "\x00"]
        ),
        max_size=60,
    )
)
def test_the_plain_text_fast_path_changes_nothing(text: str) -> None:
    slow = gsm._SPACES.sub(
        " ", gsm._DEGREE_ALONE.sub(" deg", gsm._DEGREE_UNIT.sub(lambda m: m.group(1).upper(), text))
    )
    slow = "".join(gsm._LOOKALIKES[ch] if ch in gsm._LOOKALIKES else gsm._fold(ch) for ch in slow)
    assert gsm.normalise(text) == slow


@pytest.mark.parametrize(
    ("name", "spelt"),
    [
        ("\u674e\u96f7", "LiLei"),  # 李雷
        ("Zo\u00eb", "Zoe"),  # ë is not GSM-7: the accent goes
        ("Zoe\u0308", "Zoe"),  # the same, typed as e + combining diaeresis
        ("\u00d3lafur", "Olafur"),
        ("Jos\u00e9 S\u00f8ren", "Jos\u00e9 S\u00f8ren"),  # é and ø are GSM-7: kept
        ("\u0418\u0432\u0430\u043d", "Ivan"),  # Иван
        ("\u0645\u062d\u0645\u062f", "mhmd"),  # محمد
        ("\u03a3\u03bf\u03c6\u03af\u03b1", "Sofia"),  # Σοφία: not "Σofia"
        ("Nguy\u1ec5n", "Nguyen"),
        ("Ann\U0001f600", "Ann"),  # an emoji is dropped, never ":grinning:"
        ("\U0001f44d\U0001f3fd", ""),  # thumbs up with a skin tone
        ("\U0001f1ec\U0001f1e7", ""),  # a flag
        ("\u2764\ufe0f Bea", " Bea"),
        ("Mary\u2019s", "Mary's"),  # lookalikes as normalise replaces them
    ],
)
def test_transliterate_spells_names_in_gsm7_letters(name: str, spelt: str) -> None:
    assert gsm.transliterate(name) == spelt


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_transliterated_text_is_always_gsm7(text: str) -> None:
    assert gsm.is_gsm7(gsm.transliterate(text))


def test_the_gsm7_alphabet_is_exactly_the_standard_one() -> None:
    """3GPP TS 23.038: 128 basic code points, one of them the escape to the extension table
    (not a character), and 10 extension characters. A character added or dropped here changes
    which texts fit one SMS and which get transliterated."""
    assert len(gsm.BASIC) == 127 and "\x1b" not in gsm.BASIC
    assert gsm.EXTENSION == frozenset("\f^{}\\[~]|€") and len(gsm.EXTENSION) == 10
    assert not gsm.BASIC & gsm.EXTENSION
    assert {"@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "Ø", "ø", "Å", "å", "Δ", "_", "Φ",
            "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "Æ", "æ", "ß", "É", "¤", "¡", "Ä", "Ö", "Ñ",
            "Ü", "§", "¿", "ä", "ö", "ñ", "ü", "à", "\n", "\r", " "} <= gsm.BASIC


@pytest.mark.parametrize(
    "near_miss", ["á", "ç", "\u2019", "\u201c", "\u201d", "\u2013", "\u2014", "\u2026", "ê", "€"]
)
def test_near_misses_are_outside_the_basic_alphabet(near_miss: str) -> None:
    assert near_miss not in gsm.BASIC  # (€ is an extension character: two septets)
