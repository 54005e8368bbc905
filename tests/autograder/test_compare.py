"""The comparator's verdicts and hints (parent-side, no sandbox)."""
import numpy as np
import pytest

import minitorch
from autograder.compare import compare, compare_fd, culprits, hint_from_error, within_tolerance
from autograder.execute import describe
from autograder.grade import _error_for
from minitorch.autograd import Function

rng = np.random.default_rng(0)


def e(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def test_pass_within_float32_tolerance_and_fail_beyond():
    x = e(3, 4, dtype=np.float32)
    assert compare("out", x * np.float32(1 + 3e-6), x).passed
    bad = x.copy()
    bad[1, 2] += 0.5
    ch = compare("out", bad, x)
    assert not ch.passed
    assert ch.details["worst_index"] == [1, 2]
    assert ch.details["got_at_worst"] == pytest.approx(float(bad[1, 2]))
    assert "max abs error" in ch.message and "[1, 2]" in ch.message


def test_worst_index_is_the_entry_furthest_outside_its_tolerance():
    x = np.array([100.0, 1e-3, 5.0])
    got = x + np.array([5e-6, 2e-6, 0.0])   # the first is within rtol * 100, the second is not
    ch = compare("out", got, x)
    assert not ch.passed and ch.details["worst_index"] == [1]
    assert "worst at index [1]: expected 0.001, got 0.001002 (" in ch.message


def test_quoted_values_differ():
    """Adjacent floats are quoted so that they differ: 9 significant digits at most in float32, 17 in float64."""
    from autograder.compare import fmt_pair  # noqa: PLC0415

    a = np.float32(1.28422)
    assert fmt_pair(float(a), float(np.nextafter(a, np.float32(2))), np.dtype("float32")) == ("1.28422", "1.2842201")
    assert fmt_pair(1.28422, float(np.nextafter(1.28422, 2.0)), np.dtype("float64")) == (
        "1.28422", "1.2842200000000001")
    assert fmt_pair(-1.284221, -1.284220, np.dtype("float64")) == ("-1.284221", "-1.28422")
    assert fmt_pair(0.5, 0.25, np.dtype("float32")) == ("0.5", "0.25")


def test_scale_names_and_gate_blocks():
    x = e(6, 3)
    ch = compare("dL/dW", x * 2.0, x, scales=[("the batch size", 2.0), ("sqrt(d_k)", 2.0)])
    assert ch.hint == "scaled by the batch size = 2 (or sqrt(d_k) = 2, counted twice): got 2 x the expected value"
    assert compare("dL/dW", x * 2.0, x).hint == "scaled by 2 (counted twice?): got 2 x the expected value"
    bad = x.copy()
    bad[4:] *= 3
    assert compare("dL/dW", bad, x, gates=(("r", "z", "n"), 2)).hint == (
        "only the block of gate n (rows 4:6) is wrong; the other gates are right (PyTorch's gate order r, z, n)")
    swapped = np.concatenate([x[2:4], x[:2], x[4:]])
    assert compare("dL/dW", swapped, x, gates=(("r", "z", "n"), 2)).hint == (
        "gate blocks in the wrong order: the row blocks hold the gates (z, r, n); PyTorch's order is (r, z, n)")


@pytest.mark.parametrize("make,hint", [
    (lambda x: x.T.copy(), "transposed"),
    (lambda x: -x, "wrong sign"),
    (lambda x: x * 4.0, "scaled by the batch size = 4"),
    (lambda x: x / 4.0, "divided by the batch size = 4"),
    (lambda x: x * 2.0, "counted twice"),
    (lambda x: np.zeros_like(x), "all zeros"),
])
def test_value_hints(make, hint):
    x = e(3, 3)
    ch = compare("dL/dW", make(x), x, scales=[("the batch size", 4.0)])
    assert not ch.passed and hint in ch.hint, ch.hint


def test_transposed_shape_and_not_summed_over_batch():
    x = e(3, 5)
    assert "transposed" in compare("dL/dW", x.T.copy(), x).hint
    per_example = np.stack([x * 0.5, x * 0.5])
    assert "not summed over the batch" in compare("dL/dW", per_example, x).hint
    b = e(1, 4)
    assert "broadcast" in compare("dL/db", np.repeat(b, 3, axis=0) / 3, b).hint


def test_nan_dtype_and_alternative_hints():
    x = e(2, 3)
    y = x.copy()
    y[0, 1] = np.nan
    ch = compare("out", y, x)
    assert not ch.passed and "NaN" in ch.message and "NaN/inf" in ch.hint
    ch = compare("out", x.astype(np.float64), x.astype(np.float32))
    assert not ch.passed and "dtype" in ch.message
    alt = e(2, 3)
    ch = compare("dL/dx", alt.copy(), x, alts=[("gradient not accumulated", alt)])
    assert "not accumulated" in ch.hint
    other = e(2, 3)
    # a swap: this holds dL/db's value and dL/db holds this one's
    assert "wrong order" in compare("dL/da", other, x, others=[("dL/db", other, x.copy())]).hint
    # this equals dL/db's expected value, but dL/db did not get this one's: no "wrong order"
    assert "wrong order" not in compare("dL/da", other, x, others=[("dL/db", other, other.copy())]).hint
    assert "wrong order" not in compare("dL/da", other, x, others=[("dL/db", other)]).hint


def engine_error(got_shape, *input_shapes, culprit=0):
    """The error minitorch's own engine raises when a backward returns a gradient of ``got_shape``
    for input ``culprit`` (of the inputs of ``input_shapes``), as the sandbox child reports it
    (``execute.describe``): the hints parse this text, so they are tested on it, not on a copy."""
    class Matmul(Function):
        @staticmethod
        def forward(ctx, *arrays):
            return sum(a.sum() for a in arrays)

        @staticmethod
        def backward(ctx, g):
            return tuple(np.zeros(got_shape if i == culprit else s) for i, s in enumerate(input_shapes))

    inputs = [minitorch.tensor(np.ones(s), requires_grad=True) for s in input_shapes]
    with pytest.raises(RuntimeError) as info:
        Matmul.apply(*inputs).backward()
    return describe(info.value)


def test_missing_value_reports_the_error_and_shape_hint():
    x = e(2, 3)
    msg = engine_error((4, 2, 3), (4, 3), (2, 3), culprit=1)
    assert msg.startswith("RuntimeError: Matmul.backward returned a gradient of shape (4, 2, 3) for input 1")
    ch = compare("dL/db", None, x, error=msg)
    assert not ch.passed and ch.message == msg and "not summed over the batch" in ch.hint
    assert "input 1" not in ch.hint
    msg = engine_error((3, 2), (2, 3), (4, 3))
    assert hint_from_error(msg, {"dL/dw": (2, 3), "dL/dx": (4, 3)}) == (
        "transposed: dL/dw (the gradient Matmul.backward returned for its input of shape [2, 3]) has the "
        "transposed shape [3, 2]")
    # two inputs of that shape: named by the shape only
    assert hint_from_error(msg, {"dL/dw": (2, 3), "dL/dv": (2, 3)}).startswith(
        "transposed: the gradient Matmul.backward")
    assert hint_from_error(engine_error((4, 3), (1, 3)), {"dL/db": (1, 3)}) == (
        "not summed over the broadcast dimensions (unbroadcast): dL/db (the gradient Matmul.backward returned "
        "for its input of shape [1, 3]) has shape [4, 3]")


def test_a_shape_error_is_charged_to_the_gradient_it_is_about():
    """The engine's real error, as grading reads it: the check of the gradient whose input has the
    failing shape gets the hint, the case's other gradients say where the backward failed."""
    msg = engine_error((3, 5), (4, 3), (5, 3), (5,), culprit=1)
    shapes = {"dL/dx": (4, 3), "dL/dw": (5, 3), "dL/db": (5,)}
    assert culprits(msg, shapes) == ["dL/dw"]
    assert _error_for(msg, "dL/dw", shapes) == (msg, hint_from_error(msg, shapes))
    assert hint_from_error(msg, shapes).startswith("transposed: dL/dw (the gradient Matmul.backward returned")
    assert _error_for(msg, "dL/db", shapes) == (f"not checked: the backward failed on dL/dw ({msg})", "")


def test_fd_check_and_nan_tolerance_rules():
    n = e(10)
    assert compare_fd("gc", n, n + 1e-9).passed
    ch = compare_fd("gc", n, -n)
    assert not ch.passed and "wrong sign" in ch.hint
    ok, _ = within_tolerance(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert ok
    ok, _ = within_tolerance(np.array([0.0, 1.0]), np.array([np.nan, 1.0]))
    assert not ok
