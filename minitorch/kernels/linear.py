"""The affine layer (hw2): y = x W^T + b with PyTorch's weight layout (out_features, in_features).

Leading batch dims are folded into one GEMM: x is viewed as (-1, in_features), so a
(B, T, in) input costs one (B*T, in) @ (in, out) product, not B products.

Convention for a missing bias: ``linear_forward(x, weight, None)`` skips the add, and
``linear_backward`` always returns three entries ``(dx, dweight, dbias)`` with ``dbias = None``
when there was no bias (like a torch ``autograd.Function`` returning None for a None input).
The ``Linear`` Function passes the bias slot as ``None`` then, so it has no third input to grad.
"""
from collections import namedtuple

from ..backend import get_array_module

LinearCache = namedtuple("LinearCache", ["x2", "weight", "lead", "has_bias"])
LinearCache.__doc__ = """linear_backward's cache: x2, x flattened to (N, in_features), N = prod(lead); weight,
(out_features, in_features); lead, x's leading dims (a tuple: x.shape[:-1]); has_bias, whether a bias was given."""


def _col_sum(a):
    """a.sum(axis=0) for an (N, D) array, as one vector-matrix product (ones @ a): NumPy's reduction
    down the rows runs 2-3x slower than BLAS for the (B*T, features) gradients of a training step."""
    xp = get_array_module(a)
    return xp.ones((a.shape[0],), dtype=a.dtype) @ a


def linear_forward(x, weight, bias=None):
    """x: (..., in), weight: (out, in), bias: (out,) or None -> y: (..., out).
    y = x @ weight^T + bias, computed as one (N, in) @ (in, out) GEMM with N = prod(...)."""
    out_features, in_features = weight.shape
    lead = x.shape[:-1]
    x2 = x.reshape(-1, in_features)
    # BEGIN SOLUTION hw2
    y = x2 @ weight.T
    if bias is not None:
        y += bias
    # END SOLUTION
    return y.reshape(lead + (out_features,)), LinearCache(x2, weight, lead, bias is not None)


def linear_backward(dout, cache):
    """dout: (..., out). Returns (dx, dweight, dbias):
    dx = dout @ W, dW = dout^T @ x, db = sum of dout over all leading dims (None without bias)."""
    out_features, in_features = cache.weight.shape
    g = dout.reshape(-1, out_features)
    # BEGIN SOLUTION hw2
    x2, weight, lead, has_bias = cache.x2, cache.weight, cache.lead, cache.has_bias
    dx = (g @ weight).reshape(lead + (in_features,))
    dweight = g.T @ x2
    dbias = _col_sum(g) if has_bias else None      # g.sum(axis=0), as a faster matrix-vector product
    # END SOLUTION
    return dx, dweight, dbias
