"""The few array operations whose best form differs between NumPy and CuPy."""
import math

import numpy as np

from .core import get_array_module

try:  # SciPy gives erf to full precision; it is optional.
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover - exercised only without SciPy
    _scipy_erf = None


def erf(x):
    """The error function, elementwise, in ``x``'s dtype.

    float32 (and float16) on the CPU: a rational approximation (Abramowitz & Stegun 7.1.26,
    |error| < 1.5e-7, below float32's resolution), about 3x faster than SciPy's. float64: SciPy's
    ``erf`` to full precision when SciPy is installed (gradient checks and fixtures need it), else
    the same approximation. CuPy arrays use ``cupyx.scipy.special.erf``."""
    xp = get_array_module(x)
    if xp.__name__.startswith("cupy"):
        from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415

        return cupy_erf(x)
    if _scipy_erf is not None and x.dtype == np.float64:
        if isinstance(x, (np.ndarray, np.generic)):
            return _scipy_erf(x)
        if xp.__name__.endswith("strict"):
            return xp.asarray(_scipy_erf(x.unwrap()))
    return _erf_rational(xp, x)


def _erf_rational(xp, x):
    """Abramowitz & Stegun 7.1.26 in ``x``'s dtype, with in-place steps (few temporaries)."""
    a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
    shape, x = x.shape, x.reshape(-1)  # 1-d, so that NumPy returns arrays (not scalars) for in-place steps
    ax = xp.abs(x)
    t = ax * p
    t += 1.0
    xp.reciprocal(t, out=t)
    y = t * a5
    for a in (a4, a3, a2, a1):
        y += a
        y *= t
    ax *= ax
    xp.negative(ax, out=ax)
    xp.exp(ax, out=ax)
    y *= ax                    # erfc(|x|)
    xp.subtract(1.0, y, out=y)
    return xp.copysign(y, x).reshape(shape)


SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def scatter_add_rows(n_rows, idx, values):
    """``out[idx[i]] += values[i]`` for a flat index vector, correct for repeated indices.

    n_rows: rows of the result; idx: (N,) integers in [0, n_rows); values: (N, D).
    Returns (n_rows, D) in ``values``' dtype. Small tables use a one-hot matmul (fast and
    deterministic); large ones an unbuffered add (``np.add.at`` / ``cupyx.scatter_add``)."""
    xp = get_array_module(values)
    n, d = values.shape
    if n_rows * n <= (1 << 22):
        onehot = xp.zeros((n, n_rows), dtype=values.dtype)
        onehot[xp.arange(n), idx] = 1
        return onehot.T @ values
    out = xp.zeros((n_rows, d), dtype=values.dtype)
    if xp.__name__.startswith("cupy"):
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(out, idx, values)
    else:
        xp.add.at(out, idx, values)
    return out


def _has_array_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "shape") and getattr(p, "ndim", 0) > 0 or isinstance(p, (list,)) for p in parts)


def index_add(target, index, values):
    """``target[index] += values`` in place, correct when an integer-array index repeats."""
    xp = get_array_module(target)
    if not _has_array_index(index):
        target[index] += values
    elif xp.__name__.startswith("cupy"):
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(target, index, values)
    else:
        xp.add.at(target, index, values)
    return target
