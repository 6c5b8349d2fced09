"""The words a patient reads: every planned reminder, plain and discreet, in one GSM-7 SMS."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, time
from functools import cache
from string import Formatter

import pytest
from hypothesis import given, settings

from bot.conversation.conversation import cite_source
from bot.conversation.validate import NOTE_LIMIT
from messages.gsm import GSM7_SINGLE, is_gsm7, segments
from messages.leaflet import Topic, load_topics
from messages.render import (
    NAME_LIMIT,
    Profile,
    UnknownLanguageError,
    catalog,
    render,
    render_reply,
    reply_fragment,
    template_key,
)
from scheduler.domain.corrections import correction
from scheduler.domain.followup import follow_ups
from scheduler.domain.model import Appointment, Course, Hold, Kind, Reminder, RuleSet
from scheduler.domain.plan import plan
from tests.unit.builders import SETTINGS, course, courses, of_kind, plan_days

LONGEST_NAME = "Maximilianaelisabethannemarie"[:NAME_LIMIT].ljust(NAME_LIMIT, "x")
NOT_ON_A_LOCK_SCREEN = ("lenalidomide", "revlimid", "cancer", "myeloma")
VARIANTS = ("plain", "discreet")

# Dates chosen with two-digit days so every date in a message is as long as it gets, and a
# course long enough for two-digit cycle numbers.
WORST_START = date(2026, 6, 24)
WORST_END = date(2027, 6, 12)


def profile(variant: str, name: str = LONGEST_NAME) -> Profile:
    return Profile(name=name, discreet=variant == "discreet")


def scheduled_templates() -> set[str]:
    """Catalogue entries for planned reminders: named after a kind (``dose``, ``blood_test_*``)."""
    return {
        key
        for key in catalog("en-GB")
        if any(key == k.value or key.startswith(f"{k.value}_") for k in Kind)
    }


def test_every_kind_of_reminder_has_a_template() -> None:
    # But a care-team message: its text is what the nurse wrote (``CareTeam.message``).
    for kind in set(Kind) - {Kind.MESSAGE}:
        assert any(t == kind.value or t.startswith(f"{kind.value}_") for t in scheduled_templates())


@cache
def reminders_by_template() -> dict[str, list[Reminder]]:
    """Every reminder a rich course plans, for a woman, a man with a partner, and both, under
    each rule set."""
    found: dict[str, list[Reminder]] = defaultdict(list)
    cases = [(f, p, r) for f, p in ((True, False), (False, True), (True, True)) for r in RuleSet]
    for female, partner, rules in cases:
        c = course(
            rules=rules,
            start=WORST_START,
            end=WORST_END,
            can_become_pregnant=female,
            partner_can_become_pregnant=partner,
            holds=(Hold(start=date(2026, 7, 15), end=date(2026, 7, 20)),),
            appointments=(Appointment(on=date(2026, 7, 28)),),
        )
        planned = plan(c, SETTINGS, date(2026, 5, 1), date(2027, 12, 31))
        # Enrolled mid-course: the contraception message sent on enrolment.
        late = replace(c, enrolled_at=datetime(2026, 9, 30, 12, tzinfo=UTC))
        planned += of_kind(plan_days(late, date(2026, 9, 30), 1), Kind.CONTRACEPTION)
        # Follow-ups come from unanswered doses, LATER from a patient's snooze: same facts.
        planned += follow_ups(planned, {}, SETTINGS.follow_up_after, c.tz)
        planned += [replace(r, kind=Kind.LATER) for r in planned if r.kind is Kind.DOSE]
        planned += worst_corrections(c)
        for r in planned:
            found[template_key(r)].append(r)
    return dict(found)


def worst_corrections(c: Course) -> list[Reminder]:
    """One correction of each kind a care action sends, with the longest facts it can hold."""
    now = datetime(2027, 3, 10, 12, tzinfo=UTC)
    wed, thu = date(2027, 12, 22), date(2027, 12, 23)
    note = "Ward 12, Queen Elizabeth Hospital 10:30"[:NOTE_LIMIT]
    changes: list[tuple[str, dict[str, object]]] = [
        ("pause", {"effective": wed}),
        ("resume", {"restart": wed, "dose_time": time(23, 30)}),
        ("resume_none", {}),
        ("delay", {"cycle": 12, "new": wed, "old": thu, "last": None}),
        ("delay_keep", {"cycle": 12, "new": wed, "old": thu, "last": thu}),
        ("end", {"end": wed}),
        ("end_past", {"end": wed}),
        ("dose_time", {"dose_time": time(23, 30), "first": wed}),
        ("appointment", {"on": wed, "note": note}),
    ]
    return [correction(change, c, c, now, **facts) for change, facts in changes]


def test_the_plan_reaches_every_scheduled_template_in_the_catalogue() -> None:
    assert set(reminders_by_template()) == scheduled_templates()


def test_every_template_has_a_plain_and_a_discreet_text() -> None:
    words = catalog("en-GB")
    for key in scheduled_templates():
        assert set(words[key]) == set(VARIANTS), key


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("key", sorted(scheduled_templates()))
def test_scheduled_reminder_fits_one_gsm7_sms_with_a_30_character_name(
    key: str, variant: str
) -> None:
    too_long: dict[int, str] = {}
    for r in reminders_by_template()[key]:
        text = render(r, profile(variant))
        assert LONGEST_NAME in text
        assert is_gsm7(text), text
        if len(text) > GSM7_SINGLE or segments(text) != 1:
            too_long[len(text)] = text
    assert not too_long, f"{max(too_long)} characters: {too_long[max(too_long)]}"


@pytest.mark.parametrize("key", sorted(scheduled_templates()))
def test_discreet_text_never_names_the_drug_or_the_illness(key: str) -> None:
    for r in reminders_by_template()[key]:
        text = render(r, profile("discreet")).lower()
        assert not [w for w in NOT_ON_A_LOCK_SCREEN if w in text], text


def test_no_discreet_entry_in_the_catalogue_names_the_drug_or_the_illness() -> None:
    def discreet_texts(table: dict) -> list[str]:
        texts = []
        for key, value in table.items():
            if key == "discreet" and isinstance(value, str):
                texts.append(value)
            elif isinstance(value, dict):
                texts.extend(discreet_texts(value))
        return texts

    texts = discreet_texts(catalog("en-GB"))
    assert len(texts) >= len(scheduled_templates())
    for text in texts:
        assert not [w for w in NOT_ON_A_LOCK_SCREEN if w in text.lower()], text


def test_plain_dose_text_names_the_drug() -> None:
    dose = reminders_by_template()["dose"][0]
    assert "lenalidomide" in render(dose, profile("plain"))


@settings(max_examples=30, deadline=None)
@given(c=courses())
def test_any_planned_reminder_renders_in_both_variants(c) -> None:
    for r in plan_days(c, c.start, 120):
        for variant in VARIANTS:
            text = render(r, profile(variant, name="Sam Smith"))
            assert text.startswith("Sam")
            assert "{" not in text and "None" not in text, text
            assert is_gsm7(text), text
        assert not [w for w in NOT_ON_A_LOCK_SCREEN if w in render(r, profile("discreet")).lower()]


# --- What the words say ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_dose_text_names_cycle_day_and_date(variant: str) -> None:
    (dose,) = of_kind(plan_days(course(), date(2026, 7, 1), 1), Kind.DOSE)
    text = render(dose, Profile(name="Ann Lee", discreet=variant == "discreet"))
    assert text.startswith("Ann")
    assert "cycle 2, day 3 of 21" in text
    assert "Wed 1 Jul" in text
    assert "TAKEN" in text


def test_aftercare_text_gives_the_blood_donation_and_vaccine_dates() -> None:
    reminders = plan_days(course(end=date(2026, 7, 8)), date(2026, 7, 9), 1)
    (after,) = of_kind(reminders, Kind.AFTERCARE)
    text = render(after, Profile(name="Ann"))
    assert "No blood donation before Thu 16 Jul" in text
    assert "No live vaccines before Fri 8 Jan" in text


def test_contraception_after_text_gives_each_partner_their_date() -> None:
    c = course(end=date(2026, 7, 8), can_become_pregnant=True, partner_can_become_pregnant=True)
    (after,) = of_kind(plan_days(c, date(2026, 7, 9), 1), Kind.CONTRACEPTION)
    text = render(after, Profile(name="Ann"))
    assert "contraception until Wed 5 Aug" in text
    assert "condoms until Wed 15 Jul" in text
    assert "No sperm donation" in text
    man = course(end=date(2026, 7, 8), partner_can_become_pregnant=True)
    (his,) = of_kind(plan_days(man, date(2026, 7, 9), 1), Kind.CONTRACEPTION)
    text = render(his, Profile(name="Bob"))
    assert "condoms during sex until Wed 15 Jul" in text and "Do not donate sperm" in text
    assert "contraception until" not in text


def test_contraception_before_text_says_what_to_use() -> None:
    woman = course(can_become_pregnant=True)
    man = course(partner_can_become_pregnant=True)
    (hers,) = of_kind(plan_days(woman, date(2026, 5, 4), 1), Kind.CONTRACEPTION)
    (his,) = of_kind(plan_days(man, date(2026, 5, 4), 1), Kind.CONTRACEPTION)
    assert "Use effective contraception from today" in render(hers, Profile(name="Ann"))
    assert "Use condoms during sex from today" in render(his, Profile(name="Bob"))
    assert "Mon 1 Jun" in render(his, Profile(name="Bob"))


def test_hold_and_resume_texts_give_the_dates_and_dose_time() -> None:
    c = course(holds=(Hold(start=date(2026, 6, 15), end=date(2026, 6, 22)),),
               dose_time=time(20, 30))
    reminders = plan_days(c, date(2026, 6, 1), 30)
    (paused,) = of_kind(reminders, Kind.HOLD)
    (resumed,) = of_kind(reminders, Kind.RESUME)
    assert "from Mon 15 Jun" in render(paused, Profile(name="Ann"))
    assert "Take no capsules" in render(paused, Profile(name="Ann"))
    # The hold ends on day 22, a break day: the restart is day 1 of cycle 2, Mon 29 Jun.
    assert "on Mon 29 Jun, at 20:30" in render(resumed, Profile(name="Ann"))


def test_break_text_gives_the_last_break_day_and_next_cycle() -> None:
    (pause,) = of_kind(plan_days(course(), date(2026, 6, 22), 1), Kind.BREAK_START)
    text = render(pause, Profile(name="Ann", discreet=True))
    assert "No capsules from today to Sun 28 Jun" in text
    assert "Cycle 2 starts Mon 29 Jun" in text


def test_appointment_text_carries_the_nurse_note_in_gsm7() -> None:
    note = "Ward 5 \u2013 don\u2019t eat"  # en dash and curly apostrophe, as pasted
    c = course(appointments=(Appointment(on=date(2026, 6, 3), note=note),))
    (booked,) = of_kind(plan_days(c, date(2026, 6, 3), 1), Kind.BLOOD_TEST)
    text = render(booked, Profile(name="Ann"))
    assert "Ward 5 - don't eat" in text
    assert is_gsm7(text)


def test_appointment_without_a_note_asks_for_the_form() -> None:
    c = course(appointments=(Appointment(on=date(2026, 6, 3)),))
    (booked,) = of_kind(plan_days(c, date(2026, 6, 3), 1), Kind.BLOOD_TEST)
    assert "Bring your blood test form" in render(booked, Profile(name="Ann"))


# --- Names and languages --------------------------------------------------------------------------


def test_only_the_first_name_is_used_and_cut_to_30_characters() -> None:
    (dose,) = of_kind(plan_days(course(), date(2026, 6, 2), 1), Kind.DOSE)
    text = render(dose, Profile(name="  Bartholomew-Maximilian-Alexander Smith "))
    assert text.startswith("Bartholomew-Maximilian-Alexand,")
    assert "Smith" not in text


def test_a_blank_name_still_greets_the_patient() -> None:
    (dose,) = of_kind(plan_days(course(), date(2026, 6, 2), 1), Kind.DOSE)
    assert render(dose, Profile(name="   ")).startswith("Hello,")


def test_an_accented_name_is_kept_readable_in_gsm7() -> None:
    (dose,) = of_kind(plan_days(course(), date(2026, 6, 2), 1), Kind.DOSE)
    text = render(dose, Profile(name="Zoë Ångström"))
    assert is_gsm7(text)
    assert text.startswith("Zo")


def test_unknown_language_is_refused_by_name() -> None:
    (dose,) = of_kind(plan_days(course(), date(2026, 6, 2), 1), Kind.DOSE)
    with pytest.raises(UnknownLanguageError, match=r"'xx'.*en-GB"):
        render(dose, Profile(name="Ann", language="xx"))


# --- Names outside GSM-7 ----------------------------------------------------------------------------

# Names as nurses type them. By SMS each is spelt in GSM-7 letters; one character outside it
# would make the whole reminder UCS-2, 70 characters a segment instead of 160.
WORLD_NAMES = {
    "\u674e\u96f7": "LiLei",  # 李雷
    "Zo\u00eb Smith": "Zoe",
    "\u00d3lafur Arnalds": "Olafur",
    "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432": "Ivan",  # Иван Петров
    "\u0645\u062d\u0645\u062f": "Mhmd",  # محمد: a script without capitals still gets one
    "\u03a3\u03bf\u03c6\u03af\u03b1": "Sofia",  # Σοφία, not "Σofia"
    "Ann\U0001f600": "Ann",  # emoji dropped, not spelt ":grinning:"
    "\U0001f600 Ann": "Ann",
    "\U0001f44d\U0001f3fd": "Hello",  # nothing left: greeted as a blank name is
    "\U0001f1ec\U0001f1e7": "Hello",  # a flag
    "Jos\u00e9": "Jos\u00e9",  # é is GSM-7: kept
    "\u674e" * 40: "Li" * 15,  # 80 letters once spelt out: cut to 30
}


def _longest_rendering(key: str, variant: str) -> Reminder:
    """The reminder of this template whose text is longest with a 30-character name."""
    return max(reminders_by_template()[key], key=lambda r: len(render(r, profile(variant))))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("key", sorted(scheduled_templates()))
def test_every_reminder_for_a_name_outside_gsm7_is_one_gsm7_sms(key: str, variant: str) -> None:
    reminder = _longest_rendering(key, variant)
    for name, spelt in WORLD_NAMES.items():
        text = render(reminder, Profile(name=name, discreet=variant == "discreet"))
        assert is_gsm7(text), text
        assert segments(text) == 1 and len(text) <= GSM7_SINGLE, text
        assert text.startswith(spelt), (name, text)


@pytest.mark.parametrize("name", list(WORLD_NAMES), ids=list(WORLD_NAMES.values()))
def test_every_reply_for_a_name_outside_gsm7_is_gsm7_within_three_segments(name: str) -> None:
    values = {
        "dose_date": "Wed 30 Sep", "dose_time": "23:59", "next": "Wed 30 Sep at 23:59",
        "until": "11:59 on Wed 30 Sep", "at": "23:59", "end": "Wed 30 Sep",
        "team": " on +441234567890123", "answer": "x" * 340,
        "options": "1 Constipation, 2 Diarrhoea, 3 Tummy pain",
        "today": "Today is cycle 12, day 21.", "next_break": "Wed 30 Sep",
        "next_blood": "Wed 30 Sep", "pregnancy": " Next pregnancy test: Wed 30 Sep.",
    }  # fmt: skip
    replies = {k: v for k, v in catalog("en-GB")["reply"].items() if k != "fragment"}
    for key, texts in replies.items():
        for variant in VARIANTS:
            # A placeholder not listed above gets 20 characters, as much as a date and time.
            wanted = {f for _, f, _, _ in Formatter().parse(texts[variant]) if f}
            filled = {f: values.get(f, "x" * 20) for f in wanted - {"name"}}
            text = render_reply(key, Profile(name=name, discreet=variant == "discreet"), **filled)
            assert is_gsm7(text), (key, text)
            assert segments(text) <= 3, (key, len(text))
    thanks = render_reply("recorded", Profile(name=name), **values)
    assert thanks.startswith(f"Thanks {WORLD_NAMES[name]},")


def test_a_telegram_patient_keeps_their_name_as_written() -> None:
    (dose,) = of_kind(plan_days(course(), date(2026, 6, 2), 1), Kind.DOSE)
    assert render(dose, Profile(name="\u674e\u96f7", gsm=False)).startswith("\u674e\u96f7,")
    assert render(dose, Profile(name="Zo\u00eb", gsm=False)).startswith("Zo\u00eb,")
    assert render(dose, Profile(name="Zo\u00eb")).startswith("Zoe,")  # by SMS
    reply = render_reply("recorded", Profile(name="\u674e\u96f7", gsm=False),
                         dose_date="Tue 2 Jun", next="Wed 3 Jun at 09:00")  # fmt: skip
    assert reply.startswith("Thanks \u674e\u96f7,")


# --- Urgent answers -------------------------------------------------------------------------------


def _urgent_topics() -> list[Topic]:
    """Every topic a red flag can answer with: urgent ones and the targets of escalations."""
    targets = {rule.to for t in load_topics() for rule in t.escalate}
    return [t for t in load_topics() if t.urgency == "urgent" or t.id in targets]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("topic", _urgent_topics(), ids=lambda t: t.id)
def test_an_urgent_answer_starts_with_the_call_and_the_number_then_the_background(
    topic: Topic, variant: str
) -> None:
    who = profile(variant)
    phone = "+441234567890123"  # longer than any UK number
    on = reply_fragment("urgent_team", who, team_phone=phone)
    source = cite_source(topic, who)
    text = render_reply("urgent", who, team=on, answer=topic.answer, source=source)
    assert re.split(r"(?<=[.!?])\s+", text)[0] == f"URGENT: call your treatment team now on {phone}."
    assert topic.answer in text
    assert is_gsm7(text) and segments(text) <= 3, len(text)
    # Without TEAM_PHONE the instruction stands on its own.
    bare = render_reply("urgent", who, team="", answer=topic.answer, source=source)
    assert bare.startswith(f"URGENT: call your treatment team now. {topic.answer}")
