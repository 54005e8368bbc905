"""Inverted dropout (hw2): zero each element with probability p and scale the rest by 1/(1-p),
so the expected output equals the input and evaluation needs no rescaling."""
from ..backend import generator as backend_generator
from ..backend import get_array_module


def dropout_forward(x, p=0.5, training=True, generator=None):
    """out = x * mask / (1 - p), mask ~ Bernoulli(1 - p) drawn from ``generator`` (a NumPy/CuPy
    ``Generator``; default: ``minitorch.backend.generator(xp)``, seeded by ``manual_seed``).
    Identity when ``training`` is False or p == 0; all zeros when p == 1. The scaled mask is cached."""
    xp = get_array_module(x)
    if not training or p == 0:
        return x, None
    if p == 1:
        return xp.zeros_like(x), 0.0
    gen = backend_generator(xp) if generator is None else generator
    u = xp.asarray(gen.random(x.shape, dtype=xp.float32 if x.dtype == xp.float32 else xp.float64))
    # BEGIN SOLUTION hw2
    mask = (u >= p).astype(x.dtype)
    mask *= 1.0 / (1.0 - p)
    out = x * mask
    # END SOLUTION
    return out, mask


def dropout_backward(dout, cache):
    """Returns (dx,) = (dout * scaled_mask,) (dout itself in the identity case)."""
    mask = cache
    xp = get_array_module(dout)
    if mask is None:
        return (dout,)
    if isinstance(mask, float):
        return (xp.zeros_like(dout),)
    # BEGIN SOLUTION hw2
    return (dout * mask,)
    # END SOLUTION
