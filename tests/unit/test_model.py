"""The model under the word lists (messages/model.py): deterministic, a net for red flags and
extra doses in words the lists do not know, and never over the rules' own reading."""

from __future__ import annotations

import pytest

from messages import model
from messages.understand import understand


def test_the_same_corpus_always_gives_the_same_model() -> None:
    rows = model.corpus()
    texts = ["shaking like a leaf under three blankets", "took mine and then hers", "done"]
    first_features, first = model.train(rows)
    again_features, again = model.train(rows)
    for text in texts:
        a = first_features.transform([model.normalise(text)])
        b = again_features.transform([model.normalise(text)])
        for label in model.LABELS:
            assert first[label].predict_proba(a)[0][1] == again[label].predict_proba(b)[0][1]


def test_the_model_learns_only_from_the_tuning_set() -> None:
    # The held-out texts (tests/corpus/blind-*.jsonl) must never be trained on.
    assert model.CORPUS.name == "corpus" and model.CORPUS.parent.name == "messages"
    assert not list(model.CORPUS.glob("blind-*"))
    assert len(model.corpus()) >= 1500


@pytest.mark.parametrize(
    "text",
    [
        "had a funny turn in the garden and came round on the grass",
        "husband says I'm talking rubbish and I feel very odd",
        "something is very wrong, I feel awful and can't get off the sofa",
    ],
)
def test_a_warning_sign_in_words_the_lists_do_not_know_is_a_possible_red_flag(text: str) -> None:
    u = understand(text)
    flags = u.of("red_flag")
    assert flags and flags[0].detail == "possible", u.readings
    assert flags[0].topics == ("warning-signs",)


@pytest.mark.parametrize(
    "text", ["constipation and diarrhoea", "there is claret everywhere from my gums"]
)
def test_a_routine_symptom_the_model_worries_about_gets_when_to_call_not_an_alert(
    text: str,
) -> None:
    # The model flags most diarrhoea (it cannot tell how bad): after the rules' symptom
    # answer comes a line on when to call, and no red flag (no nurse alert).
    u = understand(text)
    assert not u.of("red_flag") and u.of("topic")
    assert [r.detail for r in u.of("warning")] == ["possible"]
    assert "warning" not in u.labels()


@pytest.mark.parametrize(
    "text",
    [
        "no fever, no pain, just tired",  # the rules read the sign and its negation
        "am I more likely to get blood clots?",  # a question about a risk
        "feeling a bit tired today",
        "thanks for the reminder",
    ],
)
def test_the_model_does_not_overrule_what_the_rules_read(text: str) -> None:
    assert not understand(text).of("red_flag")


@pytest.mark.parametrize("text", ["took one", "took 1", "took my one capsule", "took it"])
def test_one_capsule_in_a_few_words_is_never_an_extra_dose(text: str) -> None:
    labels = understand(text).labels()
    assert "extra" not in labels and "taken" in labels


def test_a_question_about_an_extra_dose_is_not_one() -> None:
    assert "extra" not in understand("can I take an extra one tomorrow to make up?").labels()


def test_flags_follow_the_thresholds() -> None:
    text = "had a funny turn in the garden and came round on the grass"
    p = model.probabilities(text)
    assert p["red_flag"] >= model.THRESHOLDS["red_flag"]
    assert "red_flag" in model.flags(text)
    assert model.probabilities("") == {"red_flag": 0.0, "extra": 0.0}


def test_a_text_during_the_start_up_warm_up_waits_and_the_model_trains_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order at start-up: the warm-up thread is training when the first text arrives.
    The text waits for that model (same answer as later) and nothing trains twice."""
    import threading

    trained: list[int] = []
    real = model.train

    def counting(rows: object) -> object:
        trained.append(1)
        return real(rows)  # type: ignore[arg-type]

    monkeypatch.setattr(model, "train", counting)
    model._trained_once.cache_clear()
    try:
        warm = threading.Thread(target=model.probabilities, args=("ready",))
        warm.start()
        first = model.probabilities("my poo is black")
        warm.join()
        assert trained == [1]
        assert model.probabilities("my poo is black") == first
    finally:
        model._trained_once.cache_clear()  # the next test trains the real one again
