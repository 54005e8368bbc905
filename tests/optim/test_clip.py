"""clip_grad_norm_ and clip_grad_value_ against torch.nn.utils (norm types, dtypes, no-op clipping,
parameters without gradients, non-finite norms)."""
import math

import numpy as np
import pytest

import minitorch
from minitorch.kernels import optim as K
from minitorch.nn import Parameter
from minitorch.optim import clip_grad_norm_, clip_grad_value_
from tests.helpers import TOL

SHAPES = [(3, 4), (5,), (1,), (2, 1, 3)]


def _pair(dtype, scale=1.0, seed=0, with_none=True):
    """The same parameters and gradients in minitorch and torch; the last parameter has no grad."""
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(seed)
    mps, tps = [], []
    for i, shape in enumerate(SHAPES + ([(2, 2)] if with_none else [])):
        value = r.standard_normal(shape).astype(dtype)
        mp, tp = Parameter(value.copy()), torch.tensor(value.copy(), requires_grad=True)
        if i < len(SHAPES):
            g = (r.standard_normal(shape) * scale).astype(dtype)
            mp.grad = minitorch.tensor(g.copy())
            tp.grad = torch.from_numpy(g.copy())
        mps.append(mp)
        tps.append(tp)
    return mps, tps


def _assert_grads(mps, tps, dtype):
    for i, (m, t) in enumerate(zip(mps, tps)):
        if t.grad is None:
            assert m.grad is None
            continue
        assert m.grad.dtype == dtype, i
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **TOL[np.dtype(dtype)], err_msg=f"grad {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0, 3.0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clipping, and a coefficient clamped to 1
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    mps, tps = _pair(dtype)
    total = clip_grad_norm_(mps, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=float(norm_type))
    assert isinstance(total, minitorch.Tensor) and total.shape == () and total.dtype == dtype
    assert isinstance(total.data, np.ndarray)  # a 0-d array, not a NumPy scalar
    np.testing.assert_allclose(total.numpy(), expected.numpy(), **TOL[np.dtype(dtype)])
    _assert_grads(mps, tps, dtype)


def test_clip_grad_norm_scales_to_max_norm():
    p = Parameter(np.zeros(2))
    p.grad = minitorch.tensor([3.0, 4.0])
    total = clip_grad_norm_(p, 1.0)  # a single Tensor is accepted
    assert float(total) == 5.0
    np.testing.assert_allclose(p.grad.numpy(), np.array([3.0, 4.0]) / (5.0 + 1e-6))
    before = p.grad.numpy().copy()
    clip_grad_norm_([p], 10.0)
    np.testing.assert_array_equal(p.grad.numpy(), before)


def test_clip_grad_norm_below_max_norm_leaves_the_gradients_untouched():
    # A factor of exactly 1 is skipped (same values as torch's multiply by 1): the gradients are not even
    # written, so read-only arrays pass; one nan gradient still turns all of them nan (test_nonfinite_total_norm).
    mps, _ = _pair(np.float32)
    for m in mps:
        if m.grad is not None:
            m.grad.data.flags.writeable = False
    before = [m.grad.numpy().copy() for m in mps if m.grad is not None]
    total = clip_grad_norm_(mps, 1e6)
    assert 0 < float(total) < 1e6
    for b, m in zip(before, (m for m in mps if m.grad is not None)):
        np.testing.assert_array_equal(m.grad.numpy(), b)


def test_clip_grad_norm_in_place_and_no_grads():
    p = Parameter(np.ones(3))
    p.grad = minitorch.tensor([2.0, 2.0, 1.0])
    arr = p.grad.data
    clip_grad_norm_([p], 1.5)
    assert p.grad.data is arr
    np.testing.assert_allclose(np.linalg.norm(arr), 1.5, rtol=1e-6)
    q = Parameter(np.ones(3))
    total = clip_grad_norm_([q], 1.0)
    assert float(total) == 0.0 and q.grad is None
    assert float(clip_grad_norm_([], 1.0)) == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_total_norm(bad):
    torch = pytest.importorskip("torch")
    mps, tps = _pair(np.float64)
    mps[1].grad.data[2] = bad
    tps[1].grad[2] = bad
    before = [m.grad.numpy().copy() for m in mps if m.grad is not None]
    with pytest.raises(RuntimeError, match="total norm of order 2.0 for gradients from `parameters` is non-finite"):
        clip_grad_norm_(mps, 1.0, error_if_nonfinite=True)
    for b, m in zip(before, mps):
        np.testing.assert_array_equal(m.grad.numpy(), b)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(tps, 1.0, error_if_nonfinite=True)
    # without the check both scale by the non-finite coefficient alike
    with np.errstate(invalid="ignore"):  # inf * 0 = nan, as in torch
        total = clip_grad_norm_(mps, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tps, 1.0)
    np.testing.assert_array_equal(total.numpy(), expected.numpy())
    for m, t in zip(mps, tps):
        if t.grad is not None:
            np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip_value", [0.3, 10.0])
def test_clip_grad_value_matches_torch(dtype, clip_value):
    torch = pytest.importorskip("torch")
    mps, tps = _pair(dtype, scale=2.0)
    assert clip_grad_value_(mps, clip_value) is None
    torch.nn.utils.clip_grad_value_(tps, clip_value)
    _assert_grads(mps, tps, dtype)


def test_clip_errors():
    p = Parameter(np.ones(2))
    p.grad = minitorch.tensor([1.0, 1.0])
    with pytest.raises(ValueError, match="norm_type must be positive or inf, got -1.0"):
        clip_grad_norm_([p], 1.0, norm_type=-1)
    with pytest.raises(TypeError, match="clip_grad_norm_: max_norm must be a number, got str"):
        clip_grad_norm_([p], "1")
    with pytest.raises(TypeError, match="clip_grad_norm_: expected Tensors, but parameter 0 is a ndarray"):
        clip_grad_norm_([np.ones(2)], 1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: clip_value must be a number"):
        clip_grad_value_([p], None)


def test_kernels_grad_norm_values():
    g = [np.array([3.0, -4.0]), np.array([[12.0]])]
    assert float(K.grad_norm(g)) == 13.0
    assert float(K.grad_norm(g, math.inf)) == 12.0
    assert float(K.grad_norm(g, 1.0)) == 19.0
    np.testing.assert_allclose(float(K.grad_norm(g, 3.0)), (27 + 64 + 1728) ** (1 / 3), rtol=1e-14)
    g32 = [a.astype(np.float32) for a in g]
    coef = K.clip_grads_by_norm_(g32, np.float64(6.5), K.grad_norm(g32))
    assert coef.dtype == np.float32 and all(a.dtype == np.float32 for a in g32)
    np.testing.assert_allclose(g32[1], [[6.0]], rtol=1e-6)
