"""Turn the JSON lines of one or more `python -m bench` runs into markdown tables.

    python -m bench > run.jsonl;  python -m bench.report run.jsonl [more.jsonl ...]
"""

from __future__ import annotations

import json
import sys

from bench.__main__ import COLUMNS


def _mark(v: object) -> str:
    return {True: "met", False: "**missed**", None: ""}.get(v, str(v))  # type: ignore[call-overload]


def _cell(v: object) -> str:
    return "" if v is None else str(v).replace("\n", " ")


def markdown(records: list[dict[str, object]]) -> str:
    out = []
    for bench, cols in COLUMNS.items():
        recs = [r for r in records if r.get("bench") == bench]
        if not recs:
            continue
        cols = [*cols, "load"] if bench != "error" else cols
        out.append(f"\n### {bench}\n")
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "---|" * len(cols))
        for r in recs:
            out.append("| " + " | ".join(
                _mark(r.get(c)) if c == "met" else _cell(r.get(c)) for c in cols) + " |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    recs = []
    for path in sys.argv[1:]:
        with open(path) as f:
            recs += [json.loads(line) for line in f if line.startswith("{")]
    print(markdown(recs))
