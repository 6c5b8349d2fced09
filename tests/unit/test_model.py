"""The model under the word lists (messages/model.py): deterministic, a net for red flags and
extra doses in words the lists do not know, and never over the rules' own reading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        "my husband went grey and flopped over on the sofa",
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
    "text", ["constipation and diarrhoea", "tummy upset and diarrhoea"]
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


def test_a_text_during_the_start_up_warm_up_waits_and_the_weights_load_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order at start-up: the warm-up thread is loading when the first text arrives.
    The text waits for those weights (same answer as later) and nothing loads twice."""
    import threading

    loaded: list[int] = []
    real = model.Weights.load

    def counting(path: object = model.WEIGHTS) -> model.Weights:
        loaded.append(1)
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(model.Weights, "load", staticmethod(counting))
    model._loaded_once.cache_clear()
    try:
        warm = threading.Thread(target=model.probabilities, args=("ready",))
        warm.start()
        first = model.probabilities("my poo is black")
        warm.join()
        assert loaded == [1]
        assert model.probabilities("my poo is black") == first
    finally:
        model._loaded_once.cache_clear()  # the next test loads the real ones again


# -- the shipped weights against scikit-learn ------------------------------------------------


@pytest.fixture(scope="module")
def sklearn_model() -> tuple[object, dict[str, object]]:
    return model.train(model.corpus())


def test_the_shipped_weights_were_built_from_the_corpus_as_it_is() -> None:
    assert model.Weights.load().digest == model.corpus_digest(), (
        "messages/corpus/ changed since the weights were built: run `python -m messages.model`"
    )


def _texts() -> list[str]:
    blind = Path(__file__).resolve().parents[1] / "corpus"
    held_out = [json.loads(line)["text"] for path in sorted(blind.glob("blind-*.jsonl"))
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]  # fmt: skip
    tuning = [text for text, _ in model.corpus()][::7]
    odd = ["", "   ", "🤒🤒", "ok ok ok ok", "a", "DIARRHOEA!!! x8", "Tengo fiebre de 39"]
    return held_out + tuning + odd


def test_the_service_computes_what_scikit_learn_computes(sklearn_model: Any) -> None:
    features, models = sklearn_model
    weights = model.Weights.load()
    checked = 0
    for text in _texts():
        plain = model.normalise(text)
        if not plain:
            continue
        x = features.transform([plain])
        ours = weights.probabilities(plain)
        for label in model.LABELS:
            assert ours[label] == pytest.approx(models[label].predict_proba(x)[0][1], abs=1e-9)
        checked += 1
    assert checked > 700


@pytest.mark.parametrize("text", ["a", "ab", "  hello   there  ", "x y z", "bleedin bleeding"])
def test_the_n_grams_are_scikit_learns(text: str, sklearn_model: Any) -> None:
    features, _ = sklearn_model
    char, word = (v for _, v in features.transformer_list)
    assert model.char_ngrams(text) == char.build_analyzer()(text)
    assert model.word_ngrams(text) == word.build_analyzer()(text)


def test_the_running_service_does_not_load_numpy_or_scikit_learn() -> None:
    code = (
        "import sys\n"
        "from bot.web.app import create_app\n"
        "import bot.bootstrap, bot.cli.main\n"
        "from messages.understand import understand\n"
        "understand('had a funny turn in the garden and came round on the grass')\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    assert out.stdout.strip() == "[]", out.stderr
