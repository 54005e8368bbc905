"""The standalone hw4 ``Attention`` class (plain arrays) and ``MultiheadAttention``."""
import os

import numpy as np
import pytest

import minitorch
from minitorch.nn.attention import Attention
from minitorch.testing import check_kernel_grads
from tests.helpers import TOL, mt, randn

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "attention_hw4.npz")


# ----------------------------------------------------------------------------- the Attention class
def _attention_pair(causal):
    """The class as a kernel pair over (X, W_k, W_q, W_v), for check_kernel_grads."""

    def forward(X, Wk, Wq, Wv):
        att = Attention(Wk, Wq, Wv, causal=causal)
        return att.forward(X), att

    def backward(dout, att):
        dX = att.backward(dout)
        return dX, att.dLdWk, att.dLdWq, att.dLdWv

    return forward, backward


def _weights(d, d_k, d_v, seed=0, dtype=np.float64):
    return (randn((d, d_k), dtype, seed) * 0.5, randn((d, d_k), dtype, seed + 1) * 0.5,
            randn((d, d_v), dtype, seed + 2) * 0.5)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("b,t,d,d_k,d_v", [(2, 4, 3, 5, 2), (1, 1, 4, 3, 3), (3, 5, 2, 2, 4)])
def test_attention_class_gradcheck(causal, b, t, d, d_k, d_v):
    fwd, bwd = _attention_pair(causal)
    X = randn((b, t, d), seed=7)
    err = check_kernel_grads(fwd, bwd, [X, *_weights(d, d_k, d_v)])
    assert err < 1e-6


def _torch_attention(X, Wk, Wq, Wv, causal, dout):
    """The same computation in torch autograd, with grads of every intermediate."""
    torch = pytest.importorskip("torch")
    t = {name: torch.from_numpy(a.copy()).requires_grad_(True) for name, a in
         (("X", X), ("Wk", Wk), ("Wq", Wq), ("Wv", Wv))}
    K, Q, V = t["X"] @ t["Wk"], t["X"] @ t["Wq"], t["X"] @ t["Wv"]
    A_w = Q @ K.transpose(1, 2)
    scores = A_w / np.sqrt(Wk.shape[1])
    if causal:
        T = X.shape[1]
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    A_sig = scores.softmax(-1)
    out = A_sig @ V
    for inter in (K, Q, V, A_w, A_sig):
        inter.retain_grad()
    out.backward(torch.from_numpy(dout))
    return dict(X_new=out, K=K, Q=Q, V=V, A_w=A_w, A_sig=A_sig, dLdX=t["X"].grad, dLdWk=t["Wk"].grad,
                dLdWq=t["Wq"].grad, dLdWv=t["Wv"].grad, dLdK=K.grad, dLdQ=Q.grad, dLdV=V.grad, dLdA_w=A_w.grad,
                dLdA_sig=A_sig.grad)


def _run_ours(X, Wk, Wq, Wv, causal, dout):
    att = Attention(Wk, Wq, Wv, causal=causal)
    got = dict(X_new=att.forward(X))
    got["dLdX"] = att.backward(dout)
    for name in ("K", "Q", "V", "A_w", "A_sig", "dLdWk", "dLdWq", "dLdWv", "dLdK", "dLdQ", "dLdV", "dLdA_w",
                 "dLdA_sig"):
        got[name] = getattr(att, name)
    return got


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_class_matches_torch_autograd(dtype, causal):
    pytest.importorskip("torch")
    X = randn((3, 5, 4), dtype, seed=3)
    W = _weights(4, 6, 2, seed=4, dtype=dtype)
    dout = randn((3, 5, 2), dtype, seed=5)
    ref = _torch_attention(X, *W, causal, dout)
    got = _run_ours(X, *W, causal, dout)
    tol = TOL[np.dtype(dtype)]
    for name, expected in ref.items():
        assert got[name].dtype == dtype, name
        np.testing.assert_allclose(got[name], expected.detach().numpy(), **tol, err_msg=name)


def make_fixture(path=FIXTURE):
    """Regenerate the stored fixture with torch (python -m tests.nn.test_attention)."""
    rng = np.random.default_rng(2024)
    data = {}
    for causal in (0, 1):
        X = rng.standard_normal((2, 6, 5))
        W = [rng.standard_normal(s) * 0.4 for s in ((5, 4), (5, 4), (5, 3))]
        dout = rng.standard_normal((2, 6, 3))
        ref = _torch_attention(X, *W, bool(causal), dout)
        pre = f"causal{causal}_"
        for name, a in (("X", X), ("Wk", W[0]), ("Wq", W[1]), ("Wv", W[2]), ("dLdXnew", dout)):
            data[pre + name] = a
        for name, t in ref.items():
            data[pre + name] = t.detach().numpy()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez_compressed(path, **data)


@pytest.mark.parametrize("causal", [0, 1])
def test_attention_class_matches_stored_torch_fixture(causal):
    """The fixture was made by torch autograd (make_fixture); this test needs no torch."""
    fx = np.load(FIXTURE)
    pre = f"causal{causal}_"
    got = _run_ours(fx[pre + "X"], fx[pre + "Wk"], fx[pre + "Wq"], fx[pre + "Wv"], bool(causal), fx[pre + "dLdXnew"])
    names = [k[len(pre):] for k in fx.files if k.startswith(pre) and k[len(pre):] in got]
    assert len(names) == 15
    for name in names:
        np.testing.assert_allclose(got[name], fx[pre + name], rtol=1e-9, atol=1e-11, err_msg=name)


def test_attention_class_causal_weights_are_lower_triangular():
    att = Attention(*_weights(3, 4, 2), causal=True)
    att.forward(randn((2, 5, 3), seed=1))
    assert np.all(np.triu(att.A_sig, k=1) == 0)
    np.testing.assert_allclose(att.A_sig.sum(-1), 1.0)
    upper = np.triu_indices(5, k=1)
    assert att.A_w.shape == (2, 5, 5) and np.all(att.A_w[:, upper[0], upper[1]] != 0), "A_w is stored unmasked"


def test_attention_class_errors():
    Wk, Wq, Wv = _weights(3, 4, 2)
    with pytest.raises(ValueError, match=r"Attention: expected weights_keys .* \(3, 4\), \(3, 5\)"):
        Attention(Wk, randn((3, 5)), Wv)
    att = Attention(Wk, Wq, Wv)
    with pytest.raises(ValueError, match=r"expected X of shape \(B, T, 3\), got \(2, 5, 4\)"):
        att.forward(randn((2, 5, 4)))
    with pytest.raises(RuntimeError, match="before forward"):
        att.backward(randn((2, 5, 2)))
    att.forward(randn((2, 5, 3)))
    with pytest.raises(ValueError, match=r"expected dLdXnew of shape \(2, 5, 2\), got \(2, 5, 3\)"):
        att.backward(randn((2, 5, 3)))


def test_attention_class_float32_stays_float32():
    att = Attention(*_weights(3, 4, 2, dtype=np.float32), causal=True)
    out = att.forward(randn((2, 5, 3), np.float32))
    dX = att.backward(np.ones_like(out))
    assert out.dtype == dX.dtype == att.dLdWq.dtype == att.dLdA_w.dtype == np.float32


if __name__ == "__main__":
    make_fixture()
    print("wrote", FIXTURE, minitorch.__version__)


# ----------------------------------------------------------------------------- F.scaled_dot_product_attention
def test_functional_sdpa_matches_kernel_and_validates():
    from minitorch.nn import functional as F

    q = minitorch.tensor(randn((2, 3, 4, 5)))
    k = minitorch.tensor(randn((2, 3, 6, 5), seed=1))
    v = minitorch.tensor(randn((2, 3, 6, 2), seed=2))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    from minitorch.kernels.attention import scaled_dot_product_attention_forward

    np.testing.assert_array_equal(out.numpy(), scaled_dot_product_attention_forward(q.data, k.data, v.data,
                                                                                    is_causal=True)[0])
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention\(\): query .* same last dim.*\(2, 3, 6, 4\)"):
        F.scaled_dot_product_attention(q, minitorch.tensor(randn((2, 3, 6, 4))), v)
    with pytest.raises(ValueError, match=r"same seq_len S, got shapes \(2, 3, 6, 5\) and \(2, 3, 5, 2\)"):
        F.scaled_dot_product_attention(q, k, minitorch.tensor(randn((2, 3, 5, 2))))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 5\) can't be broadcast .* \(2, 3, 4, 6\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=minitorch.ones(4, 5, dtype="bool"))
    with pytest.raises(TypeError, match=r"attn_mask must be bool .* got dtype int64"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=minitorch.ones(4, 6, dtype="int64"))
    with pytest.raises(TypeError, match=r"same dtype as 'query' \(float64\), got float32"):
        F.scaled_dot_product_attention(q, k.to("float32"), v)
    with pytest.raises(ValueError, match=r"batch dims of query \(2, 3, 4, 5\), key \(4, 6, 5\)"):
        F.scaled_dot_product_attention(q, minitorch.tensor(randn((4, 6, 5))), minitorch.tensor(randn((4, 6, 2))))
    with pytest.raises(ValueError, match="dropout_p must be in"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    with pytest.raises(ValueError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=minitorch.ones(4, 6, dtype="bool"), is_causal=True)


# ----------------------------------------------------------------------------- MultiheadAttention
MHA_CASES = {
    "self_batch_first": dict(kw=dict(batch_first=True), shapes=((2, 5, 8),) * 3, self_attn=True),
    "self_seq_first": dict(kw=dict(), shapes=((5, 2, 8),) * 3, self_attn=True),
    "cross_kv_shared": dict(kw=dict(batch_first=True), shapes=((2, 3, 8), (2, 6, 8), (2, 6, 8)), kv_same=True),
    "separate_qkv": dict(kw=dict(batch_first=True), shapes=((1, 3, 8), (1, 4, 8), (1, 4, 8))),
    "kdim_vdim": dict(kw=dict(batch_first=True, kdim=5, vdim=3), shapes=((2, 3, 8), (2, 4, 5), (2, 4, 3))),
    "no_bias": dict(kw=dict(bias=False), shapes=((4, 3, 8),) * 3, self_attn=True),
    "unbatched": dict(kw=dict(), shapes=((4, 8), (6, 8), (6, 8))),
    "length_1": dict(kw=dict(batch_first=True), shapes=((3, 1, 8),) * 3, self_attn=True),
}


def _mha_pair(kw, dtype, torch):
    minitorch.manual_seed(0)
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(8, 2, **kw)
    ours = minitorch.nn.MultiheadAttention(8, 2, **kw)
    ours.load_state_dict(ref.state_dict())
    if dtype == np.float64:
        ref.double()
        ours.double()
    return ours, ref


MASK_VARIANTS = ["attn_bool", "attn_float_per_head", "padding", "weights_per_head", "no_weights"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case,masks", [(c, "none") for c in sorted(MHA_CASES)]
                         + [(c, m) for c in ("self_seq_first", "cross_kv_shared", "unbatched") for m in MASK_VARIANTS]
                         + [(c, m) for c in ("kdim_vdim", "no_bias") for m in ("padding", "attn_bool")])
def test_mha_matches_torch(dtype, case, masks):
    torch = pytest.importorskip("torch")
    spec = MHA_CASES[case]
    ours, ref = _mha_pair(spec["kw"], dtype, torch)
    assert list(ours.state_dict()) == list(ref.state_dict())
    arrays = [randn(s, dtype, seed=10 + i) for i, s in enumerate(spec["shapes"])]
    if spec.get("self_attn"):
        arrays = arrays[:1] * 3
    elif spec.get("kv_same"):
        arrays = [arrays[0], arrays[1], arrays[1]]
    batched = len(spec["shapes"][0]) == 3
    bf = spec["kw"].get("batch_first", False)
    n = spec["shapes"][0][0 if bf else 1] if batched else 1
    t_q = spec["shapes"][0][1 if bf else 0] if batched else spec["shapes"][0][0]
    t_k = spec["shapes"][1][1 if bf else 0] if batched else spec["shapes"][1][0]
    opts = {}
    r = np.random.default_rng(5)
    if masks == "attn_bool":
        m = r.random((t_q, t_k)) > 0.6
        m[:, 0] = False  # every query keeps a key (torch gives NaN otherwise)
        opts["attn_mask"] = m
    elif masks == "attn_float_per_head":
        opts["attn_mask"] = r.standard_normal((n * 2, t_q, t_k)).astype(dtype)
    elif masks == "padding":
        m = np.zeros((n, t_k), dtype=bool) if batched else np.zeros(t_k, dtype=bool)
        m[..., t_k // 2 + 1:] = True
        opts["key_padding_mask"] = m
    elif masks == "weights_per_head":
        opts["average_attn_weights"] = False
    elif masks == "no_weights":
        opts["need_weights"] = False
    # one tensor per distinct input, so self-attention takes the fused path on both sides
    distinct = {id(a): a for a in arrays}
    ours_in = {i: mt(a, requires_grad=True) for i, a in distinct.items()}
    ref_in = {i: torch.from_numpy(a.copy()).requires_grad_(True) for i, a in distinct.items()}
    o_args = [ours_in[id(a)] for a in arrays]
    r_args = [ref_in[id(a)] for a in arrays]
    o_out, o_w = ours(*o_args, **{k: minitorch.tensor(v) for k, v in opts.items() if k.endswith("mask")},
                      **{k: v for k, v in opts.items() if not k.endswith("mask")})
    r_out, r_w = ref(*r_args, **{k: torch.from_numpy(v) for k, v in opts.items() if k.endswith("mask")},
                     **{k: v for k, v in opts.items() if not k.endswith("mask")})
    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(o_out.detach().numpy(), r_out.detach().numpy(), **tol, err_msg="attn_output")
    g = randn(o_out.shape, dtype, seed=77)
    o_loss = (o_out * mt(g)).sum()
    r_loss = (r_out * torch.from_numpy(g)).sum()
    if masks == "no_weights":
        assert o_w is None and r_w is None
    else:
        np.testing.assert_allclose(o_w.detach().numpy(), r_w.detach().numpy(), **tol, err_msg="attn_weights")
        gw = randn(o_w.shape, dtype, seed=78)
        o_loss = o_loss + (o_w * mt(gw)).sum()
        r_loss = r_loss + (r_w * torch.from_numpy(gw)).sum()
    o_loss.backward()
    r_loss.backward()
    for i in distinct:
        np.testing.assert_allclose(ours_in[i].grad.numpy(), ref_in[i].grad.numpy(), **tol, err_msg="input grad")
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None and p.grad.dtype == dtype, name
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), **tol, err_msg=name)


def test_mha_fully_masked_rows_give_zeros_not_nan():
    mha = minitorch.nn.MultiheadAttention(8, 2, batch_first=True)
    x = minitorch.tensor(randn((2, 4, 8), np.float32), requires_grad=True)
    pad = np.zeros((2, 4), dtype=bool)
    pad[1] = True  # every key of sample 1 is padding
    out, w = mha(x, x, x, key_padding_mask=minitorch.tensor(pad))
    assert np.isfinite(out.detach().numpy()).all()
    assert np.all(w.detach().numpy()[1] == 0) and np.allclose(w.detach().numpy()[0].sum(-1), 1, atol=1e-6)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_mha_dropout_only_in_training():
    mha = minitorch.nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = minitorch.tensor(randn((2, 5, 8), np.float32))
    mha.eval()
    a, wa = mha(x, x, x, average_attn_weights=False)
    b, _ = mha(x, x, x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    mha.train()
    minitorch.manual_seed(1)
    c, wc = mha(x, x, x, average_attn_weights=False)
    minitorch.manual_seed(1)
    d, _ = mha(x, x, x)
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())
    w_train, w_eval = wc.detach().numpy(), wa.detach().numpy()
    kept = w_train != 0
    assert 0.3 < 1 - kept.mean() < 0.7
    np.testing.assert_allclose(w_train[kept], 2.0 * w_eval[kept], rtol=1e-6)  # kept weights scaled by 1/(1-p)


def test_mha_errors():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(4\)"):
        minitorch.nn.MultiheadAttention(10, 4)
    mha = minitorch.nn.MultiheadAttention(8, 2, batch_first=True)
    x = minitorch.tensor(randn((2, 5, 8), np.float32))
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): expected key with last "
                                         r"dimension 8, got shape \(2, 5, 6\)"):
        mha(x, minitorch.tensor(randn((2, 5, 6), np.float32)), x)
    with pytest.raises(ValueError, match=r"expected attn_mask of shape \(5, 5\) or \(4, 5, 5\), got \(5, 4\)"):
        mha(x, x, x, attn_mask=minitorch.ones(5, 4, dtype="bool"))
    with pytest.raises(ValueError, match=r"expected key_padding_mask of shape \(2, 5\), got \(5,\)"):
        mha(x, x, x, key_padding_mask=minitorch.ones(5, dtype="bool"))
    with pytest.raises(TypeError, match="expected query of dtype float32"):
        mha(x.double(), x.double(), x.double())
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        mha(x, x, x, is_causal=True)
    assert "embed_dim=8, num_heads=2, batch_first=True" in repr(mha)
