"""The import graph of ``minitorch`` and ``autograder``, read from the source: no cycle, and every import
points down the layers of CONTRIBUTING.md (backend <- kernels <- autograd <- nn, optim <- data, models <- cli).

Imports inside functions count as much as those at the top of a module: a lazy import that hides a cycle is
still a cycle (it only moves the failure from import time to a call), so it fails here too.
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("minitorch", "autograder")


# ----------------------------------------------------------------------------- the graph
def find_modules(root=ROOT, packages=PACKAGES):
    """{dotted module name: (path, is_package)} of every .py file under ``packages``."""
    modules = {}
    for package in packages:
        for folder, dirs, files in os.walk(os.path.join(root, package)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and os.path.isfile(os.path.join(folder, d,
                                                                                                   "__init__.py")))
            parts = os.path.relpath(folder, root).split(os.sep)
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                if name == "__init__.py":
                    modules[".".join(parts)] = (os.path.join(folder, name), True)
                else:
                    modules[".".join(parts + [name[:-3]])] = (os.path.join(folder, name), False)
    return modules


def _resolve_absolute(dotted, modules):
    """The longest prefix of ``dotted`` that is one of ``modules`` (``import a.b.c`` runs a, a.b and a.b.c;
    the deepest is what the importer asked for), or None for a module outside them."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in modules:
            return name
    return None


def imports_of(name, tree, is_package, modules):
    """{imported module: first line} for every import statement in ``tree`` (any depth: functions, classes,
    ``if`` blocks), restricted to ``modules``."""
    found = {}

    def add(target, line):
        if target is not None and target != name:
            found.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_resolve_absolute(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:  # from package import submodule
                    add(sub, node.lineno)
                else:  # from module import name: the module (a package's __init__) runs
                    add(_resolve_absolute(source, modules), node.lineno)
    return found


def import_graph(root=ROOT, packages=PACKAGES):
    """{module: {imported module: line}} of ``packages`` under ``root``."""
    modules = find_modules(root, packages)
    graph = {}
    for name, (path, is_package) in modules.items():
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
        graph[name] = imports_of(name, tree, is_package, modules)
    return graph


# ----------------------------------------------------------------------------- cycles
def strongly_connected(graph):
    """The strongly connected components of ``graph`` (Tarjan's algorithm, iterative), each a sorted list."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
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
                    work.append((child, iter(sorted(graph.get(child, ())))))
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
                out.append(sorted(component))
    return out


def a_cycle(graph, component):
    """One cycle through the first module of ``component`` (a strongly connected component of more than one
    module, or one that imports itself), as [a, b, ..., a]: the shortest, found breadth first."""
    inside = set(component)
    start = component[0]
    parent = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child == start:
                    path = [node]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return [start] + path[::-1][1:] + [start] if len(path) > 1 or node != start else [start, start]
                if child in inside and child not in parent:
                    parent[child] = node
                    nxt.append(child)
        frontier = nxt
    raise ValueError(f"{component} holds no cycle")


def find_cycles(graph):
    """One cycle per strongly connected component that has one, each as [a, b, ..., a]."""
    return [a_cycle(graph, c) for c in strongly_connected(graph)
            if len(c) > 1 or c[0] in graph.get(c[0], ())]


def describe(graph, cycle):
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


# ----------------------------------------------------------------------------- layers
# minitorch's parts from the bottom up; a module may import its own layer and those below, never above.
# Every top-level module and subpackage of minitorch must be listed, so a new one is placed on purpose.
LAYERS = [
    {"errors"},  # UsageError: imports nothing
    {"backend"},
    {"kernels"},
    {"autograd", "testing"},
    {"nn", "optim", "amp", "checkpoint", "cuda", "backends", "linalg", "__init__"},
    {"data", "models", "generation", "utils", "plots", "gradflow", "graphviz_draw"},
    {"cli"},
    # ``python -m minitorch.<tool>`` entry points, kept for compatibility: they only start minitorch.cli.<tool>
    {"train", "generate", "evaluate", "viz", "flops", "_cli"},
]
ENTRY_POINTS = LAYERS[-1]


def part_of(module):
    """'kernels' for minitorch.kernels.attention, '__init__' for minitorch itself, None outside minitorch."""
    parts = module.split(".")
    if parts[0] != "minitorch":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module):
    part = part_of(module)
    for i, layer in enumerate(LAYERS):
        if part in layer:
            return i
    raise KeyError(f"{module}: its part {part!r} is in no layer of tests/test_import_graph.py LAYERS: "
                   "place it there (what may it import, what imports it?)")


def upward_imports(graph):
    """'a (line n) imports b, a higher layer' for every minitorch import against the layers."""
    bad = []
    for module, targets in sorted(graph.items()):
        if part_of(module) is None:
            continue
        for target, line in sorted(targets.items()):
            if part_of(target) is None or part_of(target) == part_of(module):
                continue
            if layer_of(target) > layer_of(module):
                bad.append(f"{module} (line {line}) imports {target}, a higher layer")
    return bad


# ----------------------------------------------------------------------------- the checks
@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_graph_sees_the_packages(graph):
    # sanity: the walk found the modules and their imports, top-level and inside functions
    assert {"minitorch", "minitorch.cli.train", "minitorch.models.registry", "autograder.sandbox"} <= set(graph)
    assert "minitorch.models.registry" in graph["minitorch.cli.train"]
    assert "minitorch.autograd" in graph["minitorch.nn.functional"] or any(
        t.startswith("minitorch.autograd") for t in graph["minitorch.nn.functional"])


# Cycles known and being removed, each as the set of its modules: the check fails on any other cycle, and on
# an entry here that is no longer a cycle (delete it then). None at present.
KNOWN_CYCLES = []


def test_no_import_cycle(graph):
    cycles = find_cycles(graph)
    new = [c for c in cycles if set(c) not in KNOWN_CYCLES]
    assert not new, "import cycles (move what both sides need below them):\n" + "\n".join(
        describe(graph, c) for c in new)
    gone = [k for k in KNOWN_CYCLES if k not in [set(c) for c in cycles]]
    assert not gone, f"no longer import cycles: delete them from KNOWN_CYCLES in {__file__}: {gone}"


def test_every_import_points_down_the_layers(graph):
    for module in graph:
        if part_of(module) is not None:
            layer_of(module)  # every part placed
    bad = upward_imports(graph)
    assert not bad, "imports against the layers of CONTRIBUTING.md:\n" + "\n".join(bad)


def test_kernels_are_pure_and_nothing_below_the_cli_imports_it(graph):
    for module, targets in graph.items():
        if module.startswith(("minitorch.kernels", "minitorch.backend")):
            assert not [t for t in targets if t.startswith(("minitorch.autograd", "minitorch.nn"))], module
        if part_of(module) not in (None, "cli") and part_of(module) not in ENTRY_POINTS:
            assert not [t for t in targets if t.startswith("minitorch.cli")], module


def test_entry_points_only_start_the_cli(graph):
    for part in ENTRY_POINTS - {"_cli"}:
        assert f"minitorch.cli.{part}" in graph[f"minitorch.{part}"], part
    # nothing imports them, not even each other: they are kept for compatibility with code outside the repository
    users = [f"{module} (line {line}) imports {target}" for module, targets in sorted(graph.items())
             for target, line in sorted(targets.items()) if part_of(target) in ENTRY_POINTS and target.count(".") == 1]
    assert not users, ("minitorch.train, .generate, .evaluate, .viz, .flops and ._cli only start the tools and are "
                       "kept for compatibility: import from minitorch.cli.<tool>, minitorch.cli.common or "
                       "minitorch.models.registry instead:\n" + "\n".join(users))


# ----------------------------------------------------------------------------- the checker itself
def test_cycle_finder_on_a_synthetic_graph():
    g = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}, "e": {"e": 5}, "f": {"d": 6}}
    cycles = find_cycles(g)
    assert sorted(map(tuple, cycles)) == [("a", "b", "c", "a"), ("e", "e")]
    assert describe(g, cycles[0] if cycles[0][0] == "a" else cycles[1]) == "a (line 1) -> b (line 2) -> c (line 3) -> a"
    assert find_cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {}}) == []
    # two cycles sharing a module make one component; the reported cycle is a real one
    g2 = {"x": {"y": 1, "z": 1}, "y": {"x": 1}, "z": {"x": 1}}
    (cycle,) = find_cycles(g2)
    assert all(b in g2[a] for a, b in zip(cycle, cycle[1:])) and cycle[0] == cycle[-1]


def test_the_graph_reads_imports_at_any_depth(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {"__init__.py": "from . import a\n",
             "a.py": "def f():\n    from .sub import b\n    return b\n",
             "sub/__init__.py": "",
             "sub/b.py": "import os\n\nclass C:\n    def g(self):\n        from ..a import f\n"
                         "        import pkg.sub\n        return f\n"}
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    g = import_graph(str(tmp_path), ("pkg",))
    assert g == {"pkg": {"pkg.a": 1}, "pkg.a": {"pkg.sub.b": 2}, "pkg.sub": {},
                 "pkg.sub.b": {"pkg.a": 5, "pkg.sub": 6}}
    assert find_cycles(g) == [["pkg.a", "pkg.sub.b", "pkg.a"]]
    assert "pkg.a (line 2) -> pkg.sub.b (line 5) -> pkg.a" == describe(g, find_cycles(g)[0])


def test_an_upward_import_is_reported():
    g = {"minitorch.kernels.x": {"minitorch.autograd.tensor": 3}, "minitorch.autograd.tensor": {}}
    assert upward_imports(g) == ["minitorch.kernels.x (line 3) imports minitorch.autograd.tensor, a higher layer"]
    with pytest.raises(KeyError, match="no layer"):
        layer_of("minitorch.brand_new")
