"""The shape of the code: no import cycles, the pure core depends on nothing above it, no
module over 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "addon"
UPPER = ("addon.proxy", "addon.identity", "addon.state", "addon.audit", "addon.cli", "addon.console",
         "addon.forward", "addon.notify", "addon.portal", "addon.service", "addon.workers", "addon.ca",
         "addon.runtime", "addon.lists", "addon.store")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports() -> dict[str, set[str]]:
    """Every import of an addon module, those inside functions too: a lazy import hides a
    cycle from Python, not from the design."""
    names = {module_name(p) for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        me = module_name(path)
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("addon"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in names else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("addon")}
        graph[me] = {d for d in deps if d in names and d != me}
    return graph


def test_no_import_cycles() -> None:
    graph = imports()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, node, dep]))
            if dep not in state:
                visit(dep, [*stack, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_the_policy_core_depends_on_nothing_above_it() -> None:
    for path in (PACKAGE / "policy").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # lazy imports count here too
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(UPPER), f"{path.name} imports {node.module}"


def test_no_module_is_over_300_lines() -> None:
    """A module that grows past this holds more than one concern: split it by what it holds."""
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long
