"""The layers import one way: no module of mxwizard imports, even indirectly, a module that imports
it back. Outside ui/ there is no cycle at all; inside ui/ the app imports its screens and no
screen imports the app (screens see it through the ``Wizard`` protocol of ui/wizard.py).

The graph is read from the source with ``ast``. Every ``import`` that runs counts, those inside
functions too (the lazy ones that keep ``--help`` fast). An import under ``if TYPE_CHECKING``
never runs: it may name a type of a higher layer in an annotation (``diagnosis/facts.py`` does
for the bundles the transport checks define), so it counts only where the rule is that a module
is not imported at all (a screen never imports the app, not even for a type).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted((SRC / "mxwizard").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the import nodes under ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(sub) for stmt in node.body for sub in ast.walk(stmt)}
    return out


def _graph(type_only: bool = False) -> dict[str, set[str]]:
    """Module -> the mxwizard modules it imports (``from pkg import mod`` counts as ``pkg.mod``);
    with ``type_only``, also those it imports for annotations only."""
    modules = _modules()

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = set() if type_only else _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            graph[name] |= {known(t) for t in targets if t.split(".")[0] == "mxwizard"}
        graph[name].discard(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports() -> None:
    graph = _graph()
    assert "mxwizard.diagnosis.tree" in graph["mxwizard.diagnosis.runner"]
    assert "mxwizard.diagnosis.plans.receive" in graph["mxwizard.diagnosis.checks"]  # a lazy one
    assert "mxwizard.ui.screens.welcome" in graph["mxwizard.ui.app"]
    assert "mxwizard.probes.dns" not in graph["mxwizard.diagnosis.tree"]  # for annotations only
    assert "mxwizard.probes.dns" in _graph(type_only=True)["mxwizard.diagnosis.tree"]


def test_no_import_cycle_outside_the_ui() -> None:
    graph = _graph()
    outside = {name: {t for t in targets if not t.startswith("mxwizard.ui")}
               for name, targets in graph.items() if not name.startswith("mxwizard.ui")}
    assert _cycles(outside) == []


def test_no_screen_imports_the_app() -> None:
    graph = _graph(type_only=True)
    screens = sorted(name for name in graph if name.startswith("mxwizard.ui.screens"))
    assert screens
    assert [s for s in screens if "mxwizard.ui.app" in graph[s]] == []
    ui = {name: {t for t in targets if t.startswith("mxwizard.ui")}
          for name, targets in graph.items() if name.startswith("mxwizard.ui")}
    assert [c for c in _cycles(ui) if "mxwizard.ui.app" in c] == []


def test_plans_and_rules_do_not_import_the_runner() -> None:
    """Plans see the diagnosis through the Context protocol of tree.py; rules only judge what
    the plans observed, so they import no plan either."""
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith(("mxwizard.diagnosis.plans", "mxwizard.diagnosis.rules")):
            assert "mxwizard.diagnosis.runner" not in targets, name
        if name.startswith("mxwizard.diagnosis.rules"):
            assert not any(t.startswith("mxwizard.diagnosis.plans") for t in targets), name


def test_nothing_outside_the_ui_imports_it() -> None:
    graph = _graph()
    leaks = sorted(name for name, targets in graph.items() if not name.startswith("mxwizard.ui")
                   and name != "mxwizard.cli" and any(t.startswith("mxwizard.ui") for t in targets))
    assert leaks == []
