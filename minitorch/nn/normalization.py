"""``LayerNorm`` and ``RMSNorm`` with torch's arguments, parameters and initialisation."""
import numbers

from ..autograd import factories
from . import functional as F
from . import init
from .module import Module, _check_input
from .parameter import Parameter


def _as_shape(cls, normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    shape = tuple(normalized_shape)
    if not shape or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0 for s in shape):
        raise ValueError(f"{cls}: normalized_shape must be a positive int or a tuple of them, got {normalized_shape!r}")
    return tuple(int(s) for s in shape)


def _check_trailing(desc, x, shape):
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(
            f"{desc}: expected input with shape [*, {', '.join(map(str, shape))}], got shape {tuple(x.shape)}"
        )


class LayerNorm(Module):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last ``len(normalized_shape)`` dimensions
    (biased variance). weight = 1 and bias = 0 initially; both absent with ``elementwise_affine=False``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(factories.empty(*self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(factories.empty(*self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"LayerNorm({self.normalized_shape})"
        _check_input(desc, input, dtype=None if self.weight is None else self.weight.dtype)
        _check_trailing(desc, input, self.normalized_shape)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last ``len(normalized_shape)`` dimensions.
    ``eps=None`` means finfo(input.dtype).eps, as in torch. weight = 1 initially."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape("RMSNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(factories.empty(*self.normalized_shape, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"RMSNorm({self.normalized_shape})"
        _check_input(desc, input, dtype=None if self.weight is None else self.weight.dtype)
        _check_trailing(desc, input, self.normalized_shape)
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
