"""``Dropout``: inverted dropout in training mode, the identity in eval mode."""
import numbers

from . import functional as F
from .module import Module, _check_input


class Dropout(Module):
    """During training, zero each element with probability ``p`` and scale the rest by 1/(1-p);
    in eval mode (``module.eval()``) return the input unchanged."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):  # noqa: A002 - torch's argument name
        _check_input(f"Dropout(p={self.p})", input)
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
