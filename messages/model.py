"""A second reader for the two things that must never be missed: red flags and extra doses.

The word lists and rules in ``messages.understand`` read every text first; they are exact and
explainable, but they only know the phrasings somebody listed, and patients keep finding new
ones ("my motions look like tar", "the wife gave me hers by mistake"). Measured on texts written
after tuning stopped (README, "How well it understands"), rules alone missed one red flag in
fourteen to one in five, and up to a third of extra doses. This module is the safety net under them: one small logistic-regression classifier
per label, on character n-grams and words, trained on the labelled tuning corpus shipped with
the package (``messages/corpus/texts-*.jsonl``; the held-out set in ``tests/corpus/`` is never
trained on).

Why this shape:
- scikit-learn, trained in this process on first use (about two seconds, once): no model file
  to download or unpickle, no network, and the same corpus always gives the same model (lbfgs,
  fixed data order), so answers stay deterministic.
- Character n-grams carry typos and word pieces ("diarrhoea"/"diarhea", "bleedin"); word
  bigrams carry the short phrases ("like tar", "hers too").
- Only a net: the rules decide everything else, and the model is not asked where the rules
  read the symptom and its negation ("no fever"), a risk question or an extra dose already.
  ``understand`` turns a probability above the threshold into a *possible* red flag (the
  warning signs and "if this is happening now, call ... now", and a nurse alert) or an extra
  dose (urgent answer, recorded as extra, nurse alert). ``lenabot explain`` prints the figures.

Thresholds were chosen on the first blind set (427 texts), with the rules as they stood
before anyone read it and the model trained on the 1,800 texts before it: red flags, rules
alone 92.8% recall (6 false alarms); rules with the model at 0.5, 94.8% (13); extra doses,
rules alone 90.7% (3), with the model at 0.7, 100% (3). Lower thresholds caught little more
for many more false alarms. The model is not asked about extra doses in texts under six words
("took one" is one capsule, and short texts are where the rules are surest).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from messages import search
from messages.intent import emoji_to_words
from messages.plain import plain_words

CORPUS = Path(__file__).parent / "corpus"
LABELS = ("red_flag", "extra")
THRESHOLDS = {"red_flag": 0.5, "extra": 0.7}
EXTRA_MIN_WORDS = 6


def corpus(paths: Sequence[Path] | None = None) -> list[tuple[str, frozenset[str]]]:
    """The labelled texts the model learns from: (text, intents)."""
    rows = []
    for path in sorted(CORPUS.glob("texts-*.jsonl")) if paths is None else paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                rows.append((raw["text"], frozenset(raw["intents"])))
    return rows


def normalise(text: str) -> str:
    """The text as the rules read it: emoji and text speak spelt out, accents folded."""
    return " ".join(search.tokens(plain_words(emoji_to_words(text[:1000]))))


def train(rows: Sequence[tuple[str, frozenset[str]]]) -> tuple[Any, dict[str, Any]]:
    """The features (one vocabulary for both labels) and one classifier per label."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    features = make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
        ),
    )
    x = features.fit_transform([normalise(t) for t, _ in rows])
    models = {}
    for label in LABELS:
        clf = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000)
        models[label] = clf.fit(x, [label in labels for _, labels in rows])
    return features, models


_TRAINING = threading.Lock()  # a warm-up thread and the first text must not both train


@cache
def _trained_once() -> tuple[Any, dict[str, Any]]:
    return train(corpus())


def _trained() -> tuple[Any, dict[str, Any]]:
    with _TRAINING:
        return _trained_once()


def trained() -> bool:
    """True once the model is trained: reading a text no longer waits for it."""
    return _trained_once.cache_info().currsize > 0


def warm() -> None:
    """Train the model now if nobody has (blocks: run it in a thread)."""
    _trained()


def probabilities(text: str) -> dict[str, float]:
    """For each label, how likely the model thinks the text carries it (0 to 1)."""
    plain = normalise(text)
    if not plain:
        return dict.fromkeys(LABELS, 0.0)
    features, models = _trained()
    x = features.transform([plain])
    return {label: float(models[label].predict_proba(x)[0][1]) for label in LABELS}


def flags(text: str) -> frozenset[str]:
    """The labels whose probability reaches its threshold."""
    p = probabilities(text)
    short = len(normalise(text).split()) < EXTRA_MIN_WORDS
    return frozenset(
        label for label in LABELS
        if p[label] >= THRESHOLDS[label] and not (label == "extra" and short)
    )  # fmt: skip
