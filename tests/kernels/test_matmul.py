"""Matrix-product kernels (hw1): matmul with 1-D operands and batch broadcasting, and bmm."""
import numpy as np
import pytest

import minitorch
from minitorch.kernels import matmul as mm
from tests.helpers import mt, randn
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch, run_gradcheck

# torch.matmul's cases: vector·vector, matrix·vector, vector·matrix, matrix·matrix, batched with a shared
# matrix on either side, batch broadcasting (1 vs B, and different ranks), 1-D with batched, length 1.
MATMUL_SHAPES = [
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((2, 2, 3, 4), (4,)),
    ((1, 1), (1, 1)),
    ((1, 4), (4, 1)),
    ((1,), (1, 3)),
]
BMM_SHAPES = [((2, 3, 4), (2, 4, 5)), ((1, 1, 1), (1, 1, 1)), ((3, 1, 4), (3, 4, 2))]


def _cases():
    cases = []
    for sa, sb in MATMUL_SHAPES:
        cases.append(Case(f"matmul{sa}@{sb}", mm.matmul_forward, mm.matmul_backward,
                          [np.asarray(randn(sa, seed=1)), np.asarray(randn(sb, seed=2))]))
    for sa, sb in BMM_SHAPES:
        cases.append(Case(f"bmm{sa}@{sb}", mm.bmm_forward, mm.bmm_backward, [randn(sa, seed=3), randn(sb, seed=4)]))
    return cases


CASES = _cases()


# float64 finite differences, float32 stays float32, strict backend == NumPy (tests/kernels/kernel_cases.py)
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


def test_large_matmul_gradcheck_uses_random_projections():
    """A (2, 16, 24) @ (24, 20) product: more than ``full_max`` elements, so the check samples coordinates
    and random directions (torch's fast mode) -- the path used for realistic layer sizes."""
    run_gradcheck(Case("matmul_large", mm.matmul_forward, mm.matmul_backward,
                       [randn((2, 16, 24), seed=5), randn((24, 20), seed=6)]))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES + [((0, 4), (4, 3)), ((2, 0, 4), (4, 3)), ((3, 0), (0, 2))],
                         ids=str)
def test_matmul_vs_torch(shapes, dtype):
    torch = pytest.importorskip("torch")
    sa, sb = shapes
    a, b = randn(sa, seed=1).astype(dtype), randn(sb, seed=2).astype(dtype)
    compare_with_torch(lambda x, y: x @ y, lambda x, y: x @ y, [a, b])
    compare_with_torch(lambda x, y: minitorch.matmul(x, y), torch.matmul, [a, b])
    compare_with_torch(lambda x, y: x.matmul(y), lambda x, y: x.matmul(y), [a, b])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", BMM_SHAPES + [((0, 2, 3), (0, 3, 4))], ids=str)
def test_bmm_vs_torch(shapes, dtype):
    torch = pytest.importorskip("torch")
    sa, sb = shapes
    a, b = randn(sa, seed=1).astype(dtype), randn(sb, seed=2).astype(dtype)
    compare_with_torch(lambda x, y: x.bmm(y), torch.bmm, [a, b])
    compare_with_torch(lambda x, y: minitorch.bmm(x, y), torch.bmm, [a, b])


@pytest.mark.torch
def test_matmul_only_one_side_requires_grad():
    torch = pytest.importorskip("torch")
    a, b = randn((2, 3, 4), seed=1), randn((4, 5), seed=2)
    compare_with_torch(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], grad=[False, True])
    compare_with_torch(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], grad=[True, False])
    assert torch is not None


def test_cast_inside_graph_keeps_each_leaf_dtype():
    a, b = randn((3, 4), seed=1).astype(np.float32), randn((4, 2), seed=2)
    x, y = mt(a, requires_grad=True), mt(b, requires_grad=True)
    z = x.double() @ y
    assert z.dtype == np.float64
    z.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(b.sum(1), (3, 4)), rtol=1e-6)


def test_matmul_error_messages_name_op_and_shapes():
    a, b = minitorch.randn(2, 3), minitorch.randn(4, 5)
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b
    with pytest.raises(RuntimeError, match=r"matmul.*\(3,\).*\(4,\)"):
        minitorch.randn(3) @ minitorch.randn(4)
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 3, 4\).*\(5, 4, 2\)"):
        minitorch.randn(2, 3, 4) @ minitorch.randn(5, 4, 2)  # batch dims 2 vs 5
    with pytest.raises(RuntimeError, match=r"matmul.*at least 1 dimension.*\(\)"):
        minitorch.tensor(2.0) @ minitorch.randn(3)
    with pytest.raises(RuntimeError, match=r"bmm.*\(2, 3, 4\).*\(3, 4, 5\)"):
        minitorch.randn(2, 3, 4).bmm(minitorch.randn(3, 4, 5))
    with pytest.raises(RuntimeError, match=r"bmm.*\(3, 4\)"):
        minitorch.randn(3, 4).bmm(minitorch.randn(4, 5))


def test_rmatmul_with_numpy_array():
    a = randn((2, 3), seed=1).astype(np.float32)
    b = mt(randn((3, 4), seed=2).astype(np.float32), requires_grad=True)
    out = a @ b
    assert isinstance(out, minitorch.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.detach().numpy(), a @ b.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.broadcast_to(a.sum(0)[:, None], (3, 4)), rtol=1e-6)
