"""Shape kernels (hw1): reshape, permute, getitem, gather, concat, stack, split, expand.

These move values around without arithmetic; their backward moves gradients back."""
from collections import namedtuple

from ..backend import get_array_module, index_add
from .elementwise import unbroadcast


def reshape_forward(x, shape):
    """out = x viewed with ``shape``."""
    return x.reshape(shape), x.shape


def reshape_backward(dout, cache):
    """Returns (dx,) reshaped to x's shape."""
    # BEGIN SOLUTION hw1
    return (dout.reshape(cache),)
    # END SOLUTION


def permute_forward(x, dims):
    """out = x with its axes reordered by ``dims`` (a permutation)."""
    xp = get_array_module(x)
    return xp.transpose(x, dims), tuple(dims)


def permute_backward(dout, cache):
    """Returns (dx,): dout permuted by the inverse permutation."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    inverse = [0] * len(cache)
    for i, d in enumerate(cache):
        inverse[d] = i
    return (xp.transpose(dout, inverse),)
    # END SOLUTION


TransposeCache = namedtuple("TransposeCache", ["dim0", "dim1"])
TransposeCache.__doc__ = """transpose_backward's cache: dim0, dim1, the two swapped axes (ints)."""


def transpose_forward(x, dim0, dim1):
    """out = x with axes ``dim0`` and ``dim1`` swapped."""
    xp = get_array_module(x)
    return xp.swapaxes(x, dim0, dim1), TransposeCache(dim0, dim1)


def transpose_backward(dout, cache):
    """Returns (dx,): the same swap undoes itself."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    return (xp.swapaxes(dout, cache.dim0, cache.dim1),)
    # END SOLUTION


def expand_forward(x, shape):
    """out = x broadcast to ``shape`` (a read-only view)."""
    xp = get_array_module(x)
    return xp.broadcast_to(x, shape), x.shape


def expand_backward(dout, cache):
    """Returns (dx,): dout summed over the broadcast axes."""
    # BEGIN SOLUTION hw1
    return (unbroadcast(dout, cache),)
    # END SOLUTION


GetItemCache = namedtuple("GetItemCache", ["shape", "dtype", "index"])
GetItemCache.__doc__ = """getitem_backward's cache: shape, dtype, x's shape and dtype; index, the index used (ints,
slices, None, Ellipsis, integer or boolean arrays, or a tuple of them)."""


def getitem_forward(x, index):
    """out = x[index] for basic (ints, slices, None, Ellipsis) and integer/boolean array indices."""
    return x[index], GetItemCache(x.shape, x.dtype, index)


def getitem_backward(dout, cache):
    """Returns (dx,): zeros with dout added at ``index`` (repeated indices accumulate)."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    shape, index = cache.shape, cache.index
    dx = xp.zeros(shape, dtype=dout.dtype)
    index_add(dx, index, dout)
    return (dx,)
    # END SOLUTION


GatherCache = namedtuple("GatherCache", ["shape", "index", "dim"])
GatherCache.__doc__ = """gather_backward's cache: shape, x's shape; index, the integer index array (the output's
shape); dim, the gathered axis (an int)."""


def gather_forward(x, index, dim):
    """out[i][j] = x[i][index[i][j]] for dim=1 (torch.gather). ``index`` has x's number of dims and is
    no larger than x outside ``dim``; out has index's shape."""
    xp = get_array_module(x)
    src = x
    if index.shape[:dim] + index.shape[dim + 1:] != x.shape[:dim] + x.shape[dim + 1:]:
        src = x[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))]
    return xp.take_along_axis(src, index, axis=dim), GatherCache(x.shape, index, dim)


def gather_backward(dout, cache):
    """Returns (dx,): dout scattered back to the gathered positions, repeats accumulated."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    shape, index, dim = cache.shape, cache.index, cache.dim
    dx = xp.zeros(shape, dtype=dout.dtype)
    grids = list(xp.indices(index.shape, sparse=True))
    grids[dim] = index
    index_add(dx, tuple(grids), dout)
    return (dx,)
    # END SOLUTION


ConcatCache = namedtuple("ConcatCache", ["sizes", "dim"])
ConcatCache.__doc__ = """concat_backward's cache: sizes, each input's length along dim (a list of ints); dim, the
joined axis (an int)."""


def concat_forward(*xs, dim=0):
    """out = the arrays joined along existing axis ``dim``."""
    xp = get_array_module(*xs)
    return xp.concatenate(xs, axis=dim), ConcatCache([x.shape[dim] for x in xs], dim)


def concat_backward(dout, cache):
    """Returns one slice of dout per input."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    bounds = []
    total = 0
    for n in cache.sizes[:-1]:
        total += n
        bounds.append(total)
    return tuple(xp.split(dout, bounds, axis=cache.dim))
    # END SOLUTION


StackCache = namedtuple("StackCache", ["n", "dim"])
StackCache.__doc__ = """stack_backward's cache: n, the number of stacked inputs (an int); dim, the new axis (an
int)."""


def stack_forward(*xs, dim=0):
    """out = the arrays joined along a new axis ``dim``."""
    xp = get_array_module(*xs)
    return xp.stack(xs, axis=dim), StackCache(len(xs), dim)


def stack_backward(dout, cache):
    """Returns one slice of dout per input, the stacking axis removed."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    return tuple(xp.take(dout, i, axis=cache.dim) for i in range(cache.n))
    # END SOLUTION


def split_forward(x, sections, dim=0):
    """outs = x cut along ``dim`` into pieces of the given sizes (a list of ints summing to x.shape[dim])."""
    xp = get_array_module(x)
    bounds = []
    total = 0
    for n in sections[:-1]:
        total += n
        bounds.append(total)
    return tuple(xp.split(x, bounds, axis=dim)), dim


def split_backward(*douts_and_cache):
    """Takes one gradient per piece, then the cache; returns (dx,) = the pieces joined."""
    *douts, dim = douts_and_cache
    xp = get_array_module(*douts)
    # BEGIN SOLUTION hw1
    return (xp.concatenate(douts, axis=dim),)
    # END SOLUTION
