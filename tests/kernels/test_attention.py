"""Scaled dot-product attention kernels: float64 finite differences and torch's F.scaled_dot_product_attention."""
import numpy as np
import pytest

import minitorch
from minitorch.autograd.functions.attention import ScaledDotProductAttention, ScaledDotProductAttentionWithWeights
from minitorch.kernels import attention as K
from minitorch.testing import check_kernel_grads
from tests.helpers import TOL, mt, randn, to_torch

# (q shape, k shape, v shape): batch/head dims, cross-attention, batch 1, length 1, broadcasting.
SHAPES = [
    ((2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 6)),  # batch, heads
    ((2, 3, 5), (2, 6, 5), (2, 6, 4)),  # cross-attention T_q != T_k
    ((1, 1, 4), (1, 1, 4), (1, 1, 3)),  # batch 1, length 1
    ((4, 3), (4, 3), (4, 2)),  # no batch dims
    ((2, 3, 4, 5), (2, 1, 6, 5), (1, 1, 6, 3)),  # k, v broadcast over heads/batch
    ((1, 2, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)),
]


def _inputs(shapes, seed=0, dtype=np.float64):
    return [randn(s, dtype=dtype, seed=seed + i) for i, s in enumerate(shapes)]


def padding_mask(batch_shape, t_q, t_k, seed=3, full_rows=True):
    """A boolean 'may attend' mask with some entries masked, and (optionally) some rows fully masked."""
    r = np.random.default_rng(seed)
    m = r.random(batch_shape + (t_q, t_k)) > 0.3
    if full_rows:
        m[..., 0, :] = False
        if t_q > 2:
            m[..., -1, :] = False
    return m


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("is_causal", [False, True])
def test_sdpa_gradcheck(shapes, is_causal):
    err = check_kernel_grads(K.scaled_dot_product_attention_forward, K.scaled_dot_product_attention_backward,
                             _inputs(shapes), kwargs=dict(is_causal=is_causal))
    assert err < 1e-6


@pytest.mark.parametrize("shapes", SHAPES[:3])
def test_sdpa_gradcheck_padding_mask_with_fully_masked_rows(shapes):
    q, k, v = _inputs(shapes, seed=5)
    mask = padding_mask(q.shape[:-2], q.shape[-2], k.shape[-2])
    out, cache = K.scaled_dot_product_attention_forward(q, k, v, mask=mask)
    assert np.all(out[..., 0, :] == 0), "a fully masked query row must give a zero output"
    for causal in (False, True):
        check_kernel_grads(K.scaled_dot_product_attention_forward, K.scaled_dot_product_attention_backward,
                           [q, k, v], kwargs=dict(mask=mask, is_causal=causal, scale=0.7))


def test_sdpa_gradcheck_float_mask_and_scale():
    q, k, v = _inputs(SHAPES[1], seed=7)
    bias = randn((3, 6), seed=9)
    bias[1, :] = -np.inf  # a fully masked row through the additive mask
    bias[0, 2] = -np.inf
    out, _ = K.scaled_dot_product_attention_forward(q, k, v, mask=bias, scale=0.3)
    assert np.all(out[:, 1] == 0) and np.isfinite(out).all()
    check_kernel_grads(K.scaled_dot_product_attention_forward, K.scaled_dot_product_attention_backward,
                       [q, k, v], kwargs=dict(mask=bias, scale=0.3))


def test_sdpa_gradcheck_with_dropout():
    """Dropout draws a mask from the seeded generator: reseed before each call to freeze it."""
    q, k, v = _inputs(SHAPES[0], seed=11)

    def forward(*arrays, **kw):
        minitorch.manual_seed(123)
        return K.scaled_dot_product_attention_forward(*arrays, **kw)

    out, cache = forward(q, k, v, dropout_p=0.4, is_causal=True)
    assert cache.keep is not None and 0 < cache.keep.mean() < 1
    check_kernel_grads(forward, K.scaled_dot_product_attention_backward, [q, k, v],
                       kwargs=dict(dropout_p=0.4, is_causal=True))


def test_sdpa_with_weights_gradcheck():
    """Both outputs (out, weights) carry a random upstream gradient."""
    q, k, v = _inputs(SHAPES[1], seed=13)
    mask = padding_mask((2,), 3, 6)
    err = check_kernel_grads(K.scaled_dot_product_attention_with_weights_forward,
                             K.scaled_dot_product_attention_with_weights_backward, [q, k, v],
                             kwargs=dict(mask=mask))
    assert err < 1e-6


def test_fully_masked_rows_give_zeros_not_nan():
    q, k, v = _inputs(SHAPES[0], seed=1)
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:, :2] = True  # row 0 fully masked
    out, cache = K.scaled_dot_product_attention_forward(q, k, v, mask=mask, is_causal=True)
    assert np.all(out[..., 0, :] == 0) and np.isfinite(out).all()
    dq, dk, dv = K.scaled_dot_product_attention_backward(randn(out.shape, seed=2), cache)
    for g in (dq, dk, dv):
        assert np.isfinite(g).all()
    assert np.all(dq[..., 0, :] == 0)
    # causal & mask: key 1 is visible to queries >= 1, key 0 too; keys >= 2 never
    assert np.all(dk[..., 2:, :] == 0) and np.all(dv[..., 2:, :] == 0)


def test_causal_matches_explicit_mask_and_weights_sum_to_one():
    q, k, v = _inputs(SHAPES[1], seed=4)
    out_c, cache = K.scaled_dot_product_attention_forward(q, k, v, is_causal=True)
    out_m, _ = K.scaled_dot_product_attention_forward(q, k, v, mask=np.tril(np.ones((3, 6), dtype=bool)))
    # the same up to rounding: without a mask the softmax shifts each row by its key-0 score, not its max
    np.testing.assert_allclose(out_c, out_m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cache.weights.sum(-1), 1.0, rtol=1e-12)
    assert np.all(np.triu(cache.weights[0], k=1) == 0)


def test_causal_mask_offset_aligns_the_last_query_with_the_last_key():
    m = K.causal_mask(2, 5, np, offset=3)
    np.testing.assert_array_equal(m, [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])


def _softmax_rows(s):
    """The textbook softmax over the last axis (row max subtracted), the reference for the kernel's shift."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("is_causal", [False, True])
def test_unmasked_rows_shift_by_the_key0_score_only_while_exp_cannot_overflow(is_causal):
    """Without a mask masked_softmax subtracts key 0's score (cheaper than the row max); rows whose spread
    could overflow exp fall back to the row max. Both give the textbook softmax."""
    causal = np.where(np.tril(np.ones((5, 7), dtype=bool)), 0.0, -np.inf) if is_causal else 0.0
    for spread, expect_key0 in ((3.0, True), (40.0, True), (200.0, False)):
        s = randn((2, 3, 5, 7), seed=21) * spread / 3
        s[..., 0] = -spread / 2  # key 0 at the bottom: the shifted scores reach about the full spread
        for dtype in (np.float64, np.float32):
            shift = K._softmax_shift((s + causal).astype(dtype), key0_allowed=True)
            assert np.array_equal(shift, s[..., :1].astype(dtype)) == (expect_key0 or dtype == np.float64), spread
            w = K.masked_softmax(s.astype(dtype), is_causal=is_causal)
            assert w.dtype == dtype and np.all(np.isfinite(w))
            np.testing.assert_allclose(w, _softmax_rows(s + causal), **TOL[np.dtype(dtype)])
    assert K._softmax_shift(np.array([[1.0, 5.0, 2.0]]), key0_allowed=False).item() == 5.0  # masks: the row max


@pytest.mark.parametrize("q_shape,k_shape", [((2, 3, 4), (2, 1, 4)), ((2, 3, 1), (2, 5, 1)), ((1, 1), (1, 1))])
def test_the_kernel_never_writes_into_its_inputs(q_shape, k_shape):
    """k^T is copied before it is scaled in place, also where swapping k's last axes is already contiguous."""
    q, k = randn(q_shape, seed=1), randn(k_shape, seed=2)
    v = randn(k_shape[:-1] + (3,), seed=3)
    before = [a.copy() for a in (q, k, v)]
    for kw in (dict(), dict(is_causal=True), dict(scale=2.0)):
        out, cache = K.scaled_dot_product_attention_forward(q, k, v, **kw)
        dout = np.ones_like(out)
        K.scaled_dot_product_attention_backward(dout, cache)
        for a, b in zip((q, k, v), before):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(dout, 1.0)


def test_float32_stays_float32():
    q, k, v = _inputs(SHAPES[0], dtype=np.float32)
    mask = padding_mask((2, 3), 4, 4)
    for kw in (dict(), dict(is_causal=True), dict(mask=mask, dropout_p=0.1), dict(mask=mask.astype(np.float64))):
        out, cache = K.scaled_dot_product_attention_forward(q, k, v, **kw)
        assert out.dtype == np.float32 and cache.weights.dtype == np.float32, kw
        grads = K.scaled_dot_product_attention_backward(np.ones_like(out), cache)
        assert all(g.dtype == np.float32 for g in grads), kw


def test_kernel_runs_on_the_strict_backend():
    """No np.<fn> on data: the strict array module rejects it, as CuPy would."""
    from minitorch.backend import strict

    q, k, v = (strict.asarray(a) for a in _inputs(SHAPES[0]))
    mask = strict.asarray(padding_mask((2, 3), 4, 4))
    minitorch.set_backend("strict")
    (out, w), cache = K.scaled_dot_product_attention_with_weights_forward(q, k, v, mask=mask, is_causal=True,
                                                                          dropout_p=0.2)
    grads = K.scaled_dot_product_attention_with_weights_backward(strict.asarray(np.ones(out.shape)),
                                                                 strict.asarray(np.ones(w.shape)), cache)
    assert all(isinstance(g, strict.StrictArray) for g in grads)
    ref, _ = K.scaled_dot_product_attention_forward(*_inputs(SHAPES[0]), mask=padding_mask((2, 3), 4, 4),
                                                    is_causal=True)
    minitorch.set_backend("numpy")
    out2, _ = K.scaled_dot_product_attention_forward(*_inputs(SHAPES[0]), mask=padding_mask((2, 3), 4, 4),
                                                     is_causal=True)
    np.testing.assert_allclose(ref.unwrap(), out2, rtol=1e-12)


# ----------------------------------------------------------------------------- against PyTorch
def _torch_sdpa(q, k, v, **kw):
    torch = pytest.importorskip("torch")
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("variant", ["plain", "causal", "bool_mask", "float_mask", "scale"])
def test_sdpa_matches_torch(dtype, shapes, variant):
    torch = pytest.importorskip("torch")
    arrays = _inputs(shapes, seed=21, dtype=dtype)
    batch = np.broadcast_shapes(shapes[0][:-2], shapes[1][:-2])
    t_q, t_k = shapes[0][-2], shapes[1][-2]
    opts, topts = {}, {}
    if variant == "causal":
        opts, topts = dict(is_causal=True), dict(is_causal=True)
    elif variant == "bool_mask":
        m = padding_mask(batch, t_q, t_k, full_rows=False)
        m[..., 0] = True  # every row keeps a key: torch's MHA path would give NaN otherwise
        opts, topts = dict(mask=m), dict(attn_mask=torch.from_numpy(m))
    elif variant == "float_mask":
        m = randn((t_q, t_k), dtype=dtype, seed=8)
        opts, topts = dict(mask=m), dict(attn_mask=torch.from_numpy(m))
    elif variant == "scale":
        opts, topts = dict(scale=0.37), dict(scale=0.37)
    mq, mk, mv = (mt(a, requires_grad=True) for a in arrays)
    out = ScaledDotProductAttention.apply(mq, mk, mv, **opts)
    tq, tk, tv = (to_torch(a, requires_grad=True) for a in arrays)
    tout = _torch_sdpa(tq, tk, tv, **topts)
    g = randn(out.shape, dtype=dtype, seed=99)
    out.backward(mt(g))
    tout.backward(torch.from_numpy(g))
    tol = TOL[np.dtype(dtype)]
    assert out.dtype == dtype
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol, err_msg="out")
    for name, a, b in (("dq", mq, tq), ("dk", mk, tk), ("dv", mv, tv)):
        assert a.grad.dtype == dtype
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fully_masked_rows_match_torch_safe_softmax(dtype):
    """torch's SDPA (math path) gives 0 for a query whose keys are all masked; so do we, with grads."""
    torch = pytest.importorskip("torch")
    arrays = _inputs(SHAPES[0], seed=31, dtype=dtype)
    m = padding_mask((2, 3), 4, 4)
    mq, mk, mv = (mt(a, requires_grad=True) for a in arrays)
    out = ScaledDotProductAttention.apply(mq, mk, mv, mask=m)
    tq, tk, tv = (to_torch(a, requires_grad=True) for a in arrays)
    tout = _torch_sdpa(tq, tk, tv, attn_mask=torch.from_numpy(m))
    if not torch.isfinite(tout).all():
        pytest.skip("this torch build returns NaN for fully masked rows")
    g = randn(out.shape, dtype=dtype, seed=98)
    out.backward(mt(g))
    tout.backward(torch.from_numpy(g))
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol)
    for a, b in ((mq, tq), (mk, tk), (mv, tv)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_with_weights_matches_torch_softmax_composition(dtype):
    """(out, weights) and gradients through both, against the explicit torch composition."""
    torch = pytest.importorskip("torch")
    arrays = _inputs(SHAPES[1], seed=41, dtype=dtype)
    mq, mk, mv = (mt(a, requires_grad=True) for a in arrays)
    out, w = ScaledDotProductAttentionWithWeights.apply(mq, mk, mv, is_causal=True)
    tq, tk, tv = (to_torch(a, requires_grad=True) for a in arrays)
    s = tq @ tk.transpose(-1, -2) / np.sqrt(5)
    s = s.masked_fill(~torch.ones(3, 6, dtype=torch.bool).tril(), float("-inf"))
    tw = s.softmax(-1)
    tout = tw @ tv
    g1, g2 = randn(out.shape, dtype=dtype, seed=1), randn(w.shape, dtype=dtype, seed=2)
    (out * mt(g1)).sum().__add__((w * mt(g2)).sum()).backward()
    ((tout * torch.from_numpy(g1)).sum() + (tw * torch.from_numpy(g2)).sum()).backward()
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), **tol)
    for a, b in ((mq, tq), (mk, tk), (mv, tv)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


# ----------------------------------------------------------------------------- fused qkv -> merged heads
@pytest.mark.parametrize("b,t,h,hd", [(2, 5, 2, 3), (1, 1, 3, 2), (1, 4, 1, 4)])
@pytest.mark.parametrize("is_causal", [True, False])
def test_qkv_attention_gradcheck(b, t, h, hd, is_causal):
    qkv = randn((b, t, 3 * h * hd), seed=17)
    err = check_kernel_grads(K.qkv_attention_forward, K.qkv_attention_backward, [qkv],
                             kwargs=dict(n_head=h, is_causal=is_causal))
    assert err < 1e-6


def test_qkv_attention_equals_split_heads_composition():
    b, t, h, hd = 2, 6, 3, 4
    e = h * hd
    qkv = randn((b, t, 3 * e), seed=19)
    out, cache = K.qkv_attention_forward(qkv, n_head=h, is_causal=True, scale=0.4)
    heads = [qkv[..., i * e:(i + 1) * e].reshape(b, t, h, hd).transpose(0, 2, 1, 3) for i in range(3)]
    ref, ref_cache = K.scaled_dot_product_attention_forward(*heads, is_causal=True, scale=0.4)
    np.testing.assert_allclose(out, ref.transpose(0, 2, 1, 3).reshape(b, t, e), rtol=1e-12)
    g = randn((b, t, e), seed=20)
    (dqkv,) = K.qkv_attention_backward(g, cache)
    grads = K.scaled_dot_product_attention_backward(g.reshape(b, t, h, hd).transpose(0, 2, 1, 3), ref_cache)
    expected = np.concatenate([d.transpose(0, 2, 1, 3).reshape(b, t, e) for d in grads], axis=-1)
    np.testing.assert_allclose(dqkv, expected, rtol=1e-12)
    f32 = K.qkv_attention_forward(qkv.astype(np.float32), n_head=h, is_causal=True)
    assert f32[0].dtype == np.float32 and K.qkv_attention_backward(g.astype(np.float32), f32[1])[0].dtype == np.float32
