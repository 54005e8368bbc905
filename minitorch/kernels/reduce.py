"""Reductions over any axes (hw1). ``dim`` is None (all axes), an int or a tuple of ints."""
from ..backend import get_array_module


def normalize_dims(dim, ndim):
    """``dim`` as a sorted tuple of non-negative axes (all axes when None)."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor with {ndim} dimensions")
        out.append(d % max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand_like(dout, shape, dims, keepdim):
    """Broadcast a reduced gradient back over ``shape``."""
    xp = get_array_module(dout)
    if not keepdim and dims and len(shape) > 0:
        dout = xp.expand_dims(dout, dims)
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
    """out = sum((x - mean)^2) / (N - correction) over ``dim`` (torch.var; correction=1 is unbiased)."""
    dims = normalize_dims(dim, x.ndim)
    count = 1
    for d in dims:
        count *= x.shape[d]
    centered = x - x.mean(axis=dims, keepdims=True)
    denom = max(count - correction, 0)
    out = (centered * centered).sum(axis=dims, keepdims=keepdim) / denom if denom else \
        (centered * centered).sum(axis=dims, keepdims=keepdim) * float("nan")
    return out, (centered, dims, keepdim, denom)


def var_backward(dout, cache):
    """Returns (dx,) = (2 (x - mean) dout / (N - correction),)."""
    centered, dims, keepdim, denom = cache
    # BEGIN SOLUTION hw1
    g = _expand_like(dout, centered.shape, dims, keepdim)
    return (g * centered * (2.0 / denom if denom else float("nan")),)
    # END SOLUTION
