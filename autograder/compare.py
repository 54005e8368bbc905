"""Comparing a result with its reference, with diagnostics and hints for recognisable mistakes.

Runs in the parent only. ``compare`` returns a ``Check`` whose message names the quantity,
the max absolute and relative error, the worst index with expected vs got there, shapes and
dtypes, and a hint when the error has a recognisable cause: transposed, wrong sign, scaled by a
named size (batch size, sqrt(d_k), ...), a known-wrong variant from the fixtures (gradient not
accumulated, mask not applied, wrong softmax axis, ...), not summed over broadcast dimensions,
all zeros, another quantity's value (outputs swapped), NaN/inf, wrong dtype.
"""
import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .tolerances import FD_RTOL, HINT_RTOL, tolerance

UPSTREAM_IGNORED = ("upstream gradient ignored: this is the gradient for an upstream gradient of all ones; "
                    "multiply by the incoming gradient (dout)")


@dataclass
class Check:
    name: str
    passed: bool
    message: str = ""
    hint: str = ""
    details: dict = field(default_factory=dict)
    points: float = 0.0
    max_points: float = 0.0
    weight: float = 1.0

    def as_dict(self):
        return {"name": self.name, "passed": self.passed, "points": round(self.points, 4),
                "max_points": round(self.max_points, 4), "message": self.message, "hint": self.hint,
                "details": self.details}


def _close(a, b, rtol=HINT_RTOL):
    """a ~ b relative to b's magnitude (used to recognise mistakes, not to pass tests)."""
    if a.shape != b.shape:
        return False
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(float(np.abs(b).max()) if b.size else 0.0, 1e-12)
    return float(np.abs(a - b).max() if a.size else 0.0) <= rtol * scale + 1e-12


def within_tolerance(got, expected):
    """Elementwise |got - expected| <= atol * max(1, max|expected|) + rtol * |expected| (NaNs must match)."""
    rtol, atol = tolerance(expected.dtype)
    e = expected.astype(np.float64)
    g = got.astype(np.float64)
    nan_e, nan_g = np.isnan(e), np.isnan(g)
    if not np.array_equal(nan_e, nan_g):
        return False, None
    finite = ~nan_e
    mag = max(1.0, float(np.abs(e[finite & np.isfinite(e)]).max()) if np.any(finite & np.isfinite(e)) else 1.0)
    with np.errstate(invalid="ignore"):
        diff = np.where(finite, np.abs(g - e), 0.0)
        same_inf = np.isinf(e) & (g == e)
        diff = np.where(same_inf, 0.0, diff)
        ok = diff <= atol * mag + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
    return bool(np.all(ok)), diff


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return str(v)


def _digits(*dtypes):
    """Significant digits that tell any two different values of these dtypes apart (round trip)."""
    n = 6
    for dt in dtypes:
        dt = np.dtype(dt)
        if dt.kind == "f":
            n = max(n, {2: 5, 4: 9}.get(dt.itemsize, 17))
    return n


def fmt_pair(expected, got, *dtypes):
    """``expected`` and ``got`` as text with the fewest significant digits (at least 6) that tell
    them apart: at most the round-trip precision of ``dtypes`` (9 for float32, 17 for float64),
    the shortest round-trip form when fewer digits do not suffice."""
    if not all(isinstance(v, (float, np.floating)) for v in (expected, got)):
        return str(expected), str(got)
    top = _digits(*dtypes) if dtypes else 17
    for n in range(6, top):
        a, b = f"{float(expected):.{n}g}", f"{float(got):.{n}g}"
        if a != b:
            return a, b
    if top <= 9:
        return str(np.float32(expected)), str(np.float32(got))
    return repr(float(expected)), repr(float(got))


def _allowed(expected, dtype=None):
    """The elementwise tolerance of ``within_tolerance`` for ``expected`` (of ``dtype``)."""
    rtol, atol = tolerance(dtype or expected.dtype)
    e = expected.astype(np.float64)
    fin = np.isfinite(e)
    mag = max(1.0, float(np.abs(e[fin]).max())) if np.any(fin) else 1.0
    return atol * mag + rtol * np.abs(np.where(fin, e, 0.0))


def error_details(got, expected):
    """Max abs and rel errors, and the worst entry: the one furthest outside its tolerance
    (for exact dtypes: the first entry that differs), with expected and got there."""
    e = expected.astype(np.float64)
    g = got.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g - e)
        same = (g == e) | (np.isnan(g) & np.isnan(e))
        diff = np.where(same, 0.0, np.where(np.isnan(diff), np.inf, diff))
    if diff.size == 0:
        return {}
    if expected.dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            badness = diff / np.maximum(_allowed(expected), 1e-300)
        flat = int(np.argmax(badness))
    else:
        flat = int(np.argmax(diff > 0))
    idx = tuple(int(i) for i in np.unravel_index(flat, e.shape)) if e.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff / np.maximum(np.abs(e), 1e-12)
    rel = np.where(np.isnan(rel), np.inf, rel)
    return {"max_abs_error": float(diff.max()), "max_rel_error": float(rel.max()), "worst_index": list(idx),
            "expected_at_worst": float(e.reshape(-1)[flat]), "got_at_worst": float(g.reshape(-1)[flat])}


def _unbroadcast(g, shape):
    shape = tuple(shape)
    extra = g.ndim - len(shape)
    if extra < 0:
        return None
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g if g.shape == shape else None


def _scale_hint(got, expected, scales):
    e = expected.astype(np.float64).reshape(-1)
    g = got.astype(np.float64).reshape(-1)
    denom = float(e @ e)
    if denom < 1e-24:
        return ""
    c = float(g @ e) / denom
    if not np.isfinite(c) or abs(c - 1) < 1e-3 or abs(c) < 1e-9:
        return ""
    if not _close(g, c * e, 1e-4):
        return ""
    named = [(n, float(v)) for n, v in scales if v and float(v) not in (0.0, 1.0, -1.0)]
    for sign, prefix in ((1.0, ""), (-1.0, "wrong sign and ")):
        for power, verb in ((1, "scaled by"), (-1, "divided by")):
            hits = [f"{n} = {v:g}" for n, v in named if math.isclose(c, sign * v ** power, rel_tol=1e-3)]
            if power == 1 and math.isclose(c, sign * 2.0, rel_tol=1e-3):
                hits.append("2 (counted twice?)" if not hits else "counted twice")
            if hits:
                what = hits[0] + (" (or " + ", ".join(hits[1:]) + ")" if len(hits) > 1 else "")
                return f"{prefix}{verb} {what}: got {c:.6g} x the expected value"
    return f"off by a constant factor: got {c:.6g} x the expected value"


def _gate_hint(got, expected, gates, dtype):
    """``gates``: (gate names in PyTorch's order, H) for a parameter gradient stacked by gate along
    axis 0: which gate blocks are wrong, or the blocks in another order."""
    names, h = gates
    k = len(names)
    if k < 2 or expected.ndim < 1 or expected.shape[0] != k * h:
        return ""
    blocks_g = [got[i * h:(i + 1) * h] for i in range(k)]
    blocks_e = [expected[i * h:(i + 1) * h] for i in range(k)]
    for perm in itertools.permutations(range(k)):
        if list(perm) != list(range(k)) and all(_close(blocks_g[i], blocks_e[perm[i]]) for i in range(k)) \
                and not all(_close(blocks_e[i], blocks_e[perm[i]], 1e-6) for i in range(k)):
            order = ", ".join(names[p] for p in perm)
            return (f"gate blocks in the wrong order: the row blocks hold the gates ({order}); PyTorch's order is "
                    f"({', '.join(names)})")
    ok = np.abs(got - expected) <= _allowed(expected, dtype)
    good = [bool(np.all(ok[i * h:(i + 1) * h])) for i in range(k)]
    bad = [i for i in range(k) if not good[i]]
    if 0 < len(bad) < k:
        which = ", ".join(f"{names[i]} (rows {i * h}:{(i + 1) * h})" for i in bad)
        verb = "is" if len(bad) == 1 else "are"
        return (f"only the block of gate {which} {verb} wrong; the other gates are right "
                f"(PyTorch's gate order {', '.join(names)})")
    return ""


def diagnose(got, expected, scales=(), alts=(), others=(), gates=None):
    """A hint for a wrong result, or ''. ``alts``: [(hint, wrong array)]; ``others``: [(name, its
    expected array, its returned array or None)] for the case's other quantities of the same kind;
    ``scales``: [(name, value)]; ``gates``: (gate names, H) for a gate-stacked parameter gradient."""
    if got.shape != expected.shape:
        return ""
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    for hint, alt in alts:
        if alt.shape == e.shape and not _close(alt, e, 1e-6) and _close(g, alt):
            return hint
    if g.size and np.all(g == 0) and np.any(e != 0):
        return "all zeros: the gradient never reached this input, or the backward returns zeros"
    if _close(-g, e):
        return "wrong sign: got the negative of the expected value"
    if e.ndim >= 2 and e.shape[-1] == e.shape[-2] and e.shape[-1] > 1 and _close(np.swapaxes(g, -1, -2), e):
        return "transposed: got the transpose of the expected value (swap the last two axes / operands)"
    if e.ndim >= 2 and e.shape[-1] != e.shape[-2] and _close(g, np.swapaxes(e, -1, -2).reshape(e.shape)):
        return "transposed: got the transpose of the expected value, reshaped to the right shape"
    for other in others:
        name, other_e, other_g = (tuple(other) + (None,))[:3]
        # only a real swap: this value belongs to ``name`` AND ``name`` holds this one's value
        if other_g is None or other_e.shape != e.shape or other_g.shape != e.shape or _close(other_e, e, 1e-6):
            continue
        if _close(g, other_e) and _close(other_g.astype(np.float64), e):
            return (f"swapped with {name}: this holds the expected value of {name} and {name} holds this one's: "
                    "results returned in the wrong order")
    if gates:
        hint = _gate_hint(g, e, gates, expected.dtype) if expected.dtype.kind == "f" else ""
        if hint:
            return hint
    return _scale_hint(g, e, scales)


def compare(name, got, expected, error=None, scales=(), alts=(), others=(), gates=None, error_hint=None):
    """Compare ``got`` (or the error that prevented it, with ``error_hint``) with ``expected``."""
    details = {"expected_shape": list(expected.shape), "expected_dtype": str(expected.dtype)}
    if got is None:
        return Check(name, False, error or "no value came back",
                     hint=hint_from_error(error) if error_hint is None else error_hint, details=details)
    details.update(got_shape=list(got.shape), got_dtype=str(got.dtype))
    if expected.dtype.kind == "f" and got.dtype.kind not in "f":
        return Check(name, False, f"wrong dtype: expected {expected.dtype}, got {got.dtype}", details=details)
    if got.shape != expected.shape:
        return _shape_mismatch(name, got, expected, details, scales)
    if expected.dtype.kind != "f":
        ok = np.array_equal(got, expected)
        msg = ""
        if not ok:
            details.update(error_details(got, expected))
            msg = (f"{int(np.sum(got != expected))} of {got.size} entries differ; first at index "
                   f"{details['worst_index']}: expected {expected[tuple(details['worst_index'])]}, got "
                   f"{got[tuple(details['worst_index'])]}")
        return Check(name, ok, msg, details=details)
    bad = ~np.isfinite(got) & np.isfinite(expected)
    ok, _ = within_tolerance(got, expected)
    dtype_ok = got.dtype == expected.dtype
    if ok and dtype_ok:
        return Check(name, True, details=details)
    details.update(error_details(got, expected))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(got[where]) else "inf"
        return Check(name, False, f"contains {kind} ({int(bad.sum())} of {got.size} entries, first at index "
                     f"{list(where)}) where the expected value is finite",
                     hint="NaN/inf: an overflow (exp of a large number: subtract the max first), log(0), "
                          "0/0, or a fully masked row", details=details)
    if ok and not dtype_ok:
        return Check(name, False, f"wrong dtype: expected {expected.dtype}, got {got.dtype} (the values are right)",
                     hint="keep float32 as float32: cast constants and NumPy scalars to the array's dtype",
                     details=details)
    rtol, atol = tolerance(expected.dtype)
    want, have = fmt_pair(details["expected_at_worst"], details["got_at_worst"], expected.dtype, got.dtype)
    msg = (f"max abs error {_fmt(details['max_abs_error'])}, max rel error {_fmt(details['max_rel_error'])}; "
           f"worst at index {details['worst_index']}: expected {want}, got {have} "
           f"(shape {list(got.shape)}, {got.dtype}; rtol {rtol:g}, atol {atol:g})")
    if not dtype_ok:
        msg += f"; also the dtype is {got.dtype}, expected {expected.dtype}"
    return Check(name, False, msg, hint=diagnose(got, expected, scales, alts, others, gates), details=details)


def _shape_mismatch(name, got, expected, details, scales):
    msg = f"wrong shape: expected {list(expected.shape)}, got {list(got.shape)}"
    hint = ""
    g = got.astype(np.float64) if got.dtype.kind in "biuf" else None
    if g is not None and got.ndim >= 2 and got.shape[:-2] + got.shape[-2:][::-1] == expected.shape:
        sw = np.swapaxes(g, -1, -2)
        hint = "transposed: got the transpose of the expected value" if _close(sw, expected) else \
            "transposed shape: swap the last two axes / operands"
    elif g is not None and got.size > expected.size:
        red = _unbroadcast(g, expected.shape)
        if red is not None and _close(red, expected):
            lead = got.shape[: got.ndim - expected.ndim]
            if lead and got.shape[got.ndim - expected.ndim:] == expected.shape:
                hint = (f"not summed over the batch: got an extra leading dimension {list(lead)}; "
                        "sum the per-example gradients over the batch (and broadcast) dimensions")
            else:
                hint = "gradient not summed over the broadcast dimensions (unbroadcast)"
        elif got.shape[1:] == expected.shape:
            hint = f"an extra leading dimension of size {got.shape[0]}: sum over the batch dimension?"
    squeezed = tuple(s for s in got.shape if s != 1) == tuple(s for s in expected.shape if s != 1)
    if not hint and g is not None and squeezed:
        hint = "the shapes differ only in size-1 dimensions (keepdim / reshape back to the input's shape)"
        if _close(g.reshape(expected.shape), expected):
            hint += "; the values are right"
    return Check(name, False, msg, hint=hint, details=details)


# The wording of the engine's error (``minitorch/autograd/engine.py: _check_grad``), which reaches the
# parent as text; tests/autograder/test_compare.py makes the real engine raise it, so a rewording fails there.
_SHAPE_ERR = re.compile(r"(?:(\w+)\.backward returned )?a gradient of shape \(([\d, ]*)\) for input (\d+), "
                        r"which has shape \(([\d, ]*)\)")


def _shape(text):
    return tuple(int(v) for v in text.replace(" ", "").split(",") if v)


def shape_error(message):
    """(function or None, returned shape, input shape) from the engine's 'X.backward returned a
    gradient of shape (..) for input i, which has shape (..)', or None."""
    m = _SHAPE_ERR.search(message or "")
    if not m:
        return None
    return m.group(1), _shape(m.group(2)), _shape(m.group(4))


def culprits(message, shapes):
    """The gradient labels (of ``shapes``: {label: input shape}) that a backward shape error is about:
    the inputs of the failing function's input shape, if that shape is unique among them."""
    err = shape_error(message)
    if err is None:
        return []
    who = [label for label, s in shapes.items() if tuple(s) == err[2]]
    return who if len(who) == 1 else []


def hint_from_error(message, shapes=None):
    """A hint for the engine's 'backward returned a gradient of shape X for input i, which has
    shape Y', naming the gradient by the case's input of shape Y (``shapes``: {label: shape})."""
    err = shape_error(message)
    if err is None:
        return ""
    fn, got, want = err
    who = culprits(message, shapes or {})
    where = f"{fn}.backward" if fn else "a backward"
    subj = f"the gradient {where} returned for its input of shape {list(want)}"
    if len(who) == 1:
        subj = f"{who[0]} ({subj})"
    if len(got) >= 2 and got[:-2] + got[-2:][::-1] == want:
        return f"transposed: {subj} has the transposed shape {list(got)}"
    if len(got) > len(want) and got[len(got) - len(want):] == want:
        return (f"not summed over the batch: {subj} has extra leading dimensions "
                f"{list(got[:len(got) - len(want)])}; sum them away (and over broadcast dimensions)")
    if len(got) >= len(want) and all(w in (1, g) for g, w in zip(got[len(got) - len(want):], want)):
        return f"not summed over the broadcast dimensions (unbroadcast): {subj} has shape {list(got)}"
    return ""


def compare_fd(name, numeric, analytic, error=None, scales=(), error_hint=None):
    """A finite-difference check: the float64 backward against central differences of the forward."""
    details = {}
    if numeric is None or analytic is None:
        return Check(name, False, error or "the finite-difference check could not run",
                     hint=hint_from_error(error) if error_hint is None else error_hint, details=details)
    scale = max(float(np.abs(numeric).max()) if numeric.size else 0.0, 1e-10)
    err = float(np.abs(analytic - numeric).max()) / scale if numeric.size else 0.0
    if not np.isfinite(err):
        err = float("inf")
    details = {"relative_error": err, "tolerance": FD_RTOL, "entries_checked": int(numeric.size)}
    if err <= FD_RTOL:
        return Check(name, True, details=details)
    hint = diagnose(analytic, numeric, scales)
    return Check(name, False, f"backward disagrees with central finite differences of the forward (float64): "
                 f"relative error {err:.3g} > {FD_RTOL:g}", hint=hint, details=details)
