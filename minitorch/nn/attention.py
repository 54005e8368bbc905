"""Attention layers (hw4).

``Attention`` is the standalone array exercise: single-head self-attention on plain arrays with a
hand-written backward that stores every intermediate. ``MultiheadAttention`` is torch's module.
Both run on the kernels in ``minitorch.kernels.attention``.
"""
import math

from ..backend import get_array_module
from ..kernels import attention as K


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
        X_new, self._cache = K.scaled_dot_product_attention_forward(
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
        self.dLdQ, self.dLdK, self.dLdV, self.dLdA_sig, self.dLdA_w = K.attention_backward_parts(dLdXnew, self._cache)
        x2 = X.reshape(-1, X.shape[-1])
        self.dLdWq = x2.T @ self.dLdQ.reshape(-1, self.dLdQ.shape[-1])
        self.dLdWk = x2.T @ self.dLdK.reshape(-1, self.dLdK.shape[-1])
        self.dLdWv = x2.T @ self.dLdV.reshape(-1, self.dLdV.shape[-1])
        dLdX = self.dLdQ @ self.W_q.T + self.dLdK @ self.W_k.T + self.dLdV @ self.W_v.T
        return dLdX
        # END SOLUTION
