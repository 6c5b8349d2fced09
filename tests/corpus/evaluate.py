"""Score lenabot's understanding (messages.understand) on the labelled corpus.

The held-out set (``blind-*.jsonl``: texts written after tuning stopped, by someone who had not
read lenabot's code or its word lists) is never looked at while tuning:
``python -m tests.corpus.evaluate`` prints the tuning set (``messages/corpus/texts-*.jsonl``) and its misses;
``--held-out`` prints the held-out figures, the ones the README reports, and no texts.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from messages.understand import understand

HERE = Path(__file__).parent
TUNING = HERE.resolve().parents[1] / "messages" / "corpus"  # the tuning set, which the model learns from


@dataclass(frozen=True)
class Example:
    text: str
    intents: frozenset[str]
    record: str | None
    day: str | None
    source: str

    @property
    def held_out(self) -> bool:
        return self.source.startswith("blind-")


def examples() -> list[Example]:
    out = []
    for path in sorted([*TUNING.glob("texts-*.jsonl"), *HERE.glob("blind-*.jsonl")]):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                out.append(Example(raw["text"], frozenset(raw["intents"]), raw.get("record"),
                                   raw.get("day"), path.stem))  # fmt: skip
    return out


def predicted(text: str) -> frozenset[str]:
    return frozenset(understand(text).labels())


def record_of(labels: frozenset[str]) -> str:
    """The dose record a reading of these labels leads to (the time of day aside)."""
    if "extra" in labels:
        return "extra"
    if "taken" in labels:
        return "taken"
    if "missed" in labels:
        return "missed"
    return "none"


@dataclass
class Score:
    n: int = 0
    exact: int = 0
    tp: Counter[str] | None = None
    fp: Counter[str] | None = None
    fn: Counter[str] | None = None
    record_ok: int = 0
    record_n: int = 0
    # Red flags answered at least with when to call: alerted, or a symptom's answer with the
    # model's "if it is severe ... call now" line (a "warning" reading, no alert).
    red_n: int = 0
    red_warned: int = 0

    def __post_init__(self) -> None:
        self.tp, self.fp, self.fn = Counter(), Counter(), Counter()

    @property
    def accuracy(self) -> float:
        return self.exact / self.n if self.n else 0.0

    def precision(self, label: str) -> float | None:
        assert self.tp is not None and self.fp is not None
        seen = self.tp[label] + self.fp[label]
        return self.tp[label] / seen if seen else None

    def recall(self, label: str) -> float | None:
        assert self.tp is not None and self.fn is not None
        wanted = self.tp[label] + self.fn[label]
        return self.tp[label] / wanted if wanted else None


def family(label: str) -> str:
    """Topic labels are scored together ("topic"), as are schedule labels, besides each."""
    return label.split(":")[0]


def score(items: list[Example]) -> tuple[Score, list[tuple[Example, frozenset[str]]]]:
    s = Score()
    misses = []
    assert s.tp is not None and s.fp is not None and s.fn is not None
    for ex in items:
        u = understand(ex.text)
        got = frozenset(u.labels())
        if "red_flag" in ex.intents:
            s.red_n += 1
            s.red_warned += "red_flag" in got or u.has("warning")
        s.n += 1
        if got == ex.intents:
            s.exact += 1
        else:
            misses.append((ex, got))
        for labels, counter in ((got & ex.intents, s.tp), (got - ex.intents, s.fp),
                                (ex.intents - got, s.fn)):  # fmt: skip
            for label in labels:
                counter[label] += 1
            for fam in {family(x) for x in labels if ":" in x}:
                counter[fam] += 1
        if ex.record is not None:
            s.record_n += 1
            s.record_ok += record_of(got) == ex.record
    return s, misses


def table(s: Score) -> str:
    assert s.tp is not None and s.fp is not None and s.fn is not None
    labels = sorted(set(s.tp) | set(s.fn) | set(s.fp), key=lambda x: (":" in x, x))
    lines = [f"{'intent':<30}{'n':>5}{'precision':>11}{'recall':>8}"]
    for label in labels:
        if label.startswith("topic:"):
            continue  # one row for all topics ("topic"); per topic with --topics
        n = s.tp[label] + s.fn[label]
        p, r = s.precision(label), s.recall(label)
        lines.append(f"{label:<30}{n:>5}{_pct(p):>11}{_pct(r):>8}")
    lines.append(f"exact intent sets: {s.exact}/{s.n} = {s.accuracy:.1%}; dose records right: "
                 f"{s.record_ok}/{s.record_n}")  # fmt: skip
    if s.red_n:
        lines.append(f"red flags answered at least with when to call: {s.red_warned}/{s.red_n} = "
                     f"{s.red_warned / s.red_n:.1%}")  # fmt: skip
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--held-out", action="store_true", help="score the held-out (blind) set")
    ap.add_argument("--misses", type=int, default=40, help="training misses to print")
    a = ap.parse_args()
    items = [e for e in examples() if e.held_out == a.held_out]
    s, misses = score(items)
    print(table(s))
    if a.held_out:
        for source in sorted({e.source for e in items}):
            part, _ = score([e for e in items if e.source == source])
            print(f"{source}: {part.n} texts, exact {part.accuracy:.1%}, red flags "
                  f"{_pct(part.recall('red_flag'))}, extra doses {_pct(part.recall('extra'))}, "
                  f"told when to call {part.red_warned}/{part.red_n}")  # fmt: skip
    if not a.held_out:
        for ex, got in misses[: a.misses]:
            print(f"- {ex.text!r}\n    want {sorted(ex.intents)}\n    got  {sorted(got)}")


if __name__ == "__main__":
    main()
