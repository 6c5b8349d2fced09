"""Validate the labelled corpus of patient texts (messages/corpus/texts-*.jsonl, the tuning set; tests/corpus/blind-*.jsonl, held out).

Run: .venv/bin/python tests/corpus/check_corpus.py

Checks every line against tests/corpus/README.md (the label set and topic ids are read from it,
so the two cannot drift): valid JSON object, required fields, labels only from the README's set,
no duplicate texts (lowercased, spaces collapsed) across all files, and a few consistency rules
that follow from the label definitions. Prints counts per label and per file, and the size of the
held-out set (the blind-*.jsonl files). Exits 1 on any error.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from messages.intent import STOP_WORDS

HERE = Path(__file__).resolve().parent
TUNING = HERE.parents[1] / "messages" / "corpus"  # the tuning set, which the model learns from
README = HERE / "README.md"

FIELDS = {"text", "intents", "record", "day", "note"}
RECORDS = {"taken", "missed", "take_now", "extra", "none"}
DAYS = {"today", "yesterday", "last_night", "this_morning"}
DOSE_INTENTS = {"taken", "missed", "later", "intend", "extra", "unsure", "dose_question"}
ALONE = {"chat", "unknown", "stop", "start", "help"}  # labels that never share a text


def readme_labels() -> tuple[set[str], set[str]]:
    """The intent labels (first column of the intent table) and the topic ids, from the README."""
    text = README.read_text(encoding="utf-8")
    intents_part = text.split("## Intent labels", 1)[1].split("## Topic ids", 1)[0]
    labels = set()
    for line in intents_part.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if m:
            labels.add(m.group(1))
    topics_part = text.split("## Topic ids", 1)[1]
    topics_part = topics_part.split("(`topic:<id>`):", 1)[-1]
    topics = {t.strip().rstrip(".") for t in re.split(r",\s*", " ".join(topics_part.split())) if t.strip()}
    topics = {t for t in topics if re.fullmatch(r"[a-z][a-z-]*", t)}
    if "topic:<id>" not in labels or len(labels) < 20 or len(topics) < 50:
        sys.exit(f"could not read the label set from {README} ({len(labels)} labels, {len(topics)} topics)")
    labels.discard("topic:<id>")
    return labels, topics


def held_out(path: Path) -> bool:
    return path.name.startswith("blind-")


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def check_row(obj: object, labels: set[str], topics: set[str]) -> list[str]:
    if not isinstance(obj, dict):
        return ["not a JSON object"]
    errs = []
    missing = {"text", "intents"} - obj.keys()
    if missing:
        return [f"missing field(s) {sorted(missing)}"]
    extra_fields = obj.keys() - FIELDS
    if extra_fields:
        errs.append(f"unknown field(s) {sorted(extra_fields)}")
    text, intents = obj["text"], obj["intents"]
    if not isinstance(text, str) or not text.strip():
        errs.append("text must be a non-empty string")
    elif text != text.strip():
        errs.append("text has leading/trailing whitespace")
    if not isinstance(intents, list) or not intents or not all(isinstance(i, str) for i in intents):
        return [*errs, "intents must be a non-empty list of strings"]
    if len(set(intents)) != len(intents):
        errs.append(f"repeated intent in {intents}")
    for i in intents:
        if i.startswith("topic:"):
            if i[6:] not in topics:
                errs.append(f"unknown topic id {i!r}")
        elif i not in labels:
            errs.append(f"unknown intent {i!r}")
    s = set(intents)
    record = obj.get("record")
    if "record" in obj and record not in RECORDS:
        errs.append(f"record {record!r} not one of {sorted(RECORDS)}")
    if "day" in obj and obj["day"] not in DAYS:
        errs.append(f"day {obj['day']!r} not one of {sorted(DAYS)}")
    if "note" in obj and not (isinstance(obj["note"], str) and obj["note"].strip()):
        errs.append("note must be a non-empty string")
    # consistency with the label definitions
    for a in ALONE & s:
        if len(s) > 1:
            errs.append(f"{a!r} is never combined with other labels: {intents}")
    if ("extra" in s) != (record == "extra"):
        errs.append(f"an extra dose must have record 'extra' and vice versa ({intents}, record={record!r})")
    if record == "taken" and "taken" not in s:
        errs.append("record 'taken' without the 'taken' intent")
    if record == "missed" and "missed" not in s:
        errs.append("record 'missed' without the 'missed' intent")
    if record in {"taken", "missed", "extra", "take_now"} and s & {"intend", "later", "unsure"} and not s & {"taken", "extra", "missed"}:
        errs.append(f"a dose is recorded from an intention/snooze/unsure text: {intents}")
    if "day" in obj and not s & DOSE_INTENTS:
        errs.append(f"day given for a text with no dose intent: {intents}")
    if "stop" in s and " ".join(re.sub(r"[^\w]+", " ", text).split()).upper() not in STOP_WORDS:
        errs.append("'stop' is a carrier word as the whole message; use stop_request for words")
    return errs


def main() -> int:
    labels, topics = readme_labels()
    files = sorted([*TUNING.glob("texts-*.jsonl"), *HERE.glob("blind-*.jsonl")])
    if not files:
        print("no messages/corpus/texts-*.jsonl files", file=sys.stderr)
        return 1
    errors: list[str] = []
    seen: dict[str, str] = {}
    per_label: Counter[str] = Counter()
    per_label_held: Counter[str] = Counter()
    per_file: Counter[str] = Counter()
    records: Counter[str] = Counter()
    days: Counter[str] = Counter()
    total = held = multi = 0
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{n}"
            if not line.strip():
                errors.append(f"{where}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"{where}: invalid JSON ({e})")
                continue
            errs = check_row(obj, labels, topics)
            errors += [f"{where}: {e}" for e in errs]
            if errs:
                continue
            key = norm(obj["text"])
            if key in seen:
                errors.append(f"{where}: duplicate of {seen[key]}: {obj['text']!r}")
                continue
            seen[key] = where
            total += 1
            per_file[path.name] += 1
            h = held_out(path)
            held += h
            multi += len(obj["intents"]) > 1
            for i in obj["intents"]:
                per_label[i] += 1
                per_label_held[i] += h
            records[obj.get("record", "(absent)")] += 1
            days[obj.get("day", "(absent)")] += 1

    print(f"{total} texts in {len(files)} files; held out: {held} texts; {multi} with more than one intent\n")
    print("per file:")
    for name, c in sorted(per_file.items()):
        print(f"  {c:5d}  {name}")
    print("\nper label (all / held-out):")
    for lab, c in sorted(per_label.items(), key=lambda kv: (kv[0].startswith("topic:"), kv[0])):
        print(f"  {c:5d} {per_label_held[lab]:4d}  {lab}")
    unused = sorted(({f"topic:{t}" for t in topics} | labels) - per_label.keys())
    if unused:
        print(f"\nlabels with no text: {', '.join(unused)}")
    print("\nrecord:", ", ".join(f"{k} {v}" for k, v in sorted(records.items())))
    print("day:   ", ", ".join(f"{k} {v}" for k, v in sorted(days.items())))
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
