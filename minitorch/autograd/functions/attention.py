"""Functions for the hw4 attention kernels."""
from ...kernels import attention as at
from ...kernels import flash_attention as fa
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
QKVAttention = kernel_function(
    "QKVAttention", at.qkv_attention_forward, at.qkv_attention_backward,
    doc="Multi-head attention from a fused (B, T, 3E) projection: apply(qkv, n_head=, mask=, is_causal=, "
        "scale=, dropout_p=) -> (B, T, E).",
)
FlashAttention = kernel_function(
    "FlashAttention", fa.flash_attention_forward, fa.flash_attention_backward,
    doc="Tiled attention with the online softmax (the hw4 bonus): apply(q, k, v, is_causal=, scale=, block_q=, "
        "block_k=); the values of ScaledDotProductAttention in O(T * D) memory.",
)
