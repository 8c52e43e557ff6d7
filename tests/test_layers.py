"""Import layers and import cycles of the installed packages: ``tsbench``, ``tsbench.baselines`` (``baselines/``)
and ``tsbench.metrics`` (``metrics/``). See docs/architecture.md for the diagram.

The graph is built from the source with :mod:`ast`, without importing anything: one node per module, one edge
per ``import`` / ``from … import`` statement anywhere in the module — at module level, inside functions (the
lazy imports that keep ``tsbench list`` free of torch) and under ``if TYPE_CHECKING:``. ``from pkg import name``
is an edge to ``pkg.name`` when that is a module, else to ``pkg``. Imports written as strings
(``importlib.import_module``, entry points) are not seen: they are the plugin mechanism.

One node is not a module: the imports inside a module-level ``__getattr__`` (PEP 562) run only when a missing
attribute is looked up, never when the module is imported, so they belong to ``"<module>:__getattr__"``; a
``from module import name`` of a name the module does not define is an edge to that node. This is how
``tsbench.evaluate`` etc. reach :mod:`tsbench.api` (the ``api`` layer) while ``import tsbench`` stays light
and the runner's ``from .. import __version__`` stays a plain import of the package.

Why not import-linter: its graph builder (grimp) walks the folder of the root package, so under the editable
install the README sets up it never sees ``tsbench.baselines`` / ``tsbench.metrics`` (they are mapped from
``baselines/`` and ``metrics/``, outside ``tsbench/``): ``grimp.build_graph("tsbench")`` lists no module of
either — the layers between the models and the rest would go unchecked.
"""
from __future__ import annotations

import ast
import fnmatch
import importlib.util
from collections import deque
from pathlib import Path

import pytest

PACKAGES = ("tsbench", "tsbench.baselines", "tsbench.metrics")

#: low → high; a module may import its own layer and the layers below it, never one above
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("tsbench", "tsbench.errors", "tsbench.naming", "tsbench.presets", "tsbench.protocols",
              "tsbench.seeding", "tsbench.validation", "tsbench.card", "tsbench.memory", "tsbench.records",
              "tsbench.registry", "tsbench.builtins", "tsbench.contract", "tsbench.plugin_files", "tsbench.params",
              "tsbench.provenance", "tsbench.atomic", "tsbench.peak_memory", "tsbench.determinism")),
    ("data", ("tsbench.dataset", "tsbench.data", "tsbench.data.*")),
    ("nn", ("tsbench.nn", "tsbench.nn.*")),
    ("models", ("tsbench.generator", "tsbench.metric", "tsbench.baselines", "tsbench.baselines.*",
                "tsbench.metrics", "tsbench.metrics.*")),
    ("evaluation", ("tsbench.evaluation",)),
    ("runner", ("tsbench.runner", "tsbench.runner.*")),
    ("tools", ("tsbench.report", "tsbench.report.*", "tsbench.sensitivity", "tsbench.testing",
               "tsbench.testing.*")),
    ("api", ("tsbench.api", "tsbench:__getattr__")),
    ("commands", ("tsbench.commands", "tsbench.commands.*")),
    ("cli", ("tsbench.cli",)),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}

#: import cycles accepted, each with its reason (none today: keep it that way)
ALLOWED_CYCLES: dict[frozenset[str], str] = {}


def modules_in(package: str, folder: Path) -> dict[str, Path]:
    """``{module name: source file}`` of the package ``package`` whose sources are in ``folder``."""
    modules: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if any(not p.isidentifier() for p in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join([package, *parts])] = path
    return modules


def package_modules() -> dict[str, Path]:
    """Every module of :data:`PACKAGES`, as installed (``tsbench.baselines`` lives in ``baselines/``)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)  # imports only the parents (``tsbench``, which is light)
        assert spec is not None and spec.submodule_search_locations, package
        for folder in spec.submodule_search_locations:
            modules.update(modules_in(package, Path(folder)))
    return modules


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


class Graph:
    """Edges ``{module: {imported module: first line}}`` over :func:`package_modules`."""

    def __init__(self, modules: dict[str, Path]):
        self.modules = modules
        self.trees = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in modules.items()}
        self.lazy = {name for name, tree in self.trees.items()
                     if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body)}
        self.defined = {name: _defined_names(self.trees[name]) for name in self.lazy}
        self.edges: dict[str, dict[str, int]] = {}
        for name, tree in self.trees.items():
            lazy_bodies = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
            lazy_nodes = {id(n) for body in lazy_bodies for n in ast.walk(body)}
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    source = f"{name}:__getattr__" if id(node) in lazy_nodes else name
                    for target in self._targets(name, node):
                        if target != source:
                            self.edges.setdefault(source, {}).setdefault(target, node.lineno)

    def _is_package(self, name: str) -> bool:
        return self.modules[name].name == "__init__.py"

    def _known(self, dotted: str) -> str | None:
        while dotted and dotted not in self.modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def _targets(self, name: str, node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [t for t in (self._known(a.name) for a in node.names) if t]
        if node.level:
            base = name.split(".") if self._is_package(name) else name.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        known = self._known(source)
        if known is None:
            return []
        out = []
        for alias in node.names:
            if f"{source}.{alias.name}" in self.modules:
                out.append(f"{source}.{alias.name}")
            elif known == source and known in self.lazy and alias.name not in self.defined[known]:
                out.append(f"{known}:__getattr__")  # served by the module's PEP 562 __getattr__
            else:
                out.append(known)
        return out

    def cycles(self) -> list[list[str]]:
        """Strongly connected components of more than one node (Tarjan), each as one concrete cycle."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []

        def visit(v: str) -> None:
            index[v] = low[v] = len(index)
            stack.append(v)
            on_stack.add(v)
            for w in self.edges.get(v, {}):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(self._cycle_through(min(component), set(component)))

        for v in sorted(set(self.edges) | {t for e in self.edges.values() for t in e}):
            if v not in index:
                visit(v)
        return found

    def _cycle_through(self, start: str, component: set[str]) -> list[str]:
        parent: dict[str, str] = {}
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for w in sorted(self.edges.get(v, {})):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if w in component and w not in parent:
                    parent[w] = v
                    queue.append(w)
        return sorted(component)


def layer_of(module: str) -> str | None:
    for name, patterns in LAYERS:
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return name
    if module.endswith(":__getattr__"):
        return layer_of(module.partition(":")[0])
    return None


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph(package_modules())


def test_the_graph_covers_every_package(graph):
    assert {"tsbench", "tsbench.cli", "tsbench.runner.execute", "tsbench.baselines.timegan",
            "tsbench.metrics.mmd"} <= set(graph.modules)
    assert "tsbench.runner.cells" in graph.edges["tsbench.runner.grid"]


def test_the_graph_sees_every_kind_of_import_and_finds_cycles(tmp_path):
    """On a made-up package: function-local, relative, ``TYPE_CHECKING`` and PEP 562 lazy imports."""
    files = {
        "__init__.py": "VERSION = '1'\ndef __getattr__(name):\n    from . import api\n    return getattr(api, name)\n",
        "api.py": "import pkg.low\n",
        "low.py": "def f():\n    from . import mid\n",
        "mid.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .low import f\n",
        "top.py": "from pkg import VERSION, evaluate\nfrom .sub import leaf\n",
        "sub/__init__.py": "", "sub/leaf.py": "from .. import VERSION\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    made_up = Graph(modules_in("pkg", tmp_path))
    assert {k: set(v) for k, v in made_up.edges.items()} == {
        "pkg:__getattr__": {"pkg.api"}, "pkg.api": {"pkg.low"}, "pkg.low": {"pkg.mid"}, "pkg.mid": {"pkg.low"},
        "pkg.top": {"pkg", "pkg:__getattr__", "pkg.sub.leaf"}, "pkg.sub.leaf": {"pkg"}}
    assert made_up.cycles() == [["pkg.low", "pkg.mid", "pkg.low"]]


def test_every_module_has_a_layer(graph):
    missing = sorted(m for m in graph.modules if layer_of(m) is None)
    assert not missing, f"place these modules in a layer of tests/test_layers.py (and docs/architecture.md): {missing}"


def test_no_import_cycles(graph):
    cycles = [c for c in graph.cycles() if frozenset(c) not in ALLOWED_CYCLES]
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_layers_are_respected(graph):
    violations = []
    for source, targets in sorted(graph.edges.items()):
        for target, line in sorted(targets.items()):
            if None in (layer_of(source), layer_of(target)):
                continue  # reported by test_every_module_has_a_layer
            if RANK[layer_of(target)] > RANK[layer_of(source)]:
                violations.append(f"{source} ({layer_of(source)}) imports {target} ({layer_of(target)}), "
                                  f"line {line}")
    assert not violations, "imports from a higher layer:\n" + "\n".join(violations)


@pytest.mark.parametrize("module, forbidden", [
    ("tsbench.data*", ("tsbench.runner*", "tsbench.commands*", "tsbench.report*", "tsbench.cli", "tsbench.api")),
    ("tsbench.nn*", ("tsbench.baselines*", "tsbench.metrics*", "tsbench.generator", "tsbench.metric", "tsbench.data*",
                     "tsbench.runner*", "tsbench.commands*", "tsbench.report*", "tsbench.cli", "tsbench.api")),
    ("tsbench.baselines*", ("tsbench.runner*", "tsbench.commands*", "tsbench.cli", "tsbench.api")),
    ("tsbench.metrics*", ("tsbench.runner*", "tsbench.commands*", "tsbench.cli", "tsbench.api")),
    ("tsbench.evaluation", ("tsbench.runner*", "tsbench.commands*", "tsbench.cli")),
    ("tsbench.runner*", ("tsbench.commands*", "tsbench.cli", "tsbench.api", "tsbench:__getattr__")),
])
def test_named_layer_rules(graph, module, forbidden):
    """The rules of docs/architecture.md spelled out (also implied by :func:`test_layers_are_respected`)."""
    bad = [f"{s} imports {t}" for s, targets in graph.edges.items() if fnmatch.fnmatchcase(s, module)
           for t in targets if any(fnmatch.fnmatchcase(t, f) for f in forbidden)]
    assert not bad, bad


def test_the_package_root_is_light_and_its_lazy_api_reaches_only_tsbench_api(graph):
    assert set(graph.edges.get("tsbench", {})) == set(), "`import tsbench` must import nothing of its own"
    assert set(graph.edges.get("tsbench:__getattr__", {})) <= {"tsbench.api"}


def test_the_sensitivity_study_is_imported_only_by_its_command(graph):
    """:mod:`tsbench.sensitivity` (``validate-metrics``; formerly ``tsbench.validate``) is an application of the
    runner, not a library: inside the packages only its command imports it."""
    importers = {s for s, targets in graph.edges.items() if "tsbench.sensitivity" in targets}
    assert importers <= {"tsbench.commands.validate_metrics"}, importers


def test_hand_written_kernels_are_written_once_in_tsbench_nn(graph):
    """Hand-written forward/backward passes (``torch.autograd.Function``) live in :mod:`tsbench.nn`, which both
    the generators and the metrics use: none is written inside a generator or metric module."""
    kernels = [f"{name}.{node.name}" for name, tree in graph.trees.items() for node in ast.walk(tree)
               if isinstance(node, ast.ClassDef)
               and any(ast.unparse(base).split(".")[-1] == "Function" for base in node.bases)]
    assert kernels and all(k.startswith("tsbench.nn.") for k in kernels), kernels
    for user in ("tsbench.baselines.*", "tsbench.metrics.*"):
        assert any(fnmatch.fnmatchcase(s, user) and any(t.startswith("tsbench.nn.") for t in targets)
                   for s, targets in graph.edges.items()), f"{user} no longer uses tsbench.nn"


def test_neither_the_packages_nor_the_scripts_import_the_tests(graph):
    """The test tree is not installed: no module of the packages and no script under scripts/ imports from it
    (test-only references live in tests/, shared code in the packages)."""
    scripts = sorted((Path(__file__).resolve().parents[1] / "scripts").glob("*.py"))
    bad = []
    for name, tree in [*graph.trees.items(), *((p.name, ast.parse(p.read_text(encoding="utf-8"))) for p in scripts)]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            else:
                continue
            bad += [f"{name} line {node.lineno}: {t}" for t in targets if t == "tests" or t.startswith("tests.")]
    assert scripts and not bad, bad


def test_the_architecture_doc_shows_every_layer():
    text = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    diagram = text.split("```")[1]
    starts = [line.split()[0] for line in diagram.splitlines() if line[:1] == " " and line[1:2].isalpha()]
    assert starts == [name for name, _ in reversed(LAYERS)], "docs/architecture.md's diagram lists the layers, top down"
