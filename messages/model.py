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
- Trained with scikit-learn (lbfgs, fixed data order: the same corpus always gives the same
  model) by ``python -m messages.model``, which writes the weights beside this module
  (``model-weights.json.gz``: each feature's idf and coefficients, the intercepts, and the
  corpus's SHA-256). The service reads them with the few lines of arithmetic below (TF-IDF as
  scikit-learn computes it, then the logistic function): no numpy, scipy or scikit-learn in
  the running service (they cost 123 MB of its memory and milliseconds per text), no model
  to unpickle, nothing downloaded. A test retrains with scikit-learn and checks that the
  shipped weights give its probabilities (to 1e-9) and were built from the corpus as it is.
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

import gzip
import hashlib
import itertools
import json
import math
import re
import threading
from collections import Counter
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
    """The features (one vocabulary for both labels) and one classifier per label.

    scikit-learn is needed here only (``pip install -e '.[train]'``, in the test extra too)."""
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


# -- the weights: built by scikit-learn, read without it --------------------------------------

WEIGHTS = Path(__file__).parent / "model-weights.json.gz"
CHAR_NGRAMS = (2, 5)
_SPACES = re.compile(r"\s\s+")
_WORD = re.compile(r"(?u)\b\w+\b")


def corpus_digest(paths: Sequence[Path] | None = None) -> str:
    """SHA-256 over the tuning corpus files, in order: what the weights were built from."""
    digest = hashlib.sha256()
    for path in sorted(CORPUS.glob("texts-*.jsonl")) if paths is None else paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def export(features: Any, models: dict[str, Any], digest: str) -> dict[str, Any]:
    """The trained model as plain numbers: per vectorizer, each term's idf and coefficients."""
    parts, start = {}, 0
    for name, vectorizer in features.transformer_list:
        vocabulary = vectorizer.vocabulary_
        size = len(vocabulary)
        terms = sorted(vocabulary, key=vocabulary.__getitem__)
        parts[name] = {
            "terms": terms,
            "idf": [float(v) for v in vectorizer.idf_],
            "coef": {label: [float(v) for v in models[label].coef_[0][start : start + size]]
                     for label in LABELS},
        }  # fmt: skip
        start += size
    return {
        "corpus_sha256": digest,
        "intercept": {label: float(models[label].intercept_[0]) for label in LABELS},
        "parts": parts,
    }


def build(path: Path = WEIGHTS) -> dict[str, Any]:
    """Train on the corpus with scikit-learn and write the weights the service reads."""
    weights = export(*train(corpus()), corpus_digest())
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
        json.dump(weights, out, separators=(",", ":"))
    return weights


class Weights:
    """The shipped model, read with plain Python: the same numbers scikit-learn computes."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.digest: str = raw["corpus_sha256"]
        self.intercept: dict[str, float] = raw["intercept"]
        # term -> (idf, coefficient per label), one table per vectorizer
        self.char: dict[str, tuple[float, ...]] = self._table(raw["parts"]["tfidfvectorizer-1"])
        self.word: dict[str, tuple[float, ...]] = self._table(raw["parts"]["tfidfvectorizer-2"])

    @staticmethod
    def _table(part: dict[str, Any]) -> dict[str, tuple[float, ...]]:
        columns = [part["idf"], *(part["coef"][label] for label in LABELS)]
        return dict(zip(part["terms"], zip(*columns, strict=True), strict=True))

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Weights:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return cls(json.load(f))

    def probabilities(self, plain: str) -> dict[str, float]:
        score = dict(self.intercept)
        for table, terms in ((self.char, char_ngrams(plain)), (self.word, word_ngrams(plain))):
            # TF-IDF as TfidfVectorizer(sublinear_tf=True): (1 + ln tf) * idf, L2-normalised
            # over the terms it knows; then each label's dot product with its coefficients.
            weighted = []
            for term, tf in Counter(terms).items():
                row = table.get(term)
                if row is not None:
                    weighted.append(((1.0 + math.log(tf)) * row[0], row))
            norm = math.sqrt(sum(w * w for w, _ in weighted))
            if norm == 0.0:
                continue
            for i, label in enumerate(LABELS, start=1):
                score[label] += sum(w * row[i] for w, row in weighted) / norm
        return {label: _logistic(score[label]) for label in LABELS}


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def char_ngrams(text: str) -> list[str]:
    """TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)): n-grams inside each word
    padded with a space, a word shorter than n counted once (scikit-learn's own rule)."""
    lo, hi = CHAR_NGRAMS
    grams = []
    for w in _SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            offset = 0
            grams.append(w[:n])
            while offset + n < len(w):
                offset += 1
                grams.append(w[offset : offset + n])
            if offset == 0:
                break
    return grams


def word_ngrams(text: str) -> list[str]:
    """TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\b\\w+\b")."""
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


_LOADING = threading.Lock()  # a warm-up thread and the first text must not both load


@cache
def _loaded_once() -> Weights:
    return Weights.load()


def _loaded() -> Weights:
    with _LOADING:
        return _loaded_once()


def trained() -> bool:
    """True once the weights are loaded: reading a text no longer waits for them."""
    return _loaded_once.cache_info().currsize > 0


def warm() -> None:
    """Load the weights now if nobody has (reads a file: run it in a thread)."""
    _loaded()


def probabilities(text: str) -> dict[str, float]:
    """For each label, how likely the model thinks the text carries it (0 to 1)."""
    plain = normalise(text)
    if not plain:
        return dict.fromkeys(LABELS, 0.0)
    return _loaded().probabilities(plain)


def flags(text: str) -> frozenset[str]:
    """The labels whose probability reaches its threshold."""
    p = probabilities(text)
    short = len(normalise(text).split()) < EXTRA_MIN_WORDS
    return frozenset(
        label for label in LABELS
        if p[label] >= THRESHOLDS[label] and not (label == "extra" and short)
    )  # fmt: skip


if __name__ == "__main__":  # python -m messages.model: rebuild the weights after the corpus
    built = build()
    sizes = {name: len(part["terms"]) for name, part in built["parts"].items()}
    print(f"wrote {WEIGHTS} from corpus {built['corpus_sha256'][:12]}: {sizes}")
