"""Loss modules: ``CrossEntropyLoss``, ``NLLLoss``, ``MSELoss``, ``BCEWithLogitsLoss``, ``BCELoss`` (torch's
arguments and semantics).

A class ``weight`` is registered as a buffer, so it is in the state_dict and moves with ``.to()``,
as in torch."""
import numbers

from ..autograd import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F._reduction(type(self).__name__, reduction, size_average, reduce)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if weight is not None:
            if not isinstance(weight, Tensor) or weight.ndim != 1 or not weight.is_floating_point():
                got = f"shape {tuple(weight.shape)}, dtype {weight.dtype}" if isinstance(weight, Tensor) \
                    else type(weight).__name__
                raise TypeError(f"{type(self).__name__}: weight must be a 1-D floating Tensor (one per class), "
                                f"got {got}")
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits (N, C) / (C,) / (N, C, d1, ...) against class indices (or class
    probabilities of the input's shape). ``ignore_index`` targets count neither in the loss nor in
    the mean; ``label_smoothing`` mixes the target with the uniform distribution."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002 - torch's argument names
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. from ``LogSoftmax``) against class indices."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002 - torch's argument names
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (input - target)^2, reduced by 'mean' (default), 'sum' or 'none'."""

    def forward(self, input, target):  # noqa: A002 - torch's argument names
        return F.mse_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits (targets are probabilities of the input's shape); ``weight`` broadcasts
    to the input, ``pos_weight`` (one per class) weights the positive term. Both are buffers, as in torch."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        for name, w in (("weight", weight), ("pos_weight", pos_weight)):
            if w is not None and (not isinstance(w, Tensor) or not w.is_floating_point()):
                raise TypeError(f"BCEWithLogitsLoss: {name} must be a floating Tensor, got "
                                f"{getattr(w, 'dtype', type(w).__name__)}")
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002 - torch's argument names
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (e.g. after ``Sigmoid``); ``weight`` broadcasts to the input."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if weight is not None and (not isinstance(weight, Tensor) or not weight.is_floating_point()):
            raise TypeError(f"BCELoss: weight must be a floating Tensor, got "
                            f"{getattr(weight, 'dtype', type(weight).__name__)}")
        self.register_buffer("weight", weight)

    def forward(self, input, target):  # noqa: A002 - torch's argument names
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)
