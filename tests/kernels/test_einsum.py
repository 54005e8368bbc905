"""einsum kernel pair (``minitorch.kernels.einsum``) and ``minitorch.einsum`` against torch.einsum."""
import numpy as np
import pytest

import minitorch
from minitorch.kernels import einsum as ek
from tests.helpers import randn
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch

# (equation, operand shapes): matmul, batched attention scores, outer product, sums, transposes, traces of
# products, three operands, '...', implicit outputs, an index summed by one operand only, length-1 dims.
EQUATIONS = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("bhqk,bhkd->bhqd", [(1, 2, 3, 5), (1, 2, 5, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij->ji", [(3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]),
    ("...d,d->...", [(2, 3, 4), (4,)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("bi,bj", [(2, 3), (2, 4)]),
    ("ijk,j->ik", [(2, 3, 4), (3,)]),
    ("ij,k->i", [(3, 4), (2,)]),
    ("ij,jk->ik", [(1, 4), (4, 1)]),
]


def _operands(shapes):
    return [randn(s, seed=k + 1) for k, s in enumerate(shapes)]


CASES = [Case(f"einsum[{eq}]", ek.einsum_forward, ek.einsum_backward, _operands(shapes), dict(equation=eq))
         for eq, shapes in EQUATIONS]
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_vs_torch(eq, shapes, dtype):
    torch = pytest.importorskip("torch")
    arrays = [a.astype(dtype) for a in _operands(shapes)]
    compare_with_torch(lambda *ts: minitorch.einsum(eq, *ts), lambda *ts: torch.einsum(eq, *ts), arrays)
    compare_with_torch(lambda *ts: minitorch.einsum(eq, list(ts)), lambda *ts: torch.einsum(eq, list(ts)), arrays)


def test_einsum_errors():
    a, b = minitorch.ones(2, 3), minitorch.ones(4, 5)
    with pytest.raises(ValueError, match="index 'j' has size 3 in one operand and 4 in operand 1"):
        minitorch.einsum("ij,jk->ik", a, b)
    with pytest.raises(ValueError, match="has 2 operand"):
        minitorch.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="operand 0 has 2 dims but subscripts 'ijk'"):
        minitorch.einsum("ijk->i", a)
    with pytest.raises(NotImplementedError, match="repeated within operand 0"):
        minitorch.einsum("ii->i", minitorch.ones(3, 3))
    with pytest.raises(ValueError, match="must be distinct indices of the inputs"):
        minitorch.einsum("ij->iz", a)
    with pytest.raises(ValueError, match="invalid character"):
        minitorch.einsum("i1->i", a)
    with pytest.raises(TypeError, match="one dtype"):
        minitorch.einsum("ij,ij->", a, minitorch.ones(2, 3, dtype=minitorch.float64))
    with pytest.raises(TypeError, match="equation string"):
        minitorch.einsum(a, a)
