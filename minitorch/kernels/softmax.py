"""Softmax, log-softmax and the losses on top of them (hw2).

Everything is computed from ``x - max(x)`` (log-sum-exp), so logits of size 1e4 stay finite.
Losses follow ``torch.nn.functional``'s shape convention: the class axis is axis 1 of
``(N, C)`` or ``(N, C, d1, ...)`` (axis 0 of an unbatched ``(C,)`` input), and ``target``
holds class indices with the remaining shape ``(N,)`` / ``(N, d1, ...)`` / ``()``.
"""
from collections import namedtuple

from ..backend import get_array_module

REDUCTIONS = ("none", "mean", "sum")


def _sum(a, dim, b=None):
    """sum(a, dim, keepdims=True), or sum(a * b, ...) when ``b`` is given. Along the last axis this is a
    BLAS matrix-vector product (or an einsum dot): NumPy's own row reductions pay a per-row overhead that
    dominates for rows of ~100 classes."""
    xp = get_array_module(a)
    if dim not in (-1, a.ndim - 1) or a.ndim == 0:
        return (a if b is None else a * b).sum(axis=dim, keepdims=True)
    c = a.shape[-1]
    a2 = a.reshape(-1, c)
    if b is None:
        out = a2 @ xp.ones((c,), dtype=a.dtype)
    else:
        out = xp.einsum("ij,ij->i", a2, b.reshape(-1, c))
    return out.reshape(a.shape[:-1] + (1,))


SoftmaxCache = namedtuple("SoftmaxCache", ["y", "dim"])
SoftmaxCache.__doc__ = """softmax_backward's cache: y, the softmax output (x's shape); dim, its axis (an int)."""


def softmax_forward(x, dim=-1):
    """y = exp(x - max) / sum(exp(x - max)) along ``dim``; same shape as x."""
    xp = get_array_module(x)
    if x.size == 0:  # nothing to normalise (a max over an empty axis would raise)
        return x.copy(), SoftmaxCache(x, dim)
    # BEGIN SOLUTION hw2
    y = x - x.max(axis=dim, keepdims=True)
    xp.exp(y, out=y)
    y /= _sum(y, dim)
    # END SOLUTION
    return y, SoftmaxCache(y, dim)


def softmax_backward(dout, cache):
    """Returns (dx,): the Jacobian-vector product dx = y * (dout - sum(dout * y, dim))."""
    if cache.y.size == 0:
        return (dout.copy(),)
    # BEGIN SOLUTION hw2
    y, dim = cache.y, cache.dim
    dx = dout - _sum(dout, dim, y)
    dx *= y
    # END SOLUTION
    return (dx,)


LogSoftmaxCache = namedtuple("LogSoftmaxCache", ["p", "dim"])
LogSoftmaxCache.__doc__ = """log_softmax_backward's cache: p, the softmax exp(out) (x's shape); dim, its axis."""


def log_softmax_forward(x, dim=-1):
    """out = x - lse, lse = max + log(sum(exp(x - max))) along ``dim``; same shape as x."""
    xp = get_array_module(x)
    if x.size == 0:
        return x.copy(), LogSoftmaxCache(x, dim)
    # BEGIN SOLUTION hw2
    out = x - x.max(axis=dim, keepdims=True)
    p = xp.exp(out)
    s = _sum(p, dim)
    out -= xp.log(s)
    p /= s  # softmax, kept for the backward (saves recomputing exp(out))
    # END SOLUTION
    return out, LogSoftmaxCache(p, dim)


def log_softmax_backward(dout, cache):
    """Returns (dx,) = (dout - softmax(x) * sum(dout, dim),)."""
    if cache.p.size == 0:
        return (dout.copy(),)
    # BEGIN SOLUTION hw2
    dx = dout - cache.p * _sum(dout, cache.dim)
    # END SOLUTION
    return (dx,)


def _rows(logits, target):
    """Logits in torch layout -> (M, C) rows with the class axis last, and target -> (M,)."""
    xp = get_array_module(logits)
    if logits.ndim == 1:
        return logits.reshape(1, -1), target.reshape(1)
    if logits.ndim == 2:
        return logits, target
    c = logits.shape[1]
    return xp.moveaxis(logits, 1, -1).reshape(-1, c), target.reshape(-1)


def _unrows(d2, shape):
    """Inverse of ``_rows`` for a gradient: (M, C) rows -> torch layout ``shape``."""
    xp = get_array_module(d2)
    if len(shape) <= 2:
        return d2.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.moveaxis(d2.reshape(moved), -1, 1)


def _target_weights(t, ignore_index, weight, dtype):
    """(valid mask, target with ignored entries replaced by class 0, per-row weight w[t] (0 if ignored))."""
    xp = get_array_module(t)
    valid = t != ignore_index
    t_safe = xp.where(valid, t, 0)
    wt = valid.astype(dtype) if weight is None else xp.take(weight, t_safe) * valid
    return valid, t_safe, wt


def _reduce(loss, wt, reduction, target_shape):
    """Per-row losses -> the requested reduction; 'mean' divides by sum(w[t]) (nan when it is 0, like torch).
    Returns (out, denom): denom is the mean's divisor (1 where it was 0, so that gradients come out 0 as in
    torch), None for 'sum' and 'none'."""
    xp = get_array_module(loss)
    if reduction == "none":
        return loss.reshape(target_shape), None
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total), None
    denom = wt.sum()
    ok = denom > 0
    safe = xp.where(ok, denom, 1)
    return xp.asarray(xp.where(ok, total / safe, float("nan")), dtype=loss.dtype), safe


def _row_scale(dout, reduction, denom):
    """Upstream gradient of each row's loss: (M,) for 'none', a 0-d array otherwise."""
    if reduction == "none":
        return dout.reshape(-1)
    return dout / denom if reduction == "mean" else dout


CrossEntropyCache = namedtuple("CrossEntropyCache", ["p", "t_safe", "valid", "wt", "weight", "eps", "reduction",
                                                     "denom", "logits_shape"])
CrossEntropyCache.__doc__ = """cross_entropy_backward's cache, for the logits as (M, C) rows (class axis last):
p, the softmax, (M, C); t_safe, the targets with ignored entries set to class 0, (M,) int; valid, target !=
ignore_index, (M,) bool; wt, each row's weight w[t] (0 where ignored), (M,); weight, the (C,) class weights or None;
eps, the label smoothing (a float); reduction, 'none', 'mean' or 'sum'; denom, the mean's divisor sum(wt) (a 0-d
array, 1 where it was 0), None for 'sum' and 'none'; logits_shape, the logits' shape in torch's layout."""


def cross_entropy_forward(logits, target, ignore_index=-100, label_smoothing=0.0, reduction="mean", weight=None):
    """logits: (C,), (N, C) or (N, C, d1, ...); target: class indices of shape (), (N,) or (N, d1, ...).

    loss_i = -(1-eps) w[t_i] logp_i[t_i] - (eps/C) sum_c w_c logp_i[c], logp = log_softmax over the classes;
    rows with t_i == ignore_index count nowhere. 'mean' divides by sum_i w[t_i] (N_valid without weights),
    'sum' adds, 'none' returns (N, d1, ...). ``weight``: (C,) class weights or None. Returns (loss, cache)."""
    xp = get_array_module(logits)
    z, t = _rows(logits, target)
    m_rows, c = z.shape
    eps = float(label_smoothing)
    # BEGIN SOLUTION hw2
    valid, t_safe, wt = _target_weights(t, ignore_index, weight, z.dtype)
    p = z - z.max(axis=1, keepdims=True)                  # shifted logits s = z - max
    s_t = p[xp.arange(m_rows), t_safe]                    # s at the target
    if eps > 0:
        s_sum = p @ (xp.ones((c,), dtype=p.dtype) if weight is None else weight)   # sum_c w_c s_c
    xp.exp(p, out=p)
    sumexp = p @ xp.ones((c,), dtype=p.dtype)            # row sums as one matrix-vector product
    log_sumexp = xp.log(sumexp)
    p /= sumexp[:, None]                                  # softmax, kept for the backward
    loss = (log_sumexp - s_t) * wt                        # -w[t] logp[t]
    if eps > 0:
        w_total = float(c) if weight is None else weight.sum()
        smooth = (w_total * log_sumexp - s_sum) * valid   # -sum_c w_c logp_c
        loss = (1 - eps) * loss + (eps / c) * smooth
    # END SOLUTION
    out, denom = _reduce(loss, wt, reduction, target.shape)
    return out, CrossEntropyCache(p, t_safe, valid, wt, weight, eps, reduction, denom, logits.shape)


def cross_entropy_backward(dout, cache):
    """Returns (dlogits,): per row, dz = g_i * ((1-eps) w[t] + (eps/C) v W) * softmax - g_i * target_dist,
    target_dist = (1-eps) w[t] onehot(t) + (eps/C) v w  (= (softmax - onehot) / N_valid in the plain mean case)."""
    xp = get_array_module(cache.p)
    m_rows, c = cache.p.shape
    g = _row_scale(dout, cache.reduction, cache.denom)
    # BEGIN SOLUTION hw2
    p, t_safe, wt, weight, eps = cache.p, cache.t_safe, cache.wt, cache.weight, cache.eps
    gw = g * wt                                           # (M,) or broadcast scalar * (M,)
    if eps > 0:
        gv = (g * cache.valid) * (eps / c)
        w_total = float(c) if weight is None else weight.sum()
        dz = p * ((1 - eps) * gw + gv * w_total)[:, None]
        dz -= gv[:, None] if weight is None else gv[:, None] * weight
        dz[xp.arange(m_rows), t_safe] -= (1 - eps) * gw
    else:
        dz = p * gw[:, None]
        dz[xp.arange(m_rows), t_safe] -= gw
    # END SOLUTION
    return (_unrows(dz, cache.logits_shape),)


NLLLossCache = namedtuple("NLLLossCache", ["t_safe", "wt", "reduction", "denom", "rows_shape", "log_probs_shape"])
NLLLossCache.__doc__ = """nll_loss_backward's cache, for log_probs as (M, C) rows (class axis last): t_safe, the
targets with ignored entries set to class 0, (M,) int; wt, each row's weight w[t] (0 where ignored), (M,);
reduction, 'none', 'mean' or 'sum'; denom, the mean's divisor (a 0-d array) or None; rows_shape, (M, C);
log_probs_shape, log_probs' shape in torch's layout."""


def nll_loss_forward(log_probs, target, ignore_index=-100, reduction="mean", weight=None):
    """log_probs: (C,), (N, C) or (N, C, d1, ...) (e.g. log_softmax output); target as in cross_entropy.
    loss_i = -w[t_i] log_probs_i[t_i]; ignored rows count nowhere; 'mean' divides by sum_i w[t_i]."""
    xp = get_array_module(log_probs)
    z, t = _rows(log_probs, target)
    # BEGIN SOLUTION hw2
    valid, t_safe, wt = _target_weights(t, ignore_index, weight, z.dtype)
    loss = -z[xp.arange(z.shape[0]), t_safe] * wt
    # END SOLUTION
    out, denom = _reduce(loss, wt, reduction, target.shape)
    return out, NLLLossCache(t_safe, wt, reduction, denom, z.shape, log_probs.shape)


def nll_loss_backward(dout, cache):
    """Returns (dlog_probs,): -g_i w[t_i] at each row's target, 0 elsewhere."""
    xp = get_array_module(cache.wt)
    g = _row_scale(dout, cache.reduction, cache.denom)
    # BEGIN SOLUTION hw2
    t_safe, wt, rows_shape = cache.t_safe, cache.wt, cache.rows_shape
    dz = xp.zeros(rows_shape, dtype=wt.dtype)
    dz[xp.arange(rows_shape[0]), t_safe] = -(g * wt)
    # END SOLUTION
    return (_unrows(dz, cache.log_probs_shape),)
