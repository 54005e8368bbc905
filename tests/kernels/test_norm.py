"""LayerNorm / RMSNorm kernel pairs (finite differences) and F.layer_norm / F.rms_norm against torch."""
import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.kernels import norm as nk
from minitorch.testing import check_kernel_grads
from tests.helpers import assert_close, mt, randn, to_torch, torch_single_thread  # noqa: F401 - autouse fixture
from tests.kernels.kernel_cases import numpy_inputs_fixture, on_strict  # noqa: F401 - fixture

# (input shape, normalized_shape)
LAYOUTS = [((1, 8), (8,)), ((4, 8), (8,)), ((2, 1, 8), (8,)), ((3, 4, 5), (4, 5)), ((6,), (6,)), ((3, 3), (3,))]
# (with D = 2 the output is +-1 up to O(eps): dx is pure rounding noise, so D >= 3 here)


@pytest.mark.parametrize("x_shape,ns", LAYOUTS)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm_gradcheck(x_shape, ns, affine, eps, numpy_inputs):
    x = randn(x_shape, seed=1, scale=2.0) + 0.5
    w = randn(ns, seed=2) if affine != "none" else None
    b = randn(ns, seed=3) if affine == "both" else None
    wrt = [0] + [i for i, p in ((1, w), (2, b)) if p is not None]

    def fwd(x, weight, bias):
        return nk.layer_norm_forward(x, ns, weight, bias, eps=eps)

    err = check_kernel_grads(fwd, nk.layer_norm_backward, [x, w, b], wrt=wrt)
    assert err < 1e-6


@pytest.mark.parametrize("x_shape,ns", LAYOUTS)
@pytest.mark.parametrize("with_weight", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-6, 0.1])
def test_rms_norm_gradcheck(x_shape, ns, with_weight, eps, numpy_inputs):
    x = randn(x_shape, seed=4, scale=2.0)
    inputs = [x, randn(ns, seed=5)] if with_weight else [x]

    def fwd(x, weight=None):
        return nk.rms_norm_forward(x, ns, weight, eps=eps)

    err = check_kernel_grads(fwd, nk.rms_norm_backward, inputs, wrt=range(len(inputs)))
    assert err < 1e-6


def test_backward_slots_are_none_for_missing_params(numpy_inputs):
    x = randn((3, 4))
    out, cache = nk.layer_norm_forward(x, (4,))
    assert nk.layer_norm_backward(randn(out.shape, seed=1), cache)[1:] == (None, None)
    out, cache = nk.rms_norm_forward(x, (4,))
    assert nk.rms_norm_backward(randn(out.shape, seed=1), cache)[1] is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,ns", LAYOUTS)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_layer_norm_matches_torch(dtype, x_shape, ns, affine, eps):
    torch = pytest.importorskip("torch")
    x = randn(x_shape, dtype, 6, scale=3.0) + 1.0
    w = randn(ns, dtype, 7) if affine != "none" else None
    b = randn(ns, dtype, 8) if affine == "both" else None
    xm, xt = mt(x, True), to_torch(x, True)
    wm, wt = (mt(w, True), to_torch(w, True)) if w is not None else (None, None)
    bm, bt = (mt(b, True), to_torch(b, True)) if b is not None else (None, None)
    ym = F.layer_norm(xm, ns, wm, bm, eps=eps)
    yt = torch.nn.functional.layer_norm(xt, ns, wt, bt, eps=eps)
    assert ym.dtype == np.dtype(dtype)
    assert_close(ym, yt, dtype, "layer_norm out")
    g = randn(x_shape, dtype, 9)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert_close(xm.grad, xt.grad, dtype, "dx", atol=1e-4 if dtype == np.float32 else None)
    assert xm.grad.dtype == np.dtype(dtype)
    if w is not None:
        assert_close(wm.grad, wt.grad, dtype, "dweight")
    if b is not None:
        assert_close(bm.grad, bt.grad, dtype, "dbias")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,ns", LAYOUTS)
@pytest.mark.parametrize("with_weight", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm_matches_torch(dtype, x_shape, ns, with_weight, eps):
    torch = pytest.importorskip("torch")
    x = randn(x_shape, dtype, 10, scale=3.0)
    w = randn(ns, dtype, 11) if with_weight else None
    xm, xt = mt(x, True), to_torch(x, True)
    wm, wt = (mt(w, True), to_torch(w, True)) if w is not None else (None, None)
    ym = F.rms_norm(xm, ns, wm, eps=eps)
    yt = torch.nn.functional.rms_norm(xt, ns, wt, eps=eps)
    assert ym.dtype == np.dtype(dtype)
    assert_close(ym, yt, dtype, "rms_norm out")
    g = randn(x_shape, dtype, 12)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert_close(xm.grad, xt.grad, dtype, "dx")
    if w is not None:
        assert_close(wm.grad, wt.grad, dtype, "dweight")


def test_rms_norm_default_eps_is_finfo_eps(numpy_inputs):
    x = np.zeros((2, 4), np.float32)
    x[0, 0] = 1e-4  # mean(x^2) = 2.5e-9, far below finfo(float32).eps = 1.19e-7, so eps dominates
    y, _ = nk.rms_norm_forward(x, (4,))
    np.testing.assert_allclose(y[0, 0], 1e-4 / np.sqrt(2.5e-9 + np.finfo(np.float32).eps), rtol=1e-5)
    y64, _ = nk.rms_norm_forward(x.astype(np.float64), (4,))
    np.testing.assert_allclose(y64[0, 0], 1e-4 / np.sqrt(2.5e-9 + np.finfo(np.float64).eps), rtol=1e-12)


def test_layer_norm_constant_rows_are_finite():
    x = np.full((3, 5), 7.0, np.float32)
    xm = mt(x, True)
    y = F.layer_norm(xm, (5,))
    y.backward(mt(randn((3, 5), np.float32, 13)))
    assert np.isfinite(y.detach().numpy()).all() and not y.detach().numpy().any()
    assert np.isfinite(xm.grad.numpy()).all()


def test_norm_errors_name_op_and_shapes():
    x = minitorch.randn(12, 64, 96)
    with pytest.raises(ValueError, match=r"layer_norm\(\).*normalized_shape=\[128\].*\[\*, 128\].*\(12, 64, 96\)"):
        F.layer_norm(x, (128,))
    with pytest.raises(ValueError, match=r"layer_norm\(\).*weight of shape \(96,\).*got \(95,\)"):
        F.layer_norm(x, 96, minitorch.ones(95))
    with pytest.raises(ValueError, match=r"rms_norm\(\).*normalized_shape=\[64, 96\]"):
        F.rms_norm(minitorch.randn(64, 95), [64, 96])
    with pytest.raises(TypeError, match=r"layer_norm\(\).*'weight'.*float32.*float64"):
        F.layer_norm(x, 96, minitorch.ones(96, dtype="float64"))
    with pytest.raises(TypeError, match="floating point"):
        F.rms_norm(minitorch.ones(3, 4, dtype="int64"), 4)


def test_norm_kernels_run_on_strict_backend(numpy_inputs):
    x = randn((2, 3, 5), seed=1)
    on_strict(nk.layer_norm_forward, nk.layer_norm_backward, [x, (3, 5), randn((3, 5), seed=2), randn((3, 5), seed=3)])
    on_strict(nk.layer_norm_forward, nk.layer_norm_backward, [x, (5,), None, None])
    on_strict(nk.rms_norm_forward, nk.rms_norm_backward, [x, (5,), randn((5,), seed=4)])
    on_strict(nk.rms_norm_forward, nk.rms_norm_backward, [x, (5,), None])
