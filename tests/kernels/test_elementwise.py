"""Elementwise kernels (hw1) and GELU (hw2): finite differences, dtypes, CuPy neutrality, and torch."""
import math

import numpy as np
import pytest

import minitorch
from minitorch.autograd.functions import basic as B
from minitorch.kernels import elementwise as ew
from tests.helpers import mt, randn
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch

# Broadcasting pairs: equal, trailing vector, both sides broadcast, length 1, scalar, batch 1.
BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((2, 3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((1,), (5,)),
    ((), (2, 3)),
    ((1, 3), (1, 1)),
]
UNARY_SHAPES = [(3, 4), (1,), (), (1, 1, 5), (2, 3, 4)]


def away_from(x, points, gap=0.1):
    """``x`` with every value at least ``gap`` away from each of ``points`` (kinks)."""
    x = np.array(x, dtype=np.float64, copy=True)
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap)
    return x


def positive(shape, seed=0):
    return np.abs(randn(shape, seed=seed)) + 0.5


def nonzero(shape, seed=0):
    x = randn(shape, seed=seed)
    return np.sign(x + 1e-300) * (np.abs(x) + 0.5)


def untied_pair(sa, sb, seed=0):
    """Two arrays whose broadcast values always differ by at least 0.2 (no ties, no kinks)."""
    r = np.random.default_rng(seed)
    a = r.integers(-3, 3, sa) + 0.3 * r.random(sa)
    b = r.integers(-3, 3, sb) + 0.5 + 0.3 * r.random(sb)
    return a.astype(np.float64), b.astype(np.float64)


def _cases():
    cases = []
    for sa, sb in BINARY_SHAPES:
        tag = f"{sa}x{sb}"
        a, b = randn(sa, seed=1), randn(sb, seed=2)
        cases += [
            Case(f"add{tag}", ew.add_forward, ew.add_backward, [a, b]),
            Case(f"sub{tag}", ew.sub_forward, ew.sub_backward, [a, b]),
            Case(f"mul{tag}", ew.mul_forward, ew.mul_backward, [a, b]),
            Case(f"div{tag}", ew.div_forward, ew.div_backward, [a, nonzero(sb, seed=3)]),
            Case(f"maximum{tag}", ew.maximum_forward, ew.maximum_backward, list(untied_pair(sa, sb))),
            Case(f"where{tag}", ew.where_forward, ew.where_backward,
                 [randn(np.broadcast_shapes(sa, sb), seed=4) > 0, a, b], wrt=[1, 2]),
        ]
    # where: the condition itself broadcasts the result beyond both operands
    cases.append(Case("where_cond_broadcast", ew.where_forward, ew.where_backward,
                      [randn((2, 3, 4), seed=5) > 0, randn((3, 1), seed=6), randn((4,), seed=7)], wrt=[1, 2]))
    for s in UNARY_SHAPES:
        x = randn(s, seed=8)
        cases += [
            Case(f"neg{s}", ew.neg_forward, ew.neg_backward, [x]),
            Case(f"exp{s}", ew.exp_forward, ew.exp_backward, [x]),
            Case(f"log{s}", ew.log_forward, ew.log_backward, [positive(s)]),
            Case(f"sqrt{s}", ew.sqrt_forward, ew.sqrt_backward, [positive(s)]),
            Case(f"tanh{s}", ew.tanh_forward, ew.tanh_backward, [x]),
            Case(f"sigmoid{s}", ew.sigmoid_forward, ew.sigmoid_backward, [3 * x]),
            Case(f"relu{s}", ew.relu_forward, ew.relu_backward, [away_from(x, [0])]),
            Case(f"abs{s}", ew.abs_forward, ew.abs_backward, [away_from(x, [0])]),
            Case(f"clamp{s}", ew.clamp_forward, ew.clamp_backward, [away_from(x, [-0.5, 0.5])],
                 kwargs=dict(min=-0.5, max=0.5)),
            Case(f"clamp_min{s}", ew.clamp_forward, ew.clamp_backward, [away_from(x, [0.2])], kwargs=dict(min=0.2)),
            Case(f"clamp_max{s}", ew.clamp_forward, ew.clamp_backward, [away_from(x, [0.2])], kwargs=dict(max=0.2)),
            Case(f"gelu{s}", ew.gelu_forward, ew.gelu_backward, [2 * x]),
            Case(f"gelu_tanh{s}", ew.gelu_forward, ew.gelu_backward, [2 * x], kwargs=dict(approximate="tanh")),
            Case(f"masked_fill{s}", ew.masked_fill_forward, ew.masked_fill_backward,
                 [x], kwargs=dict(mask=randn(s, seed=9) > 0, value=-1.5)),
        ]
        for p in (2, 3, 0.5, -1.5, 0, 1):
            base = positive(s) if isinstance(p, float) else x
            cases.append(Case(f"pow{p}{s}", ew.pow_forward, ew.pow_backward, [base], kwargs=dict(exponent=p)))
        cases.append(Case(f"pow-2{s}", ew.pow_forward, ew.pow_backward, [nonzero(s)], kwargs=dict(exponent=-2)))
        cases.append(Case(f"rpow{s}", ew.rpow_forward, ew.rpow_backward, [x], kwargs=dict(base=2.5)))
    cases.append(Case("masked_fill_broadcast_mask", ew.masked_fill_forward, ew.masked_fill_backward,
                      [randn((2, 3, 4), seed=10)], kwargs=dict(mask=randn((3, 1), seed=11) > 0, value=0.0)))
    cases.append(Case("unbroadcast_via_expand", ew.add_forward, ew.add_backward,
                      [randn((4, 1, 3), seed=12), randn((2, 1, 5, 1), seed=13)]))
    return cases


CASES = _cases()


# float64 finite differences, float32 stays float32, strict backend == NumPy (tests/kernels/kernel_cases.py)
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


# ------------------------------------------------------------------------------- unbroadcast
@pytest.mark.parametrize("grad_shape, shape", [
    ((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)), ((2, 4, 3), (4, 1)), ((2, 4, 3), ()),
    ((4, 3), (4, 3)), ((5, 1, 3), (1, 1, 1)), ((0, 3), (3,)), ((2, 0), (1, 1)),
])
def test_unbroadcast_matches_sum_over_broadcast_axes(grad_shape, shape):
    g = randn(grad_shape, seed=3)
    out = ew.unbroadcast(g, shape)
    assert out.shape == shape
    # reference: the adjoint of broadcast_to, i.e. sum of g over every position that maps to one element
    lead = len(grad_shape) - len(shape)
    ref = g.sum(axis=tuple(range(lead))) if lead else g
    for i, n in enumerate(shape):
        if n == 1 and ref.shape[i] != 1:
            ref = ref.sum(axis=i, keepdims=True)
    np.testing.assert_allclose(out, ref.reshape(shape), rtol=1e-12)
    assert ew.unbroadcast(g.astype(np.float32), shape).dtype == np.float32


def test_unbroadcast_example_from_docstring():
    np.testing.assert_array_equal(ew.unbroadcast(np.ones((4, 3)), (3,)), np.full((3,), 4.0))


# ------------------------------------------------------------------------------- subgradients (torch's)
def test_kinks_follow_torch_subgradients():
    x = np.array([-1.0, 0.0, 1.0, -0.5, 0.5])
    assert list(ew.relu_backward(np.ones(5), ew.relu_forward(x)[1])[0]) == [0, 0, 1, 0, 1]
    assert list(ew.abs_backward(np.ones(5), ew.abs_forward(x)[1])[0]) == [-1, 0, 1, -1, 1]
    # clamp: the bounds count as inside
    assert list(ew.clamp_backward(np.ones(5), ew.clamp_forward(x, min=-0.5, max=0.5)[1])[0]) == [0, 1, 0, 1, 1]
    # maximum: ties share the gradient equally
    _, cache = ew.maximum_forward(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]))
    da, db = ew.maximum_backward(np.ones(3), cache)
    assert list(da) == [0.5, 0, 1] and list(db) == [0.5, 1, 0]


def test_sigmoid_is_finite_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise"):
        out, _ = ew.sigmoid_forward(x)
    out = minitorch.backend.to_numpy(out)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [0.0, 1.9287e-22, 0.5, 1.0, 1.0], rtol=1e-4)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        ew.gelu_forward(np.ones(3), approximate="fast")


# ------------------------------------------------------------------------------- torch, via the Tensor API
torch_mark = pytest.mark.torch
DTYPES = [np.float32, np.float64]
SHAPES_T = BINARY_SHAPES + [((0, 3), (3,)), ((2, 0, 4), (1, 4))]  # + empty batches


def _t():
    return pytest.importorskip("torch")


BINARY_OPS = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, "nonzero"),
    "maximum": (lambda a, b: a.maximum(b), "untied"),
    "minimum": (lambda a, b: a.minimum(b), "untied"),
    "method_add": (lambda a, b: a.add(b), None),
    "method_sub": (lambda a, b: a.sub(b), None),
    "method_mul": (lambda a, b: a.mul(b), None),
    "method_div": (lambda a, b: a.div(b), "nonzero"),
}


@torch_mark
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", SHAPES_T, ids=str)
@pytest.mark.parametrize("op", list(BINARY_OPS))
def test_binary_vs_torch(op, shapes, dtype):
    torch = _t()
    fn, kind = BINARY_OPS[op]
    sa, sb = shapes
    if kind == "untied":
        a, b = untied_pair(sa, sb)
    else:
        a, b = randn(sa, seed=1), (nonzero(sb, seed=2) if kind == "nonzero" else randn(sb, seed=2))
    tfn = {"maximum": torch.maximum, "minimum": torch.minimum}.get(op, fn)
    compare_with_torch(fn, tfn, [a.astype(dtype), b.astype(dtype)])
    # and with the operands swapped (the other side broadcasts)
    compare_with_torch(fn, tfn, [b.astype(dtype), a.astype(dtype)])


UNARY_OPS = {
    "neg": (lambda x: -x, lambda x: -x, None),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), None),
    "log": (lambda x: x.log(), lambda x: x.log(), "positive"),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), "positive"),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt(), "positive"),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh(), None),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), None),
    "relu": (lambda x: x.relu(), lambda x: x.relu(), "kink0"),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), "kink0"),
    "square": (lambda x: x.square(), lambda x: x.square(), None),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: x.reciprocal(), "nonzero"),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), "kink05"),
    "clamp_min": (lambda x: x.clamp(min=0.5), lambda x: x.clamp(min=0.5), "kink05"),
    "clamp_max": (lambda x: x.clamp(max=-0.5), lambda x: x.clamp(max=-0.5), "kink05"),
    "pow2": (lambda x: x ** 2, lambda x: x ** 2, None),
    "pow3": (lambda x: x.pow(3), lambda x: x.pow(3), None),
    "pow0": (lambda x: x ** 0, lambda x: x ** 0, None),
    "pow_half": (lambda x: x ** 0.5, lambda x: x ** 0.5, "positive"),
    "pow_neg": (lambda x: x ** -1.5, lambda x: x ** -1.5, "positive"),
    "pow_neg_int": (lambda x: x ** -2, lambda x: x ** -2, "nonzero"),
    "rpow": (lambda x: 2.5 ** x, lambda x: 2.5 ** x, None),
    "rpow_int_base": (lambda x: 2 ** x, lambda x: 2 ** x, None),
    "gelu": (lambda x: B.Gelu.apply(x),
             lambda x: __import__("torch").nn.functional.gelu(x), None),
    "gelu_tanh": (lambda x: B.Gelu.apply(x, approximate="tanh"),
                  lambda x: __import__("torch").nn.functional.gelu(x, approximate="tanh"), None),
    "masked_fill": (lambda x: x.masked_fill(mt(_mask(x.shape)), -2.0),
                    lambda x: x.masked_fill(__import__("torch").from_numpy(_mask(tuple(x.shape))), -2.0), None),
}


def _mask(shape):
    return np.asarray(randn(shape, seed=21) > 0)


def _sample(kind, shape):
    x = randn(shape, seed=5) * 1.5
    if kind == "positive":
        return positive(shape, seed=5)
    if kind == "nonzero":
        return nonzero(shape, seed=5)
    if kind == "kink0":
        return away_from(x, [0])
    if kind == "kink05":
        return away_from(x, [-0.5, 0.5])
    return x


@torch_mark
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", UNARY_SHAPES + [(0, 3), (1, 0)], ids=str)
@pytest.mark.parametrize("op", list(UNARY_OPS))
def test_unary_vs_torch(op, shape, dtype):
    fn, tfn, kind = UNARY_OPS[op]
    compare_with_torch(fn, tfn, [_sample(kind, shape).astype(dtype)])


@torch_mark
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)), ((1,), (1,)),
                                    ((0, 2), (2,))], ids=str)
def test_where_vs_torch(shapes, dtype):
    torch = _t()
    sa, sb = shapes
    cond = randn(np.broadcast_shapes(sa, sb), seed=7) > 0
    a, b = randn(sa, seed=1).astype(dtype), randn(sb, seed=2).astype(dtype)
    compare_with_torch(lambda x, y: minitorch.where(mt(cond), x, y),
                       lambda x, y: torch.where(torch.from_numpy(cond), x, y), [a, b])


@torch_mark
def test_where_with_python_scalar_and_condition_broadcast():
    torch = _t()
    cond = randn((2, 3, 1), seed=7) > 0
    x = randn((3, 4), seed=1).astype(np.float32)
    outs = compare_with_torch(lambda t: minitorch.where(mt(cond), t, 0.0),
                              lambda t: torch.where(torch.from_numpy(cond), t, 0.0), [x])
    assert outs[0].shape == (2, 3, 4)


@torch_mark
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_broadcast_mask_vs_torch(dtype):
    torch = _t()
    mask = randn((3, 1), seed=3) > 0
    x = randn((2, 3, 4), seed=4).astype(dtype)
    compare_with_torch(lambda t: t.masked_fill(mt(mask), float("-inf")).exp(),
                       lambda t: t.masked_fill(torch.from_numpy(mask), float("-inf")).exp(), [x])


@torch_mark
@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_exponent_vs_torch(dtype):
    torch = _t()
    base, p = positive((3, 4), seed=1).astype(dtype), randn((4,), seed=2).astype(dtype)
    compare_with_torch(lambda a, b: a ** b, lambda a, b: a ** b, [base, p])
    compare_with_torch(lambda a, b: a.pow(b), lambda a, b: torch.pow(a, b), [base, p])


@torch_mark
def test_maximum_ties_split_like_torch():
    a = np.array([1.0, 2.0, 3.0, 2.0])
    b = np.array([1.0, 3.0, 2.0, 2.0])
    compare_with_torch(lambda x, y: x.maximum(y), lambda x, y: __import__("torch").maximum(x, y), [a, b])
    compare_with_torch(lambda x, y: x.minimum(y), lambda x, y: __import__("torch").minimum(x, y), [a, b])


@torch_mark
def test_kinks_at_zero_match_torch():
    x = np.array([-1.0, 0.0, 2.0, 0.5, -0.5])
    for op in ("relu", "abs", "clamp"):
        fn, tfn, _ = UNARY_OPS[op]
        compare_with_torch(fn, tfn, [x])


@torch_mark
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 ** -1 = inf, as in torch
def test_rpow_edge_bases_vs_torch():
    x = np.array([0.0, 1.0, 2.5, -1.0])
    _t()
    for base in (0.0, 1.0, 0.5):
        compare_with_torch(lambda t, b=base: b ** t, lambda t, b=base: b ** t, [x])
    out = 2 ** mt(np.array([1, 2, 3]))
    assert out.dtype == torch_equivalent_int_pow_dtype() and out.tolist() == [2, 4, 8]


def torch_equivalent_int_pow_dtype():
    import torch

    return {torch.int64: np.dtype(np.int64)}[(2 ** torch.tensor([1, 2, 3])).dtype]


@torch_mark
def test_gelu_float32_precision_vs_torch():
    x = np.linspace(-6, 6, 101).astype(np.float32)
    fn, tfn, _ = UNARY_OPS["gelu"]
    compare_with_torch(fn, tfn, [x])


def test_math_constants_in_kernels_are_exact():
    from minitorch.backend import SQRT_2_OVER_PI

    assert SQRT_2_OVER_PI == math.sqrt(2 / math.pi)


# ------------------------------------------------------------------------------- property: any broadcast pair
try:
    from hypothesis import given, settings
    from hypothesis.extra.numpy import mutually_broadcastable_shapes
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    given = None


if given is not None:
    @torch_mark
    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=3))
    def test_binary_ops_on_any_broadcastable_shapes_vs_torch(shapes):
        torch = _t()
        sa, sb = shapes.input_shapes
        a, b = untied_pair(sa, sb, seed=len(sa) * 7 + len(sb))
        for op in ("add", "sub", "mul", "div", "maximum"):
            fn, _ = BINARY_OPS[op]
            tfn = torch.maximum if op == "maximum" else fn
            compare_with_torch(fn, tfn, [a, b])
