"""Running one case on a library: forward, backward with given upstream gradients, finite
differences. Used by the sandbox child (lib = the student's minitorch) and by the fixture
generator (lib = torch). Imports neither library itself.
"""
import os
import traceback

import numpy as np

from .tolerances import FD_COORDS, FD_DIRECTIONS, FD_FULL_MAX, FD_STEP


class Adapter:
    """The few library calls the runner needs, for torch or minitorch."""

    def __init__(self, lib, name):
        self.lib = lib
        self.name = name

    def tensor(self, arr, requires_grad=False):
        arr = np.array(arr, copy=True)
        if self.name == "torch":
            t = self.lib.from_numpy(arr)
        else:
            t = self.lib.tensor(arr)
        if requires_grad:
            t.requires_grad_(True)
        return t

    def is_tensor(self, obj):
        return isinstance(obj, self.lib.Tensor)

    def to_numpy(self, t, what):
        if not self.is_tensor(t):
            raise TypeError(f"{what} is a {type(t).__name__}, not a {self.name} Tensor")
        arr = np.asarray(t.detach().numpy() if self.name != "torch" else t.detach().cpu().numpy())
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{what} has dtype {arr.dtype}, which is not a numeric dtype")
        return np.array(arr, copy=True)

    def no_grad(self):
        return self.lib.no_grad()

    def backward(self, outs, douts):
        pairs = [(o, d) for o, d in zip(outs, douts) if d is not None and getattr(o, "requires_grad", False)]
        if not pairs:
            return
        if self.name == "torch":
            self.lib.autograd.backward([o for o, _ in pairs], [d for _, d in pairs])
            return
        for k, (o, d) in enumerate(pairs):
            o.backward(d, retain_graph=k < len(pairs) - 1)


def output_names(case, n):
    if case.outputs:
        if len(case.outputs) != n:
            raise ValueError(f"returned {n} outputs, expected {len(case.outputs)} ({', '.join(case.outputs)})")
        return list(case.outputs)
    return ["out"] if n == 1 else [f"out{i}" for i in range(n)]


def call(adapter, fn, case, arrays, dtype, opts, grad=True):
    """Build the input tensors and call ``fn``. Returns (inputs, outputs, names, leaves)."""
    tensors = {}
    for name, spec in case.inputs.items():
        a = arrays[name]
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        tensors[name] = adapter.tensor(a, requires_grad=grad and spec.grad and case.backward and a.dtype.kind == "f")
    res = fn(adapter.lib, *tensors.values(), **opts)
    leaves = None
    if isinstance(res, tuple) and len(res) == 2 and isinstance(res[1], dict):
        res, leaves = res
    outs = list(res) if isinstance(res, (tuple, list)) else [res]
    names = output_names(case, len(outs))
    merged = {n: tensors[n] for n in case.grad_inputs()}
    merged.update(leaves or {})
    return tensors, outs, names, merged


def forward_backward(adapter, case, fn, arrays, dtype, opts, douts=None, make_dout=None):
    """Run ``fn`` forward and (if the case has gradients) backward.

    ``douts``: {output name: upstream gradient array}; or ``make_dout(name, out_array)`` makes
    them (fixture generation). Returns (results, douts, errors): results holds 'out/<name>' and
    'grad/<input>' arrays; errors holds 'forward' / 'backward' / 'grad/<input>' messages."""
    if case.arrays:
        results, errors = run_arrays(adapter, case, fn, arrays, dtype, opts)
        return results, douts or {}, errors
    results, errors = {}, {}
    try:
        _, outs, names, leaves = call(adapter, fn, case, arrays, dtype, opts)
        for n, o in zip(names, outs):
            results[f"out/{n}"] = adapter.to_numpy(o, f"output {n!r}")
    except BaseException as e:  # noqa: BLE001 - anything student code raises is a failed check
        errors["forward"] = describe(e)
        return results, douts or {}, errors
    if not case.backward:
        return results, douts or {}, errors
    if douts is None:
        douts = {n: make_dout(n, results[f"out/{n}"]) for n in names if results[f"out/{n}"].dtype.kind == "f"}
    try:
        dts = [adapter.tensor(douts[n].astype(results[f"out/{n}"].dtype)) if n in douts else None for n in names]
        adapter.backward(outs, dts)
    except BaseException as e:  # noqa: BLE001
        errors["backward"] = describe(e)
        return results, douts, errors
    for n in case.grad_inputs():
        t = leaves.get(n)
        g = None if t is None else t.grad
        if g is None:
            errors[f"grad/{n}"] = (f"no gradient reached input {n!r} (its .grad is None after backward): "
                                   "the graph is not connected, or backward returned None for it")
            continue
        try:
            results[f"grad/{n}"] = adapter.to_numpy(g, f"the gradient of {n!r}")
        except BaseException as e:  # noqa: BLE001
            errors[f"grad/{n}"] = describe(e)
    return results, douts, errors


def run_arrays(adapter, case, fn, arrays, dtype, opts):
    """(results, errors) of an array-level case (``case.arrays``): ``fn`` gets NumPy arrays and
    returns a dict of arrays, graded as outputs."""
    results, errors = {}, {}
    try:
        args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in (arrays[n] for n in case.inputs)]
        res = fn(adapter.lib, *[np.array(a, copy=True) for a in args], **opts)
        if not isinstance(res, dict):
            raise TypeError(f"the test function returned {type(res).__name__}, not a dict of arrays")
        for n, v in res.items():
            v = np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
            if v.dtype.kind not in "biuf":
                raise TypeError(f"{n} has dtype {v.dtype}, which is not a numeric dtype")
            results[f"out/{n}"] = np.array(v, copy=True)
    except BaseException as e:  # noqa: BLE001
        errors["forward"] = describe(e)
    return results, errors


def objective(adapter, case, fn, arrays, opts, douts):
    """sum_k <out_k, dout_k> in float64, without recording a graph."""
    with adapter.no_grad():
        _, outs, names, _ = call(adapter, fn, case, arrays, "float64", opts, grad=False)
        total = 0.0
        for n, o in zip(names, outs):
            if n in douts:
                total += float((adapter.to_numpy(o, n).astype(np.float64) * douts[n]).sum())
    return total


def finite_differences(adapter, case, fn, arrays, opts, douts, grads, seed):
    """Central differences of the objective for every gradient input.

    Small inputs: the full gradient. Large ones: FD_DIRECTIONS random directional derivatives
    followed by FD_COORDS sampled coordinates. Returns {'fd/<name>/numeric': vec,
    'fd/<name>/analytic': vec} (analytic from ``grads``, the float64 backward)."""
    rng = np.random.default_rng(seed)
    out = {}
    h = FD_STEP
    for name in case.grad_inputs():
        if name not in grads:
            continue
        x = arrays[name].astype(np.float64)
        g = grads[name].astype(np.float64)
        if g.shape != x.shape:
            continue  # the shape mismatch is reported by the gradient check itself
        num, ana = [], []

        def deriv(direction, x=x, name=name):
            plus = dict(arrays)
            minus = dict(arrays)
            plus[name] = x + h * direction
            minus[name] = x - h * direction
            return (objective(adapter, case, fn, plus, opts, douts)
                    - objective(adapter, case, fn, minus, opts, douts)) / (2 * h)

        if x.size <= FD_FULL_MAX:
            coords = range(x.size)
        else:
            for _ in range(FD_DIRECTIONS):
                u = rng.standard_normal(x.shape)
                num.append(deriv(u))
                ana.append(float((g * u).sum()))
            coords = rng.choice(x.size, size=min(FD_COORDS, x.size), replace=False)
        for c in coords:
            e = np.zeros(x.size)
            e[c] = 1.0
            num.append(deriv(e.reshape(x.shape)))
            ana.append(float(g.reshape(-1)[c]))
        out[f"fd/{name}/numeric"] = np.array(num, dtype=np.float64)
        out[f"fd/{name}/analytic"] = np.array(ana, dtype=np.float64)
    return out


_ROOTS = []


def set_student_roots(*paths):
    """Tracebacks are summarised by their last frame under one of these directories."""
    _ROOTS[:] = [os.path.realpath(p) for p in paths]


def describe(exc):
    """'TypeError: message (at minitorch/kernels/x.py:12 in fn)' for an exception from student code."""
    if isinstance(exc, MemoryError):
        head = ("MemoryError: the code ran out of memory (the sandbox caps memory; "
                "is something allocating a huge array?)")
    elif isinstance(exc, RecursionError):
        head = "RecursionError: maximum recursion depth exceeded (use an iterative traversal)"
    else:
        msg = str(exc).strip().splitlines()
        head = f"{type(exc).__name__}: {msg[0] if msg else ''}".rstrip(": ")
        if len(head) > 400:
            head = head[:400] + "..."
    where = ""
    tb = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(tb):
        path = os.path.realpath(fr.filename)
        for root in _ROOTS:
            if path.startswith(root + os.sep):
                where = f" (at {os.path.relpath(path, root)}:{fr.lineno} in {fr.name})"
                break
        if where:
            break
    return head + where
