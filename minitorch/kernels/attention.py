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
AttentionCache.__doc__ = """What the backward needs: the inputs, the softmax weights (before dropout),
the dropout keep-mask (None without dropout), dropout_p and the score scale."""

_causal_masks = {}


def causal_mask(t_q, t_k, xp, offset=0):
    """Boolean (t_q, t_k) mask, True where key j <= query i + offset may be attended to.

    offset 0 is torch's ``is_causal`` (top-left aligned); offset t_k - t_q aligns the last query with
    the last key (queries that continue a cached prefix). Cached per shape and array module."""
    key = (t_q, t_k, offset, xp.__name__)
    m = _causal_masks.get(key)
    if m is None:
        m = xp.tril(xp.ones((t_q, t_k), dtype=bool), k=offset)
        if len(_causal_masks) > 64:
            _causal_masks.clear()
        _causal_masks[key] = m
    return m


def masked_softmax(scores, mask=None, is_causal=False):
    """Softmax over the last axis of ``scores`` (..., T_q, T_k), after setting the positions a
    boolean ``mask`` forbids (False) and the causal upper triangle to -inf and adding a float ``mask``.
    Rows with no allowed key give zeros. Overwrites ``scores`` (the caller passes a fresh array)."""
    xp = get_array_module(scores)
    any_mask = mask is not None or is_causal
    # BEGIN SOLUTION hw4
    if mask is not None and mask.dtype.kind != "b":
        bias = mask.astype(scores.dtype, copy=False)
        if bias.ndim <= scores.ndim and all(b in (1, s) for b, s in zip(bias.shape[::-1], scores.shape[::-1])):
            scores += bias
        else:  # the mask adds batch dims: the result is larger than scores
            scores = scores + bias
    allowed = None
    if is_causal:
        allowed = causal_mask(scores.shape[-2], scores.shape[-1], xp)
    if mask is not None and mask.dtype.kind == "b":
        allowed = mask if allowed is None else allowed & mask
    if allowed is not None:
        scores = xp.where(allowed, scores, -xp.inf)
    m = scores.max(axis=-1, keepdims=True)
    if any_mask:
        m = xp.where(xp.isfinite(m), m, 0)
    scores -= m
    xp.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if any_mask:
        total = xp.where(total == 0, 1, total)
    scores /= total
    return scores
    # END SOLUTION


def softmax_backward_rows(dweights, weights):
    """The softmax Jacobian-vector product along the last axis: w * (dw - sum(dw * w))."""
    # BEGIN SOLUTION hw4
    return weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))
    # END SOLUTION


def _forward(q, k, v, mask, is_causal, scale, dropout_p):
    xp = get_array_module(q)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    keep = None
    # BEGIN SOLUTION hw4
    scores = q @ xp.swapaxes(k, -1, -2)
    scores *= scale
    weights = masked_softmax(scores, mask, is_causal)
    dropped = weights
    if dropout_p > 0:
        keep = generator(xp).random(weights.shape, dtype=weights.dtype) >= dropout_p
        dropped = weights * keep
        dropped *= 1.0 / (1.0 - dropout_p)
    out = dropped @ v
    # END SOLUTION
    return out, dropped, AttentionCache(q, k, v, weights, keep, dropout_p, scale)


def attention_backward_parts(dout, cache, dweights=None):
    """The whole backward of scaled dot-product attention, with its intermediates.

    dout: (..., T_q, D_v); ``dweights``: optional gradient of the returned (post-dropout) weights.
    Returns (dq, dk, dv, d_weights, d_qk): d_weights is dL/d softmax(...) (before dropout) and d_qk
    is dL/d(q k^T) (unscaled scores): dV = A^T dO, dA = dO V^T, dS = softmax JVP, dQ = dS K * scale,
    dK = dS^T Q * scale. dq, dk, dv have the shapes of q, k, v (broadcast dims summed)."""
    q, k, v, weights, keep, dropout_p, scale = cache
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw4
    if keep is None:
        dropped = weights
    else:
        dropped = weights * keep
        dropped *= 1.0 / (1.0 - dropout_p)
    dv = xp.swapaxes(dropped, -1, -2) @ dout
    d_dropped = dout @ xp.swapaxes(v, -1, -2)
    if dweights is not None:
        d_dropped += dweights
    d_weights = d_dropped
    if keep is not None:
        d_weights = d_dropped * keep
        d_weights *= 1.0 / (1.0 - dropout_p)
    d_qk = softmax_backward_rows(d_weights, weights)
    d_qk *= scale
    dq = d_qk @ k
    dk = xp.swapaxes(d_qk, -1, -2) @ q
    # END SOLUTION
    return unbroadcast(dq, q.shape), unbroadcast(dk, k.shape), unbroadcast(dv, v.shape), d_weights, d_qk


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
