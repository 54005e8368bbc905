"""Scaled dot-product attention (hw4), with its backward written out as batched matmuls.

Shapes: q (..., T_q, D), k (..., T_k, D), v (..., T_k, D_v); the leading (batch, head, ...) dims
broadcast. out = dropout(softmax(q k^T * scale + mask)) @ v, shape (..., T_q, D_v).

Masks follow ``torch.nn.functional.scaled_dot_product_attention``: a boolean ``mask`` is True where a
query *may* attend to a key; a float ``mask`` is added to the scores. ``is_causal`` allows key j for
query i when j <= i (the top-left aligned lower triangle, as torch). Masked scores become -inf before
the softmax; a query whose keys are all masked gets all-zero weights (and a zero output), never NaN.
"""
import math
from collections import namedtuple

from ..backend import generator, get_array_module
from .elementwise import unbroadcast

AttentionCache = namedtuple("AttentionCache", ["q", "k", "v", "weights", "keep", "dropout_p", "scale"])
AttentionCache.__doc__ = """attention_backward_parts' cache: q (..., T_q, D), k (..., T_k, D), v (..., T_k, D_v): the
inputs; weights (..., T_q, T_k): the softmax weights, before dropout; keep: the dropout keep-mask (boolean, weights'
shape), None without dropout; dropout_p: a float; scale: the score scale (a float, 1/sqrt(D) by default)."""

QKVAttentionCache = namedtuple("QKVAttentionCache", ["attention", "n_head"])
QKVAttentionCache.__doc__ = """qkv_attention_backward's cache: attention, the heads' AttentionCache (q, k, v are
(B, H, T, E / H) views of qkv); n_head, H (an int)."""

_causal_masks = {}


def causal_mask(t_q, t_k, xp, offset=0, dtype=None):
    """(t_q, t_k) mask of what query i may attend to: keys j <= i + offset. Boolean (True = allowed)
    by default; with a float ``dtype``, the additive form (0 where allowed, -inf elsewhere).

    offset 0 is torch's ``is_causal`` (top-left aligned); offset t_k - t_q aligns the last query with
    the last key (queries that continue a cached prefix). Cached per shape, dtype and array module."""
    key = (t_q, t_k, offset, xp.__name__, None if dtype is None else str(dtype))
    m = _causal_masks.get(key)
    if m is None:
        m = xp.tril(xp.ones((t_q, t_k), dtype=bool), k=offset)
        if dtype is not None:
            m = xp.where(m, 0.0, -xp.inf).astype(dtype)
        if len(_causal_masks) > 64:
            _causal_masks.clear()
        _causal_masks[key] = m
    return m


def _fits(shape, target):
    """True when an array of ``shape`` broadcasts to ``target`` without enlarging it."""
    return len(shape) <= len(target) and all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def masked_softmax(scores, mask=None, is_causal=False):
    """Softmax over the last axis of ``scores`` (..., T_q, T_k), after setting the positions a
    boolean ``mask`` forbids (False) and the causal upper triangle to -inf and adding a float ``mask``.
    Rows with no allowed key give zeros. Overwrites ``scores`` (the caller passes a fresh array)."""
    xp = get_array_module(scores)
    t_q, t_k = scores.shape[-2:]
    bool_mask = mask is not None and mask.dtype.kind == "b"
    # BEGIN SOLUTION hw4
    if mask is not None and not bool_mask:
        bias = mask.astype(scores.dtype, copy=False)
        scores = _add(scores, bias)
    if is_causal and not bool_mask:  # the cached additive 0/-inf triangle, added in place
        scores = _add(scores, causal_mask(t_q, t_k, xp, dtype=scores.dtype))
    elif bool_mask:
        allowed = causal_mask(t_q, t_k, xp) & mask if is_causal else mask
        scores = xp.where(allowed, scores, -xp.inf)
    m = _softmax_shift(scores, key0_allowed=mask is None)  # the row max (or a cheaper safe shift)
    if mask is not None:  # a row may be fully masked: its max is -inf
        m = xp.where(xp.isfinite(m), m, 0)
    scores -= m
    xp.exp(scores, out=scores)
    total = _row_sum(scores)
    if mask is not None:  # ... and its sum 0: leave its weights at 0
        total = xp.where(total == 0, 1, total)
    scores *= 1 / total
    return scores
    # END SOLUTION


def _add(scores, bias):
    """scores + bias, in place when the result keeps scores' shape."""
    if _fits(bias.shape, scores.shape):
        scores += bias
        return scores
    return scores + bias


def _softmax_shift(scores, key0_allowed=False):
    """What masked_softmax subtracts from each row of the masked ``scores`` before exp, (..., T_q, 1): the row max.
    softmax(s) = softmax(s - c) for any per-row c, and NumPy's max over short rows is a slow reduction, so when every
    row may attend to key 0 (``key0_allowed``: no mask, causal or not), key 0's score serves instead as long as no
    shifted score can overflow exp or the row sums (checked with the largest score and the smallest key-0 score).
    Either way a row is shifted by one of its own scores (so a causal row's weights depend on earlier keys only);
    which of the two, the check decides for the whole array, and they differ by rounding."""
    if key0_allowed and scores.shape[-1]:
        c = scores[..., :1].copy()  # a copy: the caller subtracts it from scores in place
        if scores.max() - c.min() <= _exp_limit(scores):
            return c
    return scores.max(axis=-1, keepdims=True)


def _exp_limit(a):
    """The largest shifted score a row of ``a`` may hold before exp: n * exp(limit) stays below the dtype's
    largest number (n = the row length), so neither exp nor the row sums overflow."""
    xp = get_array_module(a)
    return math.log(float(xp.finfo(a.dtype).max) / max(a.shape[-1], 1)) - 1.0


def _transposed_copy(a):
    """``a`` with its last two axes swapped, as a new C-contiguous array. OpenBLAS computes x @ b about twice as
    fast (NumPy's batched matmul, (64, 32) @ (32, 64) matrices) when b is contiguous than when b is a transposed
    view of a contiguous array."""
    xp = get_array_module(a)
    return xp.swapaxes(a, -1, -2).copy()


def _row_dot(a, b):
    """(a * b).sum(axis=-1, keepdims=True) without the product array where the array module has vecdot."""
    xp = get_array_module(a)
    vecdot = getattr(xp, "vecdot", None)
    if vecdot is None:
        return _row_sum(a * b)
    return vecdot(a, b)[..., None]


def _row_sum(a):
    """a.sum(axis=-1, keepdims=True) as a matrix-vector product (NumPy's reductions of short rows are slow)."""
    xp = get_array_module(a)
    return (a @ xp.ones((a.shape[-1],), dtype=a.dtype))[..., None]


def softmax_backward_rows(dweights, weights):
    """The softmax Jacobian-vector product along the last axis: w * (dw - sum(dw * w))."""
    # BEGIN SOLUTION hw4
    out = dweights - _row_dot(dweights, weights)
    out *= weights
    return out
    # END SOLUTION


def _forward(q, k, v, mask, is_causal, scale, dropout_p, out=None):
    """``out``: None, or an array (view) of the output's shape to write the result into."""
    xp = get_array_module(q)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    keep = None
    # BEGIN SOLUTION hw4
    k_t = _transposed_copy(k)  # k^T, (..., D, T_k): BLAS multiplies a contiguous k^T faster than a transposed view
    k_t *= scale  # scaling k costs T_k*D, scaling the scores T_q*T_k
    scores = q @ k_t
    weights = masked_softmax(scores, mask, is_causal)
    dropped = weights
    if dropout_p > 0:
        keep = generator(xp).random(weights.shape, dtype=weights.dtype) >= dropout_p
        dropped = weights * keep
        dropped *= 1.0 / (1.0 - dropout_p)
    out = dropped @ v if out is None else xp.matmul(dropped, v, out=out)
    # END SOLUTION
    return out, dropped, AttentionCache(q, k, v, weights, keep, dropout_p, scale)


def attention_backward_parts(dout, cache, dweights=None, out=None):
    """The whole backward of scaled dot-product attention, with its intermediates.

    dout: (..., T_q, D_v); ``dweights``: optional gradient of the returned (post-dropout) weights.
    Returns (dq, dk, dv, d_weights, d_scores): d_weights is dL/dA for A = softmax(S) (before dropout),
    d_scores is dL/dS for the scaled, masked scores S = q k^T * scale + mask:
    dV = A^T dO, dA = dO V^T, dS = A * (dA - rowsum(dA * A)), dQ = dS K * scale, dK = dS^T Q * scale.
    dq, dk, dv have the shapes of q, k, v (broadcast batch dims summed). ``out``: None, or three arrays
    (views) shaped like q, k, v (no broadcasting) that receive dq, dk, dv."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw4
    q, k, v, weights, keep = cache.q, cache.k, cache.v, cache.weights, cache.keep
    dropout_p, scale = cache.dropout_p, cache.scale
    if keep is None:
        dropped = weights
    else:
        dropped = weights * keep
        dropped *= 1.0 / (1.0 - dropout_p)
    dv_out, dq_out, dk_out = (None, None, None) if out is None else (out[2], out[0], out[1])
    dv = xp.matmul(xp.swapaxes(dropped, -1, -2), dout, out=dv_out)
    d_weights = dout @ _transposed_copy(v)
    if dweights is not None:
        d_weights += dweights
    if keep is not None:
        d_weights *= keep
        d_weights *= 1.0 / (1.0 - dropout_p)
    d_scores = softmax_backward_rows(d_weights, weights)
    dq = xp.matmul(d_scores, k, out=dq_out)
    dq *= scale
    dk = xp.matmul(xp.swapaxes(d_scores, -1, -2), q, out=dk_out)
    dk *= scale
    # END SOLUTION
    if out is not None:
        return dq, dk, dv, d_weights, d_scores
    return (unbroadcast(dq, cache.q.shape), unbroadcast(dk, cache.k.shape), unbroadcast(dv, cache.v.shape),
            d_weights, d_scores)


def scaled_dot_product_attention_forward(q, k, v, mask=None, is_causal=False, scale=None, dropout_p=0.0):
    """out = dropout(softmax(q k^T * scale + mask)) @ v: (..., T_q, D) x (..., T_k, D) x (..., T_k, D_v)
    -> (..., T_q, D_v). scale defaults to 1/sqrt(D); see the module docstring for masks."""
    out, _, cache = _forward(q, k, v, mask, is_causal, scale, dropout_p)
    return out, cache


def scaled_dot_product_attention_backward(dout, cache):
    """Returns (dq, dk, dv), shaped like q, k, v."""
    dq, dk, dv, _, _ = attention_backward_parts(dout, cache)
    return dq, dk, dv


def scaled_dot_product_attention_with_weights_forward(q, k, v, mask=None, is_causal=False, scale=None,
                                                      dropout_p=0.0):
    """Like ``scaled_dot_product_attention_forward`` but also returns the attention weights that
    multiplied v (after dropout), (..., T_q, T_k): ((out, weights), cache)."""
    out, dropped, cache = _forward(q, k, v, mask, is_causal, scale, dropout_p)
    return (out, dropped), cache


def scaled_dot_product_attention_with_weights_backward(dout, dweights, cache):
    """Returns (dq, dk, dv) given the gradients of both outputs."""
    dq, dk, dv, _, _ = attention_backward_parts(dout, cache, dweights)
    return dq, dk, dv


def qkv_attention_forward(qkv, n_head, mask=None, is_causal=False, scale=None, dropout_p=0.0):
    """Multi-head attention straight from a fused projection: qkv (B, T, 3E) holds q, k, v side by
    side, each split into ``n_head`` heads of E / n_head; returns the heads' outputs merged, (B, T, E).
    The heads are strided views of qkv (no copies); the attention is
    ``scaled_dot_product_attention_forward``."""
    xp = get_array_module(qkv)
    b, t, e3 = qkv.shape
    e = e3 // 3
    heads = xp.transpose(qkv.reshape(b, t, 3, n_head, e // n_head), (2, 0, 3, 1, 4))  # (3, B, H, T, hd)
    merged = xp.empty((b, t, n_head, e // n_head), dtype=qkv.dtype)  # the heads' outputs go straight here
    _, _, cache = _forward(heads[0], heads[1], heads[2], mask, is_causal, scale, dropout_p,
                           out=xp.swapaxes(merged, 1, 2))
    return merged.reshape(b, t, e), QKVAttentionCache(cache, n_head)


def qkv_attention_backward(dout, cache):
    """dout: (B, T, E). Returns (dqkv,), (B, T, 3E): the three head gradients written straight into it."""
    n_head = cache.n_head
    xp = get_array_module(dout)
    b, t, e = dout.shape
    d_heads = xp.swapaxes(dout.reshape(b, t, n_head, e // n_head), 1, 2)
    dqkv = xp.empty((b, t, 3 * e), dtype=dout.dtype)
    view = xp.transpose(dqkv.reshape(b, t, 3, n_head, e // n_head), (2, 0, 3, 1, 4))
    attention_backward_parts(d_heads, cache.attention, out=(view[0], view[1], view[2]))  # written in place
    return (dqkv,)
