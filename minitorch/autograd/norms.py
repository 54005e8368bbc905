"""Norms with torch's names and rules: ``vector_norm``, ``matrix_norm`` and ``norm`` (``minitorch.linalg``),
and ``tensor_norm`` behind ``Tensor.norm`` / ``minitorch.norm``. The math is one kernel pair
(``minitorch.kernels.linalg``); the matrix norms are compositions of differentiable ops.

Below tensor.py in the import order: tensor.py imports this module (``Tensor.norm``), so this module does
not import tensor.py; its input checks read the class as ``function.Tensor`` (bound by tensor.py once it
is defined, before any op can run), like the engine."""
import numbers

from ..kernels.reduce import normalize_dims
from . import function  # function.Tensor: the Tensor class, bound by tensor.py
from .dtypes import as_dtype
from .functions.linalg import VectorNorm

INF = float("inf")


def _check_input(op, x, dtype):
    if not isinstance(x, function.Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    if dtype is not None:
        dt = as_dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"{op}(): dtype must be a floating dtype, got {dt}")
        x = x.to(dt)
    if not x.is_floating_point():
        raise TypeError(f"{op}(): expected a floating point input, got dtype {x.dtype} (use .float() first)")
    return x


def _check_ord(op, ord):  # noqa: A002 - torch's argument name
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real) or ord != ord:
        raise ValueError(f"{op}(): ord must be a number (or inf / -inf), got {ord!r}")
    return float(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None), as ``torch.linalg.vector_norm``:
    ord = 2 (default), 1, inf, -inf, 0 (number of non-zeros) or any other real p. Differentiable."""
    op = "linalg.vector_norm"
    x = _check_input(op, x, dtype)
    p = _check_ord(op, ord)
    dims = normalize_dims(dim, x.ndim)
    if p < 0 or p == INF:
        if any(x.shape[d] == 0 for d in dims):
            raise RuntimeError(f"{op}(): ord={ord} needs a non-empty reduction, but input of shape {x.shape} has "
                               f"size 0 along the reduced dims")
    return VectorNorm.apply(x, ord=p, dim=dims, keepdim=bool(keepdim))


def _two_dims(op, x, dim):
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ValueError(f"{op}(): dim must be a pair of dims, got {dim!r}")
    if x.ndim < 2:
        raise ValueError(f"{op}(): expected an input with at least 2 dims, got shape {x.shape}")
    rows, cols = (normalize_dims(d, x.ndim)[0] for d in dim)
    if rows == cols:
        raise RuntimeError(f"{op}(): the two dims must be different, got {dim!r}")
    return rows, cols


def matrix_norm(x, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """The matrix norm over the two dims ``dim``, as ``torch.linalg.matrix_norm``: 'fro' (default),
    1 / -1 (max / min absolute column sum), inf / -inf (max / min absolute row sum). 'nuc', 2 and -2
    need singular values, which minitorch does not compute."""
    op = "linalg.matrix_norm"
    x = _check_input(op, x, dtype)
    rows, cols = _two_dims(op, x, dim)
    if ord == "fro":
        return VectorNorm.apply(x, ord=2.0, dim=(rows, cols), keepdim=bool(keepdim))
    if ord == "nuc" or (isinstance(ord, numbers.Real) and not isinstance(ord, bool) and abs(ord) == 2):
        raise NotImplementedError(f"{op}(): ord={ord!r} needs singular values (an SVD), which minitorch does not "
                                  "provide; use 'fro', 1, -1, inf or -inf")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real) or abs(ord) not in (1, INF):
        raise ValueError(f"{op}(): ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}")
    summed, keep = (rows, cols) if abs(ord) == 1 else (cols, rows)  # 1: sum over rows, then max over columns
    for d in (summed, keep):
        if x.shape[d] == 0:
            raise RuntimeError(f"{op}(): ord={ord} needs non-empty matrices, got shape {x.shape}")
    sums = x.abs().sum(dim=summed, keepdim=True)
    out = sums.amax(dim=keep, keepdim=True) if ord > 0 else sums.amin(dim=keep, keepdim=True)
    return out if keepdim else out.squeeze((rows, cols))


def norm(x, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: with ``ord`` None, the 2-norm of the flattened input (dim None), of vectors
    along ``dim`` (an int) or the Frobenius norm over ``dim`` (a pair). With ``ord``, a vector norm for
    1-D inputs / an int dim, a matrix norm for 2-D inputs / a pair of dims."""
    op = "linalg.norm"
    if not isinstance(x, function.Tensor):
        raise TypeError(f"{op}(): expected a Tensor, got {type(x).__name__}")
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        if dim is None or len(dim) == 1:
            return vector_norm(x, 2, dim, keepdim, dtype=dtype)
        return matrix_norm(x, "fro", dim, keepdim, dtype=dtype)
    if dim is None:
        if x.ndim not in (1, 2):
            raise RuntimeError(f"{op}(): input must be 1-D or 2-D when ord is given and dim is None, got shape "
                               f"{x.shape}; pass dim")
        dim = tuple(range(x.ndim))
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"{op}(): ord={ord!r} is a matrix norm, but a single dim was given")
        return vector_norm(x, ord, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(x, ord, dim, keepdim, dtype=dtype)
    raise RuntimeError(f"{op}(): dim must be an int or a pair of ints, got {dim!r}")


def tensor_norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """``Tensor.norm`` / ``torch.norm``: p = 'fro' (default) is the 2-norm over ``dim`` (all elements
    when None), a number p the p-norm over ``dim``; 'nuc' is not supported (needs an SVD)."""
    op = "norm"
    if p == "nuc":
        raise NotImplementedError(f"{op}(): p='nuc' needs singular values (an SVD), which minitorch does not provide")
    if p == "fro" or p is None:
        if dim is not None and not isinstance(dim, int) and len(dim) > 2:
            raise RuntimeError(f"{op}(): p='fro' takes at most 2 dims, got dim={dim!r}")
        p = 2
    elif isinstance(p, str):
        raise ValueError(f"{op}(): p must be a number, 'fro' or 'nuc', got {p!r}")
    x = _check_input(op, x, dtype)
    return vector_norm(x, p, dim, keepdim)
