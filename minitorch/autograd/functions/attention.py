"""Functions for the hw4 attention kernels."""
from ...kernels import attention as at
from ..function import kernel_function

ScaledDotProductAttention = kernel_function(
    "ScaledDotProductAttention", at.scaled_dot_product_attention_forward, at.scaled_dot_product_attention_backward,
    doc="softmax(q k^T * scale + mask) @ v as one node: apply(q, k, v, mask=, is_causal=, scale=, dropout_p=).",
)
ScaledDotProductAttentionWithWeights = kernel_function(
    "ScaledDotProductAttentionWithWeights", at.scaled_dot_product_attention_with_weights_forward,
    at.scaled_dot_product_attention_with_weights_backward,
    doc="Like ScaledDotProductAttention, returning (out, attention weights); both are differentiable.",
)
