"""Negation: the words a "no", "not" or "stopped" denies ("no fever")."""

from __future__ import annotations

from collections.abc import Sequence

_NEGATORS = frozenset({"no", "not", "without", "never", "nor", "dont", "didnt", "doesnt",
                       "havent", "hasnt", "isnt", "arent", "wasnt", "aint", "none", "nothing",
                       "free", "denies", "neither", "longer", "neg", "nae", "nowt"})  # fmt: skip
_ENDED = frozenset({"stopped", "gone", "cleared", "settled", "eased"})
# Words that end a negation's reach ("no fever but a cough": the cough is real).
_NEGATION_ENDS = frozenset({"but", "just", "only", "except", "apart", "though", "tho", "yet",
                            "however", "still", "now", "and"})  # fmt: skip
_NEGATION_REACH = 4  # words a negator covers: "no high temperature or shivers"


def negated_positions(toks: Sequence[str]) -> set[int]:
    """Token positions a negation covers: "no fever" -> the position of "fever".

    "not sure" and "no idea" deny nothing about the body; "no better" and "not stopping" say
    the symptom is there.
    """
    out: set[int] = set()
    for i, tok in enumerate(toks):
        if tok in _ENDED:
            # "stopped bleeding" denies what follows; "the rash has gone", "treatment has
            # stopped" what came before.
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            if nxt.endswith("ing"):
                out.add(i + 1)
            elif nxt in ("", "now", "away", "thanks", "thank", "and", "but", "completely",
                         "off", "down", "today", "x"):  # fmt: skip
                out.update(range(max(0, i - 3), i))
            continue
        if tok not in _NEGATORS:
            continue
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        # "Never had one like it", "never felt this bad": the worst yet, not a denial.
        if tok == "never" and {"like", "bad", "before", "worse"} & set(toks[i + 1 : i + 7]):
            continue
        if nxt in ("sure", "idea", "better", "stopping", "stop", "improving", "going", "able",
                   "know", "recognise", "recognize", "making", "make", "fewer", "less",
                   "strength", "energy"):  # fmt: skip
            continue
        for j in range(i + 1, min(len(toks), i + 1 + _NEGATION_REACH)):
            if toks[j] in _NEGATION_ENDS:
                break
            out.add(j)
    return out
