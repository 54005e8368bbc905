"""The backward engine: graph shapes (shared inputs, diamonds, deep chains, multi-output ops),
gradient accumulation, retain_graph, grad modes, retain_grad, and custom Functions."""
import sys

import numpy as np
import pytest

import minitorch
from minitorch.autograd import Function, engine
from minitorch.autograd.functions import basic as B
from tests.helpers import assert_close, mt, randn, to_torch


def _torch():
    return pytest.importorskip("torch")


# ------------------------------------------------------------------------------------- graph shapes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shared_subexpressions_accumulate_like_torch(dtype):
    torch = _torch()
    a = randn((3, 4), seed=1).astype(dtype)
    x, tx = mt(a, requires_grad=True), to_torch(a, requires_grad=True)

    def f(x, lib):
        y = x * x + x * 3.0 + x.exp()  # x used four times
        z = y * x - y / (x * x + 1.0)  # y (a non-leaf) used twice
        return (z * z).sum() + lib.matmul(x, x.transpose(0, 1)).sum()

    out, tout = f(x, minitorch), f(tx, torch)
    out.backward()
    tout.backward()
    assert_close(out, tout)
    assert x.grad.dtype == dtype
    assert_close(x.grad, tx.grad)


def test_shared_input_simple_closed_form():
    x = minitorch.tensor([1.0, 2.0, -3.0], requires_grad=True)
    (x * x * x + x + x).sum().backward()  # d/dx = 3x^2 + 2
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 14.0, 29.0])


def test_diamond_graph_like_torch():
    _torch()
    a = randn((2, 5), seed=2)
    x, tx = mt(a, requires_grad=True), to_torch(a, requires_grad=True)

    def f(x):
        top = x * 2.0
        left, right = top.tanh(), top.sigmoid()
        bottom = left * right + left
        return (bottom * top).sum()

    f(x).backward()
    f(tx).backward()
    assert_close(x.grad, tx.grad)


def test_each_node_runs_backward_once_in_a_diamond():
    calls = []

    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            calls.append(g.copy())
            return g * 2

    x = minitorch.ones(3, requires_grad=True)
    t = Twice.apply(x)
    (t.exp() + t.tanh() + t * 3).sum().backward()
    assert len(calls) == 1, "a node shared by three consumers must run once, with the summed gradient"
    np.testing.assert_allclose(calls[0], np.exp(2.0) + (1 - np.tanh(2.0) ** 2) + 3, rtol=1e-6)


@pytest.mark.parametrize("n", [5000])
def test_deep_chain_without_recursion_error(n):
    assert n > sys.getrecursionlimit()
    x = minitorch.tensor([0.5, -1.0], dtype=np.float64, requires_grad=True)
    y = x
    for i in range(n):
        y = y * 1.0001 if i % 2 else y + 0.001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** (n // 2)] * 2, rtol=1e-12)
    del y  # freeing a 5000-deep graph must not overflow the stack either


def test_deep_chain_of_mixed_ops():
    x = minitorch.tensor(np.linspace(-1, 1, 4), dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(300):
        y = (y.tanh() * 0.9 + y * 0.1).reshape(2, 2).reshape(4)
    y.sum().backward()
    # reference: forward-mode by finite differences
    def f(v):
        for _ in range(300):
            v = np.tanh(v) * 0.9 + v * 0.1
        return v
    h = 1e-6
    num = [(f(x.detach().numpy() + h * e) - f(x.detach().numpy() - h * e)).sum() / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-6)


def test_topological_sort_is_iterative_and_ordered():
    x = minitorch.randn(3, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y + 1.0
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive sort would fail here
    try:
        order = engine.topological_sort(y._ctx)
    finally:
        sys.setrecursionlimit(old)
    assert len(order) == 3000 and order[-1] is y._ctx
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for t in node.inputs:
            if t is not None and t._ctx is not None:
                assert position[id(t._ctx)] < position[id(node)], "a node must come after the nodes it reads"


def test_topological_sort_of_random_dag():
    r = np.random.default_rng(0)
    leaves = [minitorch.randn(2, requires_grad=True) for _ in range(3)]
    nodes = list(leaves)
    for _ in range(60):
        i, j = r.integers(0, len(nodes), 2)
        nodes.append(nodes[i] * 0.5 + nodes[j].tanh())
    root = sum(nodes[-10:][1:], nodes[-10])
    order = engine.topological_sort(root._ctx)
    assert len(order) == len({id(n) for n in order}), "each node once"
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for t in node.inputs:
            if t is not None and t._ctx is not None:
                assert position[id(t._ctx)] < position[id(node)]
    root.sum().backward()
    for leaf in leaves:
        assert leaf.grad is not None or all(leaf is not n for n in nodes[3:])


# ------------------------------------------------------------------------------------- accumulation
def test_grad_accumulates_across_two_backward_calls():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0 + 2.0, 3.0 + 4.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_grad_is_not_aliased_to_other_arrays():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = minitorch.tensor([1.0, 2.0], requires_grad=True)
    (x + y).sum().backward()  # add_backward returns the same array for both inputs
    with minitorch.no_grad():
        x.grad.data[...] = 100.0
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_accumulate_helper_does_not_modify_in_place():
    g1 = np.ones(3)
    grads = {}
    engine.accumulate(grads, "k", g1)
    engine.accumulate(grads, "k", np.full(3, 2.0))
    np.testing.assert_array_equal(grads["k"], [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(g1, [1.0, 1.0, 1.0])


# ------------------------------------------------------------------------------------- retain_graph
def test_second_backward_without_retain_graph_raises_clear_error():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_frees_intermediate_tensors():
    """After backward (without retain_graph) the graph no longer holds the forward's intermediates, so a
    training loop that keeps ``loss`` alive into the next step does not keep two steps of activations."""
    import gc
    import weakref

    x = minitorch.randn(100, requires_grad=True)
    h = x * 2.0
    ref = weakref.ref(h)
    loss = h.exp().sum()
    del h
    gc.collect()
    assert ref() is not None, "before backward the graph needs h"
    loss.backward()
    gc.collect()
    assert ref() is None, "backward must drop the graph's references to intermediate tensors"
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.detach().numpy()), rtol=1e-5)


def test_backward_frees_saved_values():
    x = minitorch.randn(3, requires_grad=True)
    y = x.exp()
    z = y.sum()
    z.backward()
    assert y.grad_fn.freed and y.grad_fn.cache is None


# ------------------------------------------------------------------------------------- grad modes
def test_no_grad_enable_grad_set_grad_enabled_context_managers():
    x = minitorch.ones(2, requires_grad=True)
    assert minitorch.is_grad_enabled()
    with minitorch.no_grad():
        assert not minitorch.is_grad_enabled()
        y = x * 2
        with minitorch.enable_grad():
            z = x * 2
        w = x * 2
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None
    assert not w.requires_grad
    with minitorch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert minitorch.is_grad_enabled()
    minitorch.set_grad_enabled(False)  # a plain call switches until switched back
    try:
        assert not (x * 2).requires_grad
    finally:
        minitorch.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_grad_modes_as_decorators():
    x = minitorch.ones(2, requires_grad=True)

    @minitorch.no_grad()
    def f(t):
        return t * 2

    @minitorch.no_grad
    def g(t):
        return t * 2

    @minitorch.set_grad_enabled(False)
    def h(t):
        return t * 2

    @minitorch.enable_grad()
    def k(t):
        return t * 2

    assert minitorch.is_grad_enabled(), "decorating must not change the mode"
    assert not f(x).requires_grad and not g(x).requires_grad and not h(x).requires_grad
    assert f.__name__ == "f" and g.__name__ == "g"
    with minitorch.no_grad():
        assert k(x).requires_grad
        assert not minitorch.is_grad_enabled()
    assert minitorch.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with minitorch.no_grad():
            raise ValueError("boom")
    assert minitorch.is_grad_enabled()


# ------------------------------------------------------------------------------------- errors
def test_backward_on_non_scalar_needs_gradient():
    x = minitorch.randn(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*\(2, 3\)"):
        y.backward()
    g = randn((2, 3), seed=3).astype(np.float32)
    y.backward(mt(g))
    np.testing.assert_allclose(x.grad.numpy(), 2 * g)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\) but the tensor has shape \(2, 3\)"):
        (x * 2).backward(minitorch.ones(3))
    z = (x * 2)[0:1, 0:1]  # one element, not 0-d: allowed, as in torch
    z.backward()


def test_backward_of_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minitorch.ones(2).sum().backward()
    x = minitorch.ones(2, requires_grad=True)
    with minitorch.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_requires_grad_on_integer_tensors_errors():
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients.*int64"):
        minitorch.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        minitorch.arange(3).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        minitorch.zeros(2, dtype=np.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        minitorch.tensor([True]).requires_grad = True


def test_detach_cuts_the_graph_and_shares_data():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.data, y.data)
    (y * d).sum().backward()  # d is a constant: grad = d
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([3.0, 6.0]))
    z = x * 2
    z.detach_()
    assert not z.requires_grad and z.is_leaf


def test_requires_grad_can_only_be_turned_off_on_leaves():
    x = minitorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad = False
    x.requires_grad = False
    assert not (x * 2).requires_grad


# ------------------------------------------------------------------------------------- retain_grad
def test_retain_grad_on_non_leaf_and_root():
    _torch()
    a = randn((3,), seed=4)
    x, tx = mt(a, requires_grad=True), to_torch(a, requires_grad=True)
    outs = []
    for lib_x in (x, tx):
        h = lib_x * 2.0
        h.retain_grad()
        k = h.exp()  # not retained
        loss = (k * h).sum()
        loss.retain_grad()
        loss.backward()
        outs.append((h, k, loss))
    (h, k, loss), (th, tk, tloss) = outs
    assert_close(h.grad, th.grad)
    assert k.grad is None
    assert loss.grad.item() == 1.0 == tloss.grad.item()
    assert_close(x.grad, tx.grad)
    with pytest.raises(RuntimeError, match="retain_grad"):
        minitorch.ones(2).retain_grad()


def test_retain_grad_accumulates_over_all_uses():
    x = minitorch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    h.retain_grad()
    (h * 2 + h * 3 + h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 6.0])


def test_non_leaf_grads_stay_none_and_leaves_without_requires_grad_get_nothing():
    w = minitorch.ones(2, requires_grad=True)
    c = minitorch.ones(2)
    h = w * c
    (h * c).sum().backward()
    assert h.grad is None and c.grad is None and w.grad is not None


# ------------------------------------------------------------------------------------- multi-output Functions
def test_split_with_only_some_outputs_used():
    x = minitorch.tensor(np.arange(6.0), requires_grad=True)
    a, b, c = x.split([1, 2, 3])
    (b * 10).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 10, 10, 0, 0, 0])
    x.grad = None
    a, b, c = x.split(2)
    (a.sum() * 2 + c.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 0, 0, 1, 1])


def test_custom_multi_output_function():
    class SinCos(Function):
        @staticmethod
        def forward(ctx, x):
            xp = minitorch.get_array_module(x)
            ctx.cache = x
            return xp.sin(x), xp.cos(x)

        @staticmethod
        def backward(ctx, gs, gc):
            x = ctx.cache
            xp = minitorch.get_array_module(x)
            return gs * xp.cos(x) - gc * xp.sin(x)

    x = minitorch.tensor([0.3, 1.2], dtype=np.float64, requires_grad=True)
    s, c = SinCos.apply(x)
    assert s.grad_fn is c.grad_fn
    c.sum().backward()  # only the second output used: the first gets zeros
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([0.3, 1.2]))
    x.grad = None
    s, c = SinCos.apply(x)
    (s * 2 + c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([0.3, 1.2]) - np.sin([0.3, 1.2]))


def test_custom_function_contract_errors():
    class WrongCount(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return (g,)

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum()

        @staticmethod
        def backward(ctx, g):
            return (g,)

    a, b = minitorch.ones(2, requires_grad=True), minitorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="WrongCount.backward returned 1 gradients, but the op has 2"):
        WrongCount.apply(a, b).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape \(\) for input 0"):
        WrongShape.apply(a).backward()
    with pytest.raises(TypeError, match="expected Tensor inputs, got ndarray"):
        B.Add.apply(a, np.ones(2))


def test_none_gradients_and_none_inputs_are_skipped():
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx, a, b, scale=1.0):
            return a * scale + (0 if b is None else b)

        @staticmethod
        def backward(ctx, g):
            return g * 2, None

    a = minitorch.ones(2, requires_grad=True)
    b = minitorch.ones(2, requires_grad=True)
    FirstOnly.apply(a, b, scale=2.0).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [2, 2])
    assert not FirstOnly.apply(minitorch.ones(2), None).requires_grad


def test_options_are_not_differentiated_and_tensors_in_options_are_unwrapped():
    x = minitorch.tensor([1.0, 5.0, 3.0], requires_grad=True)
    mask = minitorch.tensor([True, False, True])
    y = B.MaskedFill.apply(x, mask=mask, value=0.0)  # a Tensor option becomes its array
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 0])


def test_ops_without_grad_inputs_record_nothing():
    x = minitorch.ones(3)
    y = x.exp() * 2
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    w = minitorch.ones(3, requires_grad=True)
    z = y * w
    assert z.requires_grad and not z.is_leaf and repr(z.grad_fn) == "<MulBackward>"
