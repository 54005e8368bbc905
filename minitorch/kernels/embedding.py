"""Embedding lookup (hw2): a row gather forward, a scatter-add backward.

The backward must be correct when an index repeats (``dW[idx] += g`` silently drops
duplicates): it uses ``minitorch.backend.scatter_add_rows``, which picks a one-hot matmul for
small tables and ``np.add.at`` / ``cupyx.scatter_add`` for large ones.
"""
from collections import namedtuple

from ..backend import get_array_module, scatter_add_rows

EmbeddingCache = namedtuple("EmbeddingCache", ["num_embeddings", "indices", "padding_idx", "scale_grad_by_freq"])
EmbeddingCache.__doc__ = """embedding_backward's cache: num_embeddings, V (an int); indices, the integer index array
(...); padding_idx, an int in [0, V) or None; scale_grad_by_freq, a bool."""


def embedding_forward(weight, indices, padding_idx=None, scale_grad_by_freq=False):
    """weight: (V, D), indices: integer array of any shape (...) -> out: (..., D), out[...] = weight[indices[...]].

    ``padding_idx`` (in [0, V) or None): that row gets no gradient. ``scale_grad_by_freq``: each
    row's gradient is divided by how often its index occurs in ``indices`` (torch's option).
    Indices are assumed valid (``F.embedding`` checks them: CuPy would wrap out-of-range ones)."""
    xp = get_array_module(weight)
    # BEGIN SOLUTION hw2
    out = xp.take(weight, indices, axis=0)
    # END SOLUTION
    return out, EmbeddingCache(weight.shape[0], indices, padding_idx, scale_grad_by_freq)


def embedding_backward(dout, cache):
    """dout: (..., D). Returns (dweight,): dweight[v] = sum of dout[i] over the positions i with
    indices[i] == v (repeats accumulate), zero for padding_idx."""
    xp = get_array_module(dout)
    flat = cache.indices.reshape(-1)
    g = dout.reshape(flat.shape[0], dout.shape[-1])
    # BEGIN SOLUTION hw2
    num_embeddings, padding_idx = cache.num_embeddings, cache.padding_idx
    dweight = scatter_add_rows(num_embeddings, flat, g)
    if cache.scale_grad_by_freq:
        counts = xp.bincount(flat, minlength=num_embeddings)
        dweight /= xp.maximum(counts, 1).astype(dweight.dtype)[:, None]
    if padding_idx is not None:
        dweight[padding_idx] = 0
    # END SOLUTION
    return (dweight,)
