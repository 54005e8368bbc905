"""Reductions over any axes (hw1). ``dim`` is None (all axes), an int or a tuple of ints."""
import operator
from collections import namedtuple

from ..backend import get_array_module


def normalize_dims(dim, ndim):
    """``dim`` as a sorted tuple of non-negative axes, with torch's rules: None or an empty
    tuple means all axes; negative dims count from the end; a 0-d array accepts dim 0 / -1
    (and has no axes to reduce); a dim listed twice is an error."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    bound = max(ndim, 1)
    out = []
    for d in dims:
        d = operator.index(d)
        if not -bound <= d < bound:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {d})"
            )
        d %= bound
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out)) if ndim else ()


def _expand_like(dout, shape, dims, keepdim):
    """Broadcast a reduced gradient back over ``shape`` (a read-only view, no copy)."""
    xp = get_array_module(dout)
    if not keepdim and dims:
        dout = dout.reshape(tuple(1 if i in dims else n for i, n in enumerate(shape)))
    return xp.broadcast_to(dout, shape)


SumCache = namedtuple("SumCache", ["shape", "dims", "keepdim"])
SumCache.__doc__ = """sum_backward's cache: shape, x's shape; dims, the summed axes (a sorted tuple); keepdim,
whether the output kept them (as length-1 axes)."""


def sum_forward(x, dim=None, keepdim=False):
    """out = x summed over ``dim``."""
    dims = normalize_dims(dim, x.ndim)
    return x.sum(axis=dims, keepdims=keepdim), SumCache(x.shape, dims, keepdim)


def sum_backward(dout, cache):
    """Returns (dx,): dout broadcast back over the summed axes."""
    # BEGIN SOLUTION hw1
    return (_expand_like(dout, cache.shape, cache.dims, cache.keepdim),)
    # END SOLUTION


MeanCache = namedtuple("MeanCache", ["shape", "dims", "keepdim", "count"])
MeanCache.__doc__ = """mean_backward's cache: shape, x's shape; dims, the averaged axes (a sorted tuple); keepdim,
whether the output kept them; count, how many entries each mean averaged (an int)."""


def mean_forward(x, dim=None, keepdim=False):
    """out = x averaged over ``dim``."""
    dims = normalize_dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    return x.mean(axis=dims, keepdims=keepdim), MeanCache(x.shape, dims, keepdim, count)


def mean_backward(dout, cache):
    """Returns (dx,) = (dout / count broadcast back,)."""
    # BEGIN SOLUTION hw1
    shape, dims, keepdim, count = cache.shape, cache.dims, cache.keepdim, cache.count
    return (_expand_like(dout / count, shape, dims, keepdim),)
    # END SOLUTION


MaxCache = namedtuple("MaxCache", ["mask", "dims", "keepdim"])
MaxCache.__doc__ = """max_backward's cache: mask, x == max (boolean, x's shape); dims, the reduced axes (a sorted
tuple); keepdim, whether the output kept them."""


def max_forward(x, dim=None, keepdim=False):
    """out = max of x over ``dim`` (torch.amax).

    Ties: the gradient is split evenly among all maximal entries, as torch.amax does.
    (``Tensor.max(dim)`` instead gives it all to the returned index, through ``gather``.)"""
    dims = normalize_dims(dim, x.ndim)
    out = x.max(axis=dims, keepdims=True)
    mask = x == out
    return (out if keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in dims])), \
        MaxCache(mask, dims, keepdim)


def max_backward(dout, cache):
    """Returns (dx,): dout shared evenly by the maxima of each reduced slice."""
    # BEGIN SOLUTION hw1
    mask, dims, keepdim = cache.mask, cache.dims, cache.keepdim
    count = mask.sum(axis=dims, keepdims=True)
    share = _expand_like(dout, mask.shape, dims, keepdim) / count.astype(dout.dtype)
    return (share * mask,)
    # END SOLUTION


VarCache = namedtuple("VarCache", ["centered", "dims", "keepdim", "scale"])
VarCache.__doc__ = """var_backward's cache: centered, x - mean (x's shape); dims, the reduced axes (a sorted
tuple); keepdim, whether the output kept them; scale, 1 / (N - correction) (a float, inf when N <= correction)."""


def var_forward(x, dim=None, correction=1, keepdim=False):
    """out = sum((x - mean)^2) / max(N - correction, 0) over ``dim`` (torch.var; correction=1 is
    unbiased). A zero divisor gives inf (nan where the sum is 0), as in torch."""
    dims = normalize_dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    centered = x - x.mean(axis=dims, keepdims=True)
    denom = max(count - correction, 0)
    scale = 1.0 / denom if denom else float("inf")
    out = (centered * centered).sum(axis=dims, keepdims=keepdim) * scale
    return out, VarCache(centered, dims, keepdim, scale)


def var_backward(dout, cache):
    """Returns (dx,) = (2 (x - mean) dout / (N - correction),)."""
    # BEGIN SOLUTION hw1
    centered = cache.centered
    g = _expand_like(dout, centered.shape, cache.dims, cache.keepdim)
    return (g * centered * (2.0 * cache.scale),)
    # END SOLUTION
