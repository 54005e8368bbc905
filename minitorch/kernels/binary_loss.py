"""Binary cross-entropy, element-wise (torch's ``binary_cross_entropy`` and ``..._with_logits``).

Not part of a homework. The kernels return the unreduced loss; ``nn.functional`` applies the reduction
with differentiable sums. ``weight`` and ``pos_weight`` broadcast against the input and get no gradient."""
from collections import namedtuple

from ..backend import get_array_module


def _softplus_neg(x, xp):
    """log(1 + exp(-x)), stable for any x: log1p(exp(-|x|)) + max(-x, 0)."""
    return xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)


BCEWithLogitsCache = namedtuple("BCEWithLogitsCache", ["x", "y", "sp", "lw", "weight", "pos_weight"])
BCEWithLogitsCache.__doc__ = """bce_with_logits_backward's cache: x, the logits; y, the targets; sp, log(1 + exp(-x))
(all three one shape); lw, 1 + (pos_weight - 1) y (the number 1 without pos_weight); weight, pos_weight: arrays that
broadcast against x, or None."""


def bce_with_logits_forward(x, y, weight=None, pos_weight=None):
    """x (logits), y (targets in [0, 1]): same shape. out = (1 - y) x + lw * log(1 + exp(-x)) with
    lw = 1 + (pos_weight - 1) y (lw = 1 without pos_weight); times ``weight``."""
    xp = get_array_module(x)
    sp = _softplus_neg(x, xp)
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    out = (1 - y) * x + lw * sp
    if weight is not None:
        out = out * weight
    return out.astype(x.dtype), BCEWithLogitsCache(x, y, sp, lw, weight, pos_weight)


def bce_with_logits_backward(dout, cache):
    """Returns (dx, dy): dx = g ((1 - y) - lw sigmoid(-x)) (= g (sigmoid(x) - y) without pos_weight),
    dy = g (-x + (pos_weight - 1) log(1 + exp(-x))); g = dout * weight."""
    x, y, lw, weight, pos_weight = cache.x, cache.y, cache.lw, cache.weight, cache.pos_weight
    xp = get_array_module(x)
    g = dout if weight is None else dout * weight
    e = xp.exp(-xp.abs(x))
    sig_neg = xp.where(x >= 0, e / (1 + e), 1 / (1 + e))  # sigmoid(-x) without overflow
    dx = g * ((1 - y) - lw * sig_neg)
    dy = g * (-x if pos_weight is None else -x + (pos_weight - 1) * cache.sp)
    return dx.astype(x.dtype), dy.astype(y.dtype)


BCECache = namedtuple("BCECache", ["p", "y", "log_p", "log_q", "weight"])
BCECache.__doc__ = """bce_backward's cache: p, the probabilities; y, the targets; log_p, log_q: log p and log(1 - p),
each clamped at -100 (all four one shape); weight, an array that broadcasts against p, or None."""


def bce_forward(p, y, weight=None):
    """p (probabilities in [0, 1]), y (targets): same shape. out = -(y log p + (1 - y) log(1 - p)), each
    log clamped at -100 as in torch (so p = 0 or 1 gives a finite loss); times ``weight``."""
    xp = get_array_module(p)
    log_p = xp.maximum(xp.log(xp.where(p > 0, p, 1)), -100)
    log_p = xp.where(p > 0, log_p, -100)
    q = 1 - p
    log_q = xp.where(q > 0, xp.maximum(xp.log(xp.where(q > 0, q, 1)), -100), -100)
    out = -(y * log_p + (1 - y) * log_q)
    if weight is not None:
        out = out * weight
    return out.astype(p.dtype), BCECache(p, y, log_p, log_q, weight)


def bce_backward(dout, cache):
    """Returns (dp, dy): dp = g (p - y) / max(p (1 - p), 1e-12) (torch's epsilon), dy = g (log(1 - p) - log p)
    with the clamped logs; g = dout * weight."""
    p, y, weight = cache.p, cache.y, cache.weight
    xp = get_array_module(p)
    g = dout if weight is None else dout * weight
    dp = g * (p - y) / xp.maximum(p * (1 - p), 1e-12)
    dy = g * (cache.log_q - cache.log_p)
    return dp.astype(p.dtype), dy.astype(y.dtype)
