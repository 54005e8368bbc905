"""The few array operations whose best form differs between NumPy and CuPy."""
import math

import numpy as np

from .core import get_array_module


def erf(x):
    """The error function, elementwise, in ``x``'s dtype.

    float32 (and float16) on the CPU: a rational approximation (Abramowitz & Stegun 7.1.26,
    |error| < 1.5e-7, below float32's resolution), about 3x faster than SciPy's. float64: W. J. Cody's
    rational Chebyshev approximations (``_erf_float64``), within 5 ulp of ``math.erf`` (1 ulp for
    |x| >= 1), the same bits with or without SciPy installed, so grades never depend on SciPy. CuPy arrays use
    ``cupyx.scipy.special.erf``."""
    xp = get_array_module(x)
    if xp.__name__.startswith("cupy"):
        from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415

        return cupy_erf(x)
    if x.dtype == np.float64:
        return _erf_float64(xp, x)
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


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
# 631-638; the coefficients are those of his SPECFUN routine CALERF (near-minimax, >= 18 digits).
# erf(x) = x R1(x^2) on |x| <= 0.46875
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
# erfc(y) = exp(-y^2) R2(y) on 0.46875 < y <= 4
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
# erfc(y) = exp(-y^2) / y (1/sqrt(pi) + R3(1/y^2) / y^2) on y > 4
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SMALL = 0.46875
_INV_SQRT_PI = 0.56418958354775628695


def _ratio(z, num, den):
    """(num[-1] z^k + num[0] z^(k-1) + ... + num[k-1]) / (z^k + den[0] z^(k-1) + ... + den[k-1]):
    the nested (Horner) form of Cody's tables, where ``num`` ends with its leading coefficient."""
    k = len(den)
    xnum = num[-1] * z
    xden = z.copy()
    for i in range(k - 1):
        xnum += num[i]
        xnum *= z
        xden += den[i]
        xden *= z
    return (xnum + num[k - 1]) / (xden + den[k - 1])


def _exp_neg_square(xp, y):
    """exp(-y^2) without the rounding error of y*y: y = m + d with m a multiple of 1/16 (m^2 exact)."""
    m = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-m * m) * xp.exp(-(y - m) * (y + m))


def _erf_float64(xp, x):
    """erf in float64 from Cody's three rational approximations: erf itself near 0, erfc beyond
    (erf = 1 - erfc, odd in x). At most 5 ulp from math.erf on a dense grid, 1 ulp for |x| >= 1
    (tests/kernels/test_erf.py)."""
    shape, x = x.shape, x.reshape(-1)
    y = xp.abs(x)
    out = xp.empty_like(x)
    small = y <= _ERF_SMALL
    mid = (y > _ERF_SMALL) & (y <= 4.0)
    large = ~(small | mid)                      # y > 4, inf and nan
    if bool(small.any()):
        xs = x[small]
        out[small] = xs * _ratio(xs * xs, _ERF_A, _ERF_B)
    if bool(mid.any()):
        ym = y[mid]
        erfc = _exp_neg_square(xp, ym) * _ratio(ym, _ERF_C, _ERF_D)
        out[mid] = xp.copysign((0.5 - erfc) + 0.5, x[mid])
    if bool(large.any()):
        yl = xp.minimum(y[large], 27.0)         # erfc(27) underflows: erf = +-1 from here on (nan stays nan)
        z = 1.0 / (yl * yl)
        r = (_INV_SQRT_PI - z * _ratio(z, _ERF_P, _ERF_Q)) / yl
        erfc = _exp_neg_square(xp, yl) * r
        out[large] = xp.copysign((0.5 - erfc) + 0.5, x[large])
    return out.reshape(shape)


SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# ----------------------------------------------------------------------------- exact GELU
def gelu_erf(x, grad=True):
    """The exact GELU and its derivative in one go: returns (x Phi(x), Phi(x) + x phi(x)), or
    (x Phi(x), None) without ``grad``; Phi is the standard normal CDF, phi = exp(-x^2/2) / sqrt(2 pi).

    float32: ``_gelu_erf_steps`` (A&S 7.1.26, accurate to float32 resolution, also in the negative
    tail); on NumPy in cache-sized blocks, so its ~20 in-place passes never leave the CPU cache and
    no temporary of x's size is made. Other dtypes: the plain formulas with ``erf`` (float64 to full
    precision)."""
    xp = get_array_module(x)
    x = xp.asarray(x)                  # the module's own array type (NumPy input under the strict backend)
    shape, flat = x.shape, x.reshape(-1)  # 1-d, so that NumPy returns arrays (not scalars) for in-place steps
    if x.dtype == np.float32:
        out = xp.empty(flat.shape, dtype=x.dtype)
        deriv = xp.empty(flat.shape, dtype=x.dtype) if grad else None
        n = flat.size
        m = min(n, _GELU_BLOCK) if xp is np else n  # blocks on the CPU; one go elsewhere (GPU, strict)
        scratch = _gelu_scratch(xp, m)
        for s in range(0, n, max(m, 1)):
            e = min(s + m, n)
            _gelu_erf_steps(xp, flat[s:e], out[s:e], None if deriv is None else deriv[s:e],
                            *(a[:e - s] for a in scratch))
        return out.reshape(shape), (None if deriv is None else deriv.reshape(shape))
    cdf = erf(flat * flat.dtype.type(_SQRT_HALF))
    cdf += 1
    cdf *= 0.5                                   # Phi(x) = (1 + erf(x / sqrt 2)) / 2
    out = (flat * cdf).reshape(shape)
    if not grad:
        return out, None
    pdf = flat * flat
    pdf *= -0.5
    xp.exp(pdf, out=pdf)
    pdf *= _INV_SQRT_2PI
    pdf *= flat
    pdf += cdf                                   # Phi(x) + x phi(x)
    return out, pdf.reshape(shape)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# Phi(-|x|) = erfc(|x| / sqrt 2) / 2 by Abramowitz & Stegun 7.1.26 (|error of erfc| < 1.5e-7, relative
# accuracy in the tail): erfc(z) = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-z^2), t = 1 / (1 + p z).
# Below, z = |x| / sqrt 2 is folded into p, and the 1/2 of Phi into the a_k.
_F32 = np.float32
_AS_INV_P = _F32(1.0 / (0.3275911 * _SQRT_HALF))  # 1 / p', p' = p / sqrt 2
_AS_A = tuple(_F32(0.5 * a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))
_GELU_BLOCK = 32768  # elements per block: x, out, deriv and the scratch rows of a block stay in the L2 cache


def _gelu_scratch(xp, m):
    """The scratch rows of ``_gelu_erf_steps`` for blocks of up to m elements."""
    return (xp.empty(m, _F32), xp.empty(m, _F32), xp.empty(m, _F32), xp.empty(m, _F32), xp.empty(m, np.uint32))


def _gelu_erf_steps(xp, x, out, deriv, ax, t, h, e, sign):
    """GELU of the float32 1-d array ``x`` into ``out`` (and its derivative into ``deriv`` unless None),
    each step one in-place call on arrays of x's length:
        h     = Phi(-|x|) = t (a1 + ... + a5 t^4) exp(-x^2 / 2) / 2         (A&S 7.1.26, see above)
        out   = x Phi(x) = max(x, 0) - |x| h            (Phi(x) = 1 - h for x >= 0, h for x < 0: no
                                                         cancellation, accurate in the negative tail)
        deriv = Phi(x) + x phi(x) = 0.5 + sign(x) (0.5 - h) + x exp(-x^2 / 2) / sqrt(2 pi)"""
    a1, a2, a3, a4, a5 = _AS_A
    xp.abs(x, out=ax)
    xp.add(ax, _AS_INV_P, out=t)
    xp.divide(_AS_INV_P, t, out=t)               # t = 1 / (1 + p |x| / sqrt 2) = (1/p') / (|x| + 1/p'), two passes
    xp.multiply(t, a5, out=h)
    for a in (a4, a3, a2):
        h += a
        h *= t
    h += a1
    h *= t                                       # t (a1 + a2 t + ... + a5 t^4) / 2
    xp.multiply(x, x, out=e)
    e *= _F32(-0.5)
    xp.exp(e, out=e)                             # exp(-x^2 / 2)
    h *= e                                       # h = Phi(-|x|)
    ax *= h
    xp.maximum(x, _F32(0), out=out)
    out -= ax                                    # out = max(x, 0) - |x| h
    if deriv is None:
        return
    xp.subtract(_F32(0.5), h, out=h)             # 0.5 - h >= 0: its sign bit is 0 ...
    xp.bitwise_and(x.view(np.uint32), np.uint32(0x80000000), out=sign)
    hb = h.view(np.uint32)
    hb |= sign                                   # ... so OR-ing in x's sign bit gives copysign(0.5 - h, x)
    h += _F32(0.5)                               # Phi(x)
    e *= x
    e *= _F32(_INV_SQRT_2PI)                     # x phi(x)
    xp.add(h, e, out=deriv)


CACHE_LINE = 64  # bytes


def empty_aligned(shape, dtype, like):
    """An uninitialised array of ``shape`` and ``dtype`` on ``like``'s device, its data starting at a multiple of
    CACHE_LINE bytes. Kernels that read a matrix in place, without copying it into a packed buffer first
    (OpenBLAS's small-matrix kernels) run faster on such a start (the recurrent kernels' per-step products:
    bench/results/recurrent-step-blocks-idle-v2.txt). NumPy's own allocations are only 16-byte aligned; CuPy's start
    at larger boundaries already."""
    xp = get_array_module(like)
    if xp is not np:
        return xp.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    return aligned_bytes(np.empty(nbytes + CACHE_LINE, dtype=np.uint8), nbytes).view(dtype).reshape(shape)


def aligned_bytes(raw, nbytes):
    """``nbytes`` of the 1-D uint8 NumPy array ``raw`` (at least ``nbytes + CACHE_LINE`` long), from its first
    address at a multiple of CACHE_LINE: the aligned part of an allocation made CACHE_LINE bytes longer."""
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start:start + nbytes]


def col_sum(a):
    """a.sum(axis=0) for a 2-D (rows, features) array, as one vector-matrix product (ones @ a): NumPy's
    reduction down the rows runs 2-3x slower than BLAS for the gradients of a training step (bias and norm
    weights), and the product's blocked sums are also more accurate."""
    xp = get_array_module(a)
    return xp.ones((a.shape[0],), dtype=a.dtype) @ a


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
