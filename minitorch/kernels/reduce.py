"""Reductions over any axes (hw1). ``dim`` is None (all axes), an int or a tuple of ints."""
import operator

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


def sum_forward(x, dim=None, keepdim=False):
    """out = x summed over ``dim``."""
    dims = normalize_dims(dim, x.ndim)
    return x.sum(axis=dims, keepdims=keepdim), (x.shape, dims, keepdim)


def sum_backward(dout, cache):
    """Returns (dx,): dout broadcast back over the summed axes."""
    shape, dims, keepdim = cache
    # BEGIN SOLUTION hw1
    return (_expand_like(dout, shape, dims, keepdim),)
    # END SOLUTION


def mean_forward(x, dim=None, keepdim=False):
    """out = x averaged over ``dim``."""
    dims = normalize_dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    return x.mean(axis=dims, keepdims=keepdim), (x.shape, dims, keepdim, count)


def mean_backward(dout, cache):
    """Returns (dx,) = (dout / count broadcast back,)."""
    shape, dims, keepdim, count = cache
    # BEGIN SOLUTION hw1
    return (_expand_like(dout / count, shape, dims, keepdim),)
    # END SOLUTION


def max_forward(x, dim=None, keepdim=False):
    """out = max of x over ``dim`` (torch.amax).

    Ties: the gradient is split evenly among all maximal entries, as torch.amax does.
    (``Tensor.max(dim)`` instead gives it all to the returned index, through ``gather``.)"""
    dims = normalize_dims(dim, x.ndim)
    out = x.max(axis=dims, keepdims=True)
    mask = x == out
    return (out if keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in dims])), (mask, dims, keepdim)


def max_backward(dout, cache):
    """Returns (dx,): dout shared evenly by the maxima of each reduced slice."""
    mask, dims, keepdim = cache
    # BEGIN SOLUTION hw1
    count = mask.sum(axis=dims, keepdims=True)
    share = _expand_like(dout, mask.shape, dims, keepdim) / count.astype(dout.dtype)
    return (share * mask,)
    # END SOLUTION


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
    return out, (centered, dims, keepdim, scale)


def var_backward(dout, cache):
    """Returns (dx,) = (2 (x - mean) dout / (N - correction),)."""
    centered, dims, keepdim, scale = cache
    # BEGIN SOLUTION hw1
    g = _expand_like(dout, centered.shape, dims, keepdim)
    return (g * centered * (2.0 * scale),)
    # END SOLUTION
