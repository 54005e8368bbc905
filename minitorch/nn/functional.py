"""``minitorch.nn.functional``: torch.nn.functional's names and signatures on minitorch Tensors.

This is the user-facing boundary: every function checks its inputs and raises an error naming
the op, the expected and the given shapes/dtypes, then calls a Function (whose kernels assume
valid input: e.g. CuPy would silently wrap an out-of-range index).
"""
import numbers
import warnings

import numpy as _np  # shape arithmetic and dtype objects only, never on data

from .. import backend
from ..autograd import Tensor
from ..autograd.functions import basic as B
from ..autograd.functions import extra as X
from ..autograd.functions import nn as N
from ..autograd.functions.binary_loss import BCE, BCEWithLogits
from ..autograd.norms import vector_norm

__all__ = [
    "linear", "embedding", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "layer_norm",
    "rms_norm", "dropout", "gelu", "relu", "tanh", "sigmoid", "one_hot", "normalize",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "leaky_relu", "elu", "silu", "softplus", "batch_norm",
]

_REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------- checks
def _tensor(op, name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(x).__name__}")
    return x


def _float(op, name, x):
    _tensor(op, name, x)
    if not x.is_floating_point():
        raise TypeError(f"{op}(): expected '{name}' to be a floating point tensor, got dtype {x.dtype}")
    return x


def _integer(op, name, x, what="indices"):
    _tensor(op, name, x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"{op}(): expected {what} ('{name}') of an integer dtype (int64 or int32), "
                        f"got dtype {x.dtype}")
    return x


def _same_dtype(op, a, a_name, b, b_name):
    if b is not None and b.dtype != a.dtype:
        raise TypeError(f"{op}(): expected '{b_name}' to have the same dtype as '{a_name}' ({a.dtype}), "
                        f"got {b.dtype}")


def _reduction(who, reduction, size_average=None, reduce=None):
    """The reduction string, from torch's deprecated (size_average, reduce) pair when one is given.
    ``who`` starts the messages: 'cross_entropy()' here, 'CrossEntropyLoss' for the modules."""
    if size_average is not None or reduce is not None:  # torch's deprecated pair
        warnings.warn(f"{who}: size_average and reduce are deprecated, use reduction='mean'|'sum'|'none'",
                      stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction


def _minmax(arr):
    return int(arr.min()), int(arr.max())


# ----------------------------------------------------------------------------- layers
def linear(input, weight, bias=None):  # noqa: A002 - torch's argument names
    """y = input @ weight.T + bias. input: (*, in_features), weight: (out_features, in_features),
    bias: (out_features,) or None -> (*, out_features)."""
    _float("linear", "input", input)
    _float("linear", "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"linear(): expected a 2-D weight (out_features, in_features), got shape {weight.shape}")
    out_f, in_f = weight.shape
    if input.ndim == 0 or input.shape[-1] != in_f:
        raise ValueError(f"linear(): input shape {input.shape} does not match weight shape {weight.shape}: "
                         f"expected the last dimension of input to be in_features={in_f}")
    _same_dtype("linear", input, "input", weight, "weight")
    if bias is not None:
        _float("linear", "bias", bias)
        if bias.shape != (out_f,):
            raise ValueError(f"linear(): expected bias of shape ({out_f},) for weight {weight.shape}, "
                             f"got {bias.shape}")
        _same_dtype("linear", input, "input", bias, "bias")
    return N.Linear.apply(input, weight, bias)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer tensor ``input`` (any shape)
    -> (*input.shape, embedding_dim). ``padding_idx``'s row gets no gradient; ``max_norm`` renormalises
    the looked-up rows of ``weight`` in place (as torch does)."""
    _integer("embedding", "input", input)
    _float("embedding", "weight", weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding(): expected a 2-D weight (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    if sparse:
        raise NotImplementedError("embedding(): sparse=True is not supported (minitorch has no sparse "
                                  "gradients); use sparse=False")
    if input.device != weight.device:
        raise RuntimeError(f"embedding(): indices are on {input.device} but weight is on {weight.device}")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding(): padding_idx {padding_idx} must be within num_embeddings={n}")
        padding_idx %= n
    if input.numel() > 0:
        lo, hi = _minmax(input.data)
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"embedding(): index {bad} is out of range for a table of {n} rows "
                             f"(num_embeddings={n}; valid indices are 0..{n - 1})")
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    return N.Embedding.apply(weight, indices=input.data, padding_idx=padding_idx,
                             scale_grad_by_freq=bool(scale_grad_by_freq))


def _renorm_rows(weight, input, max_norm, norm_type):
    """torch.embedding_renorm_: rows used by ``input`` whose norm exceeds max_norm are scaled down, in place."""
    xp = backend.get_array_module(weight.data)
    rows = xp.unique(input.data.reshape(-1))
    w = weight.data[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight.data[rows] = w * scale[:, None]


def _softmax_dim(op, input, dim):
    if dim is None:  # torch's deprecated implicit choice
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. "
                      "Change the call to include dim=X as an argument.", stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """exp(x) / sum(exp(x)) along ``dim`` (computed from x - max, so large logits are fine)."""
    _tensor("softmax", "input", input)
    if dtype is not None:
        input = input.to(dtype)
    return N.softmax(input, _softmax_dim("softmax", input, dim))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """x - logsumexp(x) along ``dim``."""
    _tensor("log_softmax", "input", input)
    if dtype is not None:
        input = input.to(dtype)
    return N.log_softmax(input, _softmax_dim("log_softmax", input, dim))


# ----------------------------------------------------------------------------- losses
def _check_class_target(op, input, target, ignore_index, weight):
    """torch's class-index convention: input (C,) & target (), (N, C) & (N,), (N, C, d1..) & (N, d1..)."""
    _float(op, "input", input)
    _integer(op, "target", target, what="class indices")
    if input.ndim == 0:
        raise ValueError(f"{op}(): input must have at least 1 dimension (classes), got a 0-d tensor")
    if input.ndim == 1:
        expected = ()
    else:
        expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        layout = "(C,) with target ()" if input.ndim == 1 else (
            "(N, C) with target (N,)" if input.ndim == 2 else "(N, C, d1, ...) with target (N, d1, ...)")
        raise ValueError(f"{op}(): input of shape {input.shape} needs target of shape {expected} "
                         f"(layout {layout}), got target of shape {target.shape}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    if weight is not None:
        _float(op, "weight", weight)
        if weight.shape != (c,):
            raise ValueError(f"{op}(): weight must have shape ({c},) (one per class), got {weight.shape}")
        _same_dtype(op, input, "input", weight, "weight")
    if input.device != target.device:
        raise RuntimeError(f"{op}(): input is on {input.device} but target is on {target.device}")
    if target.numel() > 0:
        t = target.data
        xp = backend.get_array_module(t)
        bad = (t != ignore_index) & ((t < 0) | (t >= c))
        if bool(bad.any()):
            first = int(t.reshape(-1)[xp.argmax(bad.reshape(-1))])
            raise IndexError(f"{op}(): target {first} is out of bounds for {c} classes (valid: 0..{c - 1}, "
                             f"or ignore_index={ignore_index})")
    return None if weight is None else weight.data


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` ((C,), (N, C) or (N, C, d1, ...)) and class indices
    ``target`` ((), (N,) or (N, d1, ...)); ``ignore_index`` entries count neither in the loss nor in
    the mean; ``label_smoothing`` mixes the one-hot target with the uniform distribution, like torch."""
    reduction = _reduction("cross_entropy()", reduction, size_average, reduce)
    if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy(): label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    _float("cross_entropy", "input", input)
    _tensor("cross_entropy", "target", target)
    if target.is_floating_point():
        return _cross_entropy_probs(input, target, weight, reduction, float(label_smoothing))
    w = _check_class_target("cross_entropy", input, target, ignore_index, weight)
    return N.CrossEntropy.apply(input, target=target.data, ignore_index=int(ignore_index),
                                label_smoothing=float(label_smoothing), reduction=reduction, weight=w)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    """torch's class-probability form: loss_i = -sum_c w_c q_ic log_softmax(x)_ic with
    q = (1 - eps) target + eps / C; 'mean' divides by the number of rows N * d1 * ..."""
    op = "cross_entropy"
    if target.shape != input.shape:
        index_shape = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
        if target.shape == index_shape:
            raise TypeError(f"{op}(): expected class indices ('target') of an integer dtype (int64 or int32), got "
                            f"dtype {target.dtype} (a floating point target is read as class probabilities, "
                            f"which need the input's shape {input.shape})")
        raise ValueError(f"{op}(): a floating point target holds class probabilities and must have the input's "
                         f"shape {input.shape}, got {target.shape} (for class indices pass an integer target "
                         f"of shape {index_shape})")
    _same_dtype(op, input, "input", target, "target")
    cdim = 0 if input.ndim == 1 else 1
    c = input.shape[cdim]
    q = target if label_smoothing == 0 else target * (1 - label_smoothing) + label_smoothing / c
    logp = N.log_softmax(input, cdim)
    prod = logp * q
    if weight is not None:
        _float(op, "weight", weight)
        if weight.shape != (c,):
            raise ValueError(f"{op}(): weight must have shape ({c},) (one per class), got {weight.shape}")
        _same_dtype(op, input, "input", weight, "weight")
        prod = prod * weight.reshape((c,) + (1,) * (input.ndim - cdim - 1))
    loss = -prod.sum(cdim)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (same layouts and options as cross_entropy,
    without label smoothing): loss_i = -weight[t_i] * input_i[t_i]."""
    reduction = _reduction("nll_loss()", reduction, size_average, reduce)
    w = _check_class_target("nll_loss", input, target, ignore_index, weight)
    return N.NllLoss.apply(input, target=target.data, ignore_index=int(ignore_index), reduction=reduction,
                           weight=w)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """Mean squared error (input - target)^2, reduced by 'mean' (default), 'sum' or 'none'. Shapes should
    match; broadcastable ones are broadcast with a warning, as in torch. ``weight`` (input's shape) weights
    each squared error, and 'mean' then divides by sum(weight), as in torch."""
    reduction = _reduction("mse_loss()", reduction, size_average, reduce)
    _float("mse_loss", "input", input)
    _float("mse_loss", "target", target)
    if target.shape != input.shape:
        try:
            _np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"mse_loss(): input shape {input.shape} and target shape {target.shape} are not "
                             "broadcastable") from None
        warnings.warn(f"mse_loss: using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=2)
    diff = input - target
    sq = diff * diff
    if weight is not None:
        _float("mse_loss", "weight", weight)
        if weight.shape != input.shape:
            raise ValueError(f"mse_loss(): weight must have the input's shape {input.shape}, got {weight.shape}")
        sq = sq * weight
        if reduction == "mean":
            return sq.sum() / weight.sum()
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


# ----------------------------------------------------------------------------- normalisation
def _normalized_shape(op, input, normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or input.shape[input.ndim - k:] != normalized_shape:
        raise ValueError(f"{op}(): given normalized_shape={list(normalized_shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, normalized_shape))}], but got input of size {input.shape}")
    return normalized_shape


def _param(op, name, p, normalized_shape, input):
    if p is None:
        return None
    _float(op, name, p)
    if p.shape != normalized_shape:
        raise ValueError(f"{op}(): expected {name} of shape {normalized_shape} (normalized_shape), got {p.shape}")
    _same_dtype(op, input, "input", p, name)
    return p


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims (biased var)."""
    _float("layer_norm", "input", input)
    shape = _normalized_shape("layer_norm", input, normalized_shape)
    _param("layer_norm", "weight", weight, shape, input)
    _param("layer_norm", "bias", bias, shape, input)
    if not eps >= 0:
        raise ValueError(f"layer_norm(): eps must be non-negative, got {eps}")
    return N.LayerNorm.apply(input, weight, bias, normalized_shape=shape, eps=float(eps))


def rms_norm(input, normalized_shape, weight=None, eps=None):  # noqa: A002
    """x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) dims;
    eps=None means torch.finfo(input.dtype).eps, as in torch."""
    _float("rms_norm", "input", input)
    shape = _normalized_shape("rms_norm", input, normalized_shape)
    _param("rms_norm", "weight", weight, shape, input)
    if eps is not None and not eps >= 0:
        raise ValueError(f"rms_norm(): eps must be non-negative, got {eps}")
    return N.RMSNorm.apply(input, weight, normalized_shape=shape, eps=None if eps is None else float(eps))


# ----------------------------------------------------------------------------- dropout / activations
def dropout(input, p=0.5, training=True, inplace=False, generator=None):  # noqa: A002
    """Inverted dropout: zero elements with probability ``p`` and scale the rest by 1/(1-p) when
    ``training``; the input itself otherwise (and for p=0). ``generator``: a NumPy/CuPy Generator for
    reproducible masks (default: the backend generator seeded by ``minitorch.manual_seed``)."""
    _float("dropout", "input", input)
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    out = N.Dropout.apply(input, p=float(p), training=True, generator=generator)
    if inplace:
        if input.requires_grad:
            raise RuntimeError("dropout(): inplace=True is not supported on a tensor that requires grad "
                               "(minitorch records no in-place ops); use inplace=False")
        input.data[...] = out.data
        return input
    return out


def gelu(input, approximate="none"):  # noqa: A002
    """GELU: x * Phi(x) ('none', torch's default) or its tanh approximation ('tanh')."""
    _float("gelu", "input", input)
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu(): approximate must be 'none' or 'tanh', got {approximate!r}")
    return B.Gelu.apply(input, approximate=approximate)


def relu(input, inplace=False):  # noqa: A002
    """max(x, 0); relu'(0) = 0."""
    _tensor("relu", "input", input)
    if inplace:
        raise NotImplementedError("relu(): inplace=True is not supported (minitorch records no in-place ops)")
    return input.relu()


def tanh(input):  # noqa: A002
    """Hyperbolic tangent."""
    _tensor("tanh", "input", input)
    return input.tanh()


def sigmoid(input):  # noqa: A002
    """1 / (1 + exp(-x)), stable for large |x|."""
    _tensor("sigmoid", "input", input)
    return input.sigmoid()


# ----------------------------------------------------------------------------- attention (hw4)
def _attention_inputs(op, query, key, value):
    """Check query (..., L, E), key (..., S, E), value (..., S, Ev); returns their broadcast batch shape."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _float(op, name, t)
        if t.ndim < 2:
            raise ValueError(f"{op}(): expected '{name}' with at least 2 dims (..., seq_len, dim), got shape {t.shape}")
    _same_dtype(op, query, "query", key, "key")
    _same_dtype(op, query, "query", value, "value")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"{op}(): query (..., L, E) and key (..., S, E) must have the same last dim, got shapes "
                         f"{query.shape} and {key.shape}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{op}(): key (..., S, E) and value (..., S, Ev) must have the same seq_len S, got shapes "
                         f"{key.shape} and {value.shape}")
    try:
        return _np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}(): the batch dims of query {query.shape}, key {key.shape} and value {value.shape} "
                         "are not broadcastable") from None


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None, enable_gqa=False):
    """softmax(query key^T * scale + mask) @ value, as torch. query (..., L, E), key (..., S, E),
    value (..., S, Ev) -> (..., L, Ev); batch dims broadcast. A boolean ``attn_mask`` is True where
    attention is allowed, a float one is added to the scores; ``is_causal`` masks keys after the query.
    scale defaults to 1/sqrt(E). Queries with no allowed key give zeros (never NaN)."""
    from ..autograd.functions.attention import ScaledDotProductAttention  # noqa: PLC0415

    op = "scaled_dot_product_attention"
    batch = _attention_inputs(op, query, key, value)
    if enable_gqa:
        raise NotImplementedError(f"{op}(): enable_gqa=True is not supported; broadcast key/value over heads "
                                  "by giving them a head dim of 1 instead")
    scores_shape = batch + (query.shape[-2], key.shape[-2])
    if attn_mask is not None:
        _tensor(op, "attn_mask", attn_mask)
        if attn_mask.dtype.kind not in "bf":
            raise TypeError(f"{op}(): attn_mask must be bool (True = may attend) or float (added to the scores), "
                            f"got dtype {attn_mask.dtype}")
        try:
            ok = _np.broadcast_shapes(scores_shape, attn_mask.shape) == scores_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{op}(): attn_mask of shape {attn_mask.shape} can't be broadcast to the attention "
                             f"scores' shape {scores_shape} (batch..., L, S)")
        if is_causal:
            raise ValueError(f"{op}(): explicit attn_mask should not be set when is_causal=True")
    if not isinstance(dropout_p, numbers.Real) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{op}(): dropout_p must be in [0, 1), got {dropout_p}")
    if scale is not None and not (isinstance(scale, numbers.Real) and abs(float(scale)) < float("inf")):
        raise ValueError(f"{op}(): scale must be a finite number or None, got {scale!r}")
    return ScaledDotProductAttention.apply(query, key, value, mask=attn_mask, is_causal=bool(is_causal),
                                           scale=scale, dropout_p=float(dropout_p))


def flash_attention(query, key, value, is_causal=False, scale=None, block_q=128, block_k=128):
    """softmax(query key^T * scale) @ value computed in tiles (the hw4 bonus kernel,
    ``kernels/flash_attention.py``): the same result as ``scaled_dot_product_attention`` (without masks other
    than ``is_causal``, without dropout) up to float rounding, in O(L * Ev) memory instead of O(L * S): no
    (L, S) array of scores or weights is ever held, forward or backward (which recomputes them tile by tile).
    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); ``block_q`` queries by ``block_k``
    keys per tile. Slower than the plain kernel in NumPy for short sequences (a Python loop over tiles);
    ``scaled_dot_product_attention`` stays the default everywhere."""
    from ..autograd.functions.attention import FlashAttention  # noqa: PLC0415

    op = "flash_attention"
    _attention_inputs(op, query, key, value)
    if key.shape[-2] == 0:
        raise ValueError(f"{op}(): key and value must have at least one position (S >= 1), got shape {key.shape}")
    for name, b in (("block_q", block_q), ("block_k", block_k)):
        if isinstance(b, bool) or not isinstance(b, (int, _np.integer)) or b < 1:
            raise ValueError(f"{op}(): {name} must be a positive int, got {b!r}")
    if scale is not None and not (isinstance(scale, numbers.Real) and abs(float(scale)) < float("inf")):
        raise ValueError(f"{op}(): scale must be a finite number or None, got {scale!r}")
    return FlashAttention.apply(query, key, value, is_causal=bool(is_causal), scale=scale, block_q=int(block_q),
                                block_k=int(block_k))



# ----------------------------------------------------------------------------- encodings and norms
def one_hot(tensor, num_classes=-1):
    """int64 one-hot vectors: out[..., k] = 1 where tensor == k. ``tensor``: non-negative class indices
    (any shape); ``num_classes`` -1 means max(tensor) + 1. Output shape: tensor.shape + (num_classes,)."""
    op = "one_hot"
    _integer(op, "tensor", tensor, what="class indices")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, _np.integer)) or num_classes < -1:
        raise ValueError(f"{op}(): num_classes must be a non-negative int or -1, got {num_classes!r}")
    xp = backend.get_array_module(tensor.data)
    idx = tensor.data
    lo, hi = _minmax(idx) if idx.size else (0, -1)
    if lo < 0:
        raise RuntimeError(f"{op}(): class values must be non-negative, got {lo}")
    if num_classes == -1:
        if not idx.size:
            raise RuntimeError(f"{op}(): can not infer the total number of classes from an empty tensor; "
                               "pass num_classes")
        num_classes = hi + 1
    if hi >= num_classes:
        raise RuntimeError(f"{op}(): class values must be smaller than num_classes={num_classes}, got {hi}")
    out = idx[..., None] == xp.arange(int(num_classes))
    return Tensor._make(out.astype(_np.int64))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002 - torch's argument names
    """input / max(||input||_p, eps) along ``dim`` (vectors scaled to unit norm), as torch. Differentiable."""
    _float("normalize", "input", input)
    if out is not None:
        raise NotImplementedError("normalize(): out= is not supported; use the returned tensor")
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ValueError(f"normalize(): eps must be a non-negative number, got {eps!r}")
    norm = vector_norm(input, p, dim, keepdim=True).clamp(min=eps)
    return input / norm



# ----------------------------------------------------------------------------- binary cross-entropy
def _bce_args(op, input, target, weight, pos_weight=None):
    _float(op, "input", input)
    _float(op, "target", target)
    if target.shape != input.shape:
        raise ValueError(f"{op}(): target size {target.shape} must be the same as input size {input.shape}")
    _same_dtype(op, input, "input", target, "target")
    extra = {}
    for name, w in (("weight", weight), ("pos_weight", pos_weight)):
        if w is None:
            continue
        _float(op, name, w)
        try:
            ok = _np.broadcast_shapes(input.shape, w.shape) == tuple(input.shape)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{op}(): {name} of shape {w.shape} can't be broadcast to the input's shape "
                             f"{input.shape}")
        extra[name] = w.to(input.dtype).data
    return extra


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits (sigmoid folded in, stable for any logit), as torch:
    -w [pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]. ``target``: probabilities of the input's
    shape; ``weight`` broadcasts to it, ``pos_weight`` (one per class, the last dim) weights positives."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(f"{op}()", reduction, size_average, reduce)
    extra = _bce_args(op, input, target, weight, pos_weight)
    return _reduce(BCEWithLogits.apply(input, target, **extra), reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1], as torch (each log clamped at -100):
    -w [y log p + (1 - y) log(1 - p)]. Prefer ``binary_cross_entropy_with_logits`` on logits."""
    op = "binary_cross_entropy"
    reduction = _reduction(f"{op}()", reduction, size_average, reduce)
    extra = _bce_args(op, input, target, weight)
    if input.numel():
        lo, hi = float(input.data.min()), float(input.data.max())
        if not (0.0 <= lo and hi <= 1.0):
            raise RuntimeError(f"{op}(): all elements of input should be between 0 and 1 (got values from {lo:g} "
                               f"to {hi:g}); apply sigmoid first, or use binary_cross_entropy_with_logits on logits")
    return _reduce(BCE.apply(input, target, **extra), reduction)


# ----------------------------------------------------------------------------- more activations, batch norm
def _no_inplace(op, inplace):
    if inplace:
        raise NotImplementedError(f"{op}(): inplace=True is not supported (minitorch records no in-place ops)")


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """x for x > 0, negative_slope * x otherwise."""
    _float("leaky_relu", "input", input)
    _no_inplace("leaky_relu", inplace)
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"leaky_relu(): negative_slope must be a number, got {negative_slope!r}")
    return X.LeakyRelu.apply(input, negative_slope=float(negative_slope))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    _float("elu", "input", input)
    _no_inplace("elu", inplace)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"elu(): alpha must be a number, got {alpha!r}")
    return X.Elu.apply(input, alpha=float(alpha))


def silu(input, inplace=False):  # noqa: A002
    """x * sigmoid(x) (swish)."""
    _float("silu", "input", input)
    _no_inplace("silu", inplace)
    return X.Silu.apply(input)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """log(1 + exp(beta x)) / beta; x where beta x > threshold."""
    _float("softplus", "input", input)
    for name, v in (("beta", beta), ("threshold", threshold)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"softplus(): {name} must be a number, got {v!r}")
    if beta == 0:
        raise ValueError("softplus(): beta must be non-zero")
    return X.Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,  # noqa: A002
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) of ``input`` (N, C, *): with the batch's statistics when ``training``
    (then ``running_mean`` / ``running_var``, when given, move towards them by ``momentum``, the variance
    unbiased, as torch), else with ``running_mean`` / ``running_var``. Then * weight + bias (each optional)."""
    op = "batch_norm"
    _float(op, "input", input)
    if input.ndim < 2:
        raise ValueError(f"{op}(): expected an input of shape (N, C, *), got shape {input.shape}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None:
            _float(op, name, t)
            if tuple(t.shape) != (C,):
                raise ValueError(f"{op}(): {name} must have shape ({C},) (one per channel of input {input.shape}), "
                                 f"got {t.shape}")
    if not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"{op}(): eps must be a non-negative number, got {eps!r}")
    shape = (1, C) + (1,) * (input.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}(): running_mean and running_var are needed when training=False")
        out = (input - running_mean.detach().reshape(shape)) / (running_var.detach().reshape(shape) + eps).sqrt()
        if weight is not None:
            out = out * weight.reshape(shape)
        return out + bias.reshape(shape) if bias is not None else out
    count = input.numel() // max(C, 1)
    if count <= 1:
        raise ValueError(f"{op}(): expected more than 1 value per channel when training, got input size "
                         f"{tuple(input.shape)}")
    out = X.BatchNorm.apply(input, weight, bias, eps=float(eps))
    if running_mean is not None or running_var is not None:
        if momentum is None or not isinstance(momentum, numbers.Real) or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{op}(): momentum must be a number in [0, 1], got {momentum!r}")
        x = input.data
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes)
        var = x.var(axis=axes) * (count / (count - 1))
        m = float(momentum)
        for stat, new in ((running_mean, mean), (running_var, var)):
            if stat is not None:
                stat.data = (stat.data * (1 - m) + new.astype(stat.dtype) * m).astype(stat.dtype)
    return out
