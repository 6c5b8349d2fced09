"""Regenerate messages/leaflet/lexicon.toml after changing leaflet keywords or synonyms.

    apt-get install wbritish wamerican     # the word lists (Debian packages)
    .venv/bin/python scripts/gen_lexicon.py

The lexicon lists correctly spelt English words that typo tolerance must never "correct"
into a topic word ("never" is not "fever", "tried" is not "tired").
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from messages import intent, search
from messages.leaflet import load_topics

WORD_LISTS = ["/usr/share/dict/british-english", "/usr/share/dict/american-english"]
OUT = Path(__file__).resolve().parent.parent / "messages" / "leaflet" / "lexicon.toml"


def main() -> None:
    phrases = tuple(p for t in load_topics() for p in t.phrases) + intent._TAKEN + intent._MISSED + intent._LATER
    vocab = sorted({w for p in phrases for w in search.tokens(p)})
    targets = [v for v in vocab if len(v) >= 5 and not v.isdigit()]
    words: set[str] = set()
    for f in WORD_LISTS:
        for line in open(f, encoding="utf-8", errors="ignore"):
            w = line.strip()
            if not w or not w[0].islower():
                continue
            w = w.replace("'", "")
            if re.fullmatch(r"[a-z]+", w) and len(w) >= 4:
                words.add(w)
    out: set[str] = set()
    for w in words:
        for v, d, _ in process.extract(w, targets, scorer=OSA.distance, score_cutoff=2, limit=None):
            if v != w and v[0] == w[0] and d <= search._allowed_edits(v) and search.stem(v) != search.stem(w):
                out.add(w)
                break
    body = textwrap.fill(", ".join(f'"{w}"' for w in sorted(out)), width=99, break_long_words=False, break_on_hyphens=False)
    header = OUT.read_text(encoding="utf-8").split("words = [")[0]
    OUT.write_text(header + "words = [\n" + textwrap.indent(body, "    ") + ",\n]\n", encoding="utf-8")


if __name__ == "__main__":
    main()
