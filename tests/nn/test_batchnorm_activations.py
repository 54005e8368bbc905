"""BatchNorm1d/2d and F.batch_norm, LeakyReLU / ELU / SiLU / Softplus: kernel pairs (float64 finite differences,
float32, strict backend) and comparisons with torch (values, gradients, running statistics, state_dict)."""
import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.kernels import activation as ak
from minitorch.kernels import batchnorm as bk
from tests.helpers import mt, randn, rng, to_torch
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch


def _off_kinks(shape, seed=1):
    x = randn(shape, seed=seed, scale=2.0)
    return np.where(np.abs(x) < 0.05, 0.3, x)


def _cases():
    cases = []
    for shape in [(4, 3), (1, 5), (2, 3, 2)]:
        x = _off_kinks(shape)
        cases += [
            Case(f"leaky_relu{shape}", ak.leaky_relu_forward, ak.leaky_relu_backward, [x], dict(negative_slope=0.2)),
            Case(f"elu{shape}", ak.elu_forward, ak.elu_backward, [x], dict(alpha=1.5)),
            Case(f"silu{shape}", ak.silu_forward, ak.silu_backward, [x]),
            Case(f"softplus{shape}", ak.softplus_forward, ak.softplus_backward, [x], dict(beta=2.0, threshold=3.0)),
        ]
    for shape in [(4, 3), (5, 2, 3), (2, 3, 4, 2), (3, 1)]:
        x = randn(shape, seed=2)
        c = shape[1]
        w, b = rng(3).uniform(0.5, 2.0, c), randn((c,), seed=4)
        cases += [
            Case(f"batch_norm{shape}", bk.batch_norm_forward, bk.batch_norm_backward, [x, w, b]),
            Case(f"batch_norm{shape}-no-affine", bk.batch_norm_forward,
                 lambda d, cache: bk.batch_norm_backward(d, cache)[:1], [x]),
        ]
    return cases


CASES = _cases()
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_vs_torch(dtype):
    torch = pytest.importorskip("torch")
    x = np.concatenate([randn((20,), seed=5, scale=4.0), [0.0, -30.0, 30.0, 100.0, -100.0]]).astype(dtype)
    pairs = [(nn.LeakyReLU(), torch.nn.LeakyReLU()), (nn.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)),
             (nn.ELU(), torch.nn.ELU()), (nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.SiLU(), torch.nn.SiLU()),
             (nn.Softplus(), torch.nn.Softplus()), (nn.Softplus(2.0, 5.0), torch.nn.Softplus(2.0, 5.0))]
    for ours, theirs in pairs:
        compare_with_torch(ours, theirs, [x])
        assert repr(ours) == repr(theirs)


def _bn_pair(torch, cls, c, **kw):
    return getattr(nn, cls)(c, **kw), getattr(torch.nn, cls)(c, **kw)


@pytest.mark.torch
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (2, 3, 4, 2))])
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False), dict(track_running_stats=False),
                                dict(momentum=0.3, eps=1e-3), dict(bias=False)])
def test_batchnorm_train_then_eval_vs_torch(cls, shape, kw):
    torch = pytest.importorskip("torch")
    ours, theirs = _bn_pair(torch, cls, shape[1], **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    if kw.get("affine", True):
        w, b = rng(6).uniform(0.5, 2.0, shape[1]).astype(np.float32), randn((shape[1],), seed=7, dtype=np.float32)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
            if theirs.bias is not None:
                theirs.bias.copy_(torch.from_numpy(b))
        ours.load_state_dict({k: mt(v.numpy()) for k, v in theirs.state_dict().items()})
    for step in range(3):
        x = randn(shape, seed=10 + step, dtype=np.float32) * (step + 1) + step
        compare_with_torch(ours, theirs, [x])
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    ours.eval()
    theirs.eval()
    compare_with_torch(ours, theirs, [randn(shape, seed=20, dtype=np.float32)])


@pytest.mark.torch
def test_functional_batch_norm_vs_torch_in_float64():
    torch = pytest.importorskip("torch")
    x, w, b = randn((5, 4, 3), seed=1), randn((4,), seed=2), randn((4,), seed=3)
    rm, rv = randn((4,), seed=4), rng(5).uniform(0.5, 2.0, 4)
    ours_rm, ours_rv, theirs_rm, theirs_rv = mt(rm), mt(rv), to_torch(rm), to_torch(rv)
    compare_with_torch(lambda a, c, d: F.batch_norm(a, ours_rm, ours_rv, c, d, training=True, momentum=0.2),
                       lambda a, c, d: torch.nn.functional.batch_norm(a, theirs_rm, theirs_rv, c, d, training=True,
                                                                      momentum=0.2), [x, w, b])
    np.testing.assert_allclose(ours_rm.numpy(), theirs_rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_rv.numpy(), theirs_rv.numpy(), rtol=1e-12)
    compare_with_torch(lambda a, c, d: F.batch_norm(a, mt(rm), mt(rv), c, d),
                       lambda a, c, d: torch.nn.functional.batch_norm(a, to_torch(rm), to_torch(rv), c, d), [x, w, b])


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input, got 4D input"):
        bn(minitorch.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected input with 3 channels in dim 1, got shape \(2, 4\)"):
        bn(minitorch.ones(2, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        bn(minitorch.ones(1, 3))
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        nn.BatchNorm2d(0)
    with pytest.raises(RuntimeError, match="running_mean and running_var are needed"):
        F.batch_norm(minitorch.ones(2, 3), None, None)
    with pytest.raises(NotImplementedError, match="inplace=True is not supported"):
        F.leaky_relu(minitorch.ones(2), inplace=True)
    with pytest.raises(TypeError, match=r"SiLU\(\): expected a floating point input, got dtype int64"):
        nn.SiLU()(minitorch.tensor([1, 2]))
    assert bn.num_batches_tracked.item() == 0
    bn(minitorch.randn(4, 3))
    assert bn.num_batches_tracked.item() == 1 and bn.num_batches_tracked.dtype == np.int64
