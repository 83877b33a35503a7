"""The package's layers point one way, and no two modules import each other.

The import graph is read from the source (ast over every module), so an import
inside a function or under `if TYPE_CHECKING:` counts as much as one at the
top: a lazy import hides a cycle from the interpreter, not from the design.
The layers are described in docs/design.md ("Layers").
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import reconciler

PACKAGE = Path(reconciler.__file__).parent

# Layer -> the layers it must never import (a layer is the first name under `reconciler.`).
CLI = frozenset({"cli", "clibase", "clioptions", "clitools"})  # the command line (click)
FORBIDDEN: dict[str, frozenset[str]] = {
    "http": CLI | {"providers", "engine", "commands", "output", "verify", "doctor", "export",
                   "collector", "sandbox"},
    "providers": CLI | {"engine", "commands", "output", "verify", "doctor", "export", "collector",
                        "sandbox"},
    "engine": CLI | {"commands"},
    "backend": CLI | {"http", "providers", "commands", "output"},
    "output": CLI | {"commands"},
    "verify": CLI | {"commands"},
    "doctor": CLI | {"commands"},
    "export": CLI | {"commands"},
    "config": CLI | {"http", "providers", "engine", "commands", "output"},
    "declarations": CLI | {"http", "providers", "engine", "commands", "output", "config"},
    "model": CLI | {"http", "providers", "engine", "commands", "output", "config"},
    "sandbox": CLI | {"http", "providers", "engine", "commands", "output"},
    "commands": CLI,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _base(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """(imported module of the package, line) for every import statement in `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), str(MODULES[module]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, node)
            # `from pkg import sub` imports the submodule when there is one, else a name of pkg.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `import a.b.c` of a name inside a.b
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name, node.lineno


GRAPH: dict[str, dict[str, int]] = {
    module: dict(sorted(imports_of(module), reverse=True)) for module in MODULES
}


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_the_graph_is_read_from_every_module() -> None:
    # Guards the walk itself: a top-level, a lazy and a TYPE_CHECKING import are all edges.
    assert len(MODULES) > 100 and "reconciler.config.generated" in MODULES
    assert "reconciler.model" in GRAPH["reconciler.providers.base"]
    assert "reconciler.engine.pool" in GRAPH["reconciler.engine.workers"]  # inside a function
    assert "reconciler.http.notices" in GRAPH["reconciler.engine.workers"]  # TYPE_CHECKING


@pytest.mark.parametrize("lower", sorted(FORBIDDEN))
def test_a_layer_never_imports_a_layer_above_it(lower: str) -> None:
    breaches = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}"
        for module, targets in GRAPH.items() if layer(module) == lower
        for target, line in targets.items() if layer(target) in FORBIDDEN[lower]
    ]
    assert not breaches, "\n".join(breaches)


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_two_modules_import_each_other() -> None:
    found = cycles(GRAPH)
    report = [
        " <-> ".join(component) + "\n" + "\n".join(
            f"    {MODULES[a].relative_to(PACKAGE.parent)}:{line} imports {b}"
            for a in component for b, line in GRAPH[a].items() if b in component)
        for component in found
    ]
    assert not found, "import cycles:\n" + "\n".join(report)


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert cycles(graph) == [["a", "b", "c"]]
