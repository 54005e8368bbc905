"""``minitorch.nn.utils``: gradient clipping under torch's path (``torch.nn.utils.clip_grad_norm_``) and
``rnn.pad_sequence``.

The implementations live in ``minitorch.optim.clip``; this module re-exports them."""
from ...optim.clip import clip_grad_norm_, clip_grad_value_
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]
