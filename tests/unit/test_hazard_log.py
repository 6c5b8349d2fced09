"""The hazard log (docs/safety/hazard-log.md) points at tests that exist.

Every ``tests/...py::name`` (or ``::Class::method``) it names must be a test pytest collects:
the file is there and defines that function or class at the top level (read with ``ast``, the
test modules are never imported). A test renamed or deleted makes this fail, naming the
reference, so the log cannot go on claiming a proof that is gone. Each hazard must name a test
or say "No test yet", ids are unique, and each risk rating is the one the log's matrix gives.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"

REFERENCE = re.compile(r"\b(tests/[\w/]+\.py)::(\w+)(?:::(\w+))?")
ENTRY = re.compile(r"^## (H\d\d): (.+)$", re.MULTILINE)
NO_TEST_YET = "No test yet"
RATING = re.compile(r"severity (\d) \([a-z ]+\) x likelihood (\d) \([a-z ]+\) = risk (\d)")
FIELDS = ("**Hazard:**", "**Causes:**", "**Effect on the patient:**", "**Initial risk:**",
          "**Mitigations as built:**", "**Tests:**", "**Residual risk:**", "**Status:**")  # fmt: skip
# DCB0129's matrix: MATRIX[likelihood - 1][severity - 1] is the risk rating.
MATRIX = (
    (1, 1, 2, 2, 3),  # very low
    (1, 2, 2, 3, 4),  # low
    (2, 2, 3, 3, 4),  # medium
    (2, 3, 3, 4, 5),  # high
    (3, 4, 4, 5, 5),  # very high
)


def log_text() -> str:
    return LOG.read_text(encoding="utf-8")


def entries(text: str) -> dict[str, str]:
    """Each hazard's id and its text, up to the next hazard."""
    found = list(ENTRY.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    return {m[1]: text[m.start() : end] for m, end in zip(found, ends, strict=True)}


@cache
def defined(path: Path) -> dict[str, set[str] | None]:
    """Top-level names pytest may collect in ``path``: functions (None) and classes (their
    methods). ``TestX = something(...)`` counts as a class whose methods cannot be seen."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: dict[str, set[str] | None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef):
            names[node.name] = {
                n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            }
        elif isinstance(node, ast.Assign):
            names.update({t.id: set() for t in node.targets if isinstance(t, ast.Name)})
    return names


def missing(text: str, root: Path = ROOT) -> list[str]:
    """Every test reference in ``text`` that names no collectable test, with why."""
    problems = []
    for m in REFERENCE.finditer(text):
        file, name, method = m[1], m[2], m[3]
        path = root / file
        if not path.is_file():
            problems.append(f"{m[0]}: no file {file}")
            continue
        names = defined(path)
        if name not in names:
            problems.append(f"{m[0]}: {file} defines no {name}")
        elif names[name] is None:
            if method is not None:
                problems.append(f"{m[0]}: {name} is a function, not a class")
            elif not name.startswith("test"):
                problems.append(f"{m[0]}: pytest does not collect a function named {name}")
        elif not name.startswith("Test"):
            problems.append(f"{m[0]}: pytest does not collect a class named {name}")
        elif method is not None and not (method in (names[name] or ()) and method[:4] == "test"):
            problems.append(f"{m[0]}: {name} has no test method {method}")
    return problems


def test_every_test_the_hazard_log_names_exists() -> None:
    text = log_text()
    assert len(REFERENCE.findall(text)) >= 100, "the log names far fewer tests than it should"
    assert missing(text) == []


def test_a_renamed_or_missing_test_is_reported_by_name() -> None:
    real = "tests/unit/test_guidance.py::test_second_taken_says_already_recorded"
    machine = "tests/integration/dispatch/test_safety_machine.py::TestSafetyMachine"
    assert missing(f"`{real}` and `{machine}`") == []
    bogus = [
        real + "_renamed",
        "tests/unit/no_such_file.py::test_anything",
        "tests/unit/test_hazard_log.py::missing",  # a helper here, not a test
        real + "::test_method",
        machine + "::test_no_such_method",
    ]
    problems = missing("\n".join(f"- `{b}`" for b in bogus))
    assert [p.split(": ")[0] for p in problems] == bogus


def test_every_hazard_names_a_test_or_says_there_is_none_yet() -> None:
    unproven = [
        hid for hid, body in entries(log_text()).items()
        if not REFERENCE.search(body) and NO_TEST_YET not in body
    ]  # fmt: skip
    assert unproven == []


def test_hazard_ids_are_unique_and_each_is_in_the_summary() -> None:
    text = log_text()
    ids = ENTRY.findall(text)
    assert len(ids) >= 13
    numbers = [hid for hid, _ in ids]
    assert len(numbers) == len(set(numbers)), sorted(n for n in numbers if numbers.count(n) > 1)
    assert numbers == [f"H{i:02d}" for i in range(1, len(numbers) + 1)]
    summary = re.findall(r"^\| (H\d\d) \|", text, re.MULTILINE)
    assert summary == numbers


def test_every_hazard_has_the_fields_of_the_log() -> None:
    lacking = {
        hid: [f for f in FIELDS if f not in body]
        for hid, body in entries(log_text()).items()
        if any(f not in body for f in FIELDS)
    }
    assert lacking == {}


def test_every_risk_rating_follows_the_matrix_and_the_summary_agrees() -> None:
    text = log_text()
    summary = {hid: (int(a), int(b)) for hid, a, b in
               re.findall(r"^\| (H\d\d) \|[^|]+\| (\d) \| (\d) \|", text, re.MULTILINE)}  # fmt: skip
    for hid, body in entries(text).items():
        ratings = RATING.findall(body)
        assert len(ratings) == 2, f"{hid}: an initial and a residual rating, as 'severity S (...)'"
        for severity, likelihood, risk in ratings:
            expected = MATRIX[int(likelihood) - 1][int(severity) - 1]
            assert int(risk) == expected, (hid, severity, likelihood, risk)
        assert summary[hid] == tuple(int(r[2]) for r in ratings), hid
