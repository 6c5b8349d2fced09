"""Splitting a text into clauses, each read on its own ("took it. constipated tho")."""

from __future__ import annotations

import re

from messages import search

# Sentence ends, and the joins where a new thought starts ("took it but feel sick").
_CLAUSE_BREAK = re.compile(
    r"(?:[.!?;\n]+(?:\s+|$)|\s*[,:]\s+(?=(?:but|and|also|though|tho|however|plus|then|"
    r"just|no|not|i|im|ive|my|its|when|what|how|can|could|should|shall|do|does|is|am|will|"
    r"would|did|any|got|feel|feeling|had|have|been|took|taken|forgot|missed|remembered)\b)|"
    r"\s+(?:but|also|though|tho|however|"
    r"plus|and then|and also)\s+|\s+and\s+(?=(?:i|im|ive|my|its|now|then|feel|feeling|got|"
    r"have|had|it|when|what|can|should|is|am)\b)|\s+-\s+)",
    re.IGNORECASE,
)


# A dose report said first, then a comma: "taken, temp is 38.4 though".
_REPORT_FIRST = re.compile(
    r"^((?:yes\s+|no\s+|just\s+|i\s+)*(?:taken|took it|took mine|took my \w+|done|had it|"
    r"had mine|tkn|tkn it|missed|missed it|forgot|forgot it|yes|yes done|no)(?:\s+(?:last night|"
    r"this morning|yesterday|today|earlier|tonight|at \d+(?::\d+)?(?:\s*[ap]m)?|as usual|with "
    r"\w+))?)\s*,\s*(.+)$",
    re.IGNORECASE,
)


def clauses(text: str) -> list[str]:
    """The clauses of a text: sentences, and the parts of a sentence joined by "but",
    "also", "and I...", a comma before a new subject or question, or after a dose report.
    A short start before "and" stays with what follows ("my partner and I want...")."""
    parts: list[str] = []
    start = 0
    pieces: list[tuple[str, str]] = []  # (text, the break that ended it)
    for m in _CLAUSE_BREAK.finditer(text):
        pieces.append((text[start : m.start()], m.group(0)))
        start = m.end()
    pieces.append((text[start:], ""))
    carry = ""
    for piece, brk in pieces:
        piece = carry + piece
        carry = ""
        if "?" in brk:
            piece = piece.rstrip() + "?"  # the clause asks: keep its question mark
        toks = search.tokens(piece)
        if (brk.strip().lower() == "and" and len(toks) <= 2
                and toks[0] in ("my", "me", "our", "the", "his", "her", "mum", "dad", "wife",
                                "husband", "partner")):  # fmt: skip
            carry = piece + brk
            continue
        piece = piece.strip(" ,.;:-")
        first = _REPORT_FIRST.match(piece.rstrip("?"))
        parts += [first[1], first[2]] if first else [piece]
    return [p for p in parts if p and search.tokens(p)]
