"""The conversation's pure step (``bot.conversation.decide``): a text, the patient's state and
``now`` in; the reply, the dose records to write, the outbox changes and the alerts out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.conversation.decide import Needs, Outcome, State, decide, needs
from messages.understand import understand
from scheduler.domain.guidance import EXTRA, MISSED, TAKEN
from scheduler.domain.model import ChannelKind, Kind, Patient, PlanSettings, RuleSet
from tests.unit.builders import START, course

LONDON = ZoneInfo("Europe/London")
DAY5 = START + timedelta(days=4)  # cycle 1 day 5, a dose day at 09:00 London
TEAM = "+441234567890"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), LONDON).astimezone(UTC)


def patient(**overrides: Any) -> Patient:
    fields: dict[str, Any] = {
        "id": "p1", "name": "Ann Smith", "channel": ChannelKind.SMS, "tz": "Europe/London",
        "language": "en-GB", "rules": RuleSet.UK, "created_at": at(START, 0) - timedelta(30),
        "phone": "+447700900001",
    }  # fmt: skip
    fields.update(overrides)
    return Patient(**fields)


def answer(
    text: str,
    now: datetime,
    records: Mapping[date, str] | None = None,
    channel: str = "sms",
    **state: Any,
) -> Outcome:
    who = state.pop("patient", None) or patient()
    given = State(who, course(), records or {}, **state)
    return decide(understand(text), text, channel, given, now, PlanSettings(), TEAM)


def test_taken_before_the_dose_time_records_today_and_cancels_todays_reminder() -> None:
    out = answer("taken", at(DAY5, 8, 30))
    [write] = out.effects.doses
    assert (write.day, write.status) == (DAY5, TAKEN)
    assert {"dose", "follow_up"} <= set(write.cancel)
    assert write.records == {DAY5: TAKEN}  # what the re-plan starts from
    assert "recorded as taken" in out.reply.text and out.reply.extras["dose_date"] == DAY5
    assert out.effects.alerts == [] and out.intent == "taken"


def test_a_red_flag_raises_an_alert_and_puts_the_urgent_text_first() -> None:
    out = answer("chest pain and I took my tablet", at(DAY5, 10))
    assert out.reply.text.startswith(f"URGENT: call your treatment team now on {TEAM}.")
    assert "recorded as taken" in out.reply.text  # the dose report is answered after it
    [(kind, text, pid)] = out.effects.alerts
    assert (kind, pid) == ("red_flag", "p1")
    assert '"chest pain and I took my tablet"' in text
    assert [w.status for w in out.effects.doses] == [TAKEN]


def test_a_text_in_another_language_is_answered_in_english_and_a_nurse_reads_it() -> None:
    out = answer("me duele mucho la pierna desde ayer", at(DAY5, 10))
    assert "English" in out.reply.text and TEAM in out.reply.text
    [(kind, text, pid)] = out.effects.alerts
    assert (kind, pid) == ("other_language", "p1")
    assert "please check" in text and '"me duele mucho la pierna desde ayer"' in text
    # one with a warning word it knows is a red flag, with no second alert
    [(kind, _, _)] = answer("tengo fiebre de 39", at(DAY5, 10)).effects.alerts
    assert kind == "red_flag"


def test_took_two_is_an_extra_dose_with_an_alert() -> None:
    out = answer("I took 2 by mistake", at(DAY5, 10))
    [write] = out.effects.doses
    assert (write.day, write.status) == (DAY5, EXTRA)
    assert out.reply.text.startswith("URGENT: call your treatment team now")
    assert out.reply.extras["advice"] == "extra_dose"
    [(kind, text, _)] = out.effects.alerts
    assert kind == "extra_capsule" and "Urgent: they were told to call the team now" in text


def test_a_miss_and_a_take_are_recorded_in_that_order() -> None:
    out = answer("forgot yesterday's, took today's", at(DAY5, 10))
    missed, taken = out.effects.doses
    assert (missed.day, missed.status) == (DAY5 - timedelta(1), MISSED)
    assert (taken.day, taken.status) == (DAY5, TAKEN)
    assert taken.records == {DAY5 - timedelta(1): MISSED, DAY5: TAKEN}


def test_a_second_missed_day_in_a_row_tells_the_nurses() -> None:
    out = answer("missed", at(DAY5, 22), records={DAY5 - timedelta(1): "unconfirmed"})
    assert [kind for kind, _, _ in out.effects.alerts] == ["two_missed"]


def test_later_after_the_dose_time_plans_a_nudge_and_records_nothing() -> None:
    out = answer("later", at(DAY5, 10))
    assert out.effects.doses == []
    assert out.effects.later is not None
    reminder = out.effects.later.reminder
    assert (reminder.kind, reminder.local_date) == (Kind.LATER, DAY5)
    assert reminder.due_at > at(DAY5, 10)


def test_stop_opts_out_saying_how_for_the_nurses_alert() -> None:
    out = answer("STOP", at(DAY5, 10))
    assert out.effects.opt_out == "texted a STOP word" and out.reply.intent == "stop"
    assert out.effects.alerts == []  # raised by CareTeam.opt_out when applied (one home)


def test_an_opted_out_sms_patient_gets_silence_but_their_dose_is_recorded() -> None:
    out = answer("taken", at(DAY5, 10), patient=patient(opted_out_at=at(START, 12)))
    assert out.reply.text == ""
    assert [w.status for w in out.effects.doses] == [TAKEN]


def test_a_menu_choice_answers_from_the_menu_last_offered() -> None:
    out = answer("2", at(DAY5, 10), menu=("constipation", "skin-rash"))
    assert out.reply.intent == "topic" and out.reply.extras["topics"] == ["skin-rash"]
    assert answer("3", at(DAY5, 10), menu=("constipation",)).reply.intent == "unknown"


def test_close_topics_are_answered_with_a_menu_and_recorded_as_one() -> None:
    out = answer("sleepy", at(DAY5, 10))
    topics = out.reply.extras["topics"]
    assert out.reply.intent == "menu" and out.intent == "menu:" + ",".join(topics)
    assert out.effects.doses == [] and out.effects.alerts == []


def test_a_topic_that_does_not_fit_is_offered_and_recorded_as_the_menu() -> None:
    out = answer("constipation and diarrhoea", at(DAY5, 10))
    assert out.reply.text.endswith("For Diarrhoea, reply 1.")
    assert out.intent == "menu:diarrhoea"


def test_what_is_read_before_deciding() -> None:
    p = patient()
    assert needs(understand("taken"), p, "taken") == Needs(course=True, lock=True)
    assert needs(understand("when is my next blood test"), p, "") == Needs(course=True)
    assert needs(understand("2"), p, "2") == Needs(menu=True)
    assert needs(understand("I have chest pain"), p, "") == Needs()
    assert needs(understand("STOP"), p, "STOP") == Needs()
