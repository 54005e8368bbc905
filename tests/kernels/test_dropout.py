"""Dropout kernel pair: mask statistics, scaling, identity cases, determinism, gradients."""
import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.kernels import dropout as dk
from minitorch.testing import check_kernel_grads
from tests.helpers import mt, randn, to_torch
from tests.kernels.kernel_cases import numpy_inputs_fixture, on_strict  # noqa: F401 - fixture


class _FixedGenerator:
    """A generator that draws the same numbers on every call, so finite differences see one mask."""

    def __init__(self, seed):
        self.seed = seed

    def random(self, shape, dtype=np.float64):
        return np.random.default_rng(self.seed).random(shape, dtype=dtype)


@pytest.mark.parametrize("shape", [(1,), (3, 4), (2, 1, 5)])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.9, 1.0])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_gradcheck(shape, p, training, numpy_inputs):
    kw = dict(p=p, training=training, generator=_FixedGenerator(1))
    err = check_kernel_grads(dk.dropout_forward, dk.dropout_backward, [randn(shape, seed=2)], kwargs=kw)
    assert err < 1e-6 or (p == 1.0 and training and err == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mask_statistics_and_scaling(dtype, p, numpy_inputs):
    x = np.ones((400, 500), dtype)
    out, mask = dk.dropout_forward(x, p=p, generator=np.random.default_rng(3))
    assert out.dtype == np.dtype(dtype) and mask.dtype == np.dtype(dtype)
    kept = out != 0
    n = x.size
    # zero fraction within 5 standard deviations of p
    assert abs((1 - kept.mean()) - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)  # expectation preserved
    (dx,) = dk.dropout_backward(np.full_like(x, 2.0), (mask))
    np.testing.assert_array_equal(dx, 2.0 * out)
    assert dx.dtype == np.dtype(dtype)


def test_identity_cases_return_input():
    x = mt(randn((3, 4), np.float32, 4), True)
    assert F.dropout(x, p=0.5, training=False) is x
    assert F.dropout(x, p=0.0) is x
    out, cache = dk.dropout_forward(x.data, p=0.5, training=False)
    assert out is x.data and dk.dropout_backward(x.data, cache)[0] is x.data


def test_p_one_gives_zeros_and_zero_grad():
    x = mt(randn((3, 4), np.float32, 5), True)
    y = F.dropout(x, p=1.0)
    assert not y.detach().numpy().any()
    y.backward(mt(randn((3, 4), np.float32, 6)))
    assert not x.grad.numpy().any() and x.grad.dtype == np.float32


def test_determinism_with_a_seeded_generator_and_manual_seed():
    x = mt(np.ones((50, 40), np.float32))
    a = F.dropout(x, 0.4, generator=np.random.default_rng(7)).numpy()
    b = F.dropout(x, 0.4, generator=np.random.default_rng(7)).numpy()
    c = F.dropout(x, 0.4, generator=np.random.default_rng(8)).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    minitorch.manual_seed(11)
    d = F.dropout(x, 0.4).numpy()
    e = F.dropout(x, 0.4).numpy()  # the backend generator advances between calls
    minitorch.manual_seed(11)
    np.testing.assert_array_equal(F.dropout(x, 0.4).numpy(), d)
    assert (d != e).any()


def test_gradient_uses_the_forward_mask():
    x = mt(randn((30, 20), np.float64, 8), True)
    y = F.dropout(x, 0.5, generator=np.random.default_rng(9))
    g = randn((30, 20), np.float64, 10)
    y.backward(mt(g))
    scale = y.detach().numpy() / x.detach().numpy()  # 0 or 2 per element
    assert set(np.unique(np.round(scale, 12))) <= {0.0, 2.0}
    np.testing.assert_allclose(x.grad.numpy(), g * scale, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch_scaling_and_eval(dtype):
    """torch's masks come from another generator, so compare what is mask-independent: eval identity,
    and that every kept element equals torch's kept value x / (1 - p)."""
    torch = pytest.importorskip("torch")
    x = randn((64, 32), dtype, 11) + 3.0  # no zeros in x
    p = 0.25
    ym = F.dropout(mt(x), p).numpy()
    yt = torch.nn.functional.dropout(to_torch(x), p).numpy()
    np.testing.assert_allclose(ym[ym != 0], x[ym != 0] / (1 - p), rtol=1e-6)
    np.testing.assert_allclose(yt[yt != 0], x[yt != 0] / (1 - p), rtol=1e-6)
    np.testing.assert_array_equal(F.dropout(mt(x), p, training=False).numpy(),
                                  torch.nn.functional.dropout(to_torch(x), p, training=False).numpy())


def test_inplace_and_errors():
    x = mt(np.ones((10, 10), np.float32))
    y = F.dropout(x, 0.5, inplace=True, generator=np.random.default_rng(12))
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    with pytest.raises(RuntimeError, match="inplace=True"):
        F.dropout(mt(np.ones(3, np.float32), True), 0.5, inplace=True)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(TypeError, match=r"dropout\(\).*floating point.*int64"):
        F.dropout(minitorch.arange(4), 0.5)


def test_dropout_kernels_run_on_strict_backend(numpy_inputs):
    on_strict(dk.dropout_forward, dk.dropout_backward, [randn((6, 7))], p=0.3, generator=_FixedGenerator(2))
    on_strict(dk.dropout_forward, dk.dropout_backward, [randn((6, 7))], p=1.0)
    from minitorch.backend import generator, strict

    out, mask = dk.dropout_forward(strict.asarray(np.ones((5, 5))), p=0.5, generator=generator(strict))
    assert isinstance(out, strict.StrictArray) and isinstance(mask, strict.StrictArray)
