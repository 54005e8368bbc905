"""More activations with torch's definitions: leaky_relu, elu, silu, softplus (element-wise).

Not part of a homework. Subgradients at kinks follow torch: leaky_relu'(0) = negative_slope, elu'(0) = alpha."""
from ..backend import get_array_module


def leaky_relu_forward(x, negative_slope=0.01):
    """out = x for x > 0, negative_slope * x otherwise."""
    xp = get_array_module(x)
    pos = x > 0
    return xp.where(pos, x, x * negative_slope).astype(x.dtype), (pos, negative_slope)


def leaky_relu_backward(dout, cache):
    """Returns (dx,) = (dout * (1 if x > 0 else negative_slope),)."""
    pos, slope = cache
    xp = get_array_module(dout)
    return (xp.where(pos, dout, dout * slope).astype(dout.dtype),)


def elu_forward(x, alpha=1.0):
    """out = x for x > 0, alpha (exp(x) - 1) otherwise (computed from min(x, 0): no overflow)."""
    xp = get_array_module(x)
    pos = x > 0
    e = xp.exp(xp.minimum(x, 0))
    return xp.where(pos, x, alpha * (e - 1)).astype(x.dtype), (pos, e, alpha)


def elu_backward(dout, cache):
    """Returns (dx,) = (dout * (1 if x > 0 else alpha exp(x)),)."""
    pos, e, alpha = cache
    xp = get_array_module(dout)
    return (xp.where(pos, dout, dout * (alpha * e)).astype(dout.dtype),)


def silu_forward(x):
    """out = x sigmoid(x) (swish), with a sigmoid that does not overflow."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)
    return x * s, (x, s)


def silu_backward(dout, cache):
    """Returns (dx,) = (dout * s (1 + x (1 - s)),), s = sigmoid(x)."""
    x, s = cache
    return ((dout * s * (1 + x * (1 - s))).astype(dout.dtype),)


def softplus_forward(x, beta=1.0, threshold=20.0):
    """out = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (torch's linear regime)."""
    xp = get_array_module(x)
    bx = x * beta
    linear = bx > threshold
    soft = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta
    return xp.where(linear, x, soft).astype(x.dtype), (bx, linear)


def softplus_backward(dout, cache):
    """Returns (dx,) = (dout * sigmoid(beta x),) (dout where beta x > threshold)."""
    bx, linear = cache
    xp = get_array_module(dout)
    e = xp.exp(-xp.abs(bx))
    s = xp.where(bx >= 0, 1 / (1 + e), e / (1 + e))
    return (xp.where(linear, dout, dout * s).astype(dout.dtype),)
