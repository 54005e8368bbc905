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


# --------------------------------------------------------------------------- dropout (property checks)
def _dropout(lib, x, p=0.5):
    lib.manual_seed(1234)
    train = F(lib).dropout(x, p=p, training=True)
    return train, F(lib).dropout(x, p=p, training=False), F(lib).dropout(x, p=0.0, training=True)


def _check_dropout(got, arrays, dims, errors, p=0.5):
    """Inverted dropout: kept entries scaled by 1/(1-p), about p dropped, the gradient through the
    same mask, identity in eval mode and for p=0."""
    x, d = arrays["in/x"].astype(np.float64), arrays["dout/out0"].astype(np.float64)
    # eval mode and p=0 return x itself, so their upstream gradients reach x unchanged
    rest = arrays["dout/out1"].astype(np.float64) + arrays["dout/out2"].astype(np.float64)
    out, ev, p0, g = (got.get(k) for k in ("out/out0", "out/out1", "out/out2", "grad/x"))
    bwd_err = errors.get("forward") or errors.get("backward") or errors.get("grad/x")
    checks = []
    if out is None or out.shape != x.shape:
        msg = errors.get("forward") or f"training output has shape {None if out is None else list(out.shape)}"
        return [("training output", False, msg), ("gradient through the mask", False, msg),
                ("eval mode is the identity", False, msg), ("p=0 is the identity", False, msg)]
    keep = out != 0
    scale_ok = np.allclose(out[keep], x[keep] / (1 - p), rtol=1e-5, atol=1e-6)
    frac = 1 - keep.mean()
    n = x.size
    frac_ok = abs(frac - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9
    checks.append(("training output", bool(scale_ok and frac_ok and out.dtype == arrays["in/x"].dtype),
                   ("kept entries must be x / (1 - p)" if not scale_ok else
                    f"dropped fraction {frac:.3f}, expected about p = {p}" if not frac_ok else
                    f"dtype {out.dtype}, expected {arrays['in/x'].dtype}")))
    if g is None or g.shape != x.shape:
        checks.append(("gradient through the mask", False, bwd_err or "no gradient"))
    else:
        ok = np.allclose(g, np.where(keep, d / (1 - p), 0.0) + rest, rtol=1e-5, atol=1e-5)
        checks.append(("gradient through the mask", bool(ok),
                       "dx must be dout / (1 - p) where the entry was kept and 0 where it was dropped "
                       "(the same mask as the forward)"))
    trained = checks[0][1]
    for name, v in (("eval mode is the identity", ev), ("p=0 is the identity", p0)):
        ok = v is not None and v.shape == x.shape and np.allclose(v, x, rtol=1e-6, atol=1e-7)
        # counted only together with a working training mode (these paths are given code)
        checks.append((name, bool(ok and trained), "expected the input unchanged" if not ok else
                       "counts once the training mode works"))
    return checks


case("dropout/train_eval", test="dropout", fn=_dropout, fd=False,
     inputs=dict(x=X("B", "N", kind="positive")), dims=dict(B=40, N=50), check=_check_dropout)


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
case("optim/adam", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.Adam(ps, lr=0.01)), inputs=OPT_IN, dims=dict(N=3, M=4),
     alts=[(NO_BIAS_CORR, _adam_no_bias_correction)])
case("optim/adam_amsgrad_wd", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.Adam(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.05, amsgrad=True), 4),
     inputs=OPT_IN, dims=dict(N=2, M=3))
case("optim/adamw", test="optimizers", backward=False, fd=False,
     fn=_steps(lambda lib, ps: lib.optim.AdamW(ps, lr=0.01, weight_decay=0.1)), inputs=OPT_IN, dims=dict(N=3, M=4),
     alts=[(COUPLED, _steps(lambda lib, ps: lib.optim.Adam(ps, lr=0.01, weight_decay=0.1)))])


def _clip(max_norm):
    def fn(lib, g1, g2):
        p1, p2 = lib.nn.Parameter(g1.detach() * 0), lib.nn.Parameter(g2.detach() * 0)
        p1.grad, p2.grad = g1.detach().clone(), g2.detach().clone()
        total = lib.nn.utils.clip_grad_norm_([p1, p2], max_norm)
        total = total if hasattr(total, "shape") else lib.tensor(float(total))
        return total.reshape(()).to(g1.dtype), p1.grad.clone(), p2.grad.clone()
    return fn


case("optim/clip_grad_norm", test="optimizers", backward=False, fd=False,
     fn=_clip(1.0), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))
case("optim/clip_grad_norm_no_clip", test="optimizers", backward=False, fd=False, edge="norm below max_norm",
     fn=_clip(100.0), inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("total_norm", "grad1", "grad2"))


def _clip_value(lib, g1, g2):
    p1, p2 = lib.nn.Parameter(g1.detach() * 0), lib.nn.Parameter(g2.detach() * 0)
    p1.grad, p2.grad = g1.detach().clone(), g2.detach().clone()
    lib.nn.utils.clip_grad_value_([p1, p2], 0.5)
    return p1.grad.clone(), p2.grad.clone()


case("optim/clip_grad_value", test="optimizers", backward=False, fd=False,
     fn=_clip_value, inputs=dict(g1=X("N", grad=False), g2=X("N", "M", grad=False)), dims=dict(N=3, M=2),
     outputs=("grad1", "grad2"))
