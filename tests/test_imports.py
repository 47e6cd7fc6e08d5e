"""Imports go one way: no cycle among mapper's modules, and the readers stay on their floor.

The graph is read from the source (``ast``), every ``import`` counted, at module level or
inside a function (a lazy import is still a dependency). A submodule's implicit import of
its own package (``mapper.sources.osm`` -> ``mapper.sources``) is not an edge: Python makes
it for every submodule, and a package's ``__init__`` may hand work to its members.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "mapper"

#: What a reader (``mapper/sources/*``) may import from mapper: the errors, the progress
#: bar, the package root's constants, plumbing, and other readers.
READER_MAY_IMPORT = {"mapper", "mapper.errors", "mapper.progress", "mapper._faults"}
#: One known step up, for pure functions only: ``live`` builds its areas with
#: ``areas.AreaSpec``, ``areas.as_multipolygon`` and ``areas.check_name`` (``areas`` imports
#: the store module; ``live`` calls nothing of it, see the store-call check below).
READER_EXCEPTIONS = {("mapper.sources.live", "mapper.areas")}
STORE_CALLS = {"open_store", "transaction", "scratch"}


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(target: str) -> str | None:
    """The mapper module that importing ``target`` runs last (a name inside a module is
    that module)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            if t == "mapper" or t.startswith("mapper."):
                found = _resolve(t)
                if found and found != module and not module.startswith(found + "."):
                    out.add(found)
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(GRAPH[m]):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(GRAPH):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_walk_sees_lazy_and_relative_imports() -> None:
    assert "mapper.ingest" in GRAPH["mapper.cli"]  # imported inside the ingest command
    assert "mapper.store" in GRAPH["mapper.ingest"]
    assert "mapper.site_build" in GRAPH["mapper.site"]
    assert "mapper.errors" in GRAPH["mapper.sources"]


def test_no_import_cycle_in_mapper() -> None:
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_cycle_would_be_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAPH, "mapper.store", GRAPH["mapper.store"] | {"mapper.ingest"})
    assert _cycle() is not None


READERS = sorted(m for m in MODULES if m.startswith("mapper.sources"))


@pytest.mark.parametrize("module", READERS)
def test_readers_import_nothing_above_them(module: str) -> None:
    """Data flows sources -> store -> grid/compare -> maps/site: a reader never imports the
    store or anything that writes it."""
    above = {
        m for m in GRAPH[module]
        if not m.startswith("mapper.sources") and m not in READER_MAY_IMPORT
        and (module, m) not in READER_EXCEPTIONS
    }  # fmt: skip
    assert not above, f"{module} imports {sorted(above)}"
    assert "mapper.store" not in GRAPH[module]


@pytest.mark.parametrize("module", READERS)
def test_readers_never_open_the_store(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    calls = {
        f"{n.func.value.id}.{n.func.attr}" if isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name) else getattr(n.func, "id", "")
        for n in ast.walk(tree) if isinstance(n, ast.Call)
    }  # fmt: skip
    opened = {c for c in calls if c.rpartition(".")[2] in STORE_CALLS}
    assert not opened, f"{module} calls {sorted(opened)}"
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.partition(".")[0] == "duckdb"}, f"{module}: duckdb"
