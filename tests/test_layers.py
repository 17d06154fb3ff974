"""The layers import one way (import-linter's contract in pyproject.toml) and no module is in a cycle.

Imports inside functions (the lazy ones that keep torch out of the CLI) count as imports: grimp,
under import-linter, reads every ``import`` statement of a module wherever it stands.
"""

from __future__ import annotations

import sys

import grimp
import pytest
from importlinter.cli import lint_imports
from support import REPO


def test_the_layers_contract_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO / "src"))
    assert lint_imports(config_filename=str(REPO / "pyproject.toml")) == 0


def test_the_import_graph_has_no_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "src"))
    graph = grimp.build_graph("gpubench", cache_dir=None)
    cycles = [cycle for cycle in _cycles(graph) if len(cycle) > 1]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_a_backward_import_breaks_the_contract(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract can fail: a copy of the package where files imports the store is refused."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(REPO / "src" / "gpubench", copy / "gpubench", ignore=shutil.ignore_patterns("__pycache__"))
    safe = copy / "gpubench" / "files" / "safe.py"
    safe.write_text(safe.read_text() + "\nfrom gpubench.store.schema import StoreError  # noqa: E402\n")
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(copy))
    for name in [name for name in sys.modules if name == "gpubench" or name.startswith("gpubench.")]:
        monkeypatch.delitem(sys.modules, name)
    assert lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == 1


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of the module graph (Tarjan), each with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found
