"""Attention layers (hw4).

``Attention`` is the standalone array exercise: single-head self-attention on plain arrays with a
hand-written backward that stores every intermediate. ``MultiheadAttention`` is torch's module.
Both run on the kernels in ``minitorch.kernels.attention``.
"""
import math

from ..autograd import Tensor, zeros
from ..autograd.functions.attention import (
    QKVAttention,
    ScaledDotProductAttention,
    ScaledDotProductAttentionWithWeights,
)
from ..backend import get_array_module
from ..kernels import attention as attn_kernels
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter


class Attention:
    """Single-head self-attention on plain arrays (no autograd), the hw4 ``attention.py`` exercise.

    weights_keys, weights_queries: (D, D_k); weights_values: (D, D_v). ``forward(X)`` with X (B, T, D):
    K = X W_k, Q = X W_q, V = X W_v, A_w = Q K^T, A_sig = softmax(A_w / sqrt(D_k)) (upper triangle
    masked when ``causal``), X_new = A_sig V (B, T, D_v). ``backward(dLdXnew)`` stores the gradient of
    every intermediate and of the weights (summed over the batch) and returns dLdX (B, T, D)."""

    def __init__(self, weights_keys, weights_queries, weights_values, causal=False):
        shapes = [getattr(w, "shape", None) for w in (weights_keys, weights_queries, weights_values)]
        if any(s is None or len(s) != 2 for s in shapes) or shapes[0] != shapes[1] or \
                shapes[0][0] != shapes[2][0]:
            raise ValueError(
                "Attention: expected weights_keys and weights_queries of shape (D, D_k) and weights_values of "
                f"shape (D, D_v), got {shapes[0]}, {shapes[1]} and {shapes[2]}"
            )
        self.W_k = weights_keys
        self.W_q = weights_queries
        self.W_v = weights_values
        self.causal = bool(causal)

    def __repr__(self):
        d, d_k = self.W_k.shape
        return f"Attention(D={d}, D_k={d_k}, D_v={self.W_v.shape[1]}, causal={self.causal})"

    def forward(self, X):
        """X: (B, T, D) -> X_new: (B, T, D_v)."""
        d = self.W_k.shape[0]
        if getattr(X, "ndim", None) != 3 or X.shape[-1] != d:
            raise ValueError(f"Attention.forward: expected X of shape (B, T, {d}), got {getattr(X, 'shape', X)}")
        xp = get_array_module(X)
        self.X = X
        # BEGIN SOLUTION hw4
        self.K = X @ self.W_k
        self.Q = X @ self.W_q
        self.V = X @ self.W_v
        self.A_w = self.Q @ xp.swapaxes(self.K, 1, 2)
        X_new, self._cache = attn_kernels.scaled_dot_product_attention_forward(
            self.Q, self.K, self.V, is_causal=self.causal, scale=1.0 / math.sqrt(self.W_k.shape[1]))
        self.A_sig = self._cache.weights
        return X_new
        # END SOLUTION

    __call__ = forward

    def backward(self, dLdXnew):
        """dLdXnew: (B, T, D_v) -> dLdX: (B, T, D)."""
        if not hasattr(self, "_cache"):
            raise RuntimeError("Attention.backward called before forward")
        expected = self.X.shape[:2] + (self.W_v.shape[1],)
        if tuple(dLdXnew.shape) != expected:
            raise ValueError(f"Attention.backward: expected dLdXnew of shape {expected}, got {tuple(dLdXnew.shape)}")
        X = self.X
        # BEGIN SOLUTION hw4
        self.dLdQ, self.dLdK, self.dLdV, self.dLdA_sig, d_scores = attn_kernels.attention_backward_parts(
            dLdXnew, self._cache)
        self.dLdA_w = d_scores * self._cache.scale  # the scores are A_w / sqrt(D_k)
        x2 = X.reshape(-1, X.shape[-1])
        self.dLdWq = x2.T @ self.dLdQ.reshape(-1, self.dLdQ.shape[-1])
        self.dLdWk = x2.T @ self.dLdK.reshape(-1, self.dLdK.shape[-1])
        self.dLdWv = x2.T @ self.dLdV.reshape(-1, self.dLdV.shape[-1])
        dLdX = self.dLdQ @ self.W_q.T + self.dLdK @ self.W_k.T + self.dLdV @ self.W_v.T
        return dLdX
        # END SOLUTION


def merge_masks(attn_mask, key_padding_mask, n, n_heads, t_q, t_k):
    """torch's MultiheadAttention masks (True = masked out, or float added to the scores) as one
    SDPA mask array: boolean True = may attend when both are boolean, else an additive float mask.
    attn_mask: (L, S) or (N * num_heads, L, S); key_padding_mask: (N, S). Returns None, or an array
    broadcastable to (N, num_heads, L, S)."""
    parts = []
    if attn_mask is not None:
        m = attn_mask.data
        if m.ndim == 3:
            m = m.reshape(n, n_heads, t_q, t_k)
        parts.append(m)
    if key_padding_mask is not None:
        parts.append(key_padding_mask.data.reshape(n, 1, 1, t_k))
    if not parts:
        return None
    xp = get_array_module(parts[0])
    if all(p.dtype.kind == "b" for p in parts):
        allowed = ~parts[0]
        for p in parts[1:]:
            allowed = allowed & ~p
        return allowed
    total = 0
    for p in parts:
        total = total + (xp.where(p, -xp.inf, 0.0) if p.dtype.kind == "b" else p)
    return total


def _check_mask(op, name, mask, shapes, dtype):
    if mask is None:
        return
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, not {type(mask).__name__}")
    if mask.dtype.kind not in "bf":
        raise TypeError(f"{op}: {name} must be bool (True = masked out) or float (added), got dtype {mask.dtype}")
    if mask.dtype.kind == "f" and mask.dtype != dtype:
        raise TypeError(f"{op}: float {name} must have the input's dtype {dtype}, got {mask.dtype}")
    if tuple(mask.shape) not in shapes:
        raise ValueError(f"{op}: expected {name} of shape " + " or ".join(str(s) for s in shapes)
                         + f", got {tuple(mask.shape)}")


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: attention over ``num_heads`` heads of size embed_dim // num_heads.

    Parameters as torch: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), or ``q_proj_weight``,
    ``k_proj_weight``, ``v_proj_weight`` when kdim/vdim differ from embed_dim; ``out_proj`` (Linear).
    Self-attention (query is key is value) costs one fused (N*L, E) @ (E, 3E) GEMM for q, k and v.
    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None); shapes
    (L, N, E) or, with batch_first, (N, L, E); unbatched (L, E) works too. Masks: True = masked out.
    A query with every key masked gets a zero output and zero weights (torch gives NaN there)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, got {embed_dim} "
                             f"and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise ValueError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported in minitorch")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        def param(*shape):
            return Parameter(zeros(*shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = param(embed_dim, embed_dim)
            self.k_proj_weight = param(embed_dim, self.kdim)
            self.v_proj_weight = param(embed_dim, self.vdim)
        if bias:
            self.in_proj_bias = param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        """As torch: xavier_uniform_ projections, zero biases (out_proj.weight keeps Linear's init)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def extra_repr(self):
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if not self._qkv_same_embed_dim:
            s += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.in_proj_bias is None:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s

    def _check(self, query, key, value):
        op = f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{op}: {name} must be a Tensor, not {type(t).__name__}")
            if t.ndim not in (2, 3):
                raise ValueError(f"{op}: expected {name} of 3 dims ({'N, L, E' if self.batch_first else 'L, N, E'}) "
                                 f"or 2 dims (L, E) unbatched, got shape {t.shape}")
        if not query.ndim == key.ndim == value.ndim:
            raise ValueError(f"{op}: query, key and value must all be batched or all unbatched, got shapes "
                             f"{query.shape}, {key.shape} and {value.shape}")
        for name, t, d in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != d:
                raise ValueError(f"{op}: expected {name} with last dimension {d}, got shape {t.shape}")
            if t.dtype != self.out_proj.weight.dtype:
                raise TypeError(f"{op}: expected {name} of dtype {self.out_proj.weight.dtype} (the parameters'), "
                                f"got {t.dtype}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{op}: key and value must have the same batch and sequence sizes, got shapes "
                             f"{key.shape} and {value.shape}")
        seq_q = 0 if (query.ndim == 2 or not self.batch_first) else 1
        if query.ndim == 3 and query.shape[1 - seq_q] != key.shape[1 - seq_q]:
            raise ValueError(f"{op}: query and key have different batch sizes: shapes {query.shape} and {key.shape}")
        return op

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        op = self._check(query, key, value)
        batched = query.ndim == 3
        if not batched:  # (L, E) -> (1, L, E)
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None and key_padding_mask.ndim == 1:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, t_q, e = query.shape
        t_k = key.shape[1]
        h, hd = self.num_heads, self.head_dim
        _check_mask(op, "attn_mask", attn_mask, [(t_q, t_k), (n * h, t_q, t_k)], query.dtype)
        _check_mask(op, "key_padding_mask", key_padding_mask, [(n, t_k)], query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{op}: need attn_mask if specifying the is_causal hint")
        mask = merge_masks(attn_mask, key_padding_mask, n, h, t_q, t_k)
        p = self.dropout if self.training else 0.0
        if not need_weights and self._qkv_same_embed_dim and query is key and key is value:
            # self-attention: one node from the fused projection to the merged heads
            out = QKVAttention.apply(F.linear(query, self.in_proj_weight, self.in_proj_bias), n_head=h, mask=mask,
                                     dropout_p=p)
            weights = None
        else:
            q, k, v = self._project(query, key, value)
            q = q.reshape(n, t_q, h, hd).transpose(1, 2)
            k = k.reshape(n, t_k, h, hd).transpose(1, 2)
            v = v.reshape(n, t_k, h, hd).transpose(1, 2)
            if need_weights:
                out, weights = ScaledDotProductAttentionWithWeights.apply(q, k, v, mask=mask, dropout_p=p)
                if average_attn_weights:
                    weights = weights.mean(dim=1)
            else:
                out, weights = ScaledDotProductAttention.apply(q, k, v, mask=mask, dropout_p=p), None
            out = out.transpose(1, 2).reshape(n, t_q, e)
        out = self.out_proj(out)
        if not batched:
            return out.squeeze(0), (None if weights is None else weights.squeeze(0))
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(self, query, key, value):
        """q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v (one GEMM when possible)."""
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, bq), F.linear(key, self.k_proj_weight, bk),
                    F.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if query is key and key is value:  # one GEMM for q, k and v
            return F.linear(query, w, b).split(e, dim=-1)
        if key is value:
            k, v = F.linear(key, w[e:], None if b is None else b[e:]).split(e, dim=-1)
            return F.linear(query, w[:e], bq), k, v
        return F.linear(query, w[:e], bq), F.linear(key, w[e:2 * e], bk), F.linear(value, w[2 * e:], bv)
