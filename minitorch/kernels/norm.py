"""Normalisation layers (hw2): LayerNorm and RMSNorm over the trailing ``normalized_shape`` dims.

Both view x as (rows, D) with D = prod(normalized_shape), so the statistics are plain
row reductions and the affine parameters broadcast as (D,) vectors. Missing weight/bias are
``None``; their gradient slot is then ``None`` too (the backward always returns one entry per
array argument, in order).
"""
import math
from collections import namedtuple

from ..backend import col_sum, get_array_module


def _rows(x, normalized_shape):
    d = math.prod(normalized_shape)
    return x.reshape(-1, d), d


def _row_dot(xp, a, b):
    """sum(a * b, axis=1) for (M, D) arrays as (M, 1), without an (M, D) temporary."""
    return xp.einsum("ij,ij->i", a, b)[:, None]


def _row_mean(a):
    """a.mean(axis=1, keepdims=True) for an (M, D) array, as one matrix-vector product: NumPy's
    row reductions pay a per-row overhead that dominates for D ~ 100; BLAS does not."""
    xp = get_array_module(a)
    return (a @ xp.full((a.shape[1],), 1.0 / a.shape[1], dtype=a.dtype))[:, None]


LayerNormCache = namedtuple("LayerNormCache", ["n", "r", "w", "has_weight", "has_bias", "x_shape", "normalized_shape"])
LayerNormCache.__doc__ = """layer_norm_backward's cache, for x viewed as (M, D) rows, D = prod(normalized_shape):
n, the normalised rows (x - mean) * r, (M, D); r, 1 / sqrt(var + eps), (M, 1); w, the weight as a (D,) vector or
None; has_weight, has_bias: whether each was given; x_shape, x's shape; normalized_shape, a tuple of ints."""


def layer_norm_forward(x, normalized_shape, weight=None, bias=None, eps=1e-5, need_cache=True):
    """x: (..., *normalized_shape); weight, bias: normalized_shape or None.
    y = (x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims (biased var).
    ``need_cache`` False (a forward-only call): y may overwrite n, and the cache is None."""
    xp = get_array_module(x)
    normalized_shape = tuple(normalized_shape)
    x2, d = _rows(x, normalized_shape)
    w = None if weight is None else weight.reshape(d)
    b = None if bias is None else bias.reshape(d)
    # BEGIN SOLUTION hw2
    n = x2 - _row_mean(x2)                                   # centred
    r = _row_dot(xp, n, n)
    r *= 1.0 / d
    r += eps
    r = 1.0 / xp.sqrt(r)                                     # 1 / sqrt(var + eps), (M, 1)
    n *= r                                                   # normalised
    if not need_cache:                                       # nothing keeps n: y overwrites it
        y = n
        if w is not None:
            y *= w
        if b is not None:
            y += b
    elif w is None:
        y = n.copy() if b is None else n + b
    else:
        y = n * w
        if b is not None:
            y += b
    # END SOLUTION
    if not need_cache:
        return y.reshape(x.shape), None
    return y.reshape(x.shape), LayerNormCache(n, r, w, weight is not None, bias is not None, x.shape, normalized_shape)


def layer_norm_backward(dout, cache):
    """dout: like x. Returns (dx, dweight, dbias) (None for a missing weight/bias):
    dx = r * (dn - mean(dn) - n * mean(dn * n)), dn = dout * weight; dweight = sum dout * n; dbias = sum dout."""
    xp = get_array_module(cache.n)
    d = cache.n.shape[1]
    g = dout.reshape(-1, d)
    # BEGIN SOLUTION hw2
    n, r, w, normalized_shape = cache.n, cache.r, cache.w, cache.normalized_shape
    gn = g * n                                   # shared by dweight and mean(dn * n)
    w_over_d = xp.full((d,), 1.0 / d, dtype=g.dtype) if w is None else w * (1.0 / d)
    mean_dn = (g @ w_over_d)[:, None]            # mean(dn) as a matrix-vector product
    mean_dn_n = (gn @ w_over_d)[:, None]         # mean(dn * n)
    dweight = col_sum(gn).reshape(normalized_shape) if cache.has_weight else None
    dbias = col_sum(g).reshape(normalized_shape) if cache.has_bias else None
    dx = g * w if w is not None else g.copy()    # dn
    dx -= mean_dn
    dx -= xp.multiply(n, mean_dn_n, out=gn)      # gn's buffer is free now: no new (M, D) temporary
    dx *= r
    # END SOLUTION
    return dx.reshape(cache.x_shape), dweight, dbias


RMSNormCache = namedtuple("RMSNormCache", ["xhat", "r", "w", "x_shape", "normalized_shape"])
RMSNormCache.__doc__ = """rms_norm_backward's cache, for x viewed as (M, D) rows, D = prod(normalized_shape):
xhat, x * r, (M, D); r, 1 / sqrt(mean(x^2) + eps), (M, 1); w, the weight as a (D,) vector or None; x_shape, x's
shape; normalized_shape, a tuple of ints."""


def rms_norm_forward(x, normalized_shape, weight=None, eps=None):
    """x: (..., *normalized_shape); weight: normalized_shape or None; eps None -> finfo(x.dtype).eps (torch).
    y = x * r * weight, r = 1 / sqrt(mean(x^2) + eps) over the last len(normalized_shape) dims."""
    xp = get_array_module(x)
    normalized_shape = tuple(normalized_shape)
    if eps is None:
        eps = float(xp.finfo(x.dtype).eps)
    x2, d = _rows(x, normalized_shape)
    w = None if weight is None else weight.reshape(d)
    # BEGIN SOLUTION hw2
    r = _row_dot(xp, x2, x2)
    r *= 1.0 / d
    r += eps
    r = 1.0 / xp.sqrt(r)
    xhat = x2 * r
    y = xhat.copy() if w is None else xhat * w
    # END SOLUTION
    return y.reshape(x.shape), RMSNormCache(xhat, r, w, x.shape, normalized_shape)


def rms_norm_backward(dout, cache):
    """Returns (dx, dweight) (dweight None without weight):
    dx = r * (g - xhat * mean(g * xhat)), g = dout * weight, xhat = x * r; dweight = sum dout * xhat."""
    xp = get_array_module(cache.xhat)
    d = cache.xhat.shape[1]
    dy = dout.reshape(-1, d)
    # BEGIN SOLUTION hw2
    xhat, r, w = cache.xhat, cache.r, cache.w
    gx = dy * xhat                               # shared by dweight and mean(g * xhat)
    w_over_d = xp.full((d,), 1.0 / d, dtype=dy.dtype) if w is None else w * (1.0 / d)
    mean_gx = (gx @ w_over_d)[:, None]
    dx = dy * w if w is not None else dy.copy()  # g
    dx -= xhat * mean_gx
    dx *= r
    dweight = None if w is None else col_sum(gx).reshape(cache.normalized_shape)
    # END SOLUTION
    return dx.reshape(cache.x_shape), dweight
