"""hw2: linear, embedding, softmax / log_softmax / cross_entropy, layer_norm, rms_norm, gelu, dropout,
SGD / Adam / AdamW and clip_grad_norm_ (kernels in minitorch/kernels/{linear,embedding,softmax,norm,
dropout,optim}.py and gelu in elementwise.py), through nn.functional, nn modules and minitorch.optim.
"""
import math

import numpy as np

from ..spec import Idx, Registry, X, load

REGISTRY = Registry("hw2")
case = REGISTRY.case

REPEATS_LOST = ("repeated indices lost: a token that occurs several times must receive the sum of its "
                "gradients (np.add.at / one-hot matmul), not only the last one (W[idx] += g drops repeats)")
WRONG_AXIS = "softmax over the wrong axis: normalise along `dim` (the rows of the expected output sum to 1)"


def F(lib):
    return lib.nn.functional


# --------------------------------------------------------------------------- linear
case("linear/2d", test="linear",
     fn=lambda lib, x, w, b: F(lib).linear(x, w, b),
     inputs=dict(x=X("B", "I"), w=X("O", "I"), b=X("O")), dims=dict(B=4, I=3, O=5),
     scales={"the batch size": "B"})
case("linear/3d_batch", test="linear", edge="(B, T, in) input: dW summed over B and T",
     fn=lambda lib, x, w, b: F(lib).linear(x, w, b),
     inputs=dict(x=X("B", "T", "I"), w=X("O", "I"), b=X("O")), dims=dict(B=2, T=3, I=4, O=2),
     scales={"the batch size": "B", "B*T": lambda d: d["B"] * d["T"]})
case("linear/no_bias_batch1", test="linear", edge="batch 1, no bias",
     fn=lambda lib, x, w: F(lib).linear(x, w),
     inputs=dict(x=X(1, "I"), w=X("O", "I")), dims=dict(I=4, O=3))


def _linear_module(lib, x, weight, bias):
    m = lib.nn.Linear(weight.shape[1], weight.shape[0], dtype=x.dtype)
    leaves = load(lib, m, {"weight": weight, "bias": bias})
    return m(x), leaves


case("linear/module", test="linear",
     fn=_linear_module, inputs={"x": X("B", "I"), "weight": X("O", "I"), "bias": X("O")},
     dims=dict(B=3, I=4, O=2), scales={"the batch size": "B"})


# --------------------------------------------------------------------------- embedding
def _lost_repeats(lib, w, idx):
    import torch  # alts run in the fixture generator only

    flat = idx.reshape(-1).tolist()
    keep = torch.tensor([float(v not in flat[k + 1:]) for k, v in enumerate(flat)], dtype=w.dtype)
    full = F(lib).embedding(idx, w)
    keep = keep.reshape(idx.shape + (1,))
    return full.detach() + keep * (full - full.detach())


case("embedding/repeated", test="embedding", edge="repeated indices",
     fn=lambda lib, w, idx: F(lib).embedding(idx, w),
     inputs=dict(w=X("V", "D"), idx=Idx("B", "T", high="V", repeat=True)), dims=dict(V=5, D=3, B=2, T=4),
     alts=[(REPEATS_LOST, _lost_repeats)])
case("embedding/padding_idx", test="embedding", fd=False,  # padding row: zero gradient by convention
     fn=lambda lib, w, idx: F(lib).embedding(idx, w, padding_idx=0),
     inputs=dict(w=X("V", "D"), idx=Idx("B", "T", high="V", repeat=True)), dims=dict(V=4, D=3, B=2, T=5))

case("embedding/scale_grad_by_freq", test="embedding", fd=False,  # the scaled gradient is not the derivative
     edge="scale_grad_by_freq: a row's gradient divided by its count in the batch",
     fn=lambda lib, w, idx: (F(lib).embedding(idx, w, scale_grad_by_freq=True),
                             F(lib).embedding(idx, w, padding_idx=1, scale_grad_by_freq=True)),
     inputs=dict(w=X("V", "D"), idx=Idx("B", "T", high="V", repeat=True)), dims=dict(V=9, D=3, B=2, T=3))


def _embedding_module(lib, idx, weight):
    m = lib.nn.Embedding(weight.shape[0], weight.shape[1], dtype=weight.dtype)
    leaves = load(lib, m, {"weight": weight})
    return m(idx), leaves


case("embedding/module_length1", test="embedding", edge="length 1",
     fn=_embedding_module, inputs={"idx": Idx("B", 1, high="V"), "weight": X("V", "D")},
     dims=dict(B=3, V=6, D=4))


# --------------------------------------------------------------------------- softmax
case("softmax/last_dim", test="softmax",
     fn=lambda lib, x: F(lib).softmax(x, dim=-1),
     inputs=dict(x=X("B", "N", scale=2.0)), dims=dict(B=3, N=5),
     alts=[(WRONG_AXIS, lambda lib, x: F(lib).softmax(x, dim=0))])
case("softmax/middle_dim", test="softmax",
     fn=lambda lib, x: F(lib).softmax(x, dim=1),
     inputs=dict(x=X("A", "B", "C")), dims=dict(A=2, B=3, C=4),
     alts=[(WRONG_AXIS, lambda lib, x: F(lib).softmax(x, dim=-1)),
           (WRONG_AXIS, lambda lib, x: F(lib).softmax(x, dim=0))])
case("softmax/large_logits", test="softmax", edge="logits up to 1000 (subtract the max)", fd=False,
     fn=lambda lib, x: (F(lib).softmax(x * 500.0, dim=-1), F(lib).log_softmax(x * 500.0, dim=-1)),
     inputs=dict(x=X("B", "N", kind="uniform", low=-2.0, high=2.0)), dims=dict(B=2, N=4))
case("log_softmax/dims", test="softmax",
     fn=lambda lib, x: (F(lib).log_softmax(x, dim=-1), F(lib).log_softmax(x, dim=0)),
     inputs=dict(x=X("B", "N")), dims=dict(B=3, N=4))
case("softmax/length1", test="softmax", edge="a softmax over 1 element",
     fn=lambda lib, x: (F(lib).softmax(x, dim=-1), F(lib).log_softmax(x, dim=-1)),
     inputs=dict(x=X("B", 1)), dims=dict(B=3))


# --------------------------------------------------------------------------- cross entropy
CE_SCALES = {"the batch size": "B"}
case("cross_entropy/mean", test="cross_entropy",
     fn=lambda lib, x, t: F(lib).cross_entropy(x, t),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C")), dims=dict(B=4, C=5), scales=CE_SCALES)
case("cross_entropy/sum_none", test="cross_entropy",
     fn=lambda lib, x, t: (F(lib).cross_entropy(x, t, reduction="sum"), F(lib).cross_entropy(x, t, reduction="none")),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C")), dims=dict(B=3, C=4))
case("cross_entropy/ignore_index", test="cross_entropy", edge="ignored targets count neither in N nor the gradient",
     fn=lambda lib, x, t: F(lib).cross_entropy(x, t.masked_fill(t == 0, -100)),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C")), dims=dict(B=6, C=3), fixed=frozenset({"C"}),
     scales={"the batch size": "B"})
case("cross_entropy/sequence_batch1", test="cross_entropy", edge="batch 1, (B*T, C) logits of a sequence",
     fn=lambda lib, x, t: F(lib).cross_entropy(x.reshape(-1, x.shape[-1]), t.reshape(-1)),
     inputs=dict(x=X(1, "T", "C"), t=Idx(1, "T", high="C")), dims=dict(T=4, C=5),
     scales={"the sequence length": "T"})
case("cross_entropy/nll_loss", test="cross_entropy",
     fn=lambda lib, x, t: F(lib).nll_loss(F(lib).log_softmax(x, dim=-1), t),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C")), dims=dict(B=4, C=3), scales=CE_SCALES)
case("cross_entropy/label_smoothing", test="cross_entropy",
     fn=lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.1),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C")), dims=dict(B=3, C=4), scales=CE_SCALES)

case("cross_entropy/large_logits", test="cross_entropy", fd=False, edge="logits up to 1000 (subtract the max)",
     fn=lambda lib, x, t: F(lib).cross_entropy(x * 500.0, t, label_smoothing=0.1),
     inputs=dict(x=X("B", "C", kind="uniform", low=-2.0, high=2.0), t=Idx("B", high="C")), dims=dict(B=3, C=4))
case("cross_entropy/class_weight", test="cross_entropy", edge="class weights: the mean divides by sum w[t]",
     fn=lambda lib, x, t, w: F(lib).cross_entropy(x, t, weight=w),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C"), w=X("C", kind="positive", grad=False)), dims=dict(B=5, C=4))
case("cross_entropy/nll_class_weight", test="cross_entropy", edge="nll_loss with class weights, reduction 'sum'",
     fn=lambda lib, x, t, w: F(lib).nll_loss(F(lib).log_softmax(x, dim=-1), t, weight=w, reduction="sum"),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C"), w=X("C", kind="positive", grad=False)), dims=dict(B=5, C=4))
case("cross_entropy/weight_smoothing_ignore", test="cross_entropy",
     edge="class weights with label smoothing and ignored targets",
     fn=lambda lib, x, t, w: (F(lib).cross_entropy(x, t.masked_fill(t == 0, -100), weight=w, label_smoothing=0.2),
                              F(lib).cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction="none")),
     inputs=dict(x=X("B", "C"), t=Idx("B", high="C"), w=X("C", kind="positive", grad=False)),
     dims=dict(B=6, C=3), fixed=frozenset({"C"}))


# --------------------------------------------------------------------------- layer norm / rms norm
def _ln_no_mean_term(lib, x, w, b):
    """LayerNorm whose backward misses the mean term: the mean is treated as a constant."""
    mu = x.detach().mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / (var + 1e-5).sqrt() * w + b


LN_NO_MEAN = ("layer_norm backward is missing the mean term: dx = r * (dn - mean(dn) - n * mean(dn * n)); "
              "the mean depends on x too")
case("layer_norm/affine", test="layer_norm",
     fn=lambda lib, x, w, b: F(lib).layer_norm(x, (x.shape[-1],), w, b, eps=1e-5),
     inputs=dict(x=X("B", "T", "D", scale=2.0), w=X("D"), b=X("D")), dims=dict(B=2, T=3, D=4),
     alts=[(LN_NO_MEAN, _ln_no_mean_term)], scales={"the batch size": "B", "B*T": lambda d: d["B"] * d["T"]})
case("layer_norm/no_affine", test="layer_norm",
     fn=lambda lib, x: F(lib).layer_norm(x, (x.shape[-1],), eps=1e-5),
     inputs=dict(x=X("B", "D")), dims=dict(B=3, D=5))

case("layer_norm/weight_or_bias_only", test="layer_norm", edge="a weight without a bias, a bias without a weight",
     fn=lambda lib, x, w, b: (F(lib).layer_norm(x, (x.shape[-1],), w, None, eps=1e-5),
                              F(lib).layer_norm(x, (x.shape[-1],), None, b, eps=1e-5)),
     inputs=dict(x=X("B", "D"), w=X("D"), b=X("D")), dims=dict(B=3, D=4))


def _layernorm_module(lib, x, weight, bias):
    m = lib.nn.LayerNorm(x.shape[-1], dtype=x.dtype)
    leaves = load(lib, m, {"weight": weight, "bias": bias})
    return m(x), leaves


case("layer_norm/module_batch1", test="layer_norm", edge="batch 1, length 1",
     fn=_layernorm_module, inputs={"x": X(1, 1, "D"), "weight": X("D"), "bias": X("D")}, dims=dict(D=6))
case("rms_norm/affine", test="rms_norm",
     fn=lambda lib, x, w: F(lib).rms_norm(x, (x.shape[-1],), w, eps=1e-6),
     inputs=dict(x=X("B", "T", "D"), w=X("D")), dims=dict(B=2, T=3, D=4))
case("rms_norm/no_weight_batch1", test="rms_norm", edge="batch 1",
     fn=lambda lib, x: F(lib).rms_norm(x, (x.shape[-1],), eps=1e-6),
     inputs=dict(x=X(1, "D")), dims=dict(D=5))


# --------------------------------------------------------------------------- gelu
case("gelu/exact", test="gelu",
     fn=lambda lib, x: F(lib).gelu(x),
     inputs=dict(x=X("B", "N", scale=2.0)), dims=dict(B=3, N=4))
case("gelu/tanh", test="gelu",
     fn=lambda lib, x: F(lib).gelu(x, approximate="tanh"),
     inputs=dict(x=X("B", "N", scale=2.0)), dims=dict(B=3, N=4))


# --------------------------------------------------------------------------- dropout (exact masks)
# Dropout is graded value by value: the grader fixes the uniform numbers u, so the mask is known
# exactly (keep where u >= p, handouts/hw2 §5.2). The functional case hands u to the kernel through
# ``generator=`` (for several p, so a mask or scale that ignores p fails); the module case seeds
# minitorch's generator (``manual_seed``) and the reference replays the same NumPy stream.
DROPOUT_PS = (0.1, 0.5, 0.8)
DROPOUT_SEED = 2024
DROPOUT_MODULE_P = 0.3
NOT_RESCALED = "kept entries must be x / (1 - p): the kept values are not rescaled by 1/(1-p)"
IGNORES_P = "the mask ignores p: it keeps u >= 0.5 whatever p is (keep an element when u >= p)"
KEEPS_BELOW_P = "the mask is inverted: p is the probability to DROP, keep an element when u >= p (not u < p)"
SCALED_BY_P = "kept entries scaled by 1/p instead of 1/(1-p)"
MASK_NOT_IN_BACKWARD = ("the backward ignores the mask: dx = dout * mask / (1 - p), with the same scaled mask "
                        "as the forward")


class _GivenDraws:
    """A stand-in for the NumPy ``Generator`` of ``dropout(..., generator=)``: ``random`` returns
    the grader's uniform numbers u (the case's input) instead of fresh ones."""

    def __init__(self, u):
        self.u = u.data if hasattr(u, "requires_grad") else u

    def random(self, size=None, dtype=np.float64, out=None):
        shape = () if size is None else tuple(np.atleast_1d(size).tolist())
        if shape != tuple(self.u.shape):
            raise ValueError(f"dropout drew random numbers of shape {list(shape)}; the input has shape "
                             f"{list(self.u.shape)} (draw one number per element)")
        return self.u.astype(dtype)


def _dropout_given(lib, x, u):
    return tuple(F(lib).dropout(x, p=p, training=True, generator=_GivenDraws(u)) for p in DROPOUT_PS)


def _dropout_ref(keep, scale):
    """torch: x * keep(u, p) * scale(p) for every p (the reference and its known-wrong variants)."""
    def fn(lib, x, u):
        return tuple(x * keep(u, p).to(x.dtype) * scale(p) for p in DROPOUT_PS)
    return fn


def _dropout_no_mask_in_backward(lib, x, u):
    """The right forward, but the gradient passes through unmasked."""
    right = _dropout_ref(lambda u, p: u >= p, lambda p: 1.0 / (1.0 - p))(lib, x, u)
    return tuple(o.detach() + x - x.detach() for o in right)


case("dropout/given_draws", test="dropout", fd=False, edge="p = 0.1, 0.5, 0.8 with the grader's uniform numbers",
     fn=_dropout_given, ref=_dropout_ref(lambda u, p: u >= p, lambda p: 1.0 / (1.0 - p)),
     inputs=dict(x=X("B", "N"), u=X("B", "N", kind="uniform", low=0.0, high=1.0, grad=False, away=0.02,
                                    kinks=DROPOUT_PS)),
     dims=dict(B=6, N=8),
     alts=[(NOT_RESCALED, _dropout_ref(lambda u, p: u >= p, lambda p: 1.0)),
           (IGNORES_P, _dropout_ref(lambda u, p: u >= 0.5, lambda p: 1.0 / (1.0 - p))),
           (IGNORES_P + "; and the scale ignores p too", _dropout_ref(lambda u, p: u >= 0.5, lambda p: 2.0)),
           (KEEPS_BELOW_P, _dropout_ref(lambda u, p: u < p, lambda p: 1.0 / (1.0 - p))),
           (SCALED_BY_P, _dropout_ref(lambda u, p: u >= p, lambda p: 1.0 / p)),
           (MASK_NOT_IN_BACKWARD, _dropout_no_mask_in_backward)])


def _dropout_module(lib, x):
    lib.manual_seed(DROPOUT_SEED)
    m = lib.nn.Dropout(p=DROPOUT_MODULE_P)
    m.train()
    return m(x), m(x)  # two calls: two different masks from the same seeded stream


def _dropout_module_ref(lib, x):
    """torch: the masks minitorch's generator draws after ``manual_seed(DROPOUT_SEED)``
    (``numpy.random.default_rng(seed).random(shape, dtype)``, one draw per call)."""
    gen = np.random.default_rng(DROPOUT_SEED)
    dt = np.float32 if x.dtype == lib.float32 else np.float64
    p = DROPOUT_MODULE_P
    outs = []
    for _ in range(2):
        u = lib.from_numpy(gen.random(tuple(x.shape), dtype=dt))
        outs.append(x * (u >= p).to(x.dtype) / (1.0 - p))
    return tuple(outs)


case("dropout/module_seeded", test="dropout", fd=False, edge="nn.Dropout(p=0.3) after manual_seed, two calls",
     fn=_dropout_module, ref=_dropout_module_ref, inputs=dict(x=X("B", "T", "D")), dims=dict(B=2, T=3, D=5))


# --------------------------------------------------------------------------- optimizers
def _steps(make_opt, n_steps=3):
    def fn(lib, p, g):
        param = lib.nn.Parameter(p.detach().clone())
        opt = make_opt(lib, [param])
        for k in range(n_steps):
            param.grad = (g * (1.0 + 0.5 * k)).detach().clone()
            opt.step()
        return param.detach().clone()
    return fn


def _adam_no_bias_correction(lib, p, g, lr=0.01, b1=0.9, b2=0.999, eps=1e-8, n_steps=3):
    p, m, v = p.detach().clone(), p * 0, p * 0
    for k in range(n_steps):
        gk = g * (1.0 + 0.5 * k)
        m = b1 * m + (1 - b1) * gk
        v = b2 * v + (1 - b2) * gk * gk
        p = p - lr * m / (v.sqrt() + eps)
    return p


OPT_IN = dict(p=X("N", "M", grad=False), g=X("N", "M", grad=False))
NO_BIAS_CORR = "Adam without bias correction: divide m by (1 - beta1^t) and v by (1 - beta2^t)"
COUPLED = ("weight decay coupled into the gradient (that is Adam's L2 penalty); AdamW decays the "
           "parameters directly: p -= lr * weight_decay * p, before the Adam update")
case("optim/sgd", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.SGD(ps, lr=0.1)), inputs=OPT_IN, dims=dict(N=3, M=4))
case("optim/sgd_momentum_wd", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)),
     inputs=OPT_IN, dims=dict(N=3, M=4))
case("optim/sgd_nesterov", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
     inputs=OPT_IN, dims=dict(N=3, M=4))
case("optim/sgd_dampening_maximize", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=1.0, dampening=0.3, weight_decay=1.0,
                                             maximize=True)),
     inputs=OPT_IN, dims=dict(N=3, M=4))
case("optim/adam", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.Adam(ps, lr=0.01)), inputs=OPT_IN, dims=dict(N=3, M=4),
     alts=[(NO_BIAS_CORR, _adam_no_bias_correction)])
case("optim/adam_amsgrad_wd", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.Adam(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.05, amsgrad=True), 4),
     inputs=OPT_IN, dims=dict(N=2, M=3))
case("optim/adamw_amsgrad_maximize", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.AdamW(ps, lr=0.01, weight_decay=1.0, amsgrad=True, maximize=True), 4),
     inputs=OPT_IN, dims=dict(N=2, M=3))
case("optim/adamw", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.AdamW(ps, lr=0.01, weight_decay=0.1)), inputs=OPT_IN, dims=dict(N=3, M=4),
     alts=[(COUPLED, _steps(lambda lib, ps: lib.optim.Adam(ps, lr=0.01, weight_decay=0.1)))])


def _clip(max_norm, norm_type=2.0):
    def fn(lib, g1, g2):
        p1, p2 = lib.nn.Parameter(g1.detach() * 0), lib.nn.Parameter(g2.detach() * 0)
        p1.grad, p2.grad = g1.detach().clone(), g2.detach().clone()
        total = lib.nn.utils.clip_grad_norm_([p1, p2], max_norm, norm_type=norm_type)
        total = total if hasattr(total, "shape") else lib.tensor(float(total))
        return total.reshape(()).to(g1.dtype), p1.grad.clone(), p2.grad.clone()
    return fn


case("optim/clip_grad_norm", test="optimizers", backward=False, fd=False,
     fn=_clip(1.0), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))
case("optim/clip_grad_norm_no_clip", test="optimizers", backward=False, fd=False, edge="norm below max_norm",
     fn=_clip(100.0), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))

case("optim/clip_grad_norm_inf", test="optimizers", backward=False, fd=False, edge="norm_type inf",
     fn=_clip(0.5, math.inf), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))
case("optim/clip_grad_norm_p3", test="optimizers", backward=False, fd=False, edge="norm_type 3",
     fn=_clip(1.0, 3.0), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))

case("optim/clip_grad_norm_p1", test="optimizers", backward=False, fd=False, edge="norm_type 1",
     fn=_clip(1.0, 1.0), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))

def _clip_one(lib, g):
    p = lib.nn.Parameter(g.detach() * 0)
    p.grad = g.detach().clone()
    total = lib.nn.utils.clip_grad_norm_(p, 0.5, norm_type=3.0)  # a single tensor, not a list
    total = total if hasattr(total, "shape") else lib.tensor(float(total))
    return total.reshape(()).to(g.dtype), p.grad.clone()


case("optim/clip_grad_norm_one_tensor", test="optimizers", backward=False, fd=False, edge="one parameter",
     fn=_clip_one, inputs=dict(g=X("N", "M", grad=False)), dims=dict(N=2, M=3), outputs=("total_norm", "grad"))

def _clip_value(lib, g1, g2):
    p1, p2 = lib.nn.Parameter(g1.detach() * 0), lib.nn.Parameter(g2.detach() * 0)
    p1.grad, p2.grad = g1.detach().clone(), g2.detach().clone()
    lib.nn.utils.clip_grad_value_([p1, p2], 0.5)
    return p1.grad.clone(), p2.grad.clone()


case("optim/clip_grad_value", test="optimizers", backward=False, fd=False,
     fn=_clip_value, inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("grad1", "grad2"))
