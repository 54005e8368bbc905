"""The standalone hw4 ``Attention`` class (plain arrays) and ``MultiheadAttention``."""
import os

import numpy as np
import pytest

import minitorch
from minitorch.nn.attention import Attention
from minitorch.testing import check_kernel_grads
from tests.helpers import TOL, randn

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
