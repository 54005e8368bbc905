"""The fast paths: backend.gelu_erf in float32 (the fused CPU loop of the exact GELU), the forward-only kernel
paths (``need_cache=False`` under no_grad), and the optimizer kernels' in-place forms.

The reference is x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2 from ``math.erfc`` in float64 (accurate in
both tails). Measured on the grid below: output within 1.4e-7 * max(|x|, 1), derivative within 2.4e-7
(absolute); relative error of the output 5e-5 for x >= -3 and 2e-2 down to x = -10, where torch's float32
GELU, computed as 0.5 x (1 + erf(x / sqrt 2)), has lost every digit. The bounds asserted are about 1.5x that."""
import math

import numpy as np
import pytest

from minitorch.autograd import Tensor, no_grad
from minitorch.autograd.function import kernel_function
from minitorch.backend import gelu_erf as _gelu_erf
from minitorch.backend import ops, to_numpy
from minitorch.backend import strict as strict_xp
from minitorch.kernels import elementwise as ew
from minitorch.kernels import norm as nk


def gelu_erf(x, grad=True):
    """As NumPy arrays (under MINITORCH_TEST_BACKEND=strict, NumPy input gives strict arrays)."""
    out, deriv = _gelu_erf(x, grad)
    return to_numpy(out), (None if deriv is None else to_numpy(deriv))


def _grid():
    return np.concatenate([np.linspace(-10, 10, 40_001), np.geomspace(1e-30, 1e-2, 101),
                           -np.geomspace(1e-30, 1e-2, 101), [0.0, -0.0, 40.0, -40.0]]).astype(np.float32)


def _reference(x):
    x = x.astype(np.float64)
    phi_cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    return x * phi_cdf, phi_cdf + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def test_float32_gelu_and_derivative_accuracy():
    x = _grid()
    ref, dref = _reference(x)
    out, deriv = gelu_erf(x)
    assert out.dtype == deriv.dtype == np.float32 and out.shape == deriv.shape == x.shape
    err, derr = np.abs(out - ref), np.abs(deriv - dref)
    assert (err <= 2e-7 * np.maximum(np.abs(x), 1)).all()
    assert derr.max() <= 4e-7
    rel = err / np.maximum(np.abs(ref), 1e-45)
    assert rel[x >= -3].max() <= 1e-4 and rel[x >= -10].max() <= 3e-2   # the negative tail keeps its digits
    assert out[-2] == 40.0 and out[-1] == 0.0 and deriv[-2] == 1.0 and deriv[-1] == 0.0
    assert out[-4] == out[-3] == 0.0 and deriv[-4] == deriv[-3] == 0.5


def test_float32_gelu_blocks_do_not_change_values(monkeypatch):
    x = (np.random.default_rng(0).standard_normal(100_003) * 3).astype(np.float32)
    out, deriv = gelu_erf(x)
    monkeypatch.setattr(ops, "_GELU_BLOCK", 7)                  # many blocks and a ragged last one
    out7, deriv7 = gelu_erf(x)
    np.testing.assert_array_equal(out7, out)
    np.testing.assert_array_equal(deriv7, deriv)
    out_only, none = gelu_erf(x, grad=False)                     # the forward-only call: same output
    assert none is None
    np.testing.assert_array_equal(out_only, out)
    s_out, s_deriv = _gelu_erf(strict_xp.asarray(x))             # one whole-array pass on other modules
    np.testing.assert_array_equal(s_out.unwrap(), out)
    np.testing.assert_array_equal(s_deriv.unwrap(), deriv)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 0, 2), (2, 3, 5)])
def test_float32_gelu_shapes_and_non_contiguous_input(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    out, deriv = gelu_erf(x)
    assert out.shape == deriv.shape == x.shape and out.dtype == np.float32
    big = np.random.default_rng(2).standard_normal((6, 8)).astype(np.float32)
    np.testing.assert_array_equal(gelu_erf(big.T)[0], gelu_erf(np.ascontiguousarray(big.T))[0])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_kernel_forward_only_gives_the_same_output_and_no_cache(approximate, dtype):
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(dtype)
    out, cache = ew.gelu_forward(x, approximate)
    out_only, none = ew.gelu_forward(x, approximate, need_cache=False)
    assert none is None and out_only.dtype == out.dtype == dtype and cache.dtype == dtype
    np.testing.assert_array_equal(to_numpy(out_only), to_numpy(out))


def test_kernel_function_tells_the_forward_kernel_whether_backward_can_run():
    seen = []

    def fwd(x, need_cache=True):
        seen.append(need_cache)
        return x * 2, (None if not need_cache else 2)

    def bwd(dout, cache):
        return (dout * cache,)

    Double = kernel_function("Double", fwd, bwd)
    leaf = Tensor(np.ones(3), requires_grad=True)
    Double.apply(leaf).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [2.0, 2.0, 2.0])
    with no_grad():
        Double.apply(leaf)
    Double.apply(Tensor(np.ones(3)))                             # nothing requires grad
    assert seen == [True, False, False]

    plain = kernel_function("Plain", lambda x: (x + 1, None), lambda d, c: (d,))  # no need_cache argument
    with no_grad():
        np.testing.assert_array_equal(plain.apply(leaf).numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, False)])
def test_layer_norm_forward_only_gives_the_same_output(affine):
    r = np.random.default_rng(4)
    x = r.standard_normal((2, 3, 8)).astype(np.float32)
    w = r.standard_normal(8).astype(np.float32) if affine[0] else None
    b = r.standard_normal(8).astype(np.float32) if affine[1] else None
    x_before = x.copy()
    y, cache = nk.layer_norm_forward(x, (8,), w, b)
    y_only, none = nk.layer_norm_forward(x, (8,), w, b, need_cache=False)
    assert none is None and cache is not None and y_only.dtype == np.float32
    np.testing.assert_array_equal(to_numpy(y_only), to_numpy(y))
    np.testing.assert_array_equal(x, x_before)                     # the input is never overwritten


# H = 80, B = 3: the LSTM's forward h (3, 80) @ W_hh^T (80, 320), its backward da (3, 320) @ W_hh (320, 80). The limit
# on a block's multiply-adds picks the cuts (_block_width): by default 256 + 64 columns forward and one block of 80
# backward; at 3 * 64 * 320, backward column blocks of 64 + 16; at 3 * 64 * 80, forward blocks of 64 and, with 64
# columns over the limit backward, the sum over row blocks of W_hh (256 + 64 rows). The GRU's (3H = 240) cuts
# follow from the same limits.
_LIMITS = {"default": None, "backward column blocks": 3 * 64 * 320, "backward row blocks": 3 * 64 * 80}


def _sequence_case(cell, T, B, H, seed, I=7):
    """``cell``'s ("lstm" or "gru") sequence kernels, float64 arguments (x (T, B, I), the initial states, weights
    and biases) and upstream gradients (output, final states)."""
    from minitorch.kernels import recurrent as rk

    r = np.random.default_rng(seed)
    G = 4 if cell == "lstm" else 3
    states = ((B, H), (B, H)) if cell == "lstm" else ((B, H),)
    args = [r.standard_normal(s) * 0.3 for s in ((T, B, I), *states, (G * H, I), (G * H, H), (G * H,), (G * H,))]
    douts = [r.standard_normal(s) for s in ((T, B, H), *states)]
    return getattr(rk, f"{cell}_forward"), getattr(rk, f"{cell}_backward"), args, douts


@pytest.mark.parametrize("limit", list(_LIMITS), ids=list(_LIMITS))
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_step_products_in_blocks_equal_one_product(monkeypatch, limit, cell):
    from minitorch.kernels import recurrent as rk

    T, B, H = 5, 3, 80
    forward, backward, args, douts = _sequence_case(cell, T, B, H, seed=5)
    if _LIMITS[limit] is not None:
        monkeypatch.setattr(rk, "_SMALL_GEMM", _LIMITS[limit])
    if cell == "lstm":
        cuts = {"default": (256, 80), "backward column blocks": (256, 64), "backward row blocks": (64, None)}[limit]
        assert (rk._block_width(B, H, 4 * H, rk._STEP_BLOCK), rk._block_width(B, 4 * H, H, rk._BACKWARD_BLOCK)) == cuts
    for reverse in (False, True):
        outs, cache = forward(*args, reverse=reverse)
        grads = backward(*douts, cache)
        with monkeypatch.context() as m:          # one block each way: the plain products
            m.setattr(rk, "_block_width", lambda rows, k, n, cap: n)
            outs1, cache1 = forward(*args, reverse=reverse)
            grads1 = backward(*douts, cache1)
        for a, b in zip(outs + grads, outs1 + grads1):
            np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("T, B", [(2, 3), (1, 1)], ids=["2 steps", "1 step"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_products_without_blocks_equal_the_blocked_ones(monkeypatch, cell, T, B):
    """Few steps (generation: one per token): the products use W_hh where it lies, and compute what the blocks do."""
    from minitorch.kernels import recurrent as rk

    assert not rk._blocks_pay(np.zeros((4, 4)), T)
    forward, backward, args, douts = _sequence_case(cell, T, B, 80, seed=6)
    outs, cache = forward(*args)
    grads = backward(*douts, cache)
    monkeypatch.setattr(rk, "_blocks_pay", lambda w, steps: True)
    outs1, cache1 = forward(*args)
    grads1 = backward(*douts, cache1)
    for a, b in zip(outs + grads, outs1 + grads1):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-12, atol=1e-13)


def test_blocks_pay_from_four_steps():
    from minitorch.kernels import recurrent as rk

    w = np.zeros((1024, 256), np.float32)
    assert [rk._blocks_pay(w, steps) for rows, steps in ((1, 64), (2, 3), (2, 4), (6, 64), (12, 1))] == [
        True, False, True, True, False]


def test_block_widths_of_the_lstm_presets_steps():
    """The cuts of the lstm preset's per-step products (H = 256) on a data-parallel process's 6 rows, on the whole
    batch of 12, and on 16 and 64 rows, where the backward's column blocks are over the limit."""
    from minitorch.kernels import recurrent as rk

    H = 256
    widths = {rows: (rk._block_width(rows, H, 4 * H, rk._STEP_BLOCK),
                     rk._block_width(rows, 4 * H, H, rk._BACKWARD_BLOCK)) for rows in (1, 6, 12, 16, 64)}
    assert widths == {1: (256, 128), 6: (256, 128), 12: (256, 64), 16: (128, None), 64: (None, None)}
    assert all(rows * w * k <= rk._SMALL_GEMM for rows, (f, b) in widths.items()
               for w, k in ((f, H), (b, 4 * H)) if w is not None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8])
@pytest.mark.parametrize("shape", [(0,), (1,), (3, 5), (7, 13, 2)])
def test_empty_aligned_starts_at_a_cache_line(shape, dtype):
    like = np.zeros(1)
    for _ in range(5):                            # several allocations: NumPy's own starts vary
        a = ops.empty_aligned(shape, dtype, like=like)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        assert a.size == 0 or a.ctypes.data % ops.CACHE_LINE == 0     # an empty array's address means nothing
        a[...] = 1                                # all of it is usable memory
        assert a.sum() == math.prod(shape)


def test_empty_aligned_on_another_array_module_is_its_empty():
    like = strict_xp.asarray(np.zeros(2))
    a = ops.empty_aligned((2, 3), np.float32, like=like)
    assert type(a) is type(like) and a.shape == (2, 3) and a.dtype == np.float32


def test_lstm_step_blocks_start_at_cache_lines():
    """The blocks that the per-step products read in place (forward and backward), from a W_hh that is not aligned."""
    from minitorch.kernels import recurrent as rk

    raw = np.random.default_rng(0).standard_normal(256 * 64 + 16).astype(np.float32)
    start = (16 - raw.ctypes.data % 64) % 64 // 4            # 16 bytes past a cache line
    w = raw[start:start + 256 * 64].reshape(256, 64)
    assert w.ctypes.data % 64 == 16
    forward = rk._scaled_transposed_blocks(w, np.full(256, 0.5, np.float32), 128)
    backward = rk._column_blocks(w, 32)
    for cols, block in forward:
        assert block.ctypes.data % 64 == 0
        np.testing.assert_array_equal(block, w[cols].T * np.float32(0.5))
    for cols, block in backward:
        assert block.ctypes.data % 64 == 0
        np.testing.assert_array_equal(block, w[:, cols])
    assert [c for c, _ in forward] == [slice(0, 128), slice(128, 256)]
    assert [c.start for c, _ in backward] == [0, 32]
