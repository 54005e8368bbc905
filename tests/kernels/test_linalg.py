"""The vector-norm kernel pair (``minitorch.kernels.linalg``) and the norms built on it: ``Tensor.norm``,
``minitorch.norm``, ``minitorch.linalg.vector_norm / matrix_norm / norm``, ``F.normalize``."""
import math

import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.kernels import linalg as la
from tests.helpers import mt, randn, to_torch
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch, numpy_inputs_fixture  # noqa: F401

INF = math.inf
ORDS = [2, 1, 3, 1.5, 0.5, -1, INF, -INF, 0]
SHAPES_DIMS = [((2, 3, 4), None), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((5, 1), 1), ((1, 4), 0), ((3,), 0),
               ((), None)]


def _away_from_zero(shape, seed=1):
    """Values with |x| >= 0.2 and distinct magnitudes (the norms are smooth there, no inf-norm ties)."""
    x = randn(shape, seed=seed)
    return np.sign(x + 1e-9) * (0.2 + np.abs(x)) + 0.01 * np.arange(x.size).reshape(shape)


def _cases():
    cases = []
    for shape, dim in SHAPES_DIMS:
        for p in ORDS:
            for keepdim in (False, True):
                cases.append(Case(f"norm{shape}-dim{dim}-ord{p}-keep{keepdim}", la.vector_norm_forward,
                                  la.vector_norm_backward, [_away_from_zero(shape)],
                                  kwargs=dict(ord=p, dim=dim, keepdim=keepdim)))
    return cases


CASES = _cases()
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


def test_forward_values_by_hand(numpy_inputs):
    x = np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0]])
    for p, expect in [(2, [5, 0]), (1, [7, 0]), (INF, [4, 0]), (-INF, [0, 0]), (0, [2, 0]), (3, [91 ** (1 / 3), 0])]:
        out, _ = la.vector_norm_forward(x, ord=p, dim=1)
        np.testing.assert_allclose(out, expect, err_msg=f"ord={p}")


def test_subgradients_at_zero_and_ties(numpy_inputs):
    x = np.array([[0.0, 0.0], [2.0, -2.0], [0.0, 1.0]])
    _, cache = la.vector_norm_forward(x, ord=2, dim=1)
    (dx,) = la.vector_norm_backward(np.ones(3), cache)
    np.testing.assert_allclose(dx, [[0, 0], [2 / math.sqrt(8), -2 / math.sqrt(8)], [0, 1]])  # 0 where the norm is 0
    _, cache = la.vector_norm_forward(x, ord=INF, dim=1)
    (dx,) = la.vector_norm_backward(np.ones(3), cache)
    np.testing.assert_allclose(dx, [[0, 0], [0.5, -0.5], [0, 1]])  # ties share; an all-zero row has sign 0
    _, cache = la.vector_norm_forward(x, ord=0.5, dim=1)
    (dx,) = la.vector_norm_backward(np.ones(3), cache)
    assert np.isfinite(dx).all() and dx[2, 0] == 0 and dx[0].tolist() == [0, 0]


# ------------------------------------------------------------------------------------------ vs torch
@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", ORDS)
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS[:5])
def test_linalg_vector_norm_vs_torch(shape, dim, p, dtype):
    torch = pytest.importorskip("torch")
    x = _away_from_zero(shape).astype(dtype)
    for keepdim in (False, True):
        compare_with_torch(lambda t, k=keepdim: minitorch.linalg.vector_norm(t, p, dim, k),
                           lambda t, k=keepdim: torch.linalg.vector_norm(t, p, dim, k), [x])


@pytest.mark.torch
@pytest.mark.parametrize("p", ORDS)
def test_norm_gradient_with_zeros_in_the_input_vs_torch(p):
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, 1.5, -2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 1.0, 0.5]])
    compare_with_torch(lambda t: minitorch.linalg.vector_norm(t, p, 1), lambda t: torch.linalg.vector_norm(t, p, 1),
                       [x])


@pytest.mark.torch
@pytest.mark.parametrize("args", [dict(), dict(p="fro"), dict(p=1), dict(p=INF), dict(dim=1), dict(dim=(0, 1)),
                                  dict(p=2, dim=-1, keepdim=True), dict(p="fro", dim=(1, 2)), dict(p=3, dim=0)])
def test_tensor_norm_vs_torch(args):
    torch = pytest.importorskip("torch")
    x = _away_from_zero((2, 3, 4))
    compare_with_torch(lambda t: t.norm(**args), lambda t: t.norm(**args), [x])
    compare_with_torch(lambda t: minitorch.norm(t, **args), lambda t: torch.norm(t, **args), [x])


@pytest.mark.torch
@pytest.mark.parametrize("ord", [None, "fro", 1, -1, INF, -INF])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norms_vs_torch(ord, keepdim):  # noqa: A002
    torch = pytest.importorskip("torch")
    x = _away_from_zero((2, 3, 4))
    if ord is not None:
        compare_with_torch(lambda t: minitorch.linalg.matrix_norm(t, ord, keepdim=keepdim),
                           lambda t: torch.linalg.matrix_norm(t, ord, keepdim=keepdim), [x])
        compare_with_torch(lambda t: minitorch.linalg.norm(t, ord, dim=(0, 2), keepdim=keepdim),
                           lambda t: torch.linalg.norm(t, ord, dim=(0, 2), keepdim=keepdim), [x])
        compare_with_torch(lambda t: minitorch.linalg.norm(t[0], ord), lambda t: torch.linalg.norm(t[0], ord), [x])
    else:
        compare_with_torch(lambda t: minitorch.linalg.norm(t, keepdim=keepdim),
                           lambda t: torch.linalg.norm(t, keepdim=keepdim), [x])
        compare_with_torch(lambda t: minitorch.linalg.norm(t, dim=1, keepdim=keepdim),
                           lambda t: torch.linalg.norm(t, dim=1, keepdim=keepdim), [x])


@pytest.mark.torch
@pytest.mark.parametrize("p,dim", [(2, 1), (1, -1), (2, 0)])
def test_normalize_vs_torch(p, dim):
    torch = pytest.importorskip("torch")
    x = randn((3, 4), seed=2)
    x[1] = 0  # a zero row: eps keeps it finite, as in torch
    compare_with_torch(lambda t: F.normalize(t, p, dim), lambda t: torch.nn.functional.normalize(t, p, dim), [x])


def test_norm_keeps_float32_and_rejects_bad_input():
    x = mt(randn((3, 4)).astype(np.float32), requires_grad=True)
    y = x.norm()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert minitorch.linalg.vector_norm(x, dtype=minitorch.float64).dtype == np.float64
    with pytest.raises(TypeError, match="floating point input, got dtype int64"):
        minitorch.tensor([1, 2]).norm()
    with pytest.raises(ValueError, match="ord must be a number"):
        minitorch.linalg.vector_norm(x, "fro")
    with pytest.raises(NotImplementedError, match="SVD"):
        x.norm(p="nuc")
    with pytest.raises(NotImplementedError, match="SVD"):
        minitorch.linalg.matrix_norm(x, 2)
    with pytest.raises(ValueError, match="must be 'fro'"):
        minitorch.linalg.matrix_norm(x, 3)
    with pytest.raises(RuntimeError, match="1-D or 2-D"):
        minitorch.linalg.norm(minitorch.ones(2, 2, 2), ord=1)
    with pytest.raises(RuntimeError, match="non-empty"):
        minitorch.linalg.vector_norm(minitorch.ones(0, 3), INF, dim=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.norm(dim=2)
    assert minitorch.linalg.vector_norm(minitorch.ones(0, 3), 2).item() == 0.0


@pytest.mark.torch
def test_norm_of_a_graph_backpropagates_like_torch():
    pytest.importorskip("torch")
    w = randn((4, 3), seed=3)
    a, b = mt(w, requires_grad=True), to_torch(w, requires_grad=True)
    ((a * 2).norm(dim=0) ** 2).sum().backward()
    ((b * 2).norm(dim=0) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9)
