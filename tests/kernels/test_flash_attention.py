"""The tiled (flash) attention kernel of hw4's bonus: equal to the plain kernel to float rounding, float64 finite
differences, torch's F.scaled_dot_product_attention, and its memory: no (T_q, T_k) array, forward or backward."""
import tracemalloc

import numpy as np
import pytest

import minitorch
from minitorch.kernels import attention as A
from minitorch.kernels import flash_attention as FA
from minitorch.nn import functional as F
from minitorch.testing import check_kernel_grads
from tests.helpers import TOL, randn, to_torch, torch_single_thread  # noqa: F401 - fixture

# (q shape, k shape, v shape, block_q, block_k): blocks that divide T and blocks that do not, one block larger than
# T, one-element blocks, cross-attention both ways, broadcast batch dims, batch 1.
CASES = [
    ((2, 3, 8, 4), (2, 3, 8, 4), (2, 3, 8, 5), 4, 4),
    ((2, 3, 7, 4), (2, 3, 7, 4), (2, 3, 7, 5), 3, 2),
    ((2, 5, 4), (2, 9, 4), (2, 9, 3), 2, 4),     # T_q < T_k
    ((2, 9, 4), (2, 5, 4), (2, 5, 3), 4, 2),     # T_q > T_k
    ((2, 3, 6, 4), (2, 1, 6, 4), (1, 1, 6, 2), 4, 3),  # k, v broadcast over heads / batch
    ((1, 5, 3), (1, 5, 3), (1, 5, 3), 16, 16),   # one block
    ((4, 3), (4, 3), (4, 2), 1, 1),              # no batch dims, one-element tiles
]


def _inputs(case, seed=0, dtype=np.float64):
    return [randn(s, dtype=dtype, seed=seed + i) for i, s in enumerate(case[:3])]


def _kw(case, causal):
    return dict(is_causal=causal, block_q=case[3], block_k=case[4])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("causal", [False, True])
def test_flash_equals_the_plain_kernel_to_float32_rounding(case, causal):
    q, k, v = _inputs(case, seed=3, dtype=np.float32)
    out, cache = FA.flash_attention_forward(q, k, v, **_kw(case, causal))
    ref, ref_cache = A.scaled_dot_product_attention_forward(q, k, v, is_causal=causal)
    assert out.dtype == np.float32 and cache.lse.dtype == np.float32
    # both against the float64 truth: the tiled kernel is as exact as the plain one, within a few float32 ulps
    truth, _ = A.scaled_dot_product_attention_forward(*(a.astype(np.float64) for a in (q, k, v)), is_causal=causal)
    eps = np.finfo(np.float32).eps * max(1.0, np.abs(truth).max())
    assert np.abs(out - truth).max() <= 8 * eps
    assert np.abs(out - ref).max() <= 8 * eps
    dout = randn(out.shape, dtype=np.float32, seed=9)
    grads = FA.flash_attention_backward(dout, cache)
    want = A.scaled_dot_product_attention_backward(dout, ref_cache)
    for g, w, x in zip(grads, want, (q, k, v)):
        assert g.dtype == np.float32 and g.shape == x.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(w).max()))


def test_logsumexp_is_the_plain_kernels():
    q, k, v = _inputs(CASES[1], seed=4)
    _, cache = FA.flash_attention_forward(q, k, v, is_causal=True, block_q=3, block_k=2)
    s = (q @ np.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    m = s.max(-1, keepdims=True)
    np.testing.assert_allclose(cache.lse, (m + np.log(np.exp(s - m).sum(-1, keepdims=True)))[..., 0], rtol=1e-13)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("causal", [False, True])
def test_flash_gradcheck(case, causal):
    err = check_kernel_grads(FA.flash_attention_forward, FA.flash_attention_backward, _inputs(case),
                             kwargs=_kw(case, causal))
    assert err < 1e-6


def test_flash_gradcheck_with_scale_and_large_scores():
    """Scores up to ~50: the running max keeps exp finite (exp(50) alone is 5e21, a sum of such overflows float32)."""
    case = CASES[1]
    q, k, v = _inputs(case, seed=6)
    check_kernel_grads(FA.flash_attention_forward, FA.flash_attention_backward, [q * 20, k, v],
                       kwargs=dict(_kw(case, True), scale=0.8))
    out, _ = FA.flash_attention_forward(*(a.astype(np.float32) for a in (q * 60, k, v)), block_q=3, block_k=2)
    assert np.isfinite(out).all()


def test_rows_of_the_causal_mask_see_only_earlier_keys():
    """Changing key/value j changes no output row i < j, and gives no gradient to keys after the last query."""
    q, k, v = _inputs(CASES[2], seed=8)
    out, cache = FA.flash_attention_forward(q, k, v, is_causal=True, block_q=2, block_k=4)
    k2, v2 = k.copy(), v.copy()
    k2[:, 3] += 1.0
    v2[:, 3] += 1.0
    out2, _ = FA.flash_attention_forward(q, k2, v2, is_causal=True, block_q=2, block_k=4)
    np.testing.assert_array_equal(out[:, :3], out2[:, :3])
    assert np.abs(out[:, 3:] - out2[:, 3:]).min() > 0
    _, dk, dv = FA.flash_attention_backward(np.ones_like(out), cache)
    assert np.all(dk[:, 5:] == 0) and np.all(dv[:, 5:] == 0)  # 5 queries: keys 5..8 are never seen


def test_need_cache_false_and_no_grad():
    q, k, v = _inputs(CASES[0])
    out, cache = FA.flash_attention_forward(q, k, v, need_cache=False, block_q=4, block_k=4)
    assert cache is None
    with minitorch.no_grad():
        t = F.flash_attention(*(minitorch.tensor(a, requires_grad=True) for a in (q, k, v)), block_q=4, block_k=4)
    np.testing.assert_array_equal(t.numpy(), out)


def _peak_bytes(fn, *args, **kwargs):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_linear_in_the_sequence_length():
    """tracemalloc sees NumPy's allocations: at T = 1024, d = 16 the plain kernel holds the (T, T) scores
    (8 MiB in float64), the tiled one never more than a few (T, d) arrays and one (64, 64) tile, forward and
    backward. A deterministic property of the allocations, not a timing."""
    t, d, blk = 1024, 16, 64
    q, k, v = (randn((t, d), seed=i) for i in range(3))
    square = t * t * 8
    out, cache = FA.flash_attention_forward(q, k, v, block_q=blk, block_k=blk)  # warm up (imports, caches)
    for causal in (False, True):
        kw = dict(is_causal=causal, block_q=blk, block_k=blk)
        fwd = _peak_bytes(FA.flash_attention_forward, q, k, v, **kw)
        _, cache = FA.flash_attention_forward(q, k, v, **kw)
        bwd = _peak_bytes(FA.flash_attention_backward, out, cache)
        plain = _peak_bytes(A.scaled_dot_product_attention_forward, q, k, v, is_causal=causal)
        linear = 8 * t * d * 8 + 4 * blk * blk * 8  # eight (T, d) arrays and four tiles
        assert fwd < linear and bwd < linear, (fwd, bwd, linear)
        assert plain > square > 8 * fwd


def test_float32_stays_float32_and_strict_backend():
    from minitorch.backend import strict

    case = CASES[4]
    minitorch.set_backend("strict")
    arrays = [strict.asarray(a) for a in _inputs(case)]
    out, cache = FA.flash_attention_forward(*arrays, **_kw(case, True))
    grads = FA.flash_attention_backward(strict.asarray(np.ones(out.shape)), cache)
    assert all(isinstance(g, strict.StrictArray) for g in grads)
    minitorch.set_backend("numpy")
    ref, _ = FA.flash_attention_forward(*_inputs(case), **_kw(case, True))
    np.testing.assert_array_equal(out.unwrap(), ref)


def test_bad_arguments_get_one_line_errors():
    q = minitorch.tensor(randn((2, 4, 3)))
    with pytest.raises(ValueError, match=r"flash_attention\(\): block_q must be a positive int, got 0"):
        F.flash_attention(q, q, q, block_q=0)
    with pytest.raises(ValueError, match=r"block_k must be a positive int, got 2.5"):
        F.flash_attention(q, q, q, block_k=2.5)
    with pytest.raises(ValueError, match="same last dim"):
        F.flash_attention(q, minitorch.tensor(randn((2, 4, 5))), q)
    with pytest.raises(ValueError, match=r"at least one position \(S >= 1\)"):
        F.flash_attention(q, minitorch.tensor(randn((2, 0, 3))), minitorch.tensor(randn((2, 0, 3))))
    with pytest.raises(ValueError, match="flash attention: block_q must be a positive int"):
        FA.flash_attention_forward(q.numpy(), q.numpy(), q.numpy(), block_q=-1)


def test_flop_rule_counts_the_recomputed_scores():
    from minitorch.utils.flops import FlopCounter

    b, h, t, d = 2, 3, 8, 4
    q, k, v = (minitorch.tensor(randn((b, h, t, d), seed=i), requires_grad=True) for i in range(3))
    with FlopCounter() as fc:
        F.flash_attention(q, k, v, block_q=4, block_k=4).sum().backward()
    f = 4 * b * h * t * t * d
    assert fc.forward_flops == f and fc.backward_flops == 2 * f + 2 * b * h * t * t * d
    assert not fc.uncounted


# ----------------------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("causal", [False, True])
def test_flash_matches_torch(dtype, case, causal):
    torch = pytest.importorskip("torch")
    arrays = _inputs(case, seed=21, dtype=dtype)
    scale = 0.6 if case[3] == 3 else None
    ts = [to_torch(a, requires_grad=True) for a in arrays]
    ms = [minitorch.tensor(a, requires_grad=True) for a in arrays]
    tk, tv = (t.expand(*torch.broadcast_shapes(*(x.shape[:-2] for x in ts)), *t.shape[-2:]) for t in ts[1:])
    want = torch.nn.functional.scaled_dot_product_attention(ts[0], tk, tv, is_causal=causal, scale=scale)
    got = F.flash_attention(*ms, is_causal=causal, scale=scale, block_q=case[3], block_k=case[4])
    dout = randn(tuple(want.shape), dtype=dtype, seed=5)
    want.backward(torch.from_numpy(dout))
    got.backward(minitorch.tensor(dout))
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), **tol)
    for m, t in zip(ms, ts):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **tol)

