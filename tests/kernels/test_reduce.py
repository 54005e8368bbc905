"""Reduction kernels (hw1): sum, mean, max (amax), var over any dims, with and without keepdim."""
import numpy as np
import pytest

import minitorch
from minitorch.kernels import reduce as rd
from tests.helpers import mt, randn
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch

# (shape, dim) pairs: all dims, one dim, negative dims, several dims, the empty tuple (= all, as in torch),
# length-1 axes, a 0-d input, batch 1.
DIMS = [
    ((2, 3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 1)),
    ((2, 3, 4), ()), ((5, 1), 1), ((1, 4), 0), ((3,), 0), ((), None), ((), 0), ((1, 1, 1), (0, 1, 2)),
]


def distinct(shape, seed=0):
    """Values with gaps of at least 0.05 between any two (no ties, so amax is differentiable)."""
    n = int(np.prod(shape)) if shape else 1
    r = np.random.default_rng(seed)
    return (r.permutation(n) * 0.1 - 0.05 * n + 0.03 * r.random(n)).reshape(shape)


def _cases():
    cases = []
    for shape, dim in DIMS:
        x = np.asarray(randn(shape, seed=1))
        for keepdim in (False, True):
            tag = f"{shape}-dim{dim}-keep{keepdim}"
            kw = dict(dim=dim, keepdim=keepdim)
            cases += [
                Case(f"sum{tag}", rd.sum_forward, rd.sum_backward, [x], kwargs=kw),
                Case(f"mean{tag}", rd.mean_forward, rd.mean_backward, [x], kwargs=kw),
                Case(f"max{tag}", rd.max_forward, rd.max_backward, [distinct(shape)], kwargs=kw),
            ]
            count = int(np.prod([shape[d] for d in rd.normalize_dims(dim, len(shape))]))
            for c in (0, 1, 2.5):
                if count > c:  # else the divisor max(N - c, 0) is 0: inf/nan, tested against torch below
                    cases.append(Case(f"var{tag}-c{c}", rd.var_forward, rd.var_backward, [x],
                                      kwargs=dict(kw, correction=c)))
    return cases


CASES = _cases()


# float64 finite differences, float32 stays float32, strict backend == NumPy (tests/kernels/kernel_cases.py)
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


def test_max_ties_split_the_gradient_evenly_like_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 5.0]])
    out, cache = rd.max_forward(x, dim=1)
    np.testing.assert_array_equal(out, [3.0, 2.0, 5.0])
    (dx,) = rd.max_backward(np.array([1.0, 3.0, 2.0]), cache)
    np.testing.assert_allclose(dx, [[0, 0.5, 0.5], [1, 1, 1], [0, 0, 2]])
    out, cache = rd.max_forward(x)  # all dims: the two 3s are not the max, 5 is alone
    (dx,) = rd.max_backward(np.array(2.0), cache)
    np.testing.assert_allclose(dx, np.where(x == 5.0, 2.0, 0.0))


@pytest.mark.torch
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_ties_vs_torch_amax(dim, dtype):
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [3.0, -1.0, 3.0]], dtype=dtype)
    compare_with_torch(lambda t: t.amax(dim), lambda t: torch.amax(t, () if dim is None else dim), [x])
    compare_with_torch(lambda t: t.amin(dim), lambda t: torch.amin(t, () if dim is None else dim), [x])
    if dim is None:
        # max() with no dim is amax: ties share the gradient (torch: evenly distributed)
        compare_with_torch(lambda t: t.max(), lambda t: t.max(), [x])
        compare_with_torch(lambda t: t.min(), lambda t: t.min(), [x])


@pytest.mark.torch
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_with_dim_returns_values_and_indices_like_torch(dim, keepdim, dtype):
    """max(dim) gives the whole gradient to the returned index (the first maximum), unlike amax."""
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [3.0, -1.0, 0.5]], dtype=dtype)
    for name in ("max", "min"):
        outs = compare_with_torch(lambda t, n=name: getattr(t, n)(dim, keepdim=keepdim),
                                  lambda t, n=name: tuple(getattr(t, n)(dim, keepdim=keepdim)), [x])
        values, indices = outs
        tv, ti = getattr(torch.from_numpy(x), name)(dim, keepdim=keepdim)
        np.testing.assert_array_equal(indices.numpy(), ti.numpy())
        assert indices.dtype == np.int64 and not indices.requires_grad
        assert outs.values is values and outs.indices is indices  # a named tuple, like torch.return_types


@pytest.mark.torch
def test_argmax_argmin_like_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [3.0, -1.0, 0.5]])
    t, tt = mt(x), torch.from_numpy(x)
    for name in ("argmax", "argmin"):
        assert getattr(t, name)().item() == getattr(tt, name)().item()
        for dim in (0, 1, -1):
            for keepdim in (False, True):
                ours = getattr(t, name)(dim, keepdim=keepdim)
                ref = getattr(tt, name)(dim, keepdim=keepdim)
                assert ours.dtype == np.int64
                np.testing.assert_array_equal(ours.numpy(), ref.numpy())


REDUCE_OPS = {
    "sum": (lambda t, d, k: t.sum(d, keepdim=k), lambda t, d, k: t.sum(() if d is None else d, keepdim=k)),
    "mean": (lambda t, d, k: t.mean(d, keepdim=k), lambda t, d, k: t.mean(() if d is None else d, keepdim=k)),
    "amax": (lambda t, d, k: t.amax(d, keepdim=k), lambda t, d, k: t.amax(() if d is None else d, keepdim=k)),
    "amin": (lambda t, d, k: t.amin(d, keepdim=k), lambda t, d, k: t.amin(() if d is None else d, keepdim=k)),
    "var": (lambda t, d, k: t.var(d, keepdim=k), lambda t, d, k: t.var(d, keepdim=k)),
    "var_biased": (lambda t, d, k: t.var(d, keepdim=k, correction=0),
                   lambda t, d, k: t.var(d, keepdim=k, correction=0)),
    "var_unbiased_false": (lambda t, d, k: t.var(d, False, k), lambda t, d, k: t.var(d, False, k)),
    "std": (lambda t, d, k: t.std(d, keepdim=k), lambda t, d, k: t.std(d, keepdim=k)),
    "logsumexp": (lambda t, d, k: t.logsumexp(d, keepdim=k), lambda t, d, k: t.logsumexp(d, keepdim=k)),
}

TORCH_DIMS = [((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((1, 5), 0), ((4, 1), -1),
              ((3,), 0)]


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # var over 1 element: nan, as torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape_dim", TORCH_DIMS, ids=str)
@pytest.mark.parametrize("op", list(REDUCE_OPS))
def test_reductions_vs_torch(op, shape_dim, dtype):
    shape, dim = shape_dim
    if op == "logsumexp" and dim is None:
        dim = tuple(range(len(shape)))
    fn, tfn = REDUCE_OPS[op]
    x = distinct(shape, seed=2).astype(dtype)
    for keepdim in (False, True):
        compare_with_torch(lambda t, k=keepdim: fn(t, dim, k), lambda t, k=keepdim: tfn(t, dim, k), [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reductions_of_empty_tensors_vs_torch(dtype):
    torch = pytest.importorskip("torch")
    x = np.zeros((0, 3), dtype=dtype)
    compare_with_torch(lambda t: t.sum(0), lambda t: t.sum(0), [x])
    compare_with_torch(lambda t: t.sum(), lambda t: t.sum(), [x])
    compare_with_torch(lambda t: t.sum(1), lambda t: t.sum(1), [x])
    compare_with_torch(lambda t: t.amax(1), lambda t: t.amax(1), [x])
    compare_with_torch(lambda t: t.mean(1), lambda t: t.mean(1), [x])
    with pytest.warns(RuntimeWarning):
        compare_with_torch(lambda t: t.mean(0), lambda t: t.mean(0), [x])  # nan, as in torch
    for call in (lambda t: t.amax(0), lambda t: t.amax(), lambda t: t.max(0), lambda t: t.argmax()):
        with pytest.raises(IndexError, match="non-zero size"):
            call(mt(x))
        with pytest.raises((IndexError, RuntimeError)):
            call(torch.from_numpy(x))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # degrees of freedom <= 0
def test_var_with_too_large_correction_like_torch():
    torch = pytest.importorskip("torch")
    for x, c in (([1.0, 2.0], 2), ([1.0], 1), ([1.0, 2.0, 4.0], 2.5), ([1.0, 2.0], 3)):
        ours = mt(np.array(x)).var(correction=c).item()
        ref = torch.tensor(x, dtype=torch.float64).var(correction=c).item()
        np.testing.assert_equal(ours, ref)


@pytest.mark.torch
def test_reductions_of_0d_tensors_like_torch():
    torch = pytest.importorskip("torch")
    x = np.array(1.5)
    for dim in (None, 0, -1):
        compare_with_torch(lambda t, d=dim: t.sum(d), lambda t, d=dim: t.sum(() if d is None else d), [x])
        compare_with_torch(lambda t, d=dim: t.mean(d, keepdim=True),
                           lambda t, d=dim: t.mean(() if d is None else d, keepdim=True), [x])
        compare_with_torch(lambda t, d=dim: t.amax(d), lambda t, d=dim: t.amax(() if d is None else d), [x])
    values, indices = mt(x).max(0)
    assert values.item() == 1.5 and indices.item() == 0 and indices.dtype == np.int64
    assert tuple(torch.tensor(1.5).max(0).indices.shape) == indices.shape == ()


def test_integer_and_bool_sums_are_int64_like_torch():
    assert minitorch.tensor([1, 2, 3]).sum().dtype == np.int64
    assert minitorch.tensor(np.array([1, 2], dtype=np.int32)).sum().dtype == np.int64
    assert minitorch.tensor([True, False, True]).sum().item() == 2
    t = minitorch.tensor([[1, 5], [7, 2]])
    assert t.amax().item() == 7 and t.amin(1).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="mean"):
        t.mean()


def test_reduction_dim_errors():
    x = minitorch.randn(2, 3, requires_grad=True)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        x.sum(2)
    with pytest.raises(IndexError, match="got -3"):
        x.mean(-3)
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        x.sum((1, -1))
    assert x.sum(np.int64(1)).shape == (2,)  # NumPy integers are dims too


def test_reductions_return_arrays_not_numpy_scalars():
    """NumPy reductions return scalars; tensors must hold 0-d arrays (as on CuPy) so in-place ops work."""
    x = minitorch.randn(3, requires_grad=True)
    for out in (x.sum(), x.mean(), x.amax(), x.var(), x @ x, x[0]):
        assert not isinstance(out.data, np.generic) and out.shape == ()
    out = x.sum()
    out.backward()
    assert not isinstance(x.grad.data, np.generic)
    with minitorch.no_grad():
        out.data[...] = 0
    assert out.item() == 0
