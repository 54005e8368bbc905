"""Batch normalisation over the batch (and length / spatial) dims, per channel (dim 1), as torch's BatchNorm.

Not part of a homework. The forward normalises with the batch's own statistics (training mode); evaluation
with running statistics is an affine map, done with ordinary differentiable ops in ``nn.functional``."""
from collections import namedtuple

from ..backend import get_array_module

BatchNormCache = namedtuple("BatchNormCache", ["n", "r", "weight", "has_bias", "axes", "shape"])
BatchNormCache.__doc__ = """batch_norm_backward's cache, for x (N, C, *): n, the normalised x (x's shape); r,
1 / sqrt(var + eps) per channel, (1, C, 1, ...); weight, (C,) or None; has_bias, whether a bias was given;
axes, every axis but 1 (the reduced ones); shape, (1, C, 1, ...) to broadcast a (C,) vector against x."""


def batch_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """x: (N, C, *). Per channel c: n = (x - mean) / sqrt(var + eps) over every dim but 1 (biased var);
    out = n * weight[c] + bias[c] (each optional). Returns out and a cache."""
    xp = get_array_module(x)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    r = (1 / xp.sqrt(var + eps)).astype(x.dtype)
    n = centered * r
    out = n
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out, BatchNormCache(n, r, weight, bias is not None, axes, shape)


def batch_norm_backward(dout, cache):
    """Returns (dx, dweight, dbias): dx = r (dn - mean(dn) - n mean(dn n)) with dn = dout * weight;
    dweight = sum(dout n), dbias = sum(dout) over all dims but 1 (None for an absent weight / bias)."""
    n, r, weight, axes = cache.n, cache.r, cache.weight, cache.axes
    dn = dout if weight is None else dout * weight.reshape(cache.shape)
    dx = r * (dn - dn.mean(axis=axes, keepdims=True) - n * (dn * n).mean(axis=axes, keepdims=True))
    dw = None if weight is None else (dout * n).sum(axis=axes)
    db = dout.sum(axis=axes) if cache.has_bias else None
    return dx, dw, db
