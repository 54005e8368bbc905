"""Tensor factories with torch's names: tensor, zeros, ones, full, empty, arange, linspace,
eye, rand, randn, randint, and the *_like forms. Random ones use the seeded backend generator."""
import numpy as np

from .. import backend
from .tensor import Tensor, as_dtype


def _module(device):
    return backend.module_for_device(backend.core.normalize_device(device))


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise ValueError(f"negative dimension in size {size}")
    return size


def _float_dtype(dtype):
    dt = as_dtype(dtype) or backend.get_default_dtype()
    return dt


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested list, or array)."""
    if isinstance(data, Tensor):
        data = data.data.copy()
    elif hasattr(data, "copy") and hasattr(data, "dtype"):
        data = data.copy()
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def _wrap(arr, requires_grad):
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False):
    xp = _module(device)
    return _wrap(xp.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    xp = _module(device)
    return _wrap(xp.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    xp = _module(device)
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool) else (
            np.int64 if isinstance(fill_value, int) else backend.get_default_dtype())
    return _wrap(xp.full(_size((size,)), fill_value, dtype=as_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive); int64 for integer arguments, else the default float."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else backend.get_default_dtype()
    xp = _module(device)
    return _wrap(xp.arange(start, end, step).astype(as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    xp = _module(device)
    return _wrap(xp.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    xp = _module(device)
    return _wrap(xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    xp = _module(device)
    dt = _float_dtype(dtype)
    arr = backend.generator(xp).random(_size(size), dtype=np.float64).astype(dt)
    return _wrap(xp.asarray(arr), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    xp = _module(device)
    dt = _float_dtype(dtype)
    arr = backend.generator(xp).standard_normal(_size(size)).astype(dt)
    return _wrap(xp.asarray(arr), requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None):
    """Integers in [low, high) (int64), as ``randint(low, high, size)`` or ``randint(high, size)``."""
    if isinstance(high, (tuple, list)) and size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing the required argument 'size' (a tuple of ints)")
    if low >= high:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    xp = _module(device)
    arr = backend.generator(xp).integers(low, high, size=_size((size,)))
    return _wrap(xp.asarray(arr).astype(as_dtype(dtype) or np.int64), False)


def randperm(n, device=None):
    xp = _module(device)
    return _wrap(xp.asarray(backend.generator(xp).permutation(n)).astype(np.int64), False)


def _like(fn, t, dtype, requires_grad, **kw):
    return fn(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad, **kw)


def zeros_like(t, dtype=None, requires_grad=False):
    return _like(zeros, t, dtype, requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _like(ones, t, dtype, requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    return _like(zeros, t, dtype, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return _like(rand, t, dtype, requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return _like(randn, t, dtype, requires_grad)
