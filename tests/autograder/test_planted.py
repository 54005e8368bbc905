"""Planted bugs: each must lose points on the right test and get the right hint.

Every bug is a one-place edit of the reference package, graded in the sandbox on its test only.
Bugs whose file does not exist yet (an assignment still being written) are skipped."""
import os

import pytest

from .bugs import REPO, Bug, failed_checks, grade_bugs

E, R, M, S, G = ("minitorch/kernels/elementwise.py", "minitorch/kernels/reduce.py", "minitorch/kernels/matmul.py",
                 "minitorch/kernels/shape.py", "minitorch/autograd/engine.py")

BUGS = [
    # ------------------------------------------------------------------ hw1
    Bug("hw1-matmul-dW-transposed", "hw1", M,
        "        da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)\n"
        "        db = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape)",
        "        da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)\n"
        "        db = xp.swapaxes(unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape), -1, -2)",
        "matmul", "transposed"),
    Bug("hw1-matmul-dW-not-summed-over-batch", "hw1", M,
        "    return da.reshape(a.shape), db.reshape(b.shape)",
        "    if b.ndim == 2 and a.ndim > 2:\n"
        "        db = xp.swapaxes(a, -1, -2) @ dout  # per-example weight gradients, never summed\n"
        "    return da.reshape(a.shape), db",
        "matmul", "not summed over the batch"),
    Bug("hw1-bmm-db-transposed", "hw1", M,
        "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(a, 1, 2) @ dout",
        "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(dout, 1, 2) @ a",
        "matmul", "transposed"),
    Bug("hw1-accumulate-overwrites", "hw1", G,
        "grads[key] = g if prev is None else prev + g",
        "grads[key] = g",
        "autograd_engine", "not accumulated"),
    Bug("hw1-tanh-backward-sign", "hw1", E,
        "return (dout * (1 - out * out),)",
        "return (dout * (out * out - 1),)",
        "elementwise_unary", "wrong sign"),
    Bug("hw1-div-db-sign", "hw1", E,
        "unbroadcast(-da * a / b, b.shape)",
        "unbroadcast(da * a / b, b.shape)",
        "elementwise_arith", "wrong sign"),
    Bug("hw1-unbroadcast-keepdim-axes", "hw1", E,
        "    if axes:\n        grad = grad.sum(axis=axes, keepdims=True)\n    return grad.reshape(shape)",
        "    return grad",
        "broadcasting", "broadcast dimensions"),
    Bug("hw1-mean-backward-not-divided", "hw1", R,
        "return (_expand_like(dout / count, shape, dims, keepdim),)",
        "return (_expand_like(dout, shape, dims, keepdim),)",
        "reductions", "scaled by the reduced size"),
    Bug("hw1-getitem-repeats-lost", "hw1", S,
        "    dx = xp.zeros(shape, dtype=dout.dtype)\n    index_add(dx, index, dout)",
        "    dx = xp.zeros(shape, dtype=dout.dtype)\n    dx[index] += dout",
        "shape_ops", "repeated indices lost"),
    Bug("hw1-sigmoid-overflow", "hw1", E,
        "    e = xp.exp(-xp.abs(a))\n    out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)",
        "    out = (xp.exp(a) / (xp.exp(a) + 1)).astype(a.dtype, copy=False)",
        "elementwise_unary", "NaN/inf"),
]


def _available(bug):
    return os.path.exists(os.path.join(REPO, bug.file))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    bugs = [b for b in BUGS if _available(b)]
    return grade_bugs(bugs, str(tmp_path_factory.mktemp("planted")))


def test_at_least_30_planted_bugs():
    assert len(BUGS) >= 30, f"only {len(BUGS)} planted bugs"


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_planted_bug_loses_points_with_hint(bug, graded):
    if bug.name not in graded:
        pytest.skip(f"{bug.file} does not exist yet")
    test, failed = failed_checks(graded[bug.name], bug.test)
    assert test["points"] < test["max_points"], f"{bug.name}: the bug cost no points on {bug.test}"
    hints = [c["hint"] for c in failed]
    assert any(bug.hint in h for h in hints), f"{bug.name}: expected a hint containing {bug.hint!r}, got {set(hints)}"
