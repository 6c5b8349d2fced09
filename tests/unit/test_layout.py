"""The layout keeps its promises (README "Architecture", docs/architecture.md).

Imports are read with ``ast`` from every production module, including imports inside
functions and under ``TYPE_CHECKING``: a lazy import hides a circle from Python, not from a
reader, so it counts here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "scheduler", "messages")
MAX_LINES = 400
MAX_TOP_MODULES = 8


def _modules(packages: tuple[str, ...] = PACKAGES, root: Path = ROOT) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports, resolved to the longest module name that exists."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            wanted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            wanted = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for want in wanted:
            while want and want not in modules:
                want = want.rpartition(".")[0]
            if want and want != name and not name.startswith(want + "."):
                targets.add(want)
    return targets


def import_graph(
    packages: tuple[str, ...] = PACKAGES, root: Path = ROOT
) -> dict[str, set[str]]:
    modules = _modules(packages, root)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def test_the_circle_finder_finds_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "a.py").write_text("from bot.b import x\n")
    (tmp_path / "bot" / "b.py").write_text("def f():\n    from bot import a\n")
    (tmp_path / "bot" / "c.py").write_text("import bot.a\n")
    graph = import_graph(("bot",), tmp_path)
    assert circles(graph) == [["bot.a", "bot.b"]]


def test_no_import_circles() -> None:
    assert circles(import_graph()) == []


def test_scheduler_never_imports_bot() -> None:
    graph = import_graph()
    wrong = {
        (name, target)
        for name, targets in graph.items()
        if name.startswith("scheduler")
        for target in targets
        if target.startswith("bot")
    }
    assert wrong == set()


def test_the_pure_core_imports_only_itself_and_the_standard_library() -> None:
    allowed = ("scheduler.domain",)
    for path in sorted((ROOT / "scheduler" / "domain").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                top = node.module.split(".")[0]
                if top in PACKAGES or top in ("sqlalchemy", "telegram", "twilio", "starlette"):
                    assert node.module.startswith(allowed), f"{path.name} imports {node.module}"


def test_services_are_typed_on_ports_not_on_the_store() -> None:
    graph = import_graph()
    for service in ("scheduler.services.dispatch", "bot.conversation.conversation"):
        store = {t for t in graph[service] if t.startswith("scheduler.store")}
        assert store == set(), f"{service} imports {sorted(store)}"


def test_bench_imports_only_the_fakes_from_tests() -> None:
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests"):
                assert (node.module or "").startswith("tests.fakes"), f"{path.name}: {node.module}"


@pytest.mark.parametrize("package", ["bot", "scheduler"])
def test_few_modules_sit_directly_in_a_top_package(package: str) -> None:
    direct = sorted(p.name for p in (ROOT / package).glob("*.py"))
    assert len(direct) <= MAX_TOP_MODULES, direct


def test_no_production_module_is_long() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_package_says_what_lives_there() -> None:
    for package in PACKAGES:
        for init in sorted((ROOT / package).rglob("__init__.py")):
            doc = ast.get_docstring(ast.parse(init.read_text()))
            assert doc, f"{init.relative_to(ROOT)} has no docstring"
