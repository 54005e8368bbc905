"""Matrix products (hw1): ``matmul`` with torch.matmul's broadcasting, and strict ``bmm``."""
from collections import namedtuple

from ..backend import get_array_module
from .elementwise import unbroadcast

MatmulCache = namedtuple("MatmulCache", ["a", "b"])
MatmulCache.__doc__ = """matmul_backward's cache: a (..., n, k) or (k,), b (..., k, m) or (k,): the operands."""


def matmul_forward(a, b):
    """out = a @ b. 1-D operands act as a row (a) or column (b) vector and that axis is
    dropped from the result; batch dims broadcast. (..., n, k) @ (..., k, m) -> (..., n, m)."""
    return a @ b, MatmulCache(a, b)


def matmul_backward(dout, cache):
    """Returns (da, db): da = dout @ b^T, db = a^T @ dout, summed over broadcast batch dims."""
    a, b = cache.a, cache.b
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g = dout  # put back the axes the 1-D operands dropped: g is shaped like a2 @ b2
    if a.ndim == 1:
        g = xp.expand_dims(g, g.ndim - 1 if b.ndim > 1 else g.ndim)
    if b.ndim == 1:
        g = xp.expand_dims(g, -1)
    if a2.ndim == 2 and g.ndim > 2:
        # (n,k) weight shared over a batch: fold the batch into one GEMM.
        da = g @ xp.swapaxes(b2, -1, -2)
        da = unbroadcast(da, a2.shape)
        db = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape)
    elif b2.ndim == 2 and g.ndim > 2:
        k, m = b2.shape
        g_flat = g.reshape(-1, m)
        a_flat = xp.broadcast_to(a2, g.shape[:-1] + (a2.shape[-1],)).reshape(-1, k)
        db = a_flat.T @ g_flat
        da = unbroadcast((g_flat @ b2.T).reshape(g.shape[:-1] + (k,)), a2.shape)
    else:
        da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)
        db = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape)
    return da.reshape(a.shape), db.reshape(b.shape)
    # END SOLUTION


BmmCache = namedtuple("BmmCache", ["a", "b"])
BmmCache.__doc__ = """bmm_backward's cache: a (B, n, k), b (B, k, m): the operands."""


def bmm_forward(a, b):
    """out = a @ b for (B, n, k) @ (B, k, m) -> (B, n, m), no broadcasting."""
    return a @ b, BmmCache(a, b)


def bmm_backward(dout, cache):
    """Returns (da, db) = (dout @ b^T, a^T @ dout), batch by batch."""
    a, b = cache.a, cache.b
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(a, 1, 2) @ dout
    # END SOLUTION
