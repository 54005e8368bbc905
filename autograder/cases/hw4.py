"""hw4: the attention kernel (F.scaled_dot_product_attention), the array-level ``Attention`` class,
nn.MultiheadAttention and the GPT decoder block (nn.TransformerDecoderBlock)."""
import math

import numpy as np

from ..compare import UPSTREAM_IGNORED
from ..spec import Mask, Registry, X, load

REGISTRY = Registry("hw4")
case = REGISTRY.case

NO_SCALE = "missing 1/sqrt(d_k): the scores are q k^T / sqrt(d_k)"
WRONG_AXIS = "softmax over the wrong axis: each query's weights over the keys (the last axis) sum to 1"
MASK_IGNORED = "mask not applied: masked scores must be set to -inf before the softmax"
MASK_IGNORED_BWD = ("mask ignored in backward: the forward is right, but the gradient flows through masked "
                    "positions (their softmax weights are 0, so their score gradients must be 0)")
NOT_CAUSAL = "causal mask not applied: query i may only attend to keys j <= i"


def F(lib):
    return lib.nn.functional


def _manual(lib, q, k, v, mask=None, scale=None, axis=-1):
    """Attention written out in torch ops; fully masked rows give zero weights (and output)."""
    s = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
        any_row = mask.any(dim=-1, keepdim=True)
        s = s.masked_fill(~any_row, 0.0)
        w = s.softmax(dim=axis).masked_fill(~any_row, 0.0)
    else:
        w = s.softmax(dim=axis)
    return w @ v


SDPA_SCALES = {"sqrt(d_k)": lambda d: math.sqrt(d["D"])}
QKV = dict(q=X("B", "H", "T", "D"), k=X("B", "H", "S", "D"), v=X("B", "H", "S", "E"))
case("sdpa/basic", test="attention_kernel",
     fn=lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v),
     inputs=QKV, dims=dict(B=2, H=2, T=3, S=3, D=4, E=2), scales=SDPA_SCALES,
     alts=[(NO_SCALE, lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, scale=1.0)),
           (WRONG_AXIS, lambda lib, q, k, v: _manual(lib, q, k, v, axis=-2))])
case("sdpa/bool_mask_full_rows", test="attention_kernel", edge="rows with every key masked give 0, not NaN",
     fn=lambda lib, q, k, v, m: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
     ref=lambda lib, q, k, v, m: _manual(lib, q, k, v, mask=m),
     inputs=dict(QKV, m=Mask("T", "S", p=0.6, full_rows=(1,), fill=False)),
     dims=dict(B=1, H=2, T=4, S=3, D=3, E=2), scales=SDPA_SCALES,
     alts=[(MASK_IGNORED, lambda lib, q, k, v, m: _manual(lib, q, k, v)),
           (MASK_IGNORED_BWD, lambda lib, q, k, v, m: _manual(lib, q, k, v)
            + (_manual(lib, q, k, v, mask=m) - _manual(lib, q, k, v)).detach())])
case("sdpa/causal", test="attention_kernel",
     fn=lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, is_causal=True),
     inputs=QKV, dims=dict(B=2, H=1, T=4, S=4, D=3, E=3), fixed=frozenset({"S", "T"}), scales=SDPA_SCALES,
     alts=[(NOT_CAUSAL, lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v))])
case("sdpa/cross_float_mask", test="attention_kernel", edge="T_q != T_k, an additive float mask",
     fn=lambda lib, q, k, v, m: F(lib).scaled_dot_product_attention(q, k, v, attn_mask=m),
     inputs=dict(QKV, m=X("T", "S", grad=False)), dims=dict(B=2, H=1, T=2, S=5, D=3, E=2), scales=SDPA_SCALES)
case("sdpa/length1_batch1", test="attention_kernel", edge="batch 1, length 1",
     fn=lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, scale=0.3),
     inputs=QKV, dims=dict(B=1, H=1, T=1, S=1, D=2, E=3))

case("sdpa/large_scores", test="attention_kernel", fd=False, edge="scores up to ~100 (subtract the row max)",
     fn=lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q * 40.0, k, v),
     inputs=QKV, dims=dict(B=1, H=2, T=3, S=4, D=4, E=2))


def _causal_and_bool(lib, q, k, v, m):
    """The kernel's causal mask combined with a boolean mask (through the autograd Function: F refuses both)."""
    return lib.autograd.functions.attention.ScaledDotProductAttention.apply(q, k, v, mask=m, is_causal=True)


def _causal_and_bool_ref(lib, q, k, v, m):
    t, s = m.shape[-2:]
    return _manual(lib, q, k, v, mask=m & lib.ones(t, s, dtype=lib.bool).tril())


case("sdpa/causal_and_bool_mask", test="attention_kernel", edge="is_causal together with a boolean mask",
     fn=_causal_and_bool, ref=_causal_and_bool_ref,
     inputs=dict(QKV, m=Mask("T", "S", p=0.7)), dims=dict(B=1, H=2, T=4, S=4, D=3, E=2),
     fixed=frozenset({"T", "S"}))

# Dropout on the attention weights cannot be compared with torch value by value (other random numbers), so
# it is a property check: value = [v | I] makes the output carry the dropped weights themselves,
# out = [D v | D] with D = softmax(q k^T / sqrt(d)) * keep / (1 - p); the check recomputes the softmax and
# every gradient from the inputs and the keep mask the submission used (D != 0).
SDPA_DROPOUT_P = 0.25


def _sdpa_dropout(lib, q, k, v):
    b, h, s = k.shape[0], k.shape[1], k.shape[2]
    eye = lib.eye(s, dtype=v.dtype).reshape(1, 1, s, s).expand(b, h, s, s)
    return F(lib).scaled_dot_product_attention(q, k, lib.cat([v, eye], dim=-1), dropout_p=SDPA_DROPOUT_P)


def _close(got, want, dtype):
    tol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-9
    return got is not None and got.shape == want.shape and np.allclose(got, want, rtol=tol, atol=tol)


def _check_sdpa_dropout(got, arrays, dims, errors, p=SDPA_DROPOUT_P):
    q, k, v = (arrays[f"in/{n}"].astype(np.float64) for n in ("q", "k", "v"))
    dtype = arrays["in/q"].dtype
    dout = arrays["dout/out"].astype(np.float64)
    e = v.shape[-1]
    out = got.get("out/out")
    fwd_err = errors.get("forward")
    names = ("dropped weights scaled by 1/(1-p)", "output = dropped weights @ v", "dL/dq", "dL/dk", "dL/dv")
    if out is None or out.shape != q.shape[:-1] + (e + k.shape[-2],):
        msg = fwd_err or f"output has shape {None if out is None else list(out.shape)}"
        return [(n, False, msg) for n in names]
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    dropped = out[..., e:].astype(np.float64)
    keep = dropped != 0
    frac = 1 - keep.mean()
    frac_ok = abs(frac - p) <= 4 * math.sqrt(p * (1 - p) / keep.size)
    scaled = a * keep / (1 - p)
    checks = [(names[0], bool(frac_ok and _close(dropped, scaled, dtype)),
               f"dropped fraction {frac:.3f}, expected about p = {p}" if not frac_ok else
               "kept weights must be softmax / (1 - p) and dropped ones 0 (inverted dropout)")]
    checks.append((names[1], _close(out[..., :e].astype(np.float64), scaled @ v, dtype),
                   "the output must be the dropped, rescaled weights times v"))
    vv = np.concatenate([v, np.broadcast_to(np.eye(k.shape[-2]), v.shape[:-1] + (k.shape[-2],))], axis=-1)
    dv = (np.swapaxes(scaled, -1, -2) @ dout)[..., :e]
    dw = (dout @ np.swapaxes(vv, -1, -2)) * keep / (1 - p)
    ds = a * (dw - (dw * a).sum(-1, keepdims=True))
    dq = ds @ k / math.sqrt(q.shape[-1])
    dk = np.swapaxes(ds, -1, -2) @ q / math.sqrt(q.shape[-1])
    bwd_err = fwd_err or errors.get("backward")
    for name, want in (("q", dq), ("k", dk), ("v", dv)):
        g = got.get(f"grad/{name}")
        err = bwd_err or errors.get(f"grad/{name}")
        checks.append((f"dL/d{name}", _close(g, want, dtype),
                       err or "the gradient must go through the same keep mask, scaled by 1/(1-p), as the forward"))
    return checks


case("sdpa/dropout", test="attention_kernel", fd=False, edge="dropout_p > 0 (property check)",
     fn=_sdpa_dropout, inputs=QKV, dims=dict(B=2, H=2, T=8, S=8, D=4, E=3), check=_check_sdpa_dropout)

# --------------------------------------------------------------------------- the Attention class (arrays)
ATT_IN = {"X": X("B", "T", "D"), "W_k": X("D", "K"), "W_q": X("D", "K"), "W_v": X("D", "V"),
          "dLdXnew": X("B", "T", "V", grad=False)}


# every array the writeup (§2.1, §2.2) says the autograder reads
ATT_FORWARD = ("K", "Q", "V", "A_w", "A_sig")
ATT_BACKWARD = ("dLdA_sig", "dLdV", "dLdA_w", "dLdQ", "dLdK", "dLdWq", "dLdWk", "dLdWv")


def _snapshot(v):
    try:
        return np.array(v, copy=True)
    except Exception:  # noqa: BLE001 - not array-like: compared (and reported) as it is
        return v


def _attention_class(causal):
    def fn(lib, X_, W_k, W_q, W_v, dLdXnew):
        a = lib.nn.attention.Attention(W_k, W_q, W_v, causal=causal)
        res = {"X_new": a.forward(X_)}
        # copies: a backward that overwrites a forward attribute must not hide a wrong forward
        res.update({n: _snapshot(getattr(a, n)) for n in ATT_FORWARD if getattr(a, n, None) is not None})
        res["dLdX"] = a.backward(dLdXnew)
        res.update({n: getattr(a, n) for n in ATT_BACKWARD if getattr(a, n, None) is not None})
        return res
    return fn


def _attention_ref(causal, scale=None, axis=-1, batch_mean=False, ones=False):
    def ref(torch, X_, W_k, W_q, W_v, dLdXnew):
        X_, W_k, W_q, W_v = (torch.tensor(a, requires_grad=True) for a in (X_, W_k, W_q, W_v))
        Q, K, V = X_ @ W_q, X_ @ W_k, X_ @ W_v
        A_w = Q @ K.transpose(1, 2)
        s = A_w * (1.0 / math.sqrt(W_k.shape[1]) if scale is None else scale)
        if causal:
            t = s.shape[-1]
            s = s.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        A_sig = s.softmax(dim=axis)
        X_new = A_sig @ V
        for t_ in (Q, K, V, A_w, A_sig):
            t_.retain_grad()
        X_new.backward(torch.ones_like(X_new) if ones else torch.tensor(dLdXnew))
        div = X_.shape[0] if batch_mean else 1
        return {"X_new": X_new.detach(), "K": K.detach(), "Q": Q.detach(), "V": V.detach(), "A_w": A_w.detach(),
                "A_sig": A_sig.detach(), "dLdX": X_.grad, "dLdA_sig": A_sig.grad, "dLdV": V.grad,
                "dLdA_w": A_w.grad, "dLdQ": Q.grad, "dLdK": K.grad, "dLdWq": W_q.grad / div,
                "dLdWk": W_k.grad / div, "dLdWv": W_v.grad / div}
    return ref


ATT_SCALES = {"the batch size": "B", "sqrt(d_k)": lambda d: math.sqrt(d["K"])}
case("attention_class/self", test="attention_class", arrays=True, fd=False,
     fn=_attention_class(False), ref=_attention_ref(False), inputs=ATT_IN, dims=dict(B=2, T=3, D=4, K=3, V=2),
     scales=ATT_SCALES,
     alts=[(NO_SCALE, _attention_ref(False, scale=1.0)), (WRONG_AXIS, _attention_ref(False, axis=-2)),
           (UPSTREAM_IGNORED, _attention_ref(False, ones=True))])
case("attention_class/causal", test="attention_class", arrays=True, fd=False,
     fn=_attention_class(True), ref=_attention_ref(True), inputs=ATT_IN, dims=dict(B=3, T=4, D=3, K=2, V=3),
     scales=ATT_SCALES,
     alts=[(NOT_CAUSAL, _attention_ref(False)), (NO_SCALE, _attention_ref(True, scale=1.0)),
           (UPSTREAM_IGNORED, _attention_ref(True, ones=True))])
case("attention_class/batch1_length1", test="attention_class", arrays=True, fd=False, edge="batch 1, length 1",
     fn=_attention_class(True), ref=_attention_ref(True), inputs=ATT_IN, dims=dict(B=1, T=1, D=3, K=2, V=2))


# --------------------------------------------------------------------------- nn.MultiheadAttention
MHA_P = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")


def _mha_inputs(E="E"):
    return {"x": X("B", "T", E), "in_proj_weight": X("3E", E, scale=0.5), "in_proj_bias": X("3E", scale=0.5),
            "out_proj.weight": X(E, E, scale=0.5), "out_proj.bias": X(E, scale=0.5)}


def _mha(heads, masked=None):
    def fn(lib, x, *rest):
        if masked:
            mask, params = rest[0], rest[1:]
        else:
            mask, params = None, rest
        m = lib.nn.MultiheadAttention(x.shape[-1], heads, batch_first=True, dtype=x.dtype)
        leaves = load(lib, m, dict(zip(MHA_P, params)))
        kw = {}
        if masked == "padding":
            kw["key_padding_mask"] = mask
        elif masked == "causal":
            kw["attn_mask"] = mask
        out, w = m(x, x, x, **kw)
        return (out, w), leaves
    return fn


case("mha/self", test="multihead_attention",
     fn=_mha(2), inputs=_mha_inputs(), dims={"B": 2, "T": 3, "E": 4, "3E": 12}, fixed=frozenset({"E", "3E"}))
case("mha/key_padding", test="multihead_attention",
     fn=_mha(2, "padding"),
     inputs=dict({"x": X("B", "T", "E"), "pad": Mask("B", "T", p=0.4, clear_first=True)},
                 **{k: v for k, v in _mha_inputs().items() if k != "x"}),
     dims={"B": 2, "T": 4, "E": 4, "3E": 12}, fixed=frozenset({"E", "3E"}))
case("mha/causal_batch1", test="multihead_attention", edge="batch 1, a boolean attn_mask",
     fn=_mha(1, "causal"),
     inputs=dict({"x": X(1, "T", "E"), "upper": Mask("T", "T", upper=True)},
                 **{k: v for k, v in _mha_inputs().items() if k != "x"}),
     dims={"T": 3, "E": 4, "3E": 12}, fixed=frozenset({"E", "3E"}))


# --------------------------------------------------------------------------- decoder block (pre-norm GPT)
BLOCK_P = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
           "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
           "mlp.c_proj.weight", "mlp.c_proj.bias")


def _block_inputs():
    d = {"x": X("B", "T", "E")}
    shapes = {"ln_1.weight": ("E",), "ln_1.bias": ("E",), "attn.c_attn.weight": ("3E", "E"),
              "attn.c_attn.bias": ("3E",), "attn.c_proj.weight": ("E", "E"), "attn.c_proj.bias": ("E",),
              "ln_2.weight": ("E",), "ln_2.bias": ("E",), "mlp.c_fc.weight": ("F", "E"), "mlp.c_fc.bias": ("F",),
              "mlp.c_proj.weight": ("E", "F"), "mlp.c_proj.bias": ("E",)}
    for name in BLOCK_P:
        d[name] = X(*shapes[name], scale=0.5)
    return d


def _block(heads):
    def fn(lib, x, *params):
        e = x.shape[-1]
        m = lib.nn.TransformerDecoderBlock(e, heads, dim_feedforward=params[8].shape[0], dtype=x.dtype)
        leaves = load(lib, m, dict(zip(BLOCK_P, params)))
        return m(x), leaves
    return fn


def _block_ref(heads):
    def ref(torch, x, l1w, l1b, caw, cab, cpw, cpb, l2w, l2b, fw, fb, pw, pb):
        f = torch.nn.functional
        b, t, e = x.shape
        h = f.layer_norm(x, (e,), l1w, l1b, 1e-5)
        qkv = f.linear(h, caw, cab).reshape(b, t, 3, heads, e // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        y = f.scaled_dot_product_attention(q, k, v, is_causal=t > 1).transpose(1, 2).reshape(b, t, e)
        x = x + f.linear(y, cpw, cpb)
        h = f.layer_norm(x, (e,), l2w, l2b, 1e-5)
        return x + f.linear(f.gelu(f.linear(h, fw, fb)), pw, pb)
    return ref


case("decoder_block/pre_norm", test="decoder_block",
     fn=_block(2), ref=_block_ref(2), inputs=_block_inputs(),
     dims={"B": 2, "T": 3, "E": 4, "3E": 12, "F": 8}, fixed=frozenset({"E", "3E", "F"}))
case("decoder_block/batch1_length1", test="decoder_block", edge="batch 1, length 1",
     fn=_block(1), ref=_block_ref(1), inputs=_block_inputs(),
     dims={"B": 1, "T": 1, "E": 4, "3E": 12, "F": 6}, fixed=frozenset({"E", "3E", "F"}))


# --------------------------------------------------------------------------- flash attention (bonus, §3)
# F.flash_attention runs the student's tiled kernel (kernels/flash_attention.py) with fixed tile sizes that do
# not divide the lengths, so every case has several query and key blocks, a shorter last block and, when causal,
# key blocks that are skipped, fully visible and cut by the diagonal. The reference is torch's plain attention.
FLASH_BQ, FLASH_BK = 3, 2
FLASH_SUM_NOT_RESCALED = ("the running sum is not rescaled: when a key block raises a row's running max from m to "
                          "m', the sum l of exp(s - m) must be multiplied by exp(m - m') before the block's terms "
                          "are added (the output matches the kernel that forgets this)")
FLASH_ACC_NOT_RESCALED = ("the running output is not rescaled: when a key block raises a row's running max from m "
                          "to m', the accumulated sum of exp(s - m) v must be multiplied by exp(m - m') too")
FLASH_NOT_NORMALISED = ("the output is not divided by the running sum l: after the last key block, "
                        "out = acc / l (the softmax's denominator)")
def _flash(causal):
    def fn(lib, q, k, v):
        return F(lib).flash_attention(q, k, v, is_causal=causal, block_q=FLASH_BQ, block_k=FLASH_BK)
    return fn


def _plain(causal):
    def ref(lib, q, k, v):
        return F(lib).scaled_dot_product_attention(q, k, v, is_causal=causal)
    return ref


FLASH_DIAGONAL_UNMASKED = ("the tiles cut by the diagonal are not masked: where causal_tile(...) is not None, the "
                           "scores of keys j > i must be set to -inf before the max and the exp")
FLASH_NO_DELTA = ("dS is missing the row term: dS = P * (dO V^T - delta) * scale with delta = rowsum(dO * O) for each "
                  "query (the softmax backward's rowsum(dA * A), see §3.2)")


def _scores(lib, q, k, causal):
    s = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        s = s.masked_fill(lib.ones(s.shape[-2], s.shape[-1], dtype=lib.bool).triu(1), float("-inf"))
    return s


def _tile_running_max(lib, s):
    """For each key k of each row: the max of the row's scores over the key tiles up to and including k's own
    (the running max m at the moment a tiled kernel adds k's term)."""
    pieces, run = [], None
    for j0 in range(0, s.shape[-1], FLASH_BK):
        j1 = min(j0 + FLASH_BK, s.shape[-1])
        block_max = s[..., j0:j1].amax(dim=-1, keepdim=True)
        run = block_max if run is None else lib.maximum(run, block_max)
        pieces.append(run.expand(*run.shape[:-1], j1 - j0))
    return lib.cat(pieces, dim=-1)


def _online_mistake(causal, bug):
    """What a tiled kernel with one known mistake returns, in closed form (whole score matrices, not tiles): a
    term e^(s_k - m) taken relative to the running max m of the tile that added it ("local") instead of the row's
    final max ("final") in the running sum ("sum") or in the running output ("acc"), or the output left
    undivided ("norm")."""
    def fn(lib, q, k, v):
        s = _scores(lib, q, k, causal)
        final = (s - s.amax(dim=-1, keepdim=True)).exp()
        local = (s - _tile_running_max(lib, s)).exp()
        if bug == "sum":
            return (final @ v) / local.sum(dim=-1, keepdim=True)
        if bug == "acc":
            return (local @ v) / final.sum(dim=-1, keepdim=True)
        return final @ v
    return fn


def _diagonal_tiles_unmasked(lib, q, k, v):
    """Causal attention where only the key tiles after each query tile's last query are left out (as the given
    key_blocks does) and the tiles the diagonal cuts are not masked."""
    t_q, t_k = q.shape[-2], k.shape[-2]
    seen = [[(j // FLASH_BK) * FLASH_BK <= min((i // FLASH_BQ + 1) * FLASH_BQ, t_q) - 1 for j in range(t_k)]
            for i in range(t_q)]
    return F(lib).scaled_dot_product_attention(q, k, v, attn_mask=lib.tensor(seen, dtype=lib.bool))


def _no_delta(causal):
    """The right output, with the gradients of a backward whose dS lacks the row term delta."""
    def fn(lib, q, k, v):
        out = F(lib).scaled_dot_product_attention(q, k, v, is_causal=causal)
        s = _scores(lib, q, k, causal)
        m = s.amax(dim=-1, keepdim=True).detach()
        lse = (m + (s - m).exp().sum(dim=-1, keepdim=True).log()).detach()
        pv = (s - lse).exp() @ v  # its gradient: dS = P * (dO V^T), without - delta
        return pv + (out - pv).detach()
    return fn


FLASH_ALTS = [(FLASH_SUM_NOT_RESCALED, _online_mistake(False, "sum")),
              (FLASH_ACC_NOT_RESCALED, _online_mistake(False, "acc")),
              (FLASH_NOT_NORMALISED, _online_mistake(False, "norm")), (FLASH_NO_DELTA, _no_delta(False)),
              (NO_SCALE, lambda lib, q, k, v: F(lib).scaled_dot_product_attention(q, k, v, scale=1.0))]
FLASH_CAUSAL_ALTS = [(FLASH_SUM_NOT_RESCALED, _online_mistake(True, "sum")),
                     (FLASH_ACC_NOT_RESCALED, _online_mistake(True, "acc")),
                     (FLASH_NOT_NORMALISED, _online_mistake(True, "norm")), (FLASH_NO_DELTA, _no_delta(True)),
                     (FLASH_DIAGONAL_UNMASKED, _diagonal_tiles_unmasked), (NOT_CAUSAL, _plain(False))]
case("flash/self", test="flash_attention", edge="several query and key tiles, the last ones shorter",
     fn=_flash(False), ref=_plain(False), inputs=QKV, dims=dict(B=2, H=2, T=7, S=7, D=3, E=2),
     scales=SDPA_SCALES, alts=FLASH_ALTS)
case("flash/causal", test="flash_attention", edge="causal: key tiles skipped, fully visible and cut by the diagonal",
     fn=_flash(True), ref=_plain(True), inputs=QKV, dims=dict(B=1, H=2, T=8, S=8, D=4, E=3),
     scales=SDPA_SCALES, alts=FLASH_CAUSAL_ALTS)
case("flash/cross", test="flash_attention", edge="T_q != T_k",
     fn=_flash(False), ref=_plain(False), inputs=QKV, dims=dict(B=2, H=1, T=4, S=9, D=3, E=2),
     scales=SDPA_SCALES, alts=FLASH_ALTS)
case("flash/causal_cross", test="flash_attention", edge="causal with T_q > T_k (top-left aligned, as torch)",
     fn=_flash(True), ref=_plain(True), inputs=QKV, dims=dict(B=1, H=1, T=7, S=5, D=2, E=3),
     scales=SDPA_SCALES, alts=FLASH_CAUSAL_ALTS)
case("flash/large_scores", test="flash_attention", fd=False,
     edge="scores up to ~100: exp needs the running max subtracted",
     fn=lambda lib, q, k, v: _flash(True)(lib, q * 40.0, k, v),
     ref=lambda lib, q, k, v: _plain(True)(lib, q * 40.0, k, v), inputs=QKV, dims=dict(B=1, H=2, T=6, S=6, D=4, E=2))
