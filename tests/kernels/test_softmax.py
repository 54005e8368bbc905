"""Softmax / log-softmax / cross-entropy / nll kernel pairs (finite differences) and F.* against torch."""
import warnings

import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.kernels import softmax as sk
from minitorch.testing import check_kernel_grads
from tests.helpers import assert_close, mt, randn, to_torch, torch_single_thread  # noqa: F401 - autouse fixture
from tests.kernels.kernel_cases import numpy_inputs_fixture, on_strict  # noqa: F401 - fixture

SHAPE_DIMS = [((5,), 0), ((1, 1), -1), ((3, 1), -1), ((1, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1),
              ((2, 3, 4), 0)]


# ----------------------------------------------------------------------------- softmax / log_softmax
@pytest.mark.parametrize("shape,dim", SHAPE_DIMS)
@pytest.mark.parametrize("pair", ["softmax", "log_softmax"])
def test_softmax_gradcheck(shape, dim, pair, numpy_inputs):
    fwd, bwd = getattr(sk, f"{pair}_forward"), getattr(sk, f"{pair}_backward")
    err = check_kernel_grads(fwd, bwd, [randn(shape, seed=1, scale=2.0)], kwargs={"dim": dim})
    assert err < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,dim", SHAPE_DIMS)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_matches_torch(dtype, shape, dim, name):
    torch = pytest.importorskip("torch")
    x = randn(shape, dtype, 2, scale=3.0)
    xm, xt = mt(x, True), to_torch(x, True)
    ym = getattr(F, name)(xm, dim=dim)
    yt = getattr(torch.nn.functional, name)(xt, dim=dim)
    assert ym.dtype == np.dtype(dtype)
    assert_close(ym, yt, dtype, f"{name} out")
    g = randn(shape, dtype, 3)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert xm.grad.dtype == np.dtype(dtype)
    assert_close(xm.grad, xt.grad, dtype, f"{name} grad")


def test_tensor_methods_and_0d():
    torch = pytest.importorskip("torch")
    x = randn((3, 4), seed=4)
    assert_close(mt(x).softmax(1), torch.from_numpy(x).softmax(1), name="Tensor.softmax")
    assert_close(mt(x).log_softmax(-1), torch.from_numpy(x).log_softmax(-1), name="Tensor.log_softmax")
    s = minitorch.tensor(3.0).softmax(0)
    assert s.shape == () and s.item() == 1.0


@pytest.mark.parametrize("shape,dim", [((0, 4), -1), ((4, 0), -1), ((2, 0, 3), 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_empty_tensors_matches_torch(shape, dim, name):
    torch = pytest.importorskip("torch")
    xm, xt = mt(np.zeros(shape), True), to_torch(np.zeros(shape), True)
    ym, yt = getattr(F, name)(xm, dim=dim), getattr(torch.nn.functional, name)(xt, dim=dim)
    assert ym.shape == tuple(yt.shape)
    ym.sum().backward()
    assert xm.grad.shape == shape


def test_empty_batch_cross_entropy_is_nan_like_torch():
    torch = pytest.importorskip("torch")
    zm = mt(np.zeros((0, 4)), True)
    lm = F.cross_entropy(zm, mt(np.zeros(0, np.int64)))
    lt = torch.nn.functional.cross_entropy(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert np.isnan(lm.item()) and np.isnan(lt.item())
    lm.backward()
    assert zm.grad.shape == (0, 4)


def test_softmax_errors():
    with pytest.raises(IndexError, match=r"softmax: dim 2 is out of range.*\(3, 4\)"):
        minitorch.randn(3, 4).softmax(2)
    with pytest.raises(TypeError, match="softmax: expected a floating point tensor, got dtype int64"):
        minitorch.arange(4).softmax(0)


def test_softmax_implicit_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(minitorch.randn(2, 3))
    np.testing.assert_allclose(y.numpy().sum(1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_and_softmax_stable_for_huge_logits(dtype):
    torch = pytest.importorskip("torch")
    x = (randn((4, 6), np.float64, 5) * 1e4).astype(dtype)
    for name in ("log_softmax", "softmax"):
        xm, xt = mt(x, True), to_torch(x, True)
        ym = getattr(F, name)(xm, dim=-1)
        yt = getattr(torch.nn.functional, name)(xt, dim=-1)
        assert np.isfinite(ym.detach().numpy()).all()
        assert_close(ym, yt, dtype, f"{name} out, |x|~1e4")
        g = randn(x.shape, dtype, 6)
        ym.backward(mt(g))
        yt.backward(to_torch(g))
        assert_close(xm.grad, xt.grad, dtype, f"{name} grad, |x|~1e4")


# ----------------------------------------------------------------------------- cross_entropy / nll kernels
def _targets(shape, c, seed, ignore_frac=0.0, ignore_index=-100):
    r = np.random.default_rng(seed)
    t = r.integers(0, c, size=shape)
    if ignore_frac:
        t = np.where(r.random(shape) < ignore_frac, ignore_index, t)
        if t.size:  # keep one valid target (the all-ignored batch has its own test)
            t.reshape(-1)[0] = 0 if ignore_index != 0 else 1
    return t.astype(np.int64)


LOSS_LAYOUTS = [((5,), ()), ((1, 5), (1,)), ((6, 5), (6,)), ((2, 5, 3), (2, 3)), ((2, 5, 1, 3), (2, 1, 3))]


@pytest.mark.parametrize("x_shape,t_shape", LOSS_LAYOUTS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_gradcheck(x_shape, t_shape, reduction, label_smoothing, weighted, numpy_inputs):
    c = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t = _targets(t_shape, c, 7, ignore_frac=0.3 if t_shape else 0.0)
    kw = dict(target=t, reduction=reduction, label_smoothing=label_smoothing,
              weight=np.random.default_rng(8).random(c) + 0.5 if weighted else None)
    err = check_kernel_grads(sk.cross_entropy_forward, sk.cross_entropy_backward,
                             [randn(x_shape, seed=9, scale=2.0)], kwargs=kw)
    assert err < 1e-6


@pytest.mark.parametrize("x_shape,t_shape", LOSS_LAYOUTS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_gradcheck(x_shape, t_shape, reduction, weighted, numpy_inputs):
    c = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t = _targets(t_shape, c, 10, ignore_frac=0.3 if t_shape else 0.0, ignore_index=2)
    kw = dict(target=t, reduction=reduction, ignore_index=2,
              weight=np.random.default_rng(8).random(c) + 0.5 if weighted else None)
    err = check_kernel_grads(sk.nll_loss_forward, sk.nll_loss_backward, [randn(x_shape, seed=11)], kwargs=kw)
    assert err < 1e-6


def test_cross_entropy_grad_is_softmax_minus_onehot_over_valid(numpy_inputs):
    z = randn((4, 3), seed=12)
    t = np.array([0, -100, 2, 1])
    _, cache = sk.cross_entropy_forward(z, t)
    (dz,) = sk.cross_entropy_backward(np.asarray(1.0), cache)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    expected = p.copy()
    expected[[0, 2, 3], [0, 2, 1]] -= 1
    expected[1] = 0
    np.testing.assert_allclose(dz, expected / 3, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- losses against torch
def _compare_loss(name, x, t, dtype, **kw):
    torch = pytest.importorskip("torch")
    weight = kw.pop("weight", None)
    xm, xt = mt(x.astype(dtype), True), to_torch(x.astype(dtype), True)
    wm = None if weight is None else mt(weight.astype(dtype))
    wt = None if weight is None else to_torch(weight.astype(dtype))
    lm = getattr(F, name)(xm, mt(t), weight=wm, **kw)
    lt = getattr(torch.nn.functional, name)(xt, to_torch(t), weight=wt, **kw)
    assert lm.dtype == np.dtype(dtype) and lm.shape == tuple(lt.shape)
    assert_close(lm, lt, dtype, f"{name} {kw} loss")
    g = randn(lt.shape, dtype, 13)
    lm.backward(mt(g))
    lt.backward(to_torch(g))
    assert xm.grad.dtype == np.dtype(dtype)
    assert_close(xm.grad, xt.grad, dtype, f"{name} {kw} grad")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,t_shape", LOSS_LAYOUTS)
@pytest.mark.parametrize("reduction,label_smoothing,weighted,ignore_index",
                         [("mean", 0.0, False, -100), ("sum", 0.0, False, -100), ("none", 0.0, False, -100),
                          ("mean", 0.1, False, -100), ("none", 0.2, False, 1), ("mean", 0.0, True, -100),
                          ("mean", 0.1, True, 1), ("sum", 0.3, True, -100), ("none", 0.1, True, -100)])
def test_cross_entropy_matches_torch(dtype, x_shape, t_shape, reduction, label_smoothing, weighted, ignore_index):
    c = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t = _targets(t_shape, c, 14, ignore_frac=0.25 if t_shape else 0.0, ignore_index=ignore_index)
    w = np.random.default_rng(15).random(c) + 0.5 if weighted else None
    _compare_loss("cross_entropy", randn(x_shape, seed=16, scale=2.0), t, dtype, reduction=reduction,
                  label_smoothing=label_smoothing, weight=w, ignore_index=ignore_index)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,t_shape", LOSS_LAYOUTS)
@pytest.mark.parametrize("reduction,weighted", [("mean", False), ("sum", False), ("none", True), ("mean", True)])
def test_nll_loss_matches_torch(dtype, x_shape, t_shape, reduction, weighted):
    c = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    t = _targets(t_shape, c, 17, ignore_frac=0.25 if t_shape else 0.0)
    w = np.random.default_rng(18).random(c) + 0.5 if weighted else None
    logp = randn(x_shape, seed=19)
    _compare_loss("nll_loss", logp, t, dtype, reduction=reduction, weight=w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("x_shape", [(3, 4, 2), (6, 4)])
def test_cross_entropy_all_ignored_is_nan_with_zero_grad(dtype, label_smoothing, x_shape):
    torch = pytest.importorskip("torch")
    t = np.full((x_shape[0],) + x_shape[2:], -100, dtype=np.int64)
    x = randn(x_shape, dtype, 20)
    xm, xt = mt(x, True), to_torch(x, True)
    lm = F.cross_entropy(xm, mt(t), label_smoothing=label_smoothing)
    lt = torch.nn.functional.cross_entropy(xt, to_torch(t), label_smoothing=label_smoothing)
    assert np.isnan(lm.item()) and np.isnan(lt.item())
    lm.backward()
    lt.backward()
    assert_close(xm.grad, xt.grad, dtype, "all-ignored grad")
    assert not xm.grad.numpy().any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_stable_for_huge_logits(dtype, label_smoothing):
    torch = pytest.importorskip("torch")
    x = (randn((8, 65), np.float64, 21) * 1e4).astype(dtype)
    t = _targets((8,), 65, 22)
    xm, xt = mt(x, True), to_torch(x, True)
    lm = F.cross_entropy(xm, mt(t), label_smoothing=label_smoothing)
    lt = torch.nn.functional.cross_entropy(xt, to_torch(t), label_smoothing=label_smoothing)
    assert np.isfinite(lm.item())
    assert_close(lm, lt, dtype, "loss at |logits|~1e4")
    lm.backward()
    lt.backward()
    assert np.isfinite(xm.grad.numpy()).all()
    assert_close(xm.grad, xt.grad, dtype, "grad at |logits|~1e4")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing,weighted", [(0.0, False), (0.2, True)])
@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 5, 3)])
def test_cross_entropy_probability_targets_match_torch(dtype, reduction, label_smoothing, weighted, x_shape):
    c = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    cdim = 0 if len(x_shape) == 1 else 1
    q = np.exp(randn(x_shape, seed=23))
    q /= q.sum(axis=cdim, keepdims=True)
    w = np.random.default_rng(24).random(c) + 0.5 if weighted else None
    _compare_loss("cross_entropy", randn(x_shape, seed=25), q.astype(dtype), dtype, reduction=reduction,
                  label_smoothing=label_smoothing, weight=w)


def test_cross_entropy_float32_stays_float32_through_the_kernel(numpy_inputs):
    z = randn((4, 6), np.float32, 26)
    t = _targets((4,), 6, 27)
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": np.ones(6, np.float32)}, {"reduction": "none"}):
        loss, cache = sk.cross_entropy_forward(z, t, **kw)
        (dz,) = sk.cross_entropy_backward(np.ones(loss.shape, np.float32), cache)
        assert loss.dtype == np.float32 and dz.dtype == np.float32, kw


# ----------------------------------------------------------------------------- mse_loss
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_mse_loss_matches_torch(dtype, reduction, weighted):
    torch = pytest.importorskip("torch")
    x, y = randn((3, 4), dtype, 28), randn((3, 4), dtype, 29)
    w = np.abs(randn((3, 4), dtype, 30)) if weighted else None
    xm, xt = mt(x, True), to_torch(x, True)
    lm = F.mse_loss(xm, mt(y), reduction=reduction, weight=None if w is None else mt(w))
    lt = torch.nn.functional.mse_loss(xt, to_torch(y), reduction=reduction, weight=None if w is None else to_torch(w))
    assert_close(lm, lt, dtype, "mse")
    g = randn(lt.shape, dtype, 31)
    lm.backward(mt(g))
    lt.backward(to_torch(g))
    assert_close(xm.grad, xt.grad, dtype, "mse grad")


def test_mse_loss_broadcast_warns_and_matches_torch():
    torch = pytest.importorskip("torch")
    x, y = randn((3, 4), seed=32), randn((4,), seed=33)
    with pytest.warns(UserWarning, match="different to the input size"):
        lm = F.mse_loss(mt(x), mt(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lt = torch.nn.functional.mse_loss(to_torch(x), to_torch(y))
    assert_close(lm, lt, name="broadcast mse")
    with pytest.raises(ValueError, match=r"mse_loss\(\).*\(3, 4\).*\(5,\)"):
        F.mse_loss(mt(x), mt(randn((5,))))


# ----------------------------------------------------------------------------- errors
def test_loss_errors_name_op_shapes_and_values():
    x = minitorch.randn(4, 65)
    with pytest.raises(TypeError, match=r"cross_entropy\(\).*class indices.*integer dtype.*float32"):
        F.cross_entropy(x, minitorch.randn(4))
    with pytest.raises(ValueError, match=r"cross_entropy\(\).*input of shape \(4, 65\).*target of shape \(4,\)"
                                         r".*got target of shape \(5,\)"):
        F.cross_entropy(x, minitorch.zeros(5, dtype="int64"))
    with pytest.raises(ValueError, match=r"\(2, 65, 3\) needs target of shape \(2, 3\).*\(2, 65\)"):
        F.cross_entropy(minitorch.randn(2, 65, 3), minitorch.zeros(2, 65, dtype="int64"))
    with pytest.raises(IndexError, match=r"cross_entropy\(\): target 70 is out of bounds for 65 classes"):
        F.cross_entropy(x, minitorch.tensor([1, 70, 3, -100]))
    with pytest.raises(IndexError, match=r"nll_loss\(\): target -3 is out of bounds for 65 classes"):
        F.nll_loss(x, minitorch.tensor([1, -3, 3, 0]))
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        F.cross_entropy(x, minitorch.tensor([1, 2, 3, 0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, minitorch.tensor([1, 2, 3, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight must have shape \(65,\).*\(64,\)"):
        F.cross_entropy(x, minitorch.tensor([1, 2, 3, 0]), weight=minitorch.ones(64))
    with pytest.raises(ValueError, match=r"class probabilities and must have the input's shape \(4, 65\)"):
        F.cross_entropy(x, minitorch.randn(4, 64))


def test_softmax_kernels_run_on_strict_backend(numpy_inputs):
    x = randn((2, 3, 5), seed=1)
    t = _targets((2, 5), 3, 2, ignore_frac=0.3)
    on_strict(sk.softmax_forward, sk.softmax_backward, [x], dim=1)
    on_strict(sk.log_softmax_forward, sk.log_softmax_backward, [x], dim=-1)
    for reduction in ("mean", "sum", "none"):
        on_strict(sk.nll_loss_forward, sk.nll_loss_backward, [x], target=t, reduction=reduction)
        for w in (None, np.random.default_rng(3).random(3)):
            on_strict(sk.cross_entropy_forward, sk.cross_entropy_backward, [x], target=t, reduction=reduction,
                       label_smoothing=0.1, weight=w)
