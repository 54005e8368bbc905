"""Elementwise kernels with NumPy broadcasting (hw1), and GELU (hw2).

Every ``<op>_forward(...)`` returns ``(out, cache)``; every ``<op>_backward(dout, cache)``
returns one gradient per array input, each with that input's shape. A cache of several values is a
named tuple defined just above its forward (``MulCache(a, b)``: the backward reads ``cache.a``); a
cache of one value is that value itself.
"""
import math
from collections import namedtuple

from ..backend import SQRT_2_OVER_PI, gelu_erf, get_array_module


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    Leading axes that broadcasting added are summed away; axes where ``shape`` has 1 are
    summed with keepdims. unbroadcast(ones((4, 3)), (3,)) == full((3,), 4)."""
    # BEGIN SOLUTION hw1
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)
    # END SOLUTION


AddCache = namedtuple("AddCache", ["a_shape", "b_shape"])
AddCache.__doc__ = """add_backward's cache: a_shape, b_shape, the operands' shapes (tuples) to unbroadcast to."""


def add_forward(a, b):
    """out = a + b (broadcast)."""
    return a + b, AddCache(a.shape, b.shape)


def add_backward(dout, cache):
    """Returns (da, db)."""
    # BEGIN SOLUTION hw1
    return unbroadcast(dout, cache.a_shape), unbroadcast(dout, cache.b_shape)
    # END SOLUTION


SubCache = namedtuple("SubCache", ["a_shape", "b_shape"])
SubCache.__doc__ = """sub_backward's cache: a_shape, b_shape, the operands' shapes (tuples) to unbroadcast to."""


def sub_forward(a, b):
    """out = a - b (broadcast)."""
    return a - b, SubCache(a.shape, b.shape)


def sub_backward(dout, cache):
    """Returns (da, db)."""
    # BEGIN SOLUTION hw1
    return unbroadcast(dout, cache.a_shape), unbroadcast(-dout, cache.b_shape)
    # END SOLUTION


MulCache = namedtuple("MulCache", ["a", "b"])
MulCache.__doc__ = """mul_backward's cache: a, b, the operands (arrays of broadcast-compatible shapes)."""


def mul_forward(a, b):
    """out = a * b (broadcast)."""
    return a * b, MulCache(a, b)


def mul_backward(dout, cache):
    """Returns (da, db) = (dout * b, dout * a), unbroadcast."""
    # BEGIN SOLUTION hw1
    a, b = cache.a, cache.b
    return unbroadcast(dout * b, a.shape), unbroadcast(dout * a, b.shape)
    # END SOLUTION


DivCache = namedtuple("DivCache", ["a", "b"])
DivCache.__doc__ = """div_backward's cache: a, b, the operands (arrays of broadcast-compatible shapes)."""


def div_forward(a, b):
    """out = a / b (broadcast)."""
    return a / b, DivCache(a, b)


def div_backward(dout, cache):
    """Returns (da, db) = (dout / b, -dout * a / b^2), unbroadcast."""
    # BEGIN SOLUTION hw1
    a, b = cache.a, cache.b
    da = dout / b
    return unbroadcast(da, a.shape), unbroadcast(-da * a / b, b.shape)
    # END SOLUTION


def neg_forward(a):
    """out = -a."""
    return -a, None


def neg_backward(dout, cache):
    """Returns (da,)."""
    # BEGIN SOLUTION hw1
    return (-dout,)
    # END SOLUTION


PowCache = namedtuple("PowCache", ["a", "exponent"])
PowCache.__doc__ = """pow_backward's cache: a, the base (array); exponent, a Python number."""


def pow_forward(a, exponent):
    """out = a ** exponent for a Python-number exponent."""
    return a ** exponent, PowCache(a, exponent)


def pow_backward(dout, cache):
    """Returns (da,) = (dout * p * a^(p-1),)."""
    # BEGIN SOLUTION hw1
    a, p = cache.a, cache.exponent
    if p == 0:
        return (dout * 0,)
    return (dout * p * a ** (p - 1),)
    # END SOLUTION


RpowCache = namedtuple("RpowCache", ["a", "out", "base"])
RpowCache.__doc__ = """rpow_backward's cache: a, the exponent (array); out = base ** a (a's shape); base, a
Python number."""


def rpow_forward(a, base):
    """out = base ** a for a Python-number ``base`` (``2 ** t``)."""
    out = base ** a
    return out, RpowCache(a, out, base)


def rpow_backward(dout, cache):
    """Returns (da,) = (dout * base^a * log(base),); zero where base == 0 and a >= 0, as in torch."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    a, out, base = cache.a, cache.out, cache.base
    log_base = math.log(base) if base > 0 else (-math.inf if base == 0 else math.nan)
    da = dout * (out * log_base)
    if base == 0:
        da = xp.where(a >= 0, xp.zeros((), dtype=da.dtype), da)
    return (da,)
    # END SOLUTION


def exp_forward(a):
    """out = exp(a)."""
    xp = get_array_module(a)
    out = xp.exp(a)
    return out, out


def exp_backward(dout, cache):
    """Returns (da,) = (dout * exp(a),)."""
    out = cache
    # BEGIN SOLUTION hw1
    return (dout * out,)
    # END SOLUTION


def log_forward(a):
    """out = log(a)."""
    xp = get_array_module(a)
    return xp.log(a), a


def log_backward(dout, cache):
    """Returns (da,) = (dout / a,)."""
    a = cache
    # BEGIN SOLUTION hw1
    return (dout / a,)
    # END SOLUTION


def sqrt_forward(a):
    """out = sqrt(a)."""
    xp = get_array_module(a)
    out = xp.sqrt(a)
    return out, out


def sqrt_backward(dout, cache):
    """Returns (da,) = (dout / (2 sqrt(a)),)."""
    out = cache
    # BEGIN SOLUTION hw1
    return (dout / (2 * out),)
    # END SOLUTION


def tanh_forward(a):
    """out = tanh(a)."""
    xp = get_array_module(a)
    out = xp.tanh(a)
    return out, out


def tanh_backward(dout, cache):
    """Returns (da,) = (dout * (1 - tanh(a)^2),)."""
    out = cache
    # BEGIN SOLUTION hw1
    return (dout * (1 - out * out),)
    # END SOLUTION


def sigmoid_forward(a):
    """out = 1 / (1 + exp(-a)), computed without overflow for large |a|."""
    xp = get_array_module(a)
    # BEGIN SOLUTION hw1
    e = xp.exp(-xp.abs(a))
    out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
    # END SOLUTION
    return out, out


def sigmoid_backward(dout, cache):
    """Returns (da,) = (dout * s * (1 - s),)."""
    s = cache
    # BEGIN SOLUTION hw1
    return (dout * s * (1 - s),)
    # END SOLUTION


def relu_forward(a):
    """out = max(a, 0)."""
    xp = get_array_module(a)
    mask = a > 0
    return xp.where(mask, a, 0).astype(a.dtype, copy=False), mask


def relu_backward(dout, cache):
    """Returns (da,); relu'(0) = 0 as in torch."""
    mask = cache
    # BEGIN SOLUTION hw1
    return (dout * mask,)
    # END SOLUTION


def gelu_forward(x, approximate="none", need_cache=True):
    """GELU. 'none': x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); 'tanh': 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))).
    The cache is the derivative dout/dx (None when ``need_cache`` is False: a forward-only call)."""
    xp = get_array_module(x)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    # BEGIN SOLUTION hw2
    if approximate == "tanh":
        # t = tanh(sqrt(2/pi) (x + 0.044715 x^3)); out = 0.5 x (1 + t)
        # dout/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 0.134145 x^2)
        shape, x = x.shape, x.reshape(-1)        # 1-d: NumPy gives arrays (not scalars) for the in-place steps
        x2 = x * x
        t = x2 * 0.044715
        t += 1
        t *= x
        t *= SQRT_2_OVER_PI
        xp.tanh(t, out=t)
        half_1pt = t * 0.5
        half_1pt += 0.5                          # 0.5 (1 + t)
        out = (x * half_1pt).reshape(shape)
        if not need_cache:
            return out, None
        x2 *= 0.134145
        x2 += 1
        x2 *= SQRT_2_OVER_PI
        t *= t
        xp.subtract(1, t, out=t)
        t *= x2
        t *= x
        t *= 0.5
        t += half_1pt
        return out, t.reshape(shape)
    # Phi(x) = 0.5 (1 + erf(x / sqrt 2)); out = x Phi(x); dout/dx = Phi(x) + x phi(x), phi = exp(-x^2/2) / sqrt(2 pi).
    # The backend's gelu_erf evaluates both in one fused loop (the derivative only when it is needed).
    return gelu_erf(x, grad=need_cache)
    # END SOLUTION


def gelu_backward(dout, cache):
    """Returns (dx,) = (dout * dGELU/dx,): exact form Phi(x) + x phi(x); tanh form
    0.5(1+t) + 0.5x(1-t^2) sqrt(2/pi)(1 + 0.134145x^2)."""
    # BEGIN SOLUTION hw2
    deriv = cache                                # gelu_forward cached dGELU/dx itself
    return (dout * deriv,)
    # END SOLUTION


WhereCache = namedtuple("WhereCache", ["condition", "a_shape", "b_shape"])
WhereCache.__doc__ = """where_backward's cache: condition, the boolean array (broadcasts with a and b); a_shape,
b_shape, the operands' shapes (tuples) to unbroadcast to."""


def where_forward(condition, a, b):
    """out = a where condition else b (all three broadcast). ``condition`` is a boolean array."""
    xp = get_array_module(a, b)
    return xp.where(condition, a, b), WhereCache(condition, a.shape, b.shape)


def where_backward(dout, cache):
    """Returns (da, db): dout routed to the side that was chosen, unbroadcast."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    zero = xp.zeros((), dtype=dout.dtype)
    return (unbroadcast(xp.where(cache.condition, dout, zero), cache.a_shape),
            unbroadcast(xp.where(cache.condition, zero, dout), cache.b_shape))
    # END SOLUTION


def masked_fill_forward(x, mask, value):
    """out = x with ``value`` wherever the boolean ``mask`` (broadcast to x) is True."""
    xp = get_array_module(x)
    out = xp.where(mask, xp.asarray(value, dtype=x.dtype), x)
    return out, mask


def masked_fill_backward(dout, cache):
    """Returns (dx,): zero where the mask filled."""
    mask = cache
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    return (xp.where(mask, xp.zeros((), dtype=dout.dtype), dout),)
    # END SOLUTION


def abs_forward(a):
    """out = |a|."""
    xp = get_array_module(a)
    return xp.abs(a), a


def abs_backward(dout, cache):
    """Returns (da,) = (dout * sign(a),); the subgradient at 0 is 0, as in torch."""
    xp = get_array_module(dout)
    # BEGIN SOLUTION hw1
    return (dout * xp.sign(cache),)
    # END SOLUTION


def clamp_forward(a, min=None, max=None):  # noqa: A002 - torch's argument names
    """out = a limited to [min, max] (either bound may be None)."""
    xp = get_array_module(a)
    out = xp.clip(a, min, max) if (min is not None or max is not None) else a.copy()
    keep = xp.ones(a.shape, dtype=bool)
    if min is not None:
        keep &= a >= min
    if max is not None:
        keep &= a <= max
    return out.astype(a.dtype, copy=False), keep


def clamp_backward(dout, cache):
    """Returns (da,): dout where a was inside the bounds, else 0 (torch: bounds count as inside)."""
    # BEGIN SOLUTION hw1
    return (dout * cache,)
    # END SOLUTION


MaximumCache = namedtuple("MaximumCache", ["a", "b"])
MaximumCache.__doc__ = """maximum_backward's cache: a, b, the operands (arrays of broadcast-compatible shapes)."""


def maximum_forward(a, b):
    """out = elementwise max(a, b) (broadcast); ties send half the gradient to each side."""
    xp = get_array_module(a, b)
    return xp.maximum(a, b), MaximumCache(a, b)


def maximum_backward(dout, cache):
    """Returns (da, db)."""
    # BEGIN SOLUTION hw1
    a, b = cache.a, cache.b
    wa = (a > b) + 0.5 * (a == b)
    wa = wa.astype(dout.dtype, copy=False)
    return unbroadcast(dout * wa, a.shape), unbroadcast(dout * (1 - wa), b.shape)
    # END SOLUTION
