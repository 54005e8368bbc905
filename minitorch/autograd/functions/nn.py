"""Functions for the hw2 layer kernels: linear, embedding, softmax family and losses, norms, dropout.

Differentiable arrays are positional (a missing bias/weight is passed as ``None``, and its
gradient slot comes back ``None``); everything else is a keyword option. No math lives here.
Input validation with user-facing messages is in ``minitorch.nn.functional``.
"""
from ...kernels import dropout as dk
from ...kernels import embedding as ek
from ...kernels import linear as lk
from ...kernels import norm as nk
from ...kernels import softmax as sk
from ..function import Function, kernel_function

Linear = kernel_function("Linear", lk.linear_forward, lk.linear_backward,
                         doc="y = x W^T + b. apply(x, weight, bias_or_None).")
Embedding = kernel_function("Embedding", ek.embedding_forward, ek.embedding_backward,
                            doc="out = weight[indices]. apply(weight, indices=..., padding_idx=..., "
                                "scale_grad_by_freq=...).")
Softmax = kernel_function("Softmax", sk.softmax_forward, sk.softmax_backward)
LogSoftmax = kernel_function("LogSoftmax", sk.log_softmax_forward, sk.log_softmax_backward)
CrossEntropy = kernel_function("CrossEntropy", sk.cross_entropy_forward, sk.cross_entropy_backward,
                               doc="Cross-entropy from logits. apply(logits, target=..., ignore_index=..., "
                                   "label_smoothing=..., reduction=..., weight=...).")
NllLoss = kernel_function("NllLoss", sk.nll_loss_forward, sk.nll_loss_backward,
                          doc="Negative log-likelihood from log-probs. apply(log_probs, target=..., ...).")
Dropout = kernel_function("Dropout", dk.dropout_forward, dk.dropout_backward,
                          doc="Inverted dropout. apply(x, p=..., training=..., generator=...).")


class LayerNorm(Function):
    """apply(x, weight_or_None, bias_or_None, normalized_shape=..., eps=...)."""

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape=None, eps=1e-5):
        out, ctx.cache = nk.layer_norm_forward(x, normalized_shape, weight, bias, eps=eps,
                                               need_cache=any(ctx.needs_input_grad))
        return out

    @staticmethod
    def backward(ctx, dout):
        return nk.layer_norm_backward(dout, ctx.cache)


class RMSNorm(Function):
    """apply(x, weight_or_None, normalized_shape=..., eps=...)."""

    @staticmethod
    def forward(ctx, x, weight, normalized_shape=None, eps=None):
        out, ctx.cache = nk.rms_norm_forward(x, normalized_shape, weight, eps=eps)
        return out

    @staticmethod
    def backward(ctx, dout):
        return nk.rms_norm_backward(dout, ctx.cache)


def _check_dim(op, t, dim):
    if not t.is_floating_point():
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {t.dtype} (use .float() first)")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    n = max(t.ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {t.shape} "
                         f"(expected to be in range [{-n}, {n - 1}])")
    return dim % n


def _along(fn, op, t, dim):
    d = _check_dim(op, t, dim)
    if t.ndim == 0:
        return fn.apply(t.reshape(1), dim=0).reshape(())
    return fn.apply(t, dim=d)


def softmax(t, dim):
    """Softmax of tensor ``t`` along ``dim`` (``Tensor.softmax`` calls this)."""
    return _along(Softmax, "softmax", t, dim)


def log_softmax(t, dim):
    """Log-softmax of tensor ``t`` along ``dim`` (``Tensor.log_softmax`` calls this)."""
    return _along(LogSoftmax, "log_softmax", t, dim)
