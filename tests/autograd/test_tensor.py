"""The Tensor API: dtype promotion, operators, comparisons, conversions, factories, seeding,
in-place updates, error messages -- checked against torch where torch defines the behaviour."""
import numpy as np
import pytest

import minitorch
from tests.helpers import assert_close, mt, randn, to_torch


def _torch():
    return pytest.importorskip("torch")


def _torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


# ------------------------------------------------------------------------------------- dtype promotion
PROMOTION = {
    "f32 * python float": (lambda f32, f64, i64, i32, b: f32 * 2.5),
    "python float * f32": (lambda f32, f64, i64, i32, b: 2.5 * f32),
    "f32 + python int": (lambda f32, f64, i64, i32, b: f32 + 3),
    "f64 * python float": (lambda f32, f64, i64, i32, b: f64 * 0.5),
    "int / int": (lambda f32, f64, i64, i32, b: i64 / i64),
    "int / python int": (lambda f32, f64, i64, i32, b: i64 / 2),
    "python int / int": (lambda f32, f64, i64, i32, b: 2 / i64),
    "int64 + float32": (lambda f32, f64, i64, i32, b: i64 + f32),
    "float32 + int64": (lambda f32, f64, i64, i32, b: f32 + i64),
    "float32 + float64": (lambda f32, f64, i64, i32, b: f32 + f64),
    "float64 * float32": (lambda f32, f64, i64, i32, b: f64 * f32),
    "int * python float": (lambda f32, f64, i64, i32, b: i64 * 2.5),
    "int * python int": (lambda f32, f64, i64, i32, b: i64 * 2),
    "int32 * python int": (lambda f32, f64, i64, i32, b: i32 * 2),
    "int32 + int64": (lambda f32, f64, i64, i32, b: i32 + i64),
    "bool * python int": (lambda f32, f64, i64, i32, b: b * 2),
    "bool * python float": (lambda f32, f64, i64, i32, b: b * 2.5),
    "int ** 2": (lambda f32, f64, i64, i32, b: i64 ** 2),
    "int ** 0.5": (lambda f32, f64, i64, i32, b: i64 ** 0.5),
    "2 ** int": (lambda f32, f64, i64, i32, b: 2 ** i64),
    "int.exp()": (lambda f32, f64, i64, i32, b: i64.exp()),
    "int.sqrt()": (lambda f32, f64, i64, i32, b: i64.sqrt()),
    "int.sum()": (lambda f32, f64, i64, i32, b: i64.sum()),
    "int32.sum()": (lambda f32, f64, i64, i32, b: i32.sum()),
    "int.clamp(float)": (lambda f32, f64, i64, i32, b: i64.clamp(0.5)),
    "int.clamp(int)": (lambda f32, f64, i64, i32, b: i64.clamp(0, 1)),
    "int // 2": (lambda f32, f64, i64, i32, b: i64 // 2),
    "maximum(int, f32)": (lambda f32, f64, i64, i32, b: i64.maximum(f32)),
    "f32 @ f32": (lambda f32, f64, i64, i32, b: f32 @ f32),
    "int @ int": (lambda f32, f64, i64, i32, b: i64 @ i64),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(PROMOTION))
def test_dtype_promotion_like_torch(name):
    torch = _torch()
    fn = PROMOTION[name]
    vals = [np.array([1.5, 2.0], np.float32), np.array([0.5, 3.0]), np.array([1, 2]), np.array([3, 4], np.int32),
            np.array([True, False])]
    ours = fn(*[mt(v) for v in vals])
    ref = fn(*[torch.from_numpy(v.copy()) for v in vals])
    assert str(ours.dtype) == _torch_dtype_name(ref), f"{name}: {ours.dtype} but torch gives {ref.dtype}"
    np.testing.assert_allclose(np.asarray(ours.tolist(), float), np.asarray(ref.tolist(), float), rtol=1e-6)


@pytest.mark.torch
def test_float32_stays_float32_through_forward_and_backward():
    torch = _torch()
    a = randn((3, 4), seed=1).astype(np.float32)
    x, tx = mt(a, requires_grad=True), to_torch(a, requires_grad=True)

    def f(t, lib):
        y = (t * 0.5 + 1.5) / 3.0 - 2 ** t + t ** 2.0
        y = (y.tanh() * y.sigmoid()).exp().log() + lib.where(t > 0, t, 0.1) + t.clamp(-0.5, 0.5) * 0.25
        y = y @ t.transpose(0, 1) if lib is torch else y @ t.t()
        return y.mean() + y.var() + y.sum(-1).amax() + y.abs().sqrt().sum() + (1.0 - y).relu().sum() / 7

    out, tout = f(x, minitorch), f(tx, torch)
    assert out.dtype == np.float32
    out.backward()
    tout.backward()
    assert x.grad.dtype == np.float32
    assert_close(out, tout, rtol=1e-4)
    assert_close(x.grad, tx.grad, rtol=1e-3, atol=1e-4)
    # the leaves' gradients were float32 all the way, not cast at the end: check one intermediate too
    h = x * 2.0
    h.retain_grad()
    (h.exp() * 0.5).sum().backward()
    assert h.grad.dtype == np.float32


def test_default_dtype_float64():
    minitorch.set_default_dtype(np.float64)
    assert minitorch.tensor([1.0]).dtype == np.float64
    assert minitorch.randn(2).dtype == np.float64
    assert minitorch.zeros(2).dtype == np.float64
    assert (minitorch.tensor([1, 2]) / 2).dtype == np.float64
    assert (minitorch.tensor([1, 2]) * 0.5).dtype == np.float64
    assert minitorch.tensor([1, 2]).exp().dtype == np.float64
    minitorch.set_default_dtype(np.float32)
    assert minitorch.tensor([1.0]).dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        minitorch.set_default_dtype(np.int64)


@pytest.mark.parametrize("target", [np.float64, "float64", minitorch.float64, minitorch.double])
def test_to_dtype_is_differentiable(target):
    x = minitorch.tensor([1.0, -2.0], requires_grad=True)
    y = x.to(target)
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0])
    z = x.double().float().half().float()
    (z * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, -1.0])
    assert x.to(np.float32) is x
    i = x.long()
    assert i.dtype == np.int64 and not i.requires_grad and i.tolist() == [1, -2]


# ------------------------------------------------------------------------------------- comparisons
@pytest.mark.torch
def test_comparisons_return_bool_tensors_without_grad():
    torch = _torch()
    a, b = np.array([1.0, 2.0, 3.0], np.float32), np.array([3.0, 2.0, 1.0], np.float32)
    x, y = mt(a, requires_grad=True), mt(b)
    tx, ty = torch.from_numpy(a), torch.from_numpy(b)
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        for other, tother in ((y, ty), (2.0, 2.0), (2, 2)):
            out = getattr(x, op)(other)
            ref = getattr(tx, op)(tother)
            assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
            assert out.tolist() == ref.tolist(), op
    assert (x == x).all().item() and not (x != x).any().item()
    assert (2.0 < x).tolist() == [False, False, True]  # reflected comparison
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert ((x < 2) | (x > 2)).tolist() == [True, False, True]
    assert (~(x > 1)).tolist() == [True, False, False]
    assert x.eq(y).tolist() == [False, True, False] and x.gt(1.5).tolist() == [False, True, True]


def test_comparison_shape_mismatch_names_the_op():
    with pytest.raises(RuntimeError, match=r"(eq|==).*\(3,\).*\(2,\)"):
        _ = minitorch.ones(3) == minitorch.ones(2)


# ------------------------------------------------------------------------------------- operators
REFLECTED = {
    "radd": lambda t, n: n + t, "rsub": lambda t, n: n - t, "rmul": lambda t, n: n * t,
    "rtruediv": lambda t, n: n / t, "rpow": lambda t, n: n ** t,
    "add": lambda t, n: t + n, "sub": lambda t, n: t - n, "truediv": lambda t, n: t / n, "pow": lambda t, n: t ** n,
}


@pytest.mark.torch
@pytest.mark.parametrize("number", [2, 1.5, -0.5], ids=str)
@pytest.mark.parametrize("op", list(REFLECTED))
def test_operators_with_python_numbers_vs_torch(op, number):
    from tests.kernels.kernel_cases import compare_with_torch

    if op in ("rpow", "pow") and number < 0:
        number = -number
    a = np.abs(randn((2, 3), seed=1)) + 0.5
    for dtype in (np.float32, np.float64):
        compare_with_torch(lambda t: REFLECTED[op](t, number), lambda t: REFLECTED[op](t, number), [a.astype(dtype)])


@pytest.mark.parametrize("op", ["radd", "rsub", "rmul", "rtruediv", "add", "sub", "truediv"])
def test_operators_with_numpy_arrays(op):
    a = np.abs(randn((2, 3), seed=1)) + 0.5
    arr = np.abs(randn((3,), seed=2)) + 0.5  # broadcasts
    fn = {"radd": lambda t, n: n + t, "rsub": lambda t, n: n - t, "rmul": lambda t, n: n * t,
          "rtruediv": lambda t, n: n / t, "add": lambda t, n: t + n, "sub": lambda t, n: t - n,
          "truediv": lambda t, n: t / n}[op]
    x = mt(a, requires_grad=True)
    out = fn(x, arr)
    assert isinstance(out, minitorch.Tensor), f"{op} with a numpy array must give a Tensor, got {type(out)}"
    np.testing.assert_allclose(out.detach().numpy(), fn(a, arr), rtol=1e-12)
    out.sum().backward()
    h = 1e-6
    num = (fn(a + h, arr) - fn(a - h, arr)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-6)


def test_rmatmul_and_matmul_with_numpy_and_lists():
    w = mt(randn((3, 2), seed=1), requires_grad=True)
    a = randn((4, 3), seed=2)
    out = a @ w
    assert isinstance(out, minitorch.Tensor) and out.shape == (4, 2)
    np.testing.assert_allclose(out.detach().numpy(), a @ w.detach().numpy())
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), a.T @ np.ones((4, 2)))
    assert (w.detach().T @ [1.0, 2.0, 3.0]).shape == (2,)


@pytest.mark.torch
def test_unary_operators_and_methods_vs_torch():
    from tests.kernels.kernel_cases import compare_with_torch

    a = randn((2, 3), seed=3)
    for fn in (lambda t: -t, lambda t: +t, lambda t: t.neg(), lambda t: t.add(2.0), lambda t: t.sub(1.0),
               lambda t: t.mul(t), lambda t: t.div(3.0), lambda t: t.pow(2), lambda t: t.square(), lambda t: abs(t)):
        compare_with_torch(fn, fn, [a])


# ------------------------------------------------------------------------------------- conversions
def test_item_numpy_tolist():
    t = minitorch.tensor([[1.5, 2.0]])
    assert t.tolist() == [[1.5, 2.0]]
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().dtype == np.float32
    assert minitorch.tensor(3.5).item() == 3.5 and isinstance(minitorch.tensor(3.5).item(), float)
    assert minitorch.tensor([7]).item() == 7 and isinstance(minitorch.tensor([7]).item(), int)
    assert minitorch.tensor(True).item() is True
    assert float(minitorch.tensor(2.5)) == 2.5 and int(minitorch.tensor([[3]])) == 3
    with pytest.raises(ValueError, match=r"only one element tensors.*\(1, 2\)"):
        t.item()
    r = minitorch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        r.numpy()
    assert r.detach().numpy().tolist() == [1.0] and r.item() == 1.0
    assert np.asarray(minitorch.tensor([1, 2])).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(minitorch.tensor([1.0, 2.0]))
    assert bool(minitorch.tensor([1.0]))
    assert len(minitorch.zeros(4, 2)) == 4
    assert [1, 2, 3][minitorch.tensor(1)] == 2  # __index__


@pytest.mark.torch
def test_repr_like_torch():
    torch = _torch()
    for make in (lambda lib: lib.tensor([1.0, 2.0]), lambda lib: lib.tensor([1, 2]),
                 lambda lib: lib.tensor([[1.0, 2.0], [3.0, 4.0]]),
                 lambda lib: lib.tensor([1.0, 2.0], requires_grad=True), lambda lib: lib.tensor([True, False])):
        assert repr(make(minitorch)) == repr(make(torch))
    values = [[0.5, -1.25], [[1.5, 2.0], [3.0, -4.0]], 3.5, 3.0, [1e-5, 1.0], [1e9, 1.0], [float("nan"), 1.5],
              [float("inf"), -2.5, float("-inf")], [0.0, 0.0], (np.arange(12.0).reshape(3, 4) / 7).tolist(),
              np.linspace(-3, 3, 30).tolist(), [[1e-5]], [100.25, -3.5], [], [[True, False]], [[1, -20], [300, 4]]]
    for v in values:
        assert repr(minitorch.tensor(v)) == repr(torch.tensor(v)), v
    assert repr(minitorch.tensor([1.0], dtype=np.float64)) == "tensor([1.], dtype=minitorch.float64)"
    y = minitorch.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = minitorch.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    u = minitorch.tensor(t)
    t.data[1] = -1.0
    assert u.tolist() == [1.0, 2.0]


# ------------------------------------------------------------------------------------- factories and seeding
@pytest.mark.torch
def test_factory_dtypes_and_shapes_like_torch():
    torch = _torch()
    cases = [
        lambda L: L.zeros(2, 3), lambda L: L.zeros((2, 3)), lambda L: L.zeros([4]), lambda L: L.zeros(()),
        lambda L: L.ones(2, dtype=L.int64), lambda L: L.ones(0, 3), lambda L: L.empty(3, 1).zero_(),
        lambda L: L.full((2, 2), 1.5), lambda L: L.full((2,), 3), lambda L: L.full((2,), True),
        lambda L: L.full([2, 3], 0.5, dtype=L.float64),
        lambda L: L.arange(5), lambda L: L.arange(0, 1, 0.25), lambda L: L.arange(2, 10, 3), lambda L: L.arange(5.0),
        lambda L: L.arange(3, dtype=L.float64), lambda L: L.linspace(0, 1, 5), lambda L: L.linspace(-1, 1, 1),
        lambda L: L.eye(3), lambda L: L.eye(2, 3), lambda L: L.eye(2, dtype=L.int64),
        lambda L: L.tensor([[1, 2], [3, 4]]), lambda L: L.tensor(3.5), lambda L: L.tensor(True),
        lambda L: L.tensor([1, 2.5]), lambda L: L.tensor(np.array([1.0, 2.0])),
        lambda L: L.tensor(np.array([1, 2], np.int32)), lambda L: L.tensor([]),
    ]
    for make in cases:
        ours, ref = make(minitorch), make(torch)
        assert str(ours.dtype) == _torch_dtype_name(ref) and ours.shape == tuple(ref.shape), (ours, ref)
        np.testing.assert_allclose(np.asarray(ours.tolist(), float), np.asarray(ref.tolist(), float), rtol=1e-6)
    x, tx = minitorch.ones(2, 3, dtype=np.float64), torch.ones(2, 3, dtype=torch.float64)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        ours, ref = getattr(minitorch, name)(x), getattr(torch, name)(tx)
        assert str(ours.dtype) == _torch_dtype_name(ref) and ours.shape == tuple(ref.shape)
    assert minitorch.full_like(x, 7).tolist() == torch.full_like(tx, 7).tolist()
    assert minitorch.zeros_like(x, dtype=np.int64).dtype == np.int64


def test_random_factories():
    r = minitorch.rand(1000)
    assert r.dtype == np.float32 and 0 <= r.amin().item() and r.amax().item() < 1 and abs(r.mean().item() - 0.5) < 0.05
    n = minitorch.randn(4000, dtype=np.float64)
    assert n.dtype == np.float64 and abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    i = minitorch.randint(2, 5, (1000,))
    assert i.dtype == np.int64 and set(i.tolist()) == {2, 3, 4}
    assert minitorch.randint(3, (4, 2)).shape == (4, 2)  # randint(high, size)
    assert minitorch.randint(3, size=(5,)).amax().item() < 3
    p = minitorch.randperm(6)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(6))
    w = minitorch.randn(3, 2, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with pytest.raises(ValueError, match="low < high"):
        minitorch.randint(3, 3, (2,))
    with pytest.raises(ValueError, match="negative dimension"):
        minitorch.zeros(2, -1)


def test_manual_seed_reproduces_random_numbers():
    draws = []
    for _ in range(2):
        minitorch.manual_seed(1234)
        draws.append((minitorch.randn(5).tolist(), minitorch.rand(3).tolist(), minitorch.randint(0, 100, (4,)).tolist(),
                      minitorch.randperm(5).tolist(), minitorch.randn_like(minitorch.zeros(2)).tolist()))
    assert draws[0] == draws[1]
    minitorch.manual_seed(1235)
    assert minitorch.randn(5).tolist() != draws[0][0]
    with pytest.raises(ValueError, match="non-negative integer"):
        minitorch.manual_seed(-1)


# ------------------------------------------------------------------------------------- in-place updates
def test_in_place_updates_under_no_grad():
    p = minitorch.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    ref = p
    with minitorch.no_grad():
        p -= 0.5 * p.grad
        p *= 2.0
        p.add_(p.grad, alpha=-0.25)
    assert p is ref, "augmented assignment must update in place"
    assert p.is_leaf and p.requires_grad and p.dtype == np.float32
    np.testing.assert_allclose(p.numpy() if not p.requires_grad else p.detach().numpy(), [-0.5, -1.0])
    with pytest.raises(RuntimeError, match="in-place.*no_grad"):
        p -= 1.0
    with pytest.raises(RuntimeError, match="in-place"):
        p.zero_()
    with minitorch.no_grad():
        p.zero_()
    assert p.detach().tolist() == [0.0, 0.0]


def test_augmented_assignment_inside_a_graph_is_recorded():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    acc = minitorch.zeros(2)
    acc += x * 3  # acc does not require grad, the right side does: recorded, like torch
    acc *= x
    acc.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    buf = minitorch.zeros(2)
    view = buf.numpy()  # shares memory with the tensor on the CPU backends
    buf += minitorch.ones(2)
    assert view.tolist() == [1.0, 1.0] == buf.tolist(), "augmented assignment must write into the same memory"
    with pytest.raises(RuntimeError, match=r"__iadd__.*\(3,\).*\(2,\)"):
        buf += minitorch.ones(3)
    i = minitorch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="dtype int64"):
        i += 0.5
    alias = buf
    buf += 1.0
    assert alias is buf and alias.tolist() == [2.0, 2.0]  # in place, as in torch
    e = minitorch.ones(3, 1).expand(3, 4)
    with pytest.raises(RuntimeError, match=r"__iadd__: this tensor can't be written in place.*clone"):
        e += 1.0


# ------------------------------------------------------------------------------------- error messages
def test_shape_mismatch_errors_name_the_op_and_both_shapes():
    a, b = minitorch.randn(2, 3), minitorch.randn(4, 3)
    for expr, op in ((lambda: a + b, "add"), (lambda: a - b, "sub"), (lambda: a * b, "mul"), (lambda: a / b, "div"),
                     (lambda: a.maximum(b), "maximum"), (lambda: minitorch.where(a > 0, a, b), "where")):
        with pytest.raises(RuntimeError, match=rf"{op}: shapes \(2, 3\) and \(4, 3\) are not broadcastable"):
            expr()
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 3\) cannot be multiplied"):
        a @ b
    with pytest.raises(RuntimeError, match=r"masked_fill.*\(2, 3\).*\(4, 3\)"):
        a.masked_fill(minitorch.ones(4, 3) > 0, 0.0)
    with pytest.raises(TypeError, match="masked_fill: mask must be a boolean tensor"):
        a.masked_fill(minitorch.ones(2, 3), 0.0)
    with pytest.raises(TypeError, match="unsupported operand"):
        a + "x"


# ------------------------------------------------------------------------------------- misc API
def test_properties_and_small_methods():
    x = minitorch.randn(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(1) == 3 and x.ndim == 3 and x.dim() == 3
    assert x.numel() == 24 and x.device == "cpu" and x.is_floating_point() and x.is_leaf
    c = x.clone()
    assert c.tolist() == x.tolist() and not np.shares_memory(c.data, x.data)
    w = minitorch.ones(2, requires_grad=True)
    y = w.clone()
    assert y.requires_grad and not y.is_leaf
    (y * 2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]
    assert minitorch.is_tensor(x) and not minitorch.is_tensor(x.data)


@pytest.mark.torch
def test_module_level_functions_match_methods():
    torch = _torch()
    a = randn((2, 3), seed=4)
    x, tx = mt(a), torch.from_numpy(a.copy())
    for name, args in (("exp", ()), ("tanh", ()), ("sum", (1,)), ("mean", (0,)), ("amax", (1,)), ("transpose", (0, 1)),
                       ("reshape", ((3, 2),)), ("unsqueeze", (0,)), ("clamp", (-0.5, 0.5)), ("softmax", (1,))):
        if name == "softmax":
            try:
                ours = getattr(minitorch, name)(x, *args)
            except ImportError:
                continue
        else:
            ours = getattr(minitorch, name)(x, *args)
        assert_close(ours, getattr(torch, name)(tx, *args), name=name)


@pytest.mark.torch
def test_where_with_numbers_and_condition_checks():
    torch = _torch()
    c = np.array([True, False, True])
    for args in ((1.0, 0.0), (1, 0), (2, 0.5)):
        ours, ref = minitorch.where(mt(c), *args), torch.where(torch.from_numpy(c), *args)
        assert str(ours.dtype) == _torch_dtype_name(ref) and ours.tolist() == ref.tolist()
    x = minitorch.ones(3, requires_grad=True)
    out = minitorch.where([True, False, True], x, 5.0)
    assert out.tolist() == [1.0, 5.0, 1.0] and out.requires_grad
    with pytest.raises(RuntimeError, match=r"where: condition of shape \(2,\).*\(3,\)"):
        minitorch.where(minitorch.tensor([True, False]), x, 0.0)


def test_setitem():
    buf = minitorch.zeros(2, 3)
    buf[0] = 1.0
    buf[:, 1] = minitorch.tensor([5.0, 6.0])
    buf[[1, 1], [2, 0]] = 7.0
    assert buf.tolist() == [[1.0, 5.0, 1.0], [7.0, 6.0, 7.0]]
    with pytest.raises(IndexError, match="out of range for dim 0 of size 2"):
        buf[[0, 2]] = 0.0
    w = minitorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 3.0
    with pytest.raises(RuntimeError, match="in-place"):
        buf[0, 0] = w[0]  # the assigned value requires grad: its gradient would be lost
    with minitorch.no_grad():
        w[0] = 3.0
    assert w.detach().tolist() == [3.0, 1.0]
