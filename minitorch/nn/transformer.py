"""Transformer decoder pieces (hw4): positional encodings, causal self-attention with a key/value
cache, and the pre-norm (or post-norm) decoder block.

Submodule names follow nanoGPT (``ln_1``, ``attn.c_attn``, ``attn.c_proj``, ``ln_2``, ``mlp.c_fc``,
``mlp.c_proj``), so a nanoGPT state_dict loads into ``minitorch.models.GPT``.
"""
import math

from ..autograd import Tensor, arange, cat, empty, zeros
from ..autograd.functions.attention import QKVAttention, ScaledDotProductAttention
from ..backend import get_array_module, get_default_dtype
from ..kernels.attention import causal_mask
from . import functional as F
from . import init
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm, RMSNorm
from .parameter import Parameter


class SinusoidalPositionalEncoding(Module):
    """x + PE[offset:offset + T] with PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)
    (Vaswani et al., 2017). x: (B, T, d_model). No parameters; the table is a non-persistent buffer."""

    def __init__(self, d_model, max_len=5000, dtype=None, device=None):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        pos = arange(max_len, dtype="float64", device=device).data[:, None]
        div = arange(0, d_model, 2, dtype="float64", device=device).data * (-math.log(10000.0) / d_model)
        xp = get_array_module(pos)
        pe = zeros(max_len, d_model, dtype="float64", device=device).data
        pe[:, 0::2] = xp.sin(pos * xp.exp(div))
        pe[:, 1::2] = xp.cos(pos * xp.exp(div[: d_model // 2]))
        table = Tensor._make(pe)
        self.register_buffer("pe", table.to(get_default_dtype() if dtype is None else dtype), persistent=False)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"

    def forward(self, x, offset=0):
        t = _check_positions(self, x, offset, self.max_len, self.d_model)
        return x + self.pe[offset:offset + t]


class LearnedPositionalEmbedding(Module):
    """x + weight[offset:offset + T] with a learned (max_len, d_model) table (GPT-2's ``wpe``),
    initialised N(0, 0.02^2). x: (B, T, d_model)."""

    def __init__(self, max_len, d_model, dtype=None, device=None):
        super().__init__()
        self.max_len, self.d_model = max_len, d_model
        self.weight = Parameter(empty(max_len, d_model, dtype=dtype, device=device))
        init.normal_(self.weight, 0.0, 0.02)

    def extra_repr(self):
        return f"{self.max_len}, {self.d_model}"

    def forward(self, x, offset=0):
        t = _check_positions(self, x, offset, self.max_len, self.d_model)
        return x + self.weight[offset:offset + t]


def _check_positions(module, x, offset, max_len, d_model):
    if not isinstance(x, Tensor) or x.ndim < 2 or x.shape[-1] != d_model:
        raise ValueError(f"{type(module).__name__}(d_model={d_model}): expected input (..., T, {d_model}), "
                         f"got {getattr(x, 'shape', type(x).__name__)}")
    t = x.shape[-2]
    if offset < 0 or offset + t > max_len:
        raise ValueError(f"{type(module).__name__}: positions {offset}..{offset + t - 1} exceed max_len={max_len} "
                         "(the longest sequence this model was built for)")
    return t


class LayerCache:
    """One attention layer's cached keys and values, (B, H, T_past, head_dim) each, or None."""

    __slots__ = ("k", "v")

    def __init__(self, k=None, v=None):
        self.k, self.v = k, v

    @property
    def length(self):
        return 0 if self.k is None else self.k.shape[2]

    def select(self, index):
        """The cache of the batch rows ``index`` (e.g. beams to keep)."""
        return LayerCache(None if self.k is None else self.k[index], None if self.v is None else self.v[index])


class CausalSelfAttention(Module):
    """Masked multi-head self-attention: one (B*T, E) @ (E, 3E) GEMM gives q, k and v, one fused
    attention node (``F.scaled_dot_product_attention``'s kernel) attends, c_proj mixes the heads.

    forward(x (B, T, E), cache=None) -> (B, T, E). With a ``LayerCache``, the new keys/values are
    appended to it and the T new queries attend to the cached prefix and causally to each other."""

    def __init__(self, n_embd, n_head, dropout=0.0, bias=True, dtype=None, device=None):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_embd, self.n_head, self.dropout = n_embd, n_head, float(dropout)
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias, dtype=dtype, device=device)
        self.c_proj = Linear(n_embd, n_embd, bias=bias, dtype=dtype, device=device)
        self.resid_dropout = Dropout(dropout)

    def extra_repr(self):
        return f"n_embd={self.n_embd}, n_head={self.n_head}, dropout={self.dropout}"

    def forward(self, x, cache=None):
        b, t, e = x.shape
        h = self.n_head
        p = self.dropout if self.training else 0.0
        qkv = self.c_attn(x)
        if cache is None:  # training and full-sequence scoring: one node from qkv to the merged heads
            y = QKVAttention.apply(qkv, n_head=h, is_causal=t > 1, dropout_p=p)
            return self.resid_dropout(self.c_proj(y))
        q, k, v = qkv.reshape(b, t, 3, h, e // h).permute(2, 0, 3, 1, 4).unbind(0)  # (B, H, T, hd) each
        mask, is_causal = None, t > 1
        past = cache.length
        if past:
            k, v = cat([cache.k, k], dim=2), cat([cache.v, v], dim=2)
            xp = get_array_module(x.data)
            mask, is_causal = (causal_mask(t, past + t, xp, offset=past) if t > 1 else None), False
        cache.k, cache.v = k.detach(), v.detach()
        y = ScaledDotProductAttention.apply(q, k, v, mask=mask, is_causal=is_causal, dropout_p=p)
        y = y.transpose(1, 2).reshape(b, t, e)
        return self.resid_dropout(self.c_proj(y))


class MLP(Module):
    """c_proj(act(c_fc(x))) with a 4x (or ``dim_feedforward``) hidden layer, then dropout."""

    def __init__(self, n_embd, dim_feedforward=None, dropout=0.0, activation="gelu", bias=True, dtype=None,
                 device=None):
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"MLP: activation must be 'gelu' or 'relu', got {activation!r}")
        hidden = 4 * n_embd if dim_feedforward is None else dim_feedforward
        self.activation = activation
        self.c_fc = Linear(n_embd, hidden, bias=bias, dtype=dtype, device=device)
        self.c_proj = Linear(hidden, n_embd, bias=bias, dtype=dtype, device=device)
        self.dropout = Dropout(dropout)

    def extra_repr(self):
        return f"activation={self.activation!r}"

    def forward(self, x):
        hidden = self.c_fc(x)
        hidden = F.gelu(hidden) if self.activation == "gelu" else F.relu(hidden)
        return self.dropout(self.c_proj(hidden))


def make_norm(norm, d_model, eps, bias, dtype=None, device=None):
    """nn.LayerNorm (with or without bias) or nn.RMSNorm over the last dim."""
    if norm == "layernorm":
        return LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype, device=device)
    if norm == "rmsnorm":
        return RMSNorm(d_model, eps=eps, dtype=dtype, device=device)
    raise ValueError(f"norm must be 'layernorm' or 'rmsnorm', got {norm!r}")


class TransformerDecoderBlock(Module):
    """A GPT block: causal self-attention and an MLP, each in a residual branch.

    Pre-norm (``norm_first=True``, GPT-2): x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)).
    Post-norm (the original Transformer): x = ln_1(x + attn(x)); x = ln_2(x + mlp(x)).
    ``norm``: 'layernorm' or 'rmsnorm'; ``activation``: 'gelu' or 'relu'; ``dropout`` applies to the
    attention weights and to both residual branches. forward(x (B, T, d_model), cache=None)."""

    def __init__(self, d_model, nhead, dim_feedforward=None, dropout=0.0, activation="gelu", layer_norm_eps=1e-5,
                 norm_first=True, bias=True, norm="layernorm", dtype=None, device=None):
        super().__init__()
        self.norm_first = norm_first
        self.ln_1 = make_norm(norm, d_model, layer_norm_eps, bias, dtype, device)
        self.attn = CausalSelfAttention(d_model, nhead, dropout, bias, dtype, device)
        self.ln_2 = make_norm(norm, d_model, layer_norm_eps, bias, dtype, device)
        self.mlp = MLP(d_model, dim_feedforward, dropout, activation, bias, dtype, device)

    def extra_repr(self):
        return f"norm_first={self.norm_first}"

    def forward(self, x, cache=None):
        if x.ndim != 3 or x.shape[-1] != self.attn.n_embd:
            raise ValueError(f"TransformerDecoderBlock(d_model={self.attn.n_embd}): expected input (B, T, "
                             f"{self.attn.n_embd}), got shape {x.shape}")
        if self.norm_first:
            x = x + self.attn(self.ln_1(x), cache)
            return x + self.mlp(self.ln_2(x))
        x = self.ln_1(x + self.attn(x, cache))
        return self.ln_2(x + self.mlp(x))
