"""Activation modules: ``ReLU``, ``GELU``, ``Tanh``, ``Sigmoid``, ``Softmax``, ``LogSoftmax``."""
from . import functional as F
from .module import Module, _check_input


class ReLU(Module):
    """max(x, 0), elementwise."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):  # noqa: A002 - torch's argument name
        return F.relu(_check_input("ReLU()", input, floating=False), inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    """x * Phi(x) (``approximate='none'``, torch's default) or its tanh approximation (``'tanh'``)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):  # noqa: A002 - torch's argument name
        return F.gelu(_check_input(f"GELU(approximate={self.approximate!r})", input), approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, input):  # noqa: A002 - torch's argument name
        return F.tanh(_check_input("Tanh()", input))


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, input):  # noqa: A002 - torch's argument name
        return F.sigmoid(_check_input("Sigmoid()", input))


def _check_dim(desc, x, dim):
    if dim is not None and not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(
            f"{desc}: dim {dim} is out of range for an input with {x.ndim} dimensions (shape {tuple(x.shape)})"
        )


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"Softmax(dim={self.dim})"
        _check_dim(desc, _check_input(desc, input), self.dim)
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably as x - logsumexp(x)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"LogSoftmax(dim={self.dim})"
        _check_dim(desc, _check_input(desc, input), self.dim)
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"
