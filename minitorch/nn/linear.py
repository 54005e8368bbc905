"""``Linear`` and ``Identity`` with torch's parameters and default initialisation."""
import math

from ..autograd import factories
from . import functional as F
from . import init
from .module import Module, _check_input
from .parameter import Parameter


class Identity(Module):
    """Returns its input unchanged (constructor arguments are accepted and ignored, as in torch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):  # noqa: A002 - torch's argument name
        return input


class Linear(Module):
    """y = x @ weight.T + bias. x: (*, in_features) -> (*, out_features).

    weight: (out_features, in_features) ~ U(-1/sqrt(in_features), 1/sqrt(in_features)) (torch's
    kaiming_uniform_(a=sqrt(5))); bias: (out_features,) ~ the same bound."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer, got {v!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(factories.empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(factories.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """torch's default: kaiming_uniform_(weight, a=sqrt(5)), bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"Linear(in_features={self.in_features})"
        _check_input(desc, input, dtype=self.weight.dtype)
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ValueError(
                f"{desc}: expected input with last dimension {self.in_features}, got shape {tuple(input.shape)}"
            )
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
