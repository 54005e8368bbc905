"""How a test case is declared.

A *case* is a callable under test plus its inputs, what to compare, and the hints that explain
recognisable mistakes. The same callable runs on ``minitorch`` (in the sandbox, on the student's
code) and on ``torch`` (in ``fixtures/generate.py``, to make the reference values), because
minitorch follows PyTorch's API::

    case("matmul/batched", test="matmul",
         fn=lambda lib, a, b: a @ b,
         inputs=dict(a=X("B", "N", "K"), b=X("K", "M")),
         dims=dict(B=3, N=2, K=4, M=5),
         scales={"the batch size": "B"})

``fn(lib, *tensors, **opts)`` returns a tensor, a tuple of tensors, or (for cases that build a
module) ``(outputs, leaves)`` where ``leaves`` maps input names to the tensors (parameters) whose
``.grad`` is the gradient of that input. Each floating output gets a random upstream gradient
(stored in the fixture), and the gradient of every input declared with ``grad=True`` is compared.

``ref`` (optional) is the torch implementation when ``fn`` uses names torch lacks. ``alts`` are
known-wrong versions ``[(hint, fn), ...]`` evaluated with torch at fixture time: a result that matches
one gets that hint (an alt function with ``forward_only = True`` keeps only its outputs in the
fixtures: for large families of variants such as every wrong gate order). ``check`` (optional) is a
parent-side property check for ops that cannot be compared with torch value by value (dropout).
"""
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

FLOAT_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class X:
    """A floating input of the given shape (ints or dim names).

    kind: 'randn' (standard normal * scale), 'uniform' (in [low, high]), 'distinct' (a random
    permutation of well separated values: no ties for max/sort), 'positive' (uniform in [0.5, 2]).
    away: push values at least this far from each of ``kinks`` (default 0) so finite differences
    never straddle a kink."""
    shape: tuple
    kind: str = "randn"
    grad: bool = True
    low: float = -1.0
    high: float = 1.0
    scale: float = 1.0
    away: float = 0.0
    kinks: tuple = (0.0,)

    def __init__(self, *shape, kind="randn", grad=True, low=-1.0, high=1.0, scale=1.0, away=0.0, kinks=(0.0,)):
        object.__setattr__(self, "shape", tuple(shape))
        for k, v in dict(kind=kind, grad=grad, low=low, high=high, scale=scale, away=away,
                         kinks=tuple(kinks)).items():
            object.__setattr__(self, k, v)

    def make(self, rng, dims):
        shape = resolve_shape(self.shape, dims)
        if self.kind == "randn":
            a = rng.standard_normal(shape) * self.scale
        elif self.kind == "uniform":
            a = rng.uniform(self.low, self.high, shape)
        elif self.kind == "positive":
            a = rng.uniform(0.5, 2.0, shape)
        elif self.kind == "distinct":
            n = int(np.prod(shape, dtype=np.int64))
            a = (rng.permutation(n) - n / 2) * 0.37 / max(1, n / 8) + rng.uniform(-0.01, 0.01, n)
            a = a.reshape(shape) * self.scale
        else:
            raise ValueError(f"unknown input kind {self.kind!r}")
        if self.away:
            for k in self.kinks:
                d = a - k
                close = np.abs(d) < self.away
                a = np.where(close, k + np.where(d >= 0, 1.0, -1.0) * (self.away + np.abs(d)), a)
        return a.astype(np.float64)


@dataclass(frozen=True)
class Idx:
    """An int64 index input with values in [0, high) (``high``: int or dim name). ``repeat``
    forces repeated values (embedding/gather backward must accumulate them)."""
    shape: tuple
    high: object = 2
    repeat: bool = False
    low: int = 0

    def __init__(self, *shape, high=2, repeat=False, low=0):
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "repeat", repeat)
        object.__setattr__(self, "low", low)

    grad = False

    def make(self, rng, dims):
        shape = resolve_shape(self.shape, dims)
        high = dims[self.high] if isinstance(self.high, str) else int(self.high)
        a = rng.integers(self.low, high, shape)
        if self.repeat and a.size >= 2:
            flat = a.reshape(-1)
            flat[-1] = flat[0]
            a = flat.reshape(shape)
        return a.astype(np.int64)


@dataclass(frozen=True)
class Mask:
    """A boolean input: True with probability ``p``; ``full_rows`` sets these rows (axis -2) entirely
    to ``fill`` (e.g. fully masked attention rows); ``upper``: True strictly above the diagonal;
    ``clear_first``: the first entry of every row False."""
    shape: tuple
    p: float = 0.5
    full_rows: tuple = ()
    fill: bool = True
    lower: bool = False
    upper: bool = False
    clear_first: bool = False

    def __init__(self, *shape, p=0.5, full_rows=(), fill=True, lower=False, upper=False, clear_first=False):
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "full_rows", tuple(full_rows))
        object.__setattr__(self, "fill", fill)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "clear_first", clear_first)

    grad = False

    def make(self, rng, dims):
        shape = resolve_shape(self.shape, dims)
        a = rng.random(shape) < self.p
        if self.lower:  # keep the diagonal True (every query may see itself) then random below
            n, m = shape[-2], shape[-1]
            tri = np.tril(np.ones((n, m), dtype=bool))
            a = a & tri | np.eye(n, m, dtype=bool)
        if self.upper:  # True strictly above the diagonal (torch's causal attn_mask: True = masked out)
            a = np.broadcast_to(np.triu(np.ones(shape[-2:], dtype=bool), 1), shape).copy()
        if self.clear_first:  # the first key is never masked (no row is fully masked)
            a[..., 0] = False
        for r in self.full_rows:
            if r < shape[-2]:
                a[..., r, :] = self.fill
        return a


def load(lib, module, params):
    """Copy ``params`` {dotted parameter path: tensor} into ``module`` (torch or minitorch) and
    return {path: the module's parameter}, whose ``.grad`` is the gradient of that input."""
    leaves = {}
    with lib.no_grad():
        for path, value in params.items():
            obj = module
            for part in path.split("."):
                obj = getattr(obj, part)
            if tuple(obj.shape) != tuple(value.shape):
                raise ValueError(f"parameter {path} has shape {tuple(obj.shape)}, the test gives {tuple(value.shape)}")
            obj.copy_(value)
            leaves[path] = obj
    return leaves


def resolve_shape(shape, dims):
    return tuple(dims[s] if isinstance(s, str) else int(s) for s in shape)


@dataclass
class Case:
    name: str
    test: str
    fn: Callable
    inputs: dict
    dims: dict = field(default_factory=dict)
    opts: object = None                 # dict, or callable(dims) -> dict
    ref: Optional[Callable] = None      # torch implementation (default: fn)
    dtypes: tuple = FLOAT_DTYPES
    fd: bool = True                     # finite-difference check of every gradient (float64)
    backward: bool = True               # compare gradients (False: forward only, e.g. optimizer steps)
    alts: tuple = ()                    # ((hint text, known-wrong fn), ...), evaluated with torch
    scales: dict = field(default_factory=dict)   # name -> dim name or callable(dims) (for scale hints)
    outputs: tuple = ()                 # names of the outputs (default out, or out0, out1, ...)
    check: Optional[Callable] = None    # parent-side property check (no torch reference)
    edge: str = ""                      # what edge case this is (shown in reports)
    hidden_dims: Optional[dict] = None  # dims for hidden fixtures (default: derived from dims)
    fixed: frozenset = frozenset()      # dims that hidden fixtures must keep
    arrays: bool = False                # fn takes and returns plain arrays ({name: array}); no autograd
    forward_points: bool = True         # False: the forward is given code, its checks carry no points
    gates: tuple = ()                   # gate names in PyTorch's order (("r", "z", "n")): parameters stacked
                                        # by gate along axis 0 (rows dims["H"] each) get per-gate hints

    def options(self, dims):
        if self.opts is None:
            return {}
        return dict(self.opts(dims)) if callable(self.opts) else dict(self.opts)

    def seed(self, base):
        return (zlib.crc32(self.name.encode()) + 7919 * int(base)) % (2 ** 31)

    def make_inputs(self, base_seed, dims):
        rng = np.random.default_rng(self.seed(base_seed))
        return {name: spec.make(rng, dims) for name, spec in self.inputs.items()}

    def grad_inputs(self):
        if not self.backward or self.arrays:
            return []
        return [n for n, s in self.inputs.items() if isinstance(s, X) and s.grad]

    def instance_ids(self):
        return [f"{self.name}[{dt}]" for dt in self.dtypes]

    def derive_hidden_dims(self, seed):
        if self.hidden_dims is not None:
            return dict(self.hidden_dims)
        rng = np.random.default_rng(self.seed(seed) + 1)
        out = {}
        for k, v in self.dims.items():
            keep = k in self.fixed or not isinstance(v, int) or v <= 1
            out[k] = v if keep else int(v + rng.integers(1, 3))
        return out


class Registry:
    """The cases of one assignment, in declaration order."""

    def __init__(self, assignment, **defaults):
        self.assignment = assignment
        self.defaults = defaults
        self.cases = {}

    def case(self, name, **kwargs):
        if name in self.cases:
            raise ValueError(f"duplicate case {name!r} in {self.assignment}")
        c = Case(name=name, **{**self.defaults, **kwargs})
        for k in c.inputs.values():
            for s in k.shape:
                if isinstance(s, str) and s not in c.dims:
                    raise ValueError(f"case {name}: dim {s!r} is not in dims")
        self.cases[name] = c
        return c

    def tests(self):
        seen = []
        for c in self.cases.values():
            if c.test not in seen:
                seen.append(c.test)
        return seen

    def __iter__(self):
        return iter(self.cases.values())

    def __getitem__(self, name):
        return self.cases[name]


def split_instance(instance_id):
    """'matmul/batched[float32]' -> ('matmul/batched', 'float32')."""
    name, _, rest = instance_id.rpartition("[")
    return name, rest.rstrip("]")


def load_registry(assignment):
    """The Registry of ``assignment`` (imports ``autograder.cases.<assignment>``)."""
    import importlib  # noqa: PLC0415

    mod = importlib.import_module(f"autograder.cases.{assignment}")
    return mod.REGISTRY
