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
_UNDECOMPOSED = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss",
                               "\u0131": "i", "\u0127": "h"})
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
    folded = text[:MAX_CHARS].lower()
    if not folded.isascii():
        folded = folded.translate(_UNDECOMPOSED)  # letters NFKD leaves whole: "ł" is "l"
    # Most texts are plain ASCII, which NFKD leaves as it is and which has no combining marks:
    # skip the per-character pass for them (it was a visible share of every inbound message).
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded)
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


_MEMO_SIZE = 20_000  # tokens remembered per vocabulary (a few MB at most); then start afresh


@dataclass(frozen=True, slots=True)
class _Index:
    phrases: tuple[tuple[str, tuple[str, ...]], ...]
    words: frozenset[str]
    fuzzy_words: tuple[str, ...]
    by_stem: dict[str, tuple[str, ...]]
    # Vocabulary word -> positions in `phrases` of the phrases that use it, so a text is only
    # checked against phrases it can complete, not against all several hundred of them.
    by_word: dict[str, tuple[int, ...]]
    # Token -> _word_scores(token): the same few hundred words ("i", "have", "taken") come
    # in message after message, and the fuzzy look-up behind a new word is the costly part.
    memo: dict[str, dict[str, float]] = field(default_factory=dict, compare=False, hash=False)


@lru_cache(maxsize=16)
def _index(phrases: tuple[str, ...]) -> _Index:
    split = tuple((p, tokens(p)) for p in dict.fromkeys(phrases) if tokens(p))
    words = frozenset(w for _, ws in split for w in ws)
    by_stem: defaultdict[str, list[str]] = defaultdict(list)
    for word in sorted(words):
        by_stem[stem(word)].append(word)
    fuzzy = tuple(sorted(w for w in words if _allowed_edits(w) and not w.isdigit()))
    by_word: defaultdict[str, list[int]] = defaultdict(list)
    for i, (_, ws) in enumerate(split):
        for w in dict.fromkeys(ws):
            by_word[w].append(i)
    return _Index(
        split,
        words,
        fuzzy,
        {k: tuple(v) for k, v in by_stem.items()},
        {k: tuple(v) for k, v in by_word.items()},
    )


def _word_scores(token: str, index: _Index) -> dict[str, float]:
    """Vocabulary words this token may stand for, with how sure we are (memoised: pure).

    Callers must not change the dict they get: it is shared by every later call.
    """
    memo = index.memo
    found = memo.get(token)
    if found is None:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        found = memo[token] = _score_word(token, index)
    return found


def _score_word(token: str, index: _Index) -> dict[str, float]:
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
    candidates: list[list[tuple[int, float]]], ordered: bool, gap: int = MAX_GAP
) -> tuple[float, frozenset[int]] | None:
    """Closest-together, then highest-scoring, choice of one position per phrase word.

    Only positions near each occurrence of the rarest word are tried, so a long text full of
    "my" and "the" stays cheap.
    """
    reach = len(candidates) + gap - 1
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
    gap: int = MAX_GAP,
) -> list[PhraseHit]:
    """Every phrase found in the tokens (one-word phrases once per occurrence).

    Tokens in `ignore` keep their place but match nothing. Topic phrases may come in any
    order ("pain in my chest"); `ordered` is for phrases whose order is the meaning ("had my").
    ``gap``: words allowed between a phrase's words ("had cramp in my" is not "had my").
    """
    return _find(toks, _index(phrases), ignore, ordered, gap)


def _find(
    toks: Sequence[str],
    index: _Index,
    ignore: frozenset[str],
    ordered: bool,
    gap: int = MAX_GAP,
) -> list[PhraseHit]:
    where: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
    for pos, token in enumerate(toks):
        if token in ignore:
            continue
        for word, score in _word_scores(token, index).items():
            where[word].append((pos, score))
    hits: list[PhraseHit] = []
    # Only phrases with at least one word present can match; visit them in index order, as
    # a pass over every phrase would.
    by_word = index.by_word
    maybe: set[int] = set()
    for word in where:
        maybe.update(by_word[word])
    for i in sorted(maybe):
        phrase, words = index.phrases[i]
        candidates = [where.get(w, []) for w in words]
        if not all(candidates):
            continue
        if len(words) == 1:
            hits.extend(
                PhraseHit(phrase, s, frozenset({p})) for p, s in candidates[0] if s >= THRESHOLD
            )
            continue
        placed = _best_placement(candidates, ordered, gap)
        if placed and placed[0] >= THRESHOLD:
            hits.append(PhraseHit(phrase, placed[0], placed[1]))
    return hits


@dataclass(frozen=True, slots=True)
class _Topics:
    """What scoring needs from one set of topics, worked out once per set, not per text."""

    topics: Sequence[Topic]  # held so its id() cannot be reused while this is cached
    by_phrase: dict[str, tuple[str, ...]]  # phrase -> ids of the topics that use it
    index: _Index
    order: dict[str, tuple[bool, int]]  # topic id -> (broad, position in the set)
    by_id: dict[str, Topic]


_TOPIC_TABLES: dict[int, _Topics] = {}


def _topic_table(topics: Sequence[Topic]) -> _Topics:
    """The table for ``topics``, kept by identity: hashing every topic on every text would
    cost more than the scoring it saves. Callers pass the same few sets (load_topics()).
    Only tuples are kept: a list could change after its table was made."""
    table = _TOPIC_TABLES.get(id(topics))
    if table is not None and table.topics is topics:
        return table
    by_phrase: defaultdict[str, list[str]] = defaultdict(list)
    for topic in topics:
        for phrase in topic.phrases:
            by_phrase[phrase].append(topic.id)
    table = _Topics(
        topics,
        {p: tuple(ids) for p, ids in by_phrase.items()},
        _index(tuple(by_phrase)),
        {t.id: (t.broad, i) for i, t in enumerate(topics)},
        {t.id: t for t in topics},
    )
    if isinstance(topics, tuple):
        if len(_TOPIC_TABLES) >= 16:
            _TOPIC_TABLES.clear()
        _TOPIC_TABLES[id(topics)] = table
    return table


def topics_by_id(topics: Sequence[Topic]) -> dict[str, Topic]:
    """The topics by id, from the same once-per-set table as the scoring."""
    return _topic_table(topics).by_id


def score_topics(
    text: str, topics: Sequence[Topic], ignore: frozenset[str] = frozenset()
) -> list[Match]:
    """Every topic above the threshold, best first; broad overviews after specific topics.

    Words in `ignore` (lowercase) cannot match, as if they were blanked out.

    A topic whose words are all part of a longer phrase of another topic is dropped:
    "flu jab" is about vaccines, not flu; "missed period" is not a missed dose.
    """
    return rank(tokens(text), topics, ignore)


def rank(
    toks: Sequence[str], topics: Sequence[Topic], ignore: frozenset[str] = frozenset()
) -> list[Match]:
    """``score_topics`` for text already split by ``tokens``: callers that need the tokens
    too (``messages.understand``) split the text once."""
    table = _topic_table(topics)
    by_phrase = table.by_phrase
    best: dict[str, float] = {}
    covered: defaultdict[str, set[int]] = defaultdict(set)
    for hit in _find(toks, table.index, ignore, False):
        for topic_id in by_phrase[hit.phrase]:
            best[topic_id] = max(best.get(topic_id, 0.0), hit.score)
            covered[topic_id] |= hit.positions
    kept = [t for t in best if not any(covered[t] < covered[other] for other in best if other != t)]
    order = table.order
    kept.sort(key=lambda t: (order[t][0], -best[t], order[t][1]))
    return [Match(t, round(best[t], 1), frozenset(covered[t])) for t in kept]


def search(
    text: str, topics: Sequence[Topic], limit: int = 3, ignore: frozenset[str] = frozenset()
) -> list[Match]:
    """The best topics for the text: the top match plus any within MARGIN of it, up to limit.

    More than one result means a close call the caller should offer as "reply 1, 2 or 3".
    """
    return closest(score_topics(text, topics, ignore), limit)


def closest(ranked: Sequence[Match], limit: int = 3) -> list[Match]:
    """``search``'s answer from ``score_topics``'s: a caller that has already scored a text
    picks the close calls from that instead of scoring it again."""
    if not ranked:
        return []
    top = max(m.score for m in ranked)
    return [m for m in ranked if m.score >= top - MARGIN][:limit]
