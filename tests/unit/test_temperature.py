"""Temperatures in patients' own words, and which ones mean 'call the team now'."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.temperature import band, find_readings, parse_temperature


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("38.4", 38.4),
        ("temp 38,2", 38.2),
        ("temperature of 101F", 38.3),
        ("101 f", 38.3),
        ("101\u00b0F", 38.3),
        ("38.5\u00b0C", 38.5),
        ("38.5 \u00b0c", 38.5),
        ("38.5C", 38.5),
        ("38 degrees", 38.0),
        ("39 degrees c", 39.0),
        ("102 degrees", 38.9),  # "degrees" alone: the value says Fahrenheit
        ("38.6 celsius", 38.6),
        ("100.4 fahrenheit", 38.0),
        ("my temp is 37.8", 37.8),
        ("temp reading 101", 38.3),
        ("fever 39", 39.0),
        ("38", 38.0),  # a bare number as the whole message can only be a reading
        ("101", 38.3),
        ("99.5 F", 37.5),
        ("it was 37.2 this morning, now 38.6", 38.6),  # the highest reading wins
        ("Temp 36.9 feel fine", 36.9),
        ("temp is 38. feel rough", 38.0),
    ],
)
def test_readings_in_free_text_become_celsius(text: str, celsius: float) -> None:
    assert parse_temperature(text) == celsius


@pytest.mark.parametrize(
    "text",
    [
        "took it at 9:00",
        "cycle 2",
        "cycle 38",
        "day 38 of treatment",
        "I am 38 years old",
        "I'm 38 and my temperature is normal",
        "took 25mg",
        "38 mg",
        "appointment 12.03.2024",
        "38, 2 days later",
        "it is 40 minutes late",
        "3.8",
        "temp 380",
        "temp 45",  # not a human body temperature
        "temp 120F",
        "38.4 kg",
        "37.5%",
        "",
    ],
)
def test_numbers_that_are_not_temperatures_are_ignored(text: str) -> None:
    assert parse_temperature(text) is None


def test_readings_remember_the_unit_the_patient_used() -> None:
    readings = find_readings("was 100.2F, now 38.4")
    assert [(r.celsius, r.unit) for r in readings] == [(37.9, "F"), (38.4, "C")]


@pytest.mark.parametrize(
    ("celsius", "expected"),
    [
        (36.5, "normal"),
        (37.4, "normal"),
        (37.5, "raised"),
        (37.9, "raised"),
        (38.0, "red_flag"),  # exactly 38.0 counts: see RED_FLAG_AT_C for why
        (38.1, "red_flag"),
        (40.2, "red_flag"),
    ],
)
def test_bands_follow_the_leaflet_threshold(celsius: float, expected: str) -> None:
    assert band(celsius) == expected


def test_the_us_fever_threshold_100_4f_is_a_red_flag() -> None:
    reading = parse_temperature("100.4F")
    assert reading is not None and band(reading) == "red_flag"


def test_only_the_first_1000_characters_are_read() -> None:
    assert parse_temperature("x" * 2000 + " temp 39.5") is None


@settings(max_examples=100, deadline=None)
@given(st.decimals(min_value=34, max_value=43, places=1))
def test_any_plausible_celsius_reading_round_trips(value: object) -> None:
    assert parse_temperature(f"temp {value}C") == float(str(value))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_none_or_a_body_temperature(text: str) -> None:
    reading = parse_temperature(text)
    assert reading is None or 33.8 <= reading <= 43.4
