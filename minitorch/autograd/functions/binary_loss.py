"""Functions for the binary cross-entropy kernels (``minitorch.kernels.binary_loss``)."""
from ...kernels import binary_loss as bl
from ..function import kernel_function

BCEWithLogits = kernel_function("BCEWithLogits", bl.bce_with_logits_forward, bl.bce_with_logits_backward,
                                doc="Element-wise BCE of logits. apply(input, target, weight=, pos_weight=).")
BCE = kernel_function("BCE", bl.bce_forward, bl.bce_backward,
                      doc="Element-wise BCE of probabilities. apply(input, target, weight=).")
