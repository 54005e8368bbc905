"""The affine layer (hw2): y = x W^T + b with PyTorch's weight layout (out_features, in_features).

Leading batch dims are folded into one GEMM: x is viewed as (-1, in_features), so a
(B, T, in) input costs one (B*T, in) @ (in, out) product, not B products.

Convention for a missing bias: ``linear_forward(x, weight, None)`` skips the add, and
``linear_backward`` always returns three entries ``(dx, dweight, dbias)`` with ``dbias = None``
when there was no bias (like a torch ``autograd.Function`` returning None for a None input).
The ``Linear`` Function passes the bias slot as ``None`` then, so it has no third input to grad.
"""
from collections import namedtuple

from ..backend import col_sum

LinearCache = namedtuple("LinearCache", ["x2", "weight", "lead", "has_bias"])
LinearCache.__doc__ = """linear_backward's cache: x2, x flattened to (N, in_features), N = prod(lead); weight,
(out_features, in_features); lead, x's leading dims (a tuple: x.shape[:-1]); has_bias, whether a bias was given."""


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
    dbias = col_sum(g) if has_bias else None       # g.sum(axis=0), as a faster matrix-vector product
    # END SOLUTION
    return dx, dweight, dbias
