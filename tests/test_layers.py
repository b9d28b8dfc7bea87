"""The library's folders are its layers, and imports run one way: top to bottom, never back, no cycles.

The import graph is built from the source (every ``import`` statement, including those inside functions,
which are still dependencies), so the test fails on a cycle that lazy imports would hide at run time.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "genir_mini"

# bottom to top: a module may import from its own layer or from a lower one
LAYERS = [
    {"_checks", "units"},
    {"data", "operators"},
    {"nets"},
    {"hub"},
    {"priors"},
    {"flowmaps"},
    {"restore"},
    {"evaluation"},
    {"training"},
    {"viz"},
    {"chapter"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = ["genir_mini", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set) -> set:
    """The genir_mini modules that the file at ``path`` (module ``name``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from pkg import sub` depends on the submodule when there is one, else on the package
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def graph() -> dict:
    mods = modules()
    known = set(mods)
    return {name: imported(path, name, known) for name, path in mods.items()}


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_is_in_a_layer():
    unplaced = sorted({layer(m) for m in modules()} - set(RANK) - {None})
    assert not unplaced, f"put these in a layer of LAYERS (and in the README's layout): {unplaced}"


def test_imports_run_from_top_to_bottom():
    upward = [f"{a} -> {b}" for a, targets in graph().items() for b in targets
              if layer(a) and layer(b) and RANK[layer(b)] > RANK[layer(a)]]
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_the_import_graph_has_no_cycle():
    g = graph()
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(g[node]):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(g):
        if node not in state:
            visit(node)


def test_the_checker_resolves_relative_imports():
    """The graph builder resolves relative imports (a checker that saw nothing would pass everything)."""
    g = graph()
    assert "genir_mini.operators.base" in g["genir_mini.operators.blur"]
    assert "genir_mini._checks" in g["genir_mini.operators.base"]
    assert any(b.startswith("genir_mini.priors") for b in g["genir_mini.restore.diffpir"])


def edges_between_layers() -> int:
    """The number of distinct (layer, layer) edges, reported in the status of the layout."""
    return len({(layer(a), layer(b)) for a, t in graph().items() for b in t
                if layer(a) and layer(b) and layer(a) != layer(b)})
