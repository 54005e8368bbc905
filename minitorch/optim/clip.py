"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (torch.nn.utils' semantics).

Both change ``p.grad`` in place for every parameter that has one; the math is in
``minitorch.kernels.optim`` (``grad_norm``, ``clip_grads_by_norm_``, ``clip_grads_by_value_``)."""
import math
import numbers

from .. import backend
from ..autograd import Tensor
from ..kernels import optim as K


def _grads(parameters, op):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors, but parameter {i} is a {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad.data)
    return grads


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of ``parameters`` so that their joint ``norm_type``-norm is at most
    ``max_norm``: every grad is multiplied by min(1, max_norm / (total_norm + 1e-6)).

    ``norm_type``: a positive number or ``inf`` (also 'inf'). Returns the total norm before
    clipping, as a 0-d Tensor (0 when no parameter has a gradient). With ``error_if_nonfinite``,
    a nan or inf total norm raises RuntimeError and leaves the gradients alone."""
    norm_type = float(norm_type)
    if not (norm_type > 0 or norm_type == math.inf) or math.isnan(norm_type):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    if not isinstance(max_norm, numbers.Real) or isinstance(max_norm, bool):
        raise TypeError(f"clip_grad_norm_: max_norm must be a number, got {type(max_norm).__name__}")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        xp = backend.module_for_device(None)
        return Tensor._make(xp.zeros((), dtype=backend.get_default_dtype()))
    devices = {backend.device_of(g) for g in grads}
    if len(devices) > 1:
        raise RuntimeError(f"clip_grad_norm_: gradients live on several devices ({sorted(devices)}); move them first")
    total = backend.get_array_module(grads[0]).asarray(K.grad_norm(grads, norm_type))  # NumPy sums give scalars
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from `parameters` is non-finite "
            f"({float(total)}), so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    K.clip_grads_by_norm_(grads, max_norm, total)
    return Tensor._make(total)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient of ``parameters`` in place to [-clip_value, clip_value]."""
    if not isinstance(clip_value, numbers.Real) or isinstance(clip_value, bool):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, got {type(clip_value).__name__}")
    K.clip_grads_by_value_(_grads(parameters, "clip_grad_value_"), float(clip_value))
