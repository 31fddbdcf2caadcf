"""Import layering of the netlab package (DESIGN.md §6).

Every module under netlab/ is parsed with `ast` (nothing is imported), its imports are resolved to netlab modules,
including relative imports and imports inside functions, and the resulting graph must have no cycle; the pure layers
(model, compile) must not import the kernel, runtime, api or cli layers; the API must not import the controller.
Imports under `if TYPE_CHECKING:` count too: a module that needs another's types to be read depends on it; where two
modules need each other, a typing.Protocol in the lower one breaks the circle (see api/backend.py, runtime/dnstcp.py).
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "netlab"

# (importer prefix, forbidden prefixes)
FORBIDDEN = [
    ("netlab.model", ("netlab.kernel", "netlab.runtime", "netlab.api", "netlab.cli")),
    ("netlab.compile", ("netlab.kernel", "netlab.runtime", "netlab.api", "netlab.cli")),
    ("netlab.api", ("netlab.runtime.controller",)),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The netlab module an imported dotted name refers to (longest existing module prefix)."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _base_package(module: str, is_package: bool, level: int) -> str:
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """Netlab modules imported by `module` (anywhere in its body), each with the first line importing it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: dict[str, int] = {}
    is_package = path.name == "__init__.py"

    def add(target: str, line: int) -> None:
        resolved = _resolve(target, modules)
        if resolved is not None and resolved != module:
            found.setdefault(resolved, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _base_package(module, is_package, node.level)
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if not _within(source, "netlab"):
                continue
            for alias in node.names:
                # `from pkg import mod` imports the submodule when one exists, else a name from pkg itself.
                sub = f"{source}.{alias.name}"
                add(sub if sub in modules else source, node.lineno)
    return found


def import_graph(root: Path = PACKAGE_DIR) -> dict[str, dict[str, int]]:
    modules = discover(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def _strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns components with more than one module (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
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
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, {}):
                    components.append(sorted(component))
    return components


def _cycle_in(component: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """One concrete cycle through the component's first module (shortest, by breadth-first search)."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return component


def find_cycles(graph: dict[str, dict[str, int]]) -> list[str]:
    """Readable descriptions of the import cycles, each with the line of every edge."""
    reports = []
    for component in _strongly_connected(graph):
        cycle = _cycle_in(component, graph)
        edges = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in itertools.pairwise(cycle)]
        reports.append(f"cycle among {', '.join(component)}:\n    " + "\n    ".join(edges))
    return reports


def find_forbidden(graph: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        for importer, forbidden in FORBIDDEN:
            if not _within(module, importer):
                continue
            for target, line in sorted(targets.items()):
                if any(_within(target, prefix) for prefix in forbidden):
                    problems.append(f"{module} (line {line}) imports {target}: {importer} must not import it")
    return problems


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles between netlab modules:\n" + "\n".join(cycles)


def test_layers_import_only_what_they_may():
    problems = find_forbidden(import_graph())
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_graph_sees_the_package():
    graph = import_graph()
    assert "netlab" in graph and "netlab.compile.names" in graph
    assert len(graph) > 50
    assert "netlab.compile.names" in graph["netlab.compile.topology"]


# The checker itself, on small fabricated packages: it must catch what it claims to catch.


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "netlab"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(text)
    return root


def test_relative_and_function_level_imports_form_a_reported_cycle(tmp_path):
    root = _package(
        tmp_path,
        {
            "cli/__init__.py": "from .graph import draw\nclass Fail(Exception): ...\n",
            "cli/graph.py": "def draw():\n    from . import Fail\n    return Fail\n",
            "model/a.py": "import os\n",
        },
    )
    cycles = find_cycles(import_graph(root))
    assert len(cycles) == 1
    assert "netlab.cli (line 1) -> netlab.cli.graph" in cycles[0]
    assert "netlab.cli.graph (line 2) -> netlab.cli" in cycles[0]


def test_longer_cycle_is_reported_edge_by_edge(tmp_path):
    root = _package(
        tmp_path,
        {
            "api/server.py": "from netlab.api import views\n",
            "api/views.py": "from ..runtime.controller import Controller\n",
            "runtime/controller.py": "import netlab.api.server\n",
        },
    )
    (cycle,) = find_cycles(import_graph(root))
    assert "netlab.api.server (line 1) -> netlab.api.views" in cycle
    assert "netlab.api.views (line 1) -> netlab.runtime.controller" in cycle
    assert "netlab.runtime.controller (line 1) -> netlab.api.server" in cycle
    assert find_forbidden(import_graph(root)) == [
        "netlab.api.views (line 1) imports netlab.runtime.controller: netlab.api must not import it"
    ]


@pytest.mark.parametrize("layer", ["model", "compile"])
@pytest.mark.parametrize("target", ["kernel.nft", "runtime.files", "api.client", "cli"])
def test_pure_layer_importing_an_impure_one_is_reported(tmp_path, layer, target):
    package, _, name = target.rpartition(".")
    files = {f"{package or target}/__init__.py": "", f"{layer}/x.py": "def f():\n    import netlab." + target + "\n"}
    if package:
        files[f"{package}/{name}.py"] = ""
    problems = find_forbidden(import_graph(_package(tmp_path, files)))
    assert problems == [f"netlab.{layer}.x (line 2) imports netlab.{target}: netlab.{layer} must not import it"]


def test_clean_layering_passes(tmp_path):
    root = _package(
        tmp_path,
        {
            "model/core.py": "",
            "compile/names.py": "from ..model import core\n",
            "runtime/controller.py": "from netlab.compile import names\nfrom netlab.api import server\n",
            "api/server.py": "from .backend import Backend\n",
            "api/backend.py": "from typing import Protocol\n",
        },
    )
    graph = import_graph(root)
    assert find_cycles(graph) == [] and find_forbidden(graph) == []
    assert graph["netlab.compile.names"] == {"netlab.model.core": 1}


def test_test_modules_have_unique_basenames() -> None:
    """pytest imports test files by basename (no packages): two with one name stop the whole run's collection."""
    root = Path(__file__).resolve().parents[1]
    seen: dict[str, Path] = {}
    for path in sorted(root.rglob("test_*.py")):
        assert path.name not in seen, f"{path} and {seen[path.name]} share a basename"
        seen[path.name] = path
