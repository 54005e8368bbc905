"""More activations with torch's definitions: leaky_relu, elu, silu, softplus (element-wise).

Not part of a homework. Subgradients at kinks follow torch: leaky_relu'(0) = negative_slope, elu'(0) = alpha."""
from collections import namedtuple

from ..backend import get_array_module

LeakyReluCache = namedtuple("LeakyReluCache", ["pos", "negative_slope"])
LeakyReluCache.__doc__ = """leaky_relu_backward's cache: pos, x > 0 (boolean, x's shape); negative_slope, a float."""


def leaky_relu_forward(x, negative_slope=0.01):
    """out = x for x > 0, negative_slope * x otherwise."""
    xp = get_array_module(x)
    pos = x > 0
    return xp.where(pos, x, x * negative_slope).astype(x.dtype), LeakyReluCache(pos, negative_slope)


def leaky_relu_backward(dout, cache):
    """Returns (dx,) = (dout * (1 if x > 0 else negative_slope),)."""
    xp = get_array_module(dout)
    return (xp.where(cache.pos, dout, dout * cache.negative_slope).astype(dout.dtype),)


EluCache = namedtuple("EluCache", ["pos", "e", "alpha"])
EluCache.__doc__ = """elu_backward's cache: pos, x > 0 (boolean, x's shape); e, exp(min(x, 0)) (x's shape);
alpha, a float."""


def elu_forward(x, alpha=1.0):
    """out = x for x > 0, alpha (exp(x) - 1) otherwise (computed from min(x, 0): no overflow)."""
    xp = get_array_module(x)
    pos = x > 0
    e = xp.exp(xp.minimum(x, 0))
    return xp.where(pos, x, alpha * (e - 1)).astype(x.dtype), EluCache(pos, e, alpha)


def elu_backward(dout, cache):
    """Returns (dx,) = (dout * (1 if x > 0 else alpha exp(x)),)."""
    xp = get_array_module(dout)
    return (xp.where(cache.pos, dout, dout * (cache.alpha * cache.e)).astype(dout.dtype),)


SiluCache = namedtuple("SiluCache", ["x", "s"])
SiluCache.__doc__ = """silu_backward's cache: x, the input; s, sigmoid(x) (x's shape and dtype)."""


def silu_forward(x):
    """out = x sigmoid(x) (swish), with a sigmoid that does not overflow."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)
    return x * s, SiluCache(x, s)


def silu_backward(dout, cache):
    """Returns (dx,) = (dout * s (1 + x (1 - s)),), s = sigmoid(x)."""
    x, s = cache.x, cache.s
    return ((dout * s * (1 + x * (1 - s))).astype(dout.dtype),)


SoftplusCache = namedtuple("SoftplusCache", ["bx", "linear"])
SoftplusCache.__doc__ = """softplus_backward's cache: bx, beta * x; linear, beta * x > threshold (boolean): where
the output is x itself. Both x's shape."""


def softplus_forward(x, beta=1.0, threshold=20.0):
    """out = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (torch's linear regime)."""
    xp = get_array_module(x)
    bx = x * beta
    linear = bx > threshold
    soft = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta
    return xp.where(linear, x, soft).astype(x.dtype), SoftplusCache(bx, linear)


def softplus_backward(dout, cache):
    """Returns (dx,) = (dout * sigmoid(beta x),) (dout where beta x > threshold)."""
    bx, linear = cache.bx, cache.linear
    xp = get_array_module(dout)
    e = xp.exp(-xp.abs(bx))
    s = xp.where(bx >= 0, 1 / (1 + e), e / (1 + e))
    return (xp.where(linear, dout, dout * s).astype(dout.dtype),)
