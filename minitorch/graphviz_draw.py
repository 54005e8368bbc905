"""Drawings of the tape behind a tensor (Graphviz), torchviz-style.

    loss = model(x).sum()
    g = draw_graph(loss, params=dict(model.named_parameters()))   # a graphviz.Digraph
    g                                   # in a notebook: shown as SVG
    save_graph(g, "graph.svg")          # or .png / .pdf (needs the dot binary), .gv / .dot (the source)

One box per recorded op (its Function's name), one node per leaf tensor (a parameter's name, shape, dtype,
requires_grad), edges in the direction of the forward, each labelled with the shape of the tensor it carries.
``show_grads=True`` adds each leaf's gradient (shape and norm); run ``backward(retain_graph=True)`` first, since a
plain ``backward()`` frees the graph (minitorch/autograd/engine.py releases every node it passes).

Large graphs: record which ``nn.Module`` each op ran in with ``record_scopes(model)`` around the forward, then
``depth=k`` draws every module called more than ``k`` levels deep as one box; ``max_nodes`` caps the drawing (first
by collapsing modules, then by leaving out the nodes furthest from the output), and the graph's title says what
was collapsed or left out (also in ``g.minitorch_note``).
"""
import shutil
import weakref
from collections import deque

from .utils.scopes import ModuleScopeObserver

EXTRAS_HINT = "pip install graphviz, or pip install \"minitorch-course[viz]\""
DOT_HINT = "install Graphviz's dot program: apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS)"


def _graphviz():
    try:
        import graphviz  # noqa: PLC0415
    except ImportError as err:
        raise ImportError(f"drawing graphs needs the graphviz Python package ({EXTRAS_HINT})") from err
    return graphviz


def dot_available():
    """Whether Graphviz's ``dot`` program is on PATH (needed to render SVG/PNG/PDF, not for the source)."""
    return shutil.which("dot") is not None


class record_scopes(ModuleScopeObserver):
    """``with record_scopes(model) as scopes: loss = ...``: notes, for every op recorded during the block, the
    stack of modules it ran in (qualified names as in ``named_modules``, the model itself being ``''``).
    Pass ``scopes`` to ``draw_graph(..., scopes=scopes, depth=k)``."""

    def __init__(self, model):
        super().__init__(model)
        self.of = weakref.WeakKeyDictionary()  # Context -> tuple of module names, outermost first
        self.types = {}  # module name -> class name

    def __enter__(self):
        self.types.update((name, type(module).__name__) for name, module in self.model.named_modules())
        self._attach()
        return self

    def __exit__(self, *exc):
        self._detach()
        return False

    def _note(self, ctx):
        self.of[ctx] = tuple(self._stack)


def _fmt_shape(shape):
    return "(" + ", ".join(str(int(n)) for n in shape) + ")"


def _norm(t):
    import numpy as np  # noqa: PLC0415

    from .backend import to_numpy  # noqa: PLC0415

    return float(np.sqrt(np.sum(np.square(to_numpy(t.data).astype(np.float64)))))


class _Graph:
    """The nodes and edges of the tape behind ``roots`` (a plain description, before any drawing)."""

    def __init__(self, roots):
        self.ops = []  # Context objects, reverse topological order from the roots (breadth first)
        self.leaves = {}  # id(tensor) -> tensor
        self.edges = []  # (src key, dst key, tensor carried); keys ('op', ctx) / ('leaf', id) / ('out', i)
        seen = set()
        queue = deque()
        for i, r in enumerate(roots):
            if r._ctx is None:
                self.leaves[id(r)] = r
                self.edges.append((("leaf", id(r)), ("out", i), r))
                continue
            if r._ctx.freed:
                raise RuntimeError(
                    "draw_graph: the graph behind this tensor was freed by backward(); draw it before backward(), "
                    "or call backward(retain_graph=True) to keep it (and show_grads=True to see the gradients)")
            self.edges.append((("op", r._ctx), ("out", i), r))
            if r._ctx not in seen:
                seen.add(r._ctx)
                queue.append(r._ctx)
        while queue:
            node = queue.popleft()
            self.ops.append(node)
            for t in node.inputs:
                if t is None:
                    continue
                if t._ctx is None:
                    self.leaves[id(t)] = t
                    self.edges.append((("leaf", id(t)), ("op", node), t))
                else:
                    self.edges.append((("op", t._ctx), ("op", node), t))
                    if t._ctx not in seen:
                        seen.add(t._ctx)
                        queue.append(t._ctx)


def draw_graph(root, params=None, model=None, scopes=None, depth=None, max_nodes=300, show_grads=False,
               show_shapes=True, show_constants=False, title=None):
    """A ``graphviz.Digraph`` of the tape behind ``root`` (a Tensor, or a list of Tensors).

    params: ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) to label parameters by name;
        ``model`` does the same from ``model.named_parameters()`` (by default the model of ``scopes``).
    scopes: a ``record_scopes`` used around the forward; with ``depth=k``, every module called at nesting level
        k + 1 is drawn as one box holding its ops and parameters (level 1: the modules the model's forward calls;
        containers that are never called, ModuleList and ModuleDict, do not count). ``depth=None`` draws every op.
    max_nodes: the most nodes to draw; beyond it modules are collapsed (when ``scopes`` is given) and then the
        nodes furthest from the output are left out, and the title says so.
    show_grads: each leaf's ``.grad`` shape and norm (after ``backward(retain_graph=True)``).
    show_shapes: label each edge with the shape of the tensor it carries.
    show_constants: also draw 1-element leaves that need no gradient (the scalars of ``x * 2``).
    """
    graphviz = _graphviz()
    roots = list(root) if isinstance(root, (list, tuple)) else [root]
    from .autograd import Tensor  # noqa: PLC0415

    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"draw_graph: expected a Tensor (or a list of Tensors), got {type(r).__name__}")
    if max_nodes is not None and max_nodes < 2:
        raise ValueError(f"draw_graph: max_nodes must be at least 2, got {max_nodes}")
    if depth is not None and depth < 0:
        raise ValueError(f"draw_graph: depth must be 0 or more, got {depth}")
    if depth is not None and scopes is None:
        raise ValueError("draw_graph: depth needs the module of each op: run the forward inside "
                         "'with record_scopes(model) as scopes:' and pass scopes=scopes")
    names = {}
    if model is None and scopes is not None:
        model = scopes.model
    if model is not None:
        names.update({id(p): n for n, p in model.named_parameters()})
    if params is not None:
        names.update({id(p): n for n, p in dict(params).items()})
    graph = _Graph(roots)
    if not show_constants:
        drop = {k for k, t in graph.leaves.items()
                if not t._requires_grad and int(t.data.size) == 1 and k not in names}
        graph.leaves = {k: t for k, t in graph.leaves.items() if k not in drop}
        graph.edges = [e for e in graph.edges if not (e[0][0] == "leaf" and e[0][1] in drop)]

    notes = []
    level = depth
    layout = _layout(graph, names, scopes, level, show_grads)
    if max_nodes is not None and len(layout.nodes) > max_nodes and scopes is not None:
        start = level - 1 if level is not None else max((len(s) for s in scopes.of.values()), default=2) - 2
        for level in range(start, -1, -1):
            layout = _layout(graph, names, scopes, level, show_grads)
            if len(layout.nodes) <= max_nodes:
                break
        notes.append(f"{len(graph.ops)} ops: modules nested deeper than {level} level"
                     f"{'s' if level != 1 else ''} collapsed ({layout.collapsed_ops} ops in "
                     f"{layout.collapsed_modules} module boxes) to stay within max_nodes={max_nodes}")
    elif level is not None and layout.collapsed_modules:
        notes.append(f"{layout.collapsed_ops} of {len(graph.ops)} ops collapsed into {layout.collapsed_modules} "
                     f"module boxes (depth={level})")
    if max_nodes is not None and len(layout.nodes) > max_nodes:
        left_out = layout.truncate(max_nodes)
        notes.append(f"{left_out} nodes furthest from the output left out (max_nodes={max_nodes}"
                     + ("" if scopes is not None else "; record_scopes(model) and depth=... collapse by module")
                     + ")")

    g = graphviz.Digraph("minitorch", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "11"},
                         node_attr={"fontname": "Helvetica", "fontsize": "10", "shape": "box",
                                    "style": "filled,rounded", "height": "0.3"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "8", "color": "#555555"})
    heading = [title] if title else []
    heading += notes
    if heading:
        g.attr(label="\n".join(heading), labelloc="t", fontsize="11")
    for key, (label, kind) in layout.nodes.items():
        g.node(key, label=label, **_STYLE[kind])
    shapes = {}
    for src, dst, t in graph.edges:
        a, b = layout.key(src), layout.key(dst)
        if a is None or b is None or a == b:
            continue
        shapes.setdefault((a, b), set()).add(_fmt_shape(t.shape))
    for (a, b), ss in shapes.items():
        if a in layout.nodes and (b in layout.nodes or b.startswith("out")):
            g.edge(a, b, label=" " + ", ".join(sorted(ss)) if show_shapes and len(ss) <= 2 else "")
    for a, b in layout.extra_edges:
        g.edge(a, b, style="dashed")
    for i, r in enumerate(roots):
        out_label = f"output {i}" if len(roots) > 1 else "output"
        g.node(f"out{i}", label=f"{out_label}\n{_fmt_shape(r.shape)} {r.dtype}", **_STYLE["out"])
    g.minitorch_note = "; ".join(notes)
    return g


_STYLE = {
    "op": {"fillcolor": "#e8e8e8"},
    "param": {"fillcolor": "#cfe2f3", "shape": "box", "style": "filled"},
    "input": {"fillcolor": "#f4f4f4", "shape": "box", "style": "filled,dashed"},
    "module": {"fillcolor": "#fde9c7", "shape": "box3d", "style": "filled"},
    "more": {"fillcolor": "#ffffff", "shape": "note", "style": "filled,dashed"},
    "out": {"fillcolor": "#d9ead3", "shape": "box", "style": "filled,bold"},
}


_PLURAL = {"param": "parameters", "input": "inputs", "module": "module boxes"}


class _Layout:
    """Which drawn node each op/leaf/output becomes: keys -> (label, kind)."""

    def __init__(self):
        self.nodes = {}
        self.map = {}
        self.collapsed_ops = 0
        self.collapsed_modules = 0
        self.extra_edges = []
        self.order = []  # drawn keys, nearest the output first
        self.module_keys = {}

    def key(self, k):
        if k[0] == "out":
            return f"out{k[1]}"
        return self.map.get(k)

    def truncate(self, max_nodes):
        """Keep the ``max_nodes - 1`` nodes nearest the output and one note for the rest."""
        keep = set(self.order[:max_nodes - 1])
        dropped = [k for k in self.nodes if k not in keep]
        kinds = {}
        for k in dropped:
            label, kind = self.nodes[k]
            first = label.split("\n")[0]
            what = first if kind == "op" else _PLURAL[kind]
            kinds[what] = kinds.get(what, 0) + 1
        for k in dropped:
            del self.nodes[k]
        common = ", ".join(f"{n} {name}" for name, n in sorted(kinds.items(), key=lambda x: -x[1])[:4])
        self.nodes["more"] = (f"... {len(dropped)} more nodes not drawn\n({common})", "more")
        self.map = {k: (v if v in self.nodes else "more") for k, v in self.map.items()}
        return len(dropped)


def _layout(graph, names, scopes, level, show_grads):
    out = _Layout()
    module_of = {}

    def box(scope):
        return scope[level + 1] if scopes is not None and level is not None and len(scope) > level + 1 else None

    for i, node in enumerate(graph.ops):
        scope = scopes.of.get(node, ()) if scopes is not None else ()
        mod = box(scope)
        if mod is not None:
            key = out.module_keys.setdefault(mod, f"m{len(out.module_keys)}")
            if key not in out.nodes:
                kind_name = scopes.types.get(mod, "Module")
                out.nodes[key] = [mod, kind_name, 0]
                out.collapsed_modules += 1
            out.nodes[key][2] += 1
            out.collapsed_ops += 1
            out.map[("op", node)] = key
            module_of[key] = mod
        else:
            key = f"op{i}"
            label = node.name
            if node.n_outputs > 1:
                label += f"\n{node.n_outputs} outputs"
            out.nodes[key] = (label, "op")
            out.map[("op", node)] = key
    counts = {}
    for i, (tid, t) in enumerate(graph.leaves.items()):
        name = names.get(tid)
        mod = None
        if name is not None and level is not None and scopes is not None:
            for key, prefix in module_of.items():
                if name.startswith(prefix + "."):
                    mod = key
                    break
        if mod is not None:
            out.map[("leaf", tid)] = mod
            counts[mod] = counts.get(mod, 0) + int(t.data.size)
            continue
        key = f"t{i}"
        is_param = name is not None or (t._requires_grad and type(t).__name__ == "Parameter")
        head = name if name is not None else ("parameter" if is_param else "input")
        label = f"{head}\n{_fmt_shape(t.shape)} {t.dtype}\nrequires_grad={t._requires_grad}"
        if show_grads and t.grad is not None:
            label += f"\ngrad {_fmt_shape(t.grad.shape)} norm {_norm(t.grad):.4g}"
        out.nodes[key] = (label, "param" if t._requires_grad else "input")
        out.map[("leaf", tid)] = key
    for key, value in list(out.nodes.items()):
        if isinstance(value, list):
            mod, kind_name, n_ops = value
            params = counts.get(key, 0)
            label = f"{mod} ({kind_name})\n{n_ops} op{'s' if n_ops != 1 else ''}"
            if params:
                label += f", {params:,} parameters"
            out.nodes[key] = (label, "module")
    seen = set()
    for src, _, _ in graph.edges:  # nearest the output first (the edges were found breadth first from it)
        key = out.key(src)
        if key not in seen:
            seen.add(key)
            out.order.append(key)
    return out


def save_graph(graph, path):
    """Write ``graph`` (from ``draw_graph``) to ``path``: .svg, .png or .pdf are rendered with dot, .gv or .dot
    get the Graphviz source. Returns ``path``."""
    import os  # noqa: PLC0415

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in ("gv", "dot"):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(graph.source)
        return path
    if ext not in ("svg", "png", "pdf"):
        raise ValueError(f"{path}: unknown graph format {ext!r}: use .svg, .png, .pdf, or .gv for the source")
    if not dot_available():
        raise RuntimeError(f"rendering {path} needs Graphviz's dot program, which is not on PATH ({DOT_HINT}); "
                           "a .gv file needs no dot")
    data = graph.pipe(format=ext)
    with open(path, "wb") as fh:
        fh.write(data)
    return path
