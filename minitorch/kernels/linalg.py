"""Vector norms (``torch.linalg.vector_norm``, ``Tensor.norm``): the p-norm of x over ``dim``.

Not part of a homework: the kernel pair behind ``minitorch.linalg`` and ``Tensor.norm``. The
subgradients at zero are torch's: 0 where the norm is 0, and 0 at x = 0 for p < 1."""
from collections import namedtuple

from ..backend import get_array_module
from .reduce import _expand_like, normalize_dims

INF = float("inf")

VectorNormCache = namedtuple("VectorNormCache", ["x", "out", "p", "dims", "keepdim"])
VectorNormCache.__doc__ = """vector_norm_backward's cache: x, the input; out, the norm with the reduced axes kept
(length 1); p, the order (a float, +-inf allowed); dims, the reduced axes (a sorted tuple); keepdim, whether the
returned norm kept them."""


def vector_norm_forward(x, ord=2.0, dim=None, keepdim=False):  # noqa: A002 - torch's argument name
    """x: any shape. out = (sum |x|^p)^(1/p) over ``dim`` (all dims when None); p = inf: max |x|,
    p = -inf: min |x|, p = 0: the number of non-zero entries."""
    xp = get_array_module(x)
    dims = normalize_dims(dim, x.ndim)
    p = float(ord)
    a = xp.abs(x)
    if p == 2.0:
        out = xp.sqrt((x * x).sum(axis=dims, keepdims=True))
    elif p == 1.0:
        out = a.sum(axis=dims, keepdims=True)
    elif p == INF:
        out = a.max(axis=dims, keepdims=True)
    elif p == -INF:
        out = a.min(axis=dims, keepdims=True)
    elif p == 0.0:
        out = (x != 0).sum(axis=dims, keepdims=True).astype(x.dtype)
    else:  # |0|^p is 0 for p > 0 and inf for p < 0 (then the norm is 0), computed without warnings
        zero = a == 0
        powered = xp.where(zero, 0.0 if p > 0 else INF, xp.where(zero, 1, a) ** p).astype(x.dtype)
        out = powered.sum(axis=dims, keepdims=True) ** (1.0 / p)
    result = out if keepdim else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))
    return result, VectorNormCache(x, out, p, dims, keepdim)


def vector_norm_backward(dout, cache):
    """Returns (dx,). p = 2: dx = g x / ||x||; p = 1: g sign(x); p = +-inf: g sign(x) shared evenly
    among the entries with |x| = ||x||; p = 0: 0; else g sign(x) |x|^(p-1) / ||x||^(p-1)."""
    x, out, p, dims = cache.x, cache.out, cache.p, cache.dims
    xp = get_array_module(x)
    g = _expand_like(dout, x.shape, dims, cache.keepdim)
    if p == 0.0:
        return (xp.zeros(x.shape, dtype=x.dtype),)
    if p == 1.0:
        return (g * xp.sign(x),)
    if p in (INF, -INF):
        mask = xp.abs(x) == out
        count = mask.sum(axis=dims, keepdims=True).astype(x.dtype)
        return (g * xp.sign(x) * mask / count,)
    zero_norm = out == 0
    safe_norm = xp.where(zero_norm, 1, out).astype(x.dtype)
    if p == 2.0:
        scale = xp.where(zero_norm, 0, 1 / safe_norm).astype(x.dtype)
        return (g * x * scale,)
    a = xp.abs(x)
    zero_x = a == 0
    powered = xp.where(zero_x, 0, xp.where(zero_x, 1, a).astype(x.dtype) ** (p - 1)).astype(x.dtype)
    scale = xp.where(zero_norm, 0, safe_norm ** (1 - p)).astype(x.dtype)
    return (g * xp.sign(x) * powered * scale,)
