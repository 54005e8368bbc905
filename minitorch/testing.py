"""Gradient checking for kernel pairs and Tensor functions, in float64 central differences.

``check_kernel_grads(forward, backward, inputs)`` compares ``backward(dout, cache)`` against
(f(x + h e) - f(x - h e)) / 2h with a random upstream gradient ``dout``: the full Jacobian for
small inputs, random directions plus sampled coordinates for large ones (torch's fast mode).
The error is max|analytic - numeric| / max|numeric| per input; smooth ops reach 1e-8.
"""
import numpy as np

from .backend import get_array_module, to_numpy


class GradcheckError(AssertionError):
    """A backward that disagrees with finite differences."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _objective(forward, arrays, kwargs, douts, wrt_index, value):
    args = list(arrays)
    args[wrt_index] = value
    outs = _as_tuple(forward(*args, **kwargs)[0])
    xp = get_array_module(value)
    total = 0.0
    for o, d in zip(outs, douts):
        if d is not None:
            total += float(xp.sum(o * d))
    return total


def numerical_grad(forward, arrays, kwargs, douts, index, h=1e-6, coords=None):
    """d/dx_index of sum(out * dout) by central differences; at ``coords`` only, or everywhere."""
    x = arrays[index]
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_iter = range(x.size) if coords is None else coords
    for flat in flat_iter:
        pos = np.unravel_index(flat, x.shape)
        orig = x[pos].copy()
        xp_ = x.copy()
        xp_[pos] = orig + h
        fp = _objective(forward, arrays, kwargs, douts, index, xp_)
        xp_[pos] = orig - h
        fm = _objective(forward, arrays, kwargs, douts, index, xp_)
        grad[pos] = (fp - fm) / (2 * h)
    return grad


def check_kernel_grads(forward, backward, inputs, kwargs=None, wrt=None, h=1e-6, tol=1e-6, seed=0,
                       full_max=600, n_directions=4, n_coords=24, dout_fn=None):
    """Check a kernel pair. ``inputs``: float64 arrays; ``wrt``: indices of the inputs the
    backward returns gradients for (default: all). Returns the worst error; raises
    ``GradcheckError`` naming the input when an error exceeds ``tol``."""
    kwargs = kwargs or {}
    inputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in inputs]  # 0-d arrays, not scalars
    for i, a in enumerate(inputs):
        if hasattr(a, "dtype") and a.dtype.kind == "f" and a.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs; input {i} is {a.dtype}")
    wrt = list(range(len(inputs))) if wrt is None else list(wrt)
    rng = np.random.default_rng(seed)
    outs, cache = forward(*inputs, **kwargs)
    outs_t = _as_tuple(outs)
    xp = get_array_module(outs_t[0])
    douts = tuple(xp.asarray(rng.standard_normal(o.shape)) if dout_fn is None else dout_fn(k, o)
                  for k, o in enumerate(outs_t))
    grads = _as_tuple(backward(*douts, cache))
    worst = 0.0
    for k, i in enumerate(wrt):
        x = inputs[i]
        analytic = to_numpy(grads[k]).astype(np.float64)
        if analytic.shape != x.shape:
            raise GradcheckError(f"gradient {k} has shape {analytic.shape}, but input {i} has shape {x.shape}")
        if x.size <= full_max:
            numeric = numerical_grad(forward, inputs, kwargs, douts, i, h)
            err = np.abs(analytic - numeric).max() / max(np.abs(numeric).max(), 1e-10)
        else:
            coords = rng.choice(x.size, size=min(n_coords, x.size), replace=False)
            numeric = numerical_grad(forward, inputs, kwargs, douts, i, h, coords=coords)
            flat = np.unravel_index(coords, x.shape)
            err = np.abs(analytic[flat] - numeric[flat]).max() / max(np.abs(numeric[flat]).max(), 1e-10)
            for _ in range(n_directions):
                u = rng.standard_normal(x.shape)
                xp_, xm_ = x + h * xp.asarray(u), x - h * xp.asarray(u)
                d_num = (_objective(forward, inputs, kwargs, douts, i, xp_)
                         - _objective(forward, inputs, kwargs, douts, i, xm_)) / (2 * h)
                d_ana = float((analytic * u).sum())
                err = max(err, abs(d_ana - d_num) / max(abs(d_num), 1e-10))
        worst = max(worst, err)
        if not err <= tol:  # also catches nan (a backward or forward that produced nan/inf)
            raise GradcheckError(
                f"{getattr(backward, '__name__', 'backward')}: gradient for input {i} disagrees with finite "
                f"differences: relative error {err:.3g} > {tol:g}"
            )
    return worst
