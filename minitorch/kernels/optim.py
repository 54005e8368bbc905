"""Optimizer update rules and gradient clipping (hw2): pure array functions, updated in place.

The update kernels change the parameter array (and their state arrays) in place, so every Tensor
that shares the array (tied weights) sees the new values. Hyperparameters arrive as Python
numbers; derived scalars (bias corrections) are computed in double precision and cast to the
parameter's dtype with ``_scalar`` before they touch an array: under NumPy 2 a float64 scalar
would silently turn float32 arrays into float64.
"""
import math

from ..backend import get_array_module


def _scalar(value, like):
    """``value`` as a scalar of ``like``'s dtype (keeps float32 arrays float32)."""
    return like.dtype.type(value)


def sgd_step(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False):
    """One SGD step (torch.optim.SGD), ``param`` updated in place. Returns the momentum buffer.

    param, grad, momentum_buffer: same shape (momentum_buffer is None before the first step,
    or when momentum == 0). d = (-grad if maximize else grad) + weight_decay * param;
    buf = d on the first step, else momentum * buf + (1 - dampening) * d (in place);
    param -= lr * (d + momentum * buf if nesterov else buf). Without momentum: param -= lr * d,
    and the returned buffer is None."""
    # BEGIN SOLUTION hw2
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + _scalar(weight_decay, param) * param
    buf = None
    if momentum != 0:
        if momentum_buffer is None:
            buf = d.copy()
        else:
            buf = momentum_buffer
            buf *= _scalar(momentum, buf)
            buf += _scalar(1.0 - dampening, buf) * d
        d = d + _scalar(momentum, param) * buf if nesterov else buf
    param -= _scalar(lr, param) * d
    return buf
    # END SOLUTION


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
              weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    """One Adam / AdamW step (torch.optim.Adam, AdamW), everything updated in place.

    All arrays have param's shape; ``max_exp_avg_sq`` is an array for amsgrad, else None;
    ``step`` is t >= 1 (already incremented). g = -grad if maximize else grad; weight decay is
    param *= 1 - lr * wd when decoupled (AdamW), else g += wd * param (Adam);
    m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  (amsgrad: vmax = max(vmax, v), used for v)
    param -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    xp = get_array_module(param)
    # BEGIN SOLUTION hw2
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= _scalar(1.0 - lr * weight_decay, param)
        else:
            g = g + _scalar(weight_decay, param) * param
    tmp = xp.multiply(g, _scalar(1.0 - beta1, g))     # one scratch array, reused by every step below
    exp_avg *= _scalar(beta1, exp_avg)
    exp_avg += tmp                                      # m = b1 m + (1 - b1) g
    xp.multiply(g, _scalar(1.0 - beta2, g), out=tmp)
    tmp *= g
    exp_avg_sq *= _scalar(beta2, exp_avg_sq)
    exp_avg_sq += tmp                                   # v = b2 v + (1 - b2) g^2
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    step_size = lr / (1.0 - beta1 ** step)
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    # step_size * m / (sqrt(v) / bc2 + eps) = (step_size * bc2) * m / (sqrt(v) + eps * bc2), bc2 the square root
    # above: the same update with one pass over the arrays fewer.
    xp.sqrt(second, out=tmp)
    tmp += _scalar(eps * bias_correction2_sqrt, param)  # bc2 * denom
    xp.divide(exp_avg, tmp, out=tmp)
    tmp *= _scalar(step_size * bias_correction2_sqrt, param)
    param -= tmp                                        # param -= step_size * m / denom
    # END SOLUTION


def grad_norm(grads, norm_type=2.0):
    """The p-norm of all gradients together, as a 0-d array (torch's ``clip_grad_norm_`` total).

    grads: a non-empty list of arrays of any shapes, one dtype. Each array's own norm first, then
    the norm of those norms: (sum_i sum |g_i|^p)^(1/p), or max_i max |g_i| for p = inf."""
    xp = get_array_module(grads[0])
    # BEGIN SOLUTION hw2
    if norm_type == math.inf:
        norms = [xp.abs(g).max() if g.size else xp.zeros((), dtype=g.dtype) for g in grads]
        return xp.stack(norms).max()
    p = _scalar(norm_type, grads[0])
    if norm_type == 2.0:
        norms = [xp.sqrt(xp.vdot(g, g)) for g in grads]  # vdot: sum(g * g) in one pass, no temporary
        return xp.sqrt((xp.stack(norms) ** 2).sum())
    inv = _scalar(1.0 / norm_type, grads[0])
    norms = [(xp.abs(g) ** p).sum() ** inv for g in grads]
    return (xp.stack(norms) ** p).sum() ** inv
    # END SOLUTION


def clip_grads_by_norm_(grads, max_norm, total_norm):
    """Scale every gradient in place by min(1, max_norm / (total_norm + 1e-6)); returns that
    coefficient (a 0-d array). ``total_norm``: the 0-d array from ``grad_norm``."""
    xp = get_array_module(total_norm)
    # BEGIN SOLUTION hw2
    coef = _scalar(max_norm, total_norm) / (total_norm + _scalar(1e-6, total_norm))
    coef = xp.minimum(coef, _scalar(1.0, total_norm))
    if not coef >= 1:            # scaling by exactly 1 changes nothing: skip it (nan still scales)
        for g in grads:
            g *= coef.astype(g.dtype)
    return coef
    # END SOLUTION


def clip_grads_by_value_(grads, clip_value):
    """Clamp every gradient in place to [-clip_value, clip_value]."""
    if not grads:
        return
    xp = get_array_module(grads[0])
    # BEGIN SOLUTION hw2
    for g in grads:
        xp.clip(g, _scalar(-clip_value, g), _scalar(clip_value, g), out=g)
    # END SOLUTION
