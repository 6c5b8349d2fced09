"""Rank leaflet topics for a free text by keyword and synonym phrases, tolerant of typos."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

from rapidfuzz import process
from rapidfuzz.distance import OSA

from messages.leaflet import Topic, known_words

MAX_CHARS = 1000  # a text message's point is near its start; caps the work on pasted essays
THRESHOLD = 84.0  # mean per-word score a phrase needs: two typos in one long word still pass
MARGIN = 10.0  # matches this close to the best are ties the patient should choose between
EXACT, STEMMED, TYPO_COST = 100.0, 96.0, 8.0
MAX_GAP = 2  # words allowed between a phrase's words ("pain in my chest" ~ "chest pain")

_STEM_SUFFIXES = ("iness", "edness", "ness", "ing", "ed", "es", "s", "y")
_TOKEN = re.compile(r"[a-z0-9]+")
_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")


@dataclass(frozen=True, slots=True)
class Match:
    """A topic that fits the text; score 0-100 (100: every word of a phrase found as written)."""

    topic_id: str
    score: float
    # Indexes into tokens(text) of the words that matched, for callers that need to know
    # whether another reading of the same words ("took" in "took two") is still free.
    at: frozenset[int] = field(default=frozenset(), compare=False)


@dataclass(frozen=True, slots=True)
class PhraseHit:
    phrase: str
    score: float
    positions: frozenset[int]  # token indexes the phrase used


def tokens(text: str) -> tuple[str, ...]:
    """Lowercase words and numbers, accents and apostrophes removed ("Can't" -> "cant")."""
    folded = unicodedata.normalize("NFKD", text[:MAX_CHARS].lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return tuple(_TOKEN.findall(_APOSTROPHES.sub("", folded)))


def stem(word: str) -> str:
    """Crude suffix stripping so 'bruised', 'bruises' and 'bruising' meet at 'bruis'.

    One suffix, then one final 'e': stripping further turns unrelated words into twins.
    """
    for suffix in _STEM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if not (suffix == "ed" and word.endswith("eed")):  # "bleed" is not "ble" + "ed"
                word = word[: -len(suffix)]
                break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _allowed_edits(word: str) -> int:
    # Short words are too close to other real words ("dose"/"done", "rash"/"rush") to guess.
    return 0 if len(word) < 5 else 1 if len(word) < 8 else 2


@dataclass(frozen=True, slots=True)
class _Index:
    phrases: tuple[tuple[str, tuple[str, ...]], ...]
    words: frozenset[str]
    fuzzy_words: tuple[str, ...]
    by_stem: dict[str, tuple[str, ...]]


@lru_cache(maxsize=16)
def _index(phrases: tuple[str, ...]) -> _Index:
    split = tuple((p, tokens(p)) for p in dict.fromkeys(phrases) if tokens(p))
    words = frozenset(w for _, ws in split for w in ws)
    by_stem: defaultdict[str, list[str]] = defaultdict(list)
    for word in sorted(words):
        by_stem[stem(word)].append(word)
    fuzzy = tuple(sorted(w for w in words if _allowed_edits(w) and not w.isdigit()))
    return _Index(split, words, fuzzy, {k: tuple(v) for k, v in by_stem.items()})


def _word_scores(token: str, index: _Index) -> dict[str, float]:
    """Vocabulary words this token may stand for, with how sure we are."""
    scores: dict[str, float] = {}
    if token in index.words:
        scores[token] = EXACT
    # Stems of very short words collide ("run" out of capsules vs the "runs"), so skip them.
    for word in index.by_stem.get(stem(token), ()) if len(token) >= 4 else ():
        if len(word) >= 4:
            scores.setdefault(word, STEMMED)
    # A correctly spelt word is what the patient meant: "never" is not a typo for "fever".
    if token in index.words or token in known_words() or len(token) < 4 or token.isdigit():
        return scores
    # OSA counts a swapped pair ("tkaen") as one edit: the commonest phone typo.
    found = process.extract(
        token, index.fuzzy_words, scorer=OSA.distance, score_cutoff=2, limit=None
    )
    for word, distance, _ in found:
        # Typos rarely hit the first letter; requiring it rules out most real-word lookalikes.
        if word[0] == token[0] and distance <= _allowed_edits(word):
            scores.setdefault(word, EXACT - TYPO_COST * distance)
    return scores


def _best_placement(
    candidates: list[list[tuple[int, float]]], ordered: bool
) -> tuple[float, frozenset[int]] | None:
    """Closest-together, then highest-scoring, choice of one position per phrase word.

    Only positions near each occurrence of the rarest word are tried, so a long text full of
    "my" and "the" stays cheap.
    """
    reach = len(candidates) + MAX_GAP - 1
    anchor = min(candidates, key=len)
    best: tuple[int, float, frozenset[int]] | None = None
    for centre, _ in anchor:
        near = [[c for c in cands if abs(c[0] - centre) <= reach] for cands in candidates]
        for combo in product(*near):
            spots = [pos for pos, _ in combo]
            if len(set(spots)) < len(spots) or (ordered and spots != sorted(spots)):
                continue
            span = max(spots) - min(spots) + 1
            if span > reach + 1:
                continue
            mean = sum(score for _, score in combo) / len(combo)
            if best is None or (span, -mean) < (best[0], -best[1]):
                best = (span, mean, frozenset(spots))
    return None if best is None else (best[1], best[2])


def find_phrases(
    toks: Sequence[str],
    phrases: tuple[str, ...],
    ignore: frozenset[str] = frozenset(),
    ordered: bool = False,
) -> list[PhraseHit]:
    """Every phrase found in the tokens (one-word phrases once per occurrence).

    Tokens in `ignore` keep their place but match nothing. Topic phrases may come in any
    order ("pain in my chest"); `ordered` is for phrases whose order is the meaning ("had my").
    """
    index = _index(phrases)
    where: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
    cache: dict[str, dict[str, float]] = {word: {} for word in ignore}
    for pos, token in enumerate(toks):
        if token not in cache:
            cache[token] = _word_scores(token, index)
        for word, score in cache[token].items():
            where[word].append((pos, score))
    hits: list[PhraseHit] = []
    for phrase, words in index.phrases:
        candidates = [where.get(w, []) for w in words]
        if not all(candidates):
            continue
        if len(words) == 1:
            hits.extend(
                PhraseHit(phrase, s, frozenset({p})) for p, s in candidates[0] if s >= THRESHOLD
            )
            continue
        placed = _best_placement(candidates, ordered)
        if placed and placed[0] >= THRESHOLD:
            hits.append(PhraseHit(phrase, placed[0], placed[1]))
    return hits


def score_topics(
    text: str, topics: Sequence[Topic], ignore: frozenset[str] = frozenset()
) -> list[Match]:
    """Every topic above the threshold, best first; broad overviews after specific topics.

    Words in `ignore` (lowercase) cannot match, as if they were blanked out.

    A topic whose words are all part of a longer phrase of another topic is dropped:
    "flu jab" is about vaccines, not flu; "missed period" is not a missed dose.
    """
    by_phrase: defaultdict[str, list[str]] = defaultdict(list)
    for topic in topics:
        for phrase in topic.phrases:
            by_phrase[phrase].append(topic.id)
    best: dict[str, float] = {}
    covered: defaultdict[str, set[int]] = defaultdict(set)
    for hit in find_phrases(tokens(text), tuple(by_phrase), ignore):
        for topic_id in by_phrase[hit.phrase]:
            best[topic_id] = max(best.get(topic_id, 0.0), hit.score)
            covered[topic_id] |= hit.positions
    kept = [
        t for t in best if not any(covered[t] < covered[other] for other in best if other != t)
    ]
    order = {t.id: (t.broad, i) for i, t in enumerate(topics)}
    kept.sort(key=lambda t: (order[t][0], -best[t], order[t][1]))
    return [Match(t, round(best[t], 1), frozenset(covered[t])) for t in kept]


def search(
    text: str, topics: Sequence[Topic], limit: int = 3, ignore: frozenset[str] = frozenset()
) -> list[Match]:
    """The best topics for the text: the top match plus any within MARGIN of it, up to limit.

    More than one result means a close call the caller should offer as "reply 1, 2 or 3".
    """
    ranked = score_topics(text, topics, ignore)
    if not ranked:
        return []
    top = max(m.score for m in ranked)
    return [m for m in ranked if m.score >= top - MARGIN][:limit]
