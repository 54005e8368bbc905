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


def _rng(xp, generator, owner):
    """The generator to draw from: ``generator`` (a ``minitorch.Generator``, drawn on the host) or the
    seeded global one of ``xp``."""
    return backend.generator(xp) if generator is None else backend.numpy_generator(generator, owner)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    xp = _module(device)
    dt = _float_dtype(dtype)
    arr = _rng(xp, generator, "rand").random(_size(size), dtype=np.float64).astype(dt)
    return _wrap(xp.asarray(arr), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    xp = _module(device)
    dt = _float_dtype(dtype)
    arr = _rng(xp, generator, "randn").standard_normal(_size(size)).astype(dt)
    return _wrap(xp.asarray(arr), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None):
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
    arr = _rng(xp, generator, "randint").integers(low, high, size=_size((size,)))
    return _wrap(xp.asarray(arr).astype(as_dtype(dtype) or np.int64), False)


def randperm(n, generator=None, dtype=None, device=None):
    """A random permutation of 0 .. n-1 (int64)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    xp = _module(device)
    return _wrap(xp.asarray(_rng(xp, generator, "randperm").permutation(int(n))).astype(as_dtype(dtype) or np.int64),
                 False)


def from_numpy(array):
    """A tensor sharing memory with the NumPy array ``array`` (dtype kept, as ``torch.from_numpy``):
    writing to one shows in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"from_numpy: can't convert a NumPy array of dtype {array.dtype}; the supported types are "
                        "float, int, uint and bool")
    if backend.get_backend() != "numpy":
        raise RuntimeError(f"from_numpy: tensors live on the '{backend.get_backend()}' backend, which can't share "
                           "memory with a NumPy array; use minitorch.tensor(array) to copy it")
    return Tensor._make(array)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, without a copy when it already is one (or a NumPy array) of that dtype and device."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and device is None and backend.get_backend() == "numpy" and (
            dtype is None or as_dtype(dtype) == data.dtype) and data.dtype.kind in "fiub":
        return Tensor._make(data)
    return Tensor(data, dtype=dtype, device=device)


def multinomial(input, num_samples, replacement=False, generator=None):  # noqa: A002 - torch's name
    """Draw ``num_samples`` category indices from each row of ``input`` (non-negative weights, 1-D or 2-D),
    with or without replacement, as ``torch.multinomial``. Returns int64 indices (drawn on the host)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: expected a Tensor of weights, got {type(input).__name__}")
    if input.ndim not in (1, 2) or not input.is_floating_point():
        raise RuntimeError(f"multinomial: expected a 1-D or 2-D floating tensor of weights, got shape {input.shape} "
                           f"and dtype {input.dtype}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise RuntimeError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    w = backend.to_numpy(input.data).astype(np.float64).reshape(-1, input.shape[-1])
    n = w.shape[1]
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("multinomial: the weights must be finite and non-negative (got inf, nan or < 0)")
    if (w.sum(axis=1) <= 0).any():
        raise RuntimeError("multinomial: a row of weights sums to 0; every row needs a positive weight")
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: can't draw {num_samples} samples without replacement from {n} categories")
    if not replacement and num_samples > (w > 0).sum(axis=1).min():
        raise RuntimeError(f"multinomial: a row has fewer than {num_samples} non-zero weights, too few to draw "
                           f"{num_samples} samples without replacement")
    rng = backend.numpy_generator(generator, "multinomial")
    out = np.stack([rng.choice(n, size=num_samples, replace=bool(replacement), p=row / row.sum()) for row in w])
    out = out.astype(np.int64).reshape(input.shape[:-1] + (num_samples,))
    return Tensor(out, device=input.device)


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
