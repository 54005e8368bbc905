"""Linear kernel pair (finite differences) and F.linear against torch; also the F activations."""
import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.autograd.functions import nn as N
from minitorch.kernels import linear as lk
from minitorch.testing import check_kernel_grads
from tests.helpers import assert_close, mt, randn, to_torch, torch_single_thread  # noqa: F401 - autouse fixture
from tests.kernels.kernel_cases import numpy_inputs_fixture, on_strict  # noqa: F401 - fixture

SHAPES = [(5,), (1, 5), (4, 5), (1, 1, 5), (2, 3, 5), (2, 1, 3, 5)]


@pytest.mark.parametrize("x_shape", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_gradcheck(x_shape, with_bias, numpy_inputs):
    x = randn(x_shape, seed=1)
    w = randn((4, 5), seed=2)
    inputs = [x, w, randn((4,), seed=3)] if with_bias else [x, w]
    err = check_kernel_grads(lk.linear_forward, lk.linear_backward, inputs, wrt=range(len(inputs)))
    assert err < 1e-6


def test_linear_gradcheck_in_features_1(numpy_inputs):
    err = check_kernel_grads(lk.linear_forward, lk.linear_backward,
                             [randn((3, 1), seed=1), randn((2, 1), seed=2), randn((2,), seed=3)])
    assert err < 1e-6


def test_linear_backward_bias_slot_is_none_without_bias(numpy_inputs):
    out, cache = lk.linear_forward(randn((3, 5)), randn((4, 5), seed=1))
    grads = lk.linear_backward(randn(out.shape, seed=2), cache)
    assert len(grads) == 3 and grads[2] is None
    assert grads[0].shape == (3, 5) and grads[1].shape == (4, 5)


def _compare_linear(x_shape, dtype, with_bias, in_f=5, out_f=4):
    torch = pytest.importorskip("torch")
    x, w, b = randn(x_shape, dtype, 1), randn((out_f, in_f), dtype, 2), randn((out_f,), dtype, 3)
    xm, wm, bm = mt(x, True), mt(w, True), mt(b, True) if with_bias else None
    xt, wt, bt = to_torch(x, True), to_torch(w, True), to_torch(b, True) if with_bias else None
    ym = F.linear(xm, wm, bm)
    yt = torch.nn.functional.linear(xt, wt, bt)
    assert ym.dtype == np.dtype(dtype)
    assert_close(ym, yt, dtype, "linear out")
    g = randn(yt.shape, dtype, 4)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert_close(xm.grad, xt.grad, dtype, "dx")
    assert_close(wm.grad, wt.grad, dtype, "dweight")
    assert xm.grad.dtype == wm.grad.dtype == np.dtype(dtype)
    if with_bias:
        assert_close(bm.grad, bt.grad, dtype, "dbias")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_torch(dtype, x_shape, with_bias):
    _compare_linear(x_shape, dtype, with_bias)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_matches_torch_one_feature(dtype):
    _compare_linear((3, 1), dtype, True, in_f=1, out_f=1)


def test_linear_function_without_bias_records_two_grads():
    x, w = mt(randn((2, 5)), True), mt(randn((3, 5), seed=1), True)
    y = N.Linear.apply(x, w, None)
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(x.detach().numpy().sum(0), (3, 5)), rtol=1e-12)


def test_linear_errors_name_op_and_shapes():
    x = minitorch.randn(12, 64, 96)
    w = minitorch.randn(32, 128)
    with pytest.raises(ValueError, match=r"linear\(\).*\(12, 64, 96\).*\(32, 128\).*in_features=128"):
        F.linear(x, w)
    with pytest.raises(ValueError, match=r"bias of shape \(32,\).*got \(31,\)"):
        F.linear(minitorch.randn(2, 128), w, minitorch.randn(31))
    with pytest.raises(TypeError, match=r"linear\(\).*same dtype.*float32.*float64"):
        F.linear(minitorch.randn(2, 128), w.double())
    with pytest.raises(ValueError, match="2-D weight"):
        F.linear(minitorch.randn(2, 128), minitorch.randn(128))
    with pytest.raises(TypeError, match="floating point"):
        F.linear(minitorch.ones(2, 128, dtype="int64"), w)


# ----------------------------------------------------------------------------- activations through F
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("relu", {}),
                                         ("tanh", {}), ("sigmoid", {})])
def test_activations_match_torch(dtype, name, kwargs):
    torch = pytest.importorskip("torch")
    x = randn((2, 3, 7), dtype, 5, scale=3.0)
    xm, xt = mt(x, True), to_torch(x, True)
    ym = getattr(F, name)(xm, **kwargs)
    yt = getattr(torch.nn.functional, name)(xt, **kwargs)
    assert_close(ym, yt, dtype, f"{name} out")
    g = randn(x.shape, dtype, 6)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert_close(xm.grad, xt.grad, dtype, f"{name} grad")


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match=r"gelu\(\).*'none' or 'tanh'.*'erf'"):
        F.gelu(minitorch.randn(3), approximate="erf")


def test_linear_kernels_run_on_strict_backend(numpy_inputs):
    x, w, b = randn((2, 3, 5), seed=1), randn((4, 5), seed=2), randn((4,), seed=3)
    on_strict(lk.linear_forward, lk.linear_backward, [x, w, b])
    on_strict(lk.linear_forward, lk.linear_backward, [x, w, None])
