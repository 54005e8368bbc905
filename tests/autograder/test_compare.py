"""The comparator's verdicts and hints (parent-side, no sandbox)."""
import numpy as np
import pytest

from autograder.compare import compare, compare_fd, hint_from_error, within_tolerance

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
    assert "wrong order" in compare("dL/da", other, x, others=[("dL/db", other)]).hint


def test_missing_value_reports_the_error_and_shape_hint():
    x = e(2, 3)
    msg = "RuntimeError: Matmul.backward returned a gradient of shape (4, 2, 3) for input 1, which has shape (2, 3)"
    ch = compare("dL/db", None, x, error=msg)
    assert not ch.passed and ch.message == msg and "not summed over the batch" in ch.hint
    assert "transposed" in hint_from_error("a gradient of shape (3, 2) for input 0, which has shape (2, 3)")


def test_fd_check_and_nan_tolerance_rules():
    n = e(10)
    assert compare_fd("gc", n, n + 1e-9).passed
    ch = compare_fd("gc", n, -n)
    assert not ch.passed and "wrong sign" in ch.hint
    ok, _ = within_tolerance(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert ok
    ok, _ = within_tolerance(np.array([0.0, 1.0]), np.array([np.nan, 1.0]))
    assert not ok
