"""Flash attention (hw4 bonus): scaled dot-product attention computed in tiles, never holding the
(T_q, T_k) matrix of scores.

Shapes: q (..., T_q, D), k (..., T_k, D), v (..., T_k, D_v); leading (batch, head, ...) dims broadcast.
out = softmax(q k^T * scale [+ causal mask]) @ v, the same values as ``attention.scaled_dot_product_attention_forward``
up to float rounding. ``is_causal`` allows key j for query i when j <= i (top-left aligned, as torch).

The forward walks over blocks of ``block_q`` queries and, for each, over blocks of ``block_k`` keys, keeping per
query row only the running max m, the running sum l of exp(s - m) and the unnormalised output acc (the online
softmax): when a new block raises a row's max from m to m', the old sum and output are rescaled by exp(m - m').
State: O(T_q * D_v) plus one (block_q, block_k) tile, against the plain kernel's O(T_q * T_k). The cache keeps
q, k, v, the output and the row log-sum-exp L = m + log(l) (O(T * D) in all); the backward recomputes each tile of
weights as P = exp(s - L) instead of storing them.
"""
import math
from collections import namedtuple

from ..backend import get_array_module
from .elementwise import unbroadcast

FlashCache = namedtuple("FlashCache", ["q", "k", "v", "out", "lse", "is_causal", "scale", "block_q", "block_k"])
FlashCache.__doc__ = """flash_attention_backward's cache: q (..., T_q, D), k (..., T_k, D), v (..., T_k, D_v): the
inputs; out (..., T_q, D_v): the output; lse (..., T_q): the row log-sum-exp of the scaled scores; is_causal: a bool;
scale: the score scale (a float); block_q, block_k: the tile sizes (ints). No (T_q, T_k) array."""

DEFAULT_BLOCK = 128


def blocks(n, size):
    """[(start, stop), ...] covering range(n) in pieces of ``size`` (the last one may be shorter)."""
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def causal_tile(i0, i1, j0, j1, xp):
    """The causal mask of the tile of queries i0..i1-1 and keys j0..j1-1: True where key j <= query i.
    None when the whole tile is allowed (j1 - 1 <= i0): no masking needed."""
    if j1 - 1 <= i0:
        return None
    return xp.arange(j0, j1)[None, :] <= xp.arange(i0, i1)[:, None]


def key_blocks(i0, i1, t_k, block_k, is_causal):
    """The key blocks a query block i0..i1-1 must visit: all of them, or with the causal mask only those
    starting at a key <= the block's last query (the others are entirely masked and are skipped)."""
    return [(j0, j1) for j0, j1 in blocks(t_k, block_k) if not is_causal or j0 <= i1 - 1]


def transpose(a):
    """``a`` with its last two axes swapped (a view): the transpose of every matrix of a batch."""
    return get_array_module(a).swapaxes(a, -1, -2)


def _batch_shape(*shapes):
    """The broadcast of the leading (batch) shapes (plain Python: the same for every array module)."""
    nd = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (nd - len(s)) + tuple(s) for s in shapes]):
        big = {d for d in dims if d != 1}
        if len(big) > 1:
            raise ValueError(f"flash attention: batch dims {' and '.join(str(tuple(s)) for s in shapes)} "
                             "do not broadcast")
        out.append(big.pop() if big else 1)
    return tuple(out)


def _check_block(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"flash attention: {name} must be a positive int, got {value!r}")


def flash_attention_forward(q, k, v, is_causal=False, scale=None, block_q=DEFAULT_BLOCK, block_k=DEFAULT_BLOCK,
                            need_cache=True):
    """out = softmax(q k^T * scale) @ v, (..., T_q, D) x (..., T_k, D) x (..., T_k, D_v) -> (..., T_q, D_v),
    in tiles of block_q queries by block_k keys with the online softmax. scale defaults to 1/sqrt(D).
    Returns (out, FlashCache) (cache None with ``need_cache=False``)."""
    xp = get_array_module(q)
    _check_block("block_q", block_q)
    _check_block("block_k", block_k)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    t_q, t_k = q.shape[-2], k.shape[-2]
    batch = _batch_shape(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    out = xp.empty(batch + (t_q, v.shape[-1]), dtype=q.dtype)
    lse = xp.empty(batch + (t_q,), dtype=q.dtype)
    kt = transpose(k)
    for i0, i1 in blocks(t_q, block_q):
        qs = q[..., i0:i1, :] * scale
        # BEGIN SOLUTION hw4
        m = xp.full(batch + (i1 - i0,), -xp.inf, dtype=q.dtype)  # running row max
        l_sum = xp.zeros(batch + (i1 - i0,), dtype=q.dtype)     # running sum of exp(s - m)
        acc = xp.zeros(batch + (i1 - i0, v.shape[-1]), dtype=q.dtype)  # running sum of exp(s - m) v
        for j0, j1 in key_blocks(i0, i1, t_k, block_k, is_causal):
            s = qs @ kt[..., j0:j1]
            allowed = causal_tile(i0, i1, j0, j1, xp) if is_causal else None
            if allowed is not None:
                s = xp.where(allowed, s, -xp.inf)
            m_new = xp.maximum(m, s.max(axis=-1))
            alpha = xp.exp(m - m_new)  # rescales what was summed under the old max
            s -= m_new[..., None]
            p = xp.exp(s, out=s)  # in place: one tile-sized array per step
            l_sum = alpha * l_sum + p.sum(axis=-1)
            acc *= alpha[..., None]
            acc += p @ v[..., j0:j1, :]
            m = m_new
        out[..., i0:i1, :] = acc / l_sum[..., None]
        lse[..., i0:i1] = m + xp.log(l_sum)
        # END SOLUTION
    if not need_cache:
        return out, None
    return out, FlashCache(q, k, v, out, lse, bool(is_causal), scale, block_q, block_k)


def flash_attention_backward(dout, cache):
    """dout: (..., T_q, D_v). Returns (dq, dk, dv), shaped like q, k, v. Recomputes each tile of weights
    P = exp(s - L) from the cached log-sum-exp L and, with delta = rowsum(dout * out):
    dV += P^T dO,  dS = P * (dO V^T - delta),  dQ += dS K * scale,  dK += dS^T Q * scale."""
    q, k, v, out, lse = cache.q, cache.k, cache.v, cache.out, cache.lse
    is_causal, scale, block_q, block_k = cache.is_causal, cache.scale, cache.block_q, cache.block_k
    xp = get_array_module(dout)
    t_q, t_k = q.shape[-2], k.shape[-2]
    batch = out.shape[:-2]
    dq = xp.zeros(batch + q.shape[-2:], dtype=q.dtype)
    dk = xp.zeros(batch + k.shape[-2:], dtype=q.dtype)
    dv = xp.zeros(batch + v.shape[-2:], dtype=q.dtype)
    kt, vt = transpose(k), transpose(v)
    for i0, i1 in blocks(t_q, block_q):
        qs = q[..., i0:i1, :] * scale
        do = dout[..., i0:i1, :]
        # BEGIN SOLUTION hw4
        delta = (do * out[..., i0:i1, :]).sum(axis=-1)[..., None]  # rowsum(dO * O) = rowsum(dA * A)
        row_lse = lse[..., i0:i1, None]
        for j0, j1 in key_blocks(i0, i1, t_k, block_k, is_causal):
            s = qs @ kt[..., j0:j1]
            s -= row_lse
            p = xp.exp(s, out=s)  # the softmax weights of this tile, recomputed (in place)
            allowed = causal_tile(i0, i1, j0, j1, xp) if is_causal else None
            if allowed is not None:
                p = xp.where(allowed, p, 0)
            dv[..., j0:j1, :] += transpose(p) @ do
            ds = do @ vt[..., j0:j1]  # dP, then dS = P * (dP - delta) * scale, in place
            ds -= delta
            ds *= p
            ds *= scale
            dq[..., i0:i1, :] += ds @ k[..., j0:j1, :]
            dk[..., j0:j1, :] += transpose(ds) @ q[..., i0:i1, :]
        # END SOLUTION
    return unbroadcast(dq, q.shape), unbroadcast(dk, k.shape), unbroadcast(dv, v.shape)
