"""Finding the leaflet topic a patient means, in their words and with their typos."""

from __future__ import annotations

import time

import pytest

from messages.leaflet import Topic, load_topics
from messages.search import MARGIN, Match, score_topics, search, stem, tokens

TOPICS = load_topics()


def _topic(topic_id: str, *keywords: str, broad: bool = False) -> Topic:
    return Topic(topic_id, topic_id.title(), keywords, (), "routine", "answer team", "src", broad)


def _ids(matches: list[Match]) -> list[str]:
    return [m.topic_id for m in matches]


@pytest.mark.parametrize(
    ("text", "topic_id"),
    [
        ("the runs", "diarrhoea"),
        ("got the runs again", "diarrhoea"),
        ("pins and needles in my toes", "tingling-numbness"),
        ("can I have the jab", "vaccines"),
        ("bit bunged up", "constipation"),
        ("been throwing up", "sickness"),
        ("it stings when I wee", "infection"),
        ("weeing a lot", "kidneys-urine"),
        ("knackered", "fatigue"),
        ("tummy ache", "tummy-pain"),
        ("can I go on a sunbed", "sun-sensitivity"),
        ("is there milk in it", "lactose"),
    ],
)
def test_lay_words_find_the_topic(text: str, topic_id: str) -> None:
    assert _ids(search(text, TOPICS))[0] == topic_id


@pytest.mark.parametrize(
    ("text", "topic_id"),
    [
        ("constapation", "constipation"),
        ("diarhoea", "diarrhoea"),
        ("vomitting", "sickness"),
        ("brusing on my arms", "bruising-bleeding"),
        ("nausia", "sickness"),
        ("headach", "headache"),
        ("dizzyness", "dizziness-driving"),
        ("vacine", "vaccines"),
        ("side efects", "side-effects"),
        ("contreception", "contraception"),
    ],
)
def test_a_typo_or_two_still_finds_the_topic(text: str, topic_id: str) -> None:
    found = search(text, TOPICS)
    assert _ids(found)[0] == topic_id
    assert found[0].score < 100  # a typo match is never as sure as an exact one


@pytest.mark.parametrize(
    ("text", "not_topic"),
    [
        ("never mind", "fever"),  # one letter from "fever", but a real word
        ("I tried", "fatigue"),  # "tired" with two letters swapped
        ("I heard you", "heart-attack"),
        ("the rush hour", "skin-rash"),
        ("done my dose", "mouth"),
    ],
)
def test_correctly_spelt_words_are_not_corrected_into_symptoms(text: str, not_topic: str) -> None:
    assert not_topic not in _ids(score_topics(text, TOPICS))


def test_two_topics_in_one_text_come_back_together() -> None:
    assert set(_ids(search("constipation and a headache", TOPICS))) == {
        "constipation",
        "headache",
    }


def test_close_ties_are_returned_together_up_to_the_limit() -> None:
    topics = [_topic(f"t{i}", f"word{i}x") for i in range(5)]
    text = " ".join(f"word{i}x" for i in range(5))
    assert len(search(text, topics)) == 3
    assert len(search(text, topics, limit=5)) == 5


def test_a_weak_match_beside_a_strong_one_is_left_out_of_the_choices() -> None:
    topics = [_topic("exact", "headache"), _topic("typo", "diarrhoea")]
    text = "headache diarrea"  # two edits from diarrhoea
    assert _ids(score_topics(text, topics)) == ["exact", "typo"]
    assert _ids(search(text, topics)) == ["exact"]
    weak = score_topics(text, topics)[1].score
    assert 100 - weak > MARGIN


def test_a_phrase_that_explains_the_word_wins_over_the_word_alone() -> None:
    assert _ids(search("can I have the flu jab", TOPICS)) == ["vaccines"]
    assert "missed-dose" not in _ids(score_topics("missed my period", TOPICS))
    assert _ids(search("yellow fever jab", TOPICS)) == ["vaccines"]


def test_overview_topics_rank_after_specific_ones() -> None:
    topics = [_topic("overview", "side effects", broad=True), _topic("specific", "constipation")]
    assert _ids(search("side effects of constipation", topics)) == ["specific", "overview"]


def test_phrase_words_may_come_in_another_order_but_not_far_apart() -> None:
    assert "heart-attack" in _ids(score_topics("a pain in my chest", TOPICS))
    assert "heart-attack" not in _ids(score_topics("chest infection and now back pain", TOPICS))


def test_ignored_words_match_nothing() -> None:
    assert "infection" in _ids(score_topics("temperature", TOPICS))
    assert _ids(score_topics("temperature", TOPICS, frozenset({"temperature"}))) == []


def test_match_reports_which_words_it_used() -> None:
    [match] = search("took two by mistake", TOPICS)
    assert match.topic_id == "too-many"
    assert match.at == frozenset({0, 1})


@pytest.mark.parametrize("text", ["", "   ", "asdfgh qwerty", "\U0001f600", "12345", "ok"])
def test_nothing_to_find_gives_no_matches(text: str) -> None:
    assert search(text, TOPICS) == []


def test_tokens_fold_case_accents_and_apostrophes() -> None:
    assert tokens("Can't STOP the Diarrhée!") == ("cant", "stop", "the", "diarrhee")


def test_stemming_brings_word_forms_together() -> None:
    assert stem("bruised") == stem("bruises") == stem("bruising") == stem("bruise")
    assert stem("itchy") == stem("itching") == stem("itchiness")
    assert stem("bleeding") == stem("bleeds") == "bleed"


def test_a_long_text_is_cut_at_1000_characters_and_stays_fast() -> None:
    essay = "I wanted to let you know how the week went. " * 200 + " constipation"
    start = time.perf_counter()
    assert search(essay, TOPICS) == []
    assert time.perf_counter() - start < 0.5
