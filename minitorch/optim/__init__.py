"""Optimizers, learning-rate schedulers and gradient clipping (``minitorch.optim``), with torch's names.

The update rules themselves are array kernels in ``minitorch.kernels.optim`` (hw2)."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
    warmup_cosine,
)
from .optimizer import Optimizer
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm_", "clip_grad_value_", "lr_scheduler", "LRScheduler",
    "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "CosineAnnealingLR", "SequentialLR",
    "ReduceLROnPlateau", "warmup_cosine",
]
