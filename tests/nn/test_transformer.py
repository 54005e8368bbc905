"""TransformerDecoderBlock, its key/value cache, and the positional encodings, against torch."""
import math

import numpy as np
import pytest

import minitorch
from minitorch import nn
from minitorch.nn.transformer import CausalSelfAttention, LayerCache
from tests.helpers import TOL, mt, randn


def torch_block_class():
    """A torch reference block (nanoGPT's, with the same options and parameter names)."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class Attn(tnn.Module):
        def __init__(self, e, h, bias):
            super().__init__()
            self.h = h
            self.c_attn = tnn.Linear(e, 3 * e, bias=bias)
            self.c_proj = tnn.Linear(e, e, bias=bias)

        def forward(self, x):
            b, t, e = x.shape
            q, k, v = self.c_attn(x).split(e, dim=2)
            q, k, v = (z.view(b, t, self.h, e // self.h).transpose(1, 2) for z in (q, k, v))
            y = tnn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(b, t, e))

    class Block(tnn.Module):
        def __init__(self, e, h, norm_first=True, norm="layernorm", activation="gelu", bias=True):
            super().__init__()
            make = (lambda: tnn.LayerNorm(e, bias=bias)) if norm == "layernorm" else (lambda: tnn.RMSNorm(e, eps=1e-5))
            self.norm_first = norm_first
            self.ln_1 = make()
            self.attn = Attn(e, h, bias)
            self.ln_2 = make()
            self.mlp = tnn.Module()
            self.mlp.c_fc = tnn.Linear(e, 4 * e, bias=bias)
            self.mlp.c_proj = tnn.Linear(4 * e, e, bias=bias)
            self.act = tnn.GELU() if activation == "gelu" else tnn.ReLU()

        def mlp_(self, x):
            return self.mlp.c_proj(self.act(self.mlp.c_fc(x)))

        def forward(self, x):
            if self.norm_first:
                x = x + self.attn(self.ln_1(x))
                return x + self.mlp_(self.ln_2(x))
            x = self.ln_1(x + self.attn(x))
            return self.ln_2(x + self.mlp_(x))

    return Block


def _random_state(model, torch, seed=0):
    """Give every parameter (norm gains and biases included) random values, for a sharper test."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
    return model


BLOCK_VARIANTS = {
    "pre_ln_gelu": dict(),
    "post_ln_relu": dict(norm_first=False, activation="relu"),
    "pre_rms": dict(norm="rmsnorm"),
    "post_rms_nobias": dict(norm_first=False, norm="rmsnorm", bias=False),
    "pre_ln_nobias": dict(bias=False),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant,shape", [(v, (2, 5)) for v in sorted(BLOCK_VARIANTS)]
                         + [("pre_ln_gelu", (1, 1)), ("post_rms_nobias", (1, 7))])
def test_block_matches_torch(dtype, variant, shape):
    torch = pytest.importorskip("torch")
    opts = BLOCK_VARIANTS[variant]
    ref = _random_state(torch_block_class()(16, 4, **opts), torch).to(torch.float64 if dtype == np.float64 else
                                                                          torch.float32)
    ours = nn.TransformerDecoderBlock(16, 4, layer_norm_eps=1e-5, dtype=dtype, **opts)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x = randn(shape + (16,), dtype, seed=3)
    xo, xt = mt(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_(True)
    yo, yt = ours(xo), ref(xt)
    tol = TOL[np.dtype(dtype)]
    assert yo.dtype == dtype
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), **tol, err_msg="output")
    g = randn(yo.shape, dtype, seed=4)
    yo.backward(mt(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **tol, err_msg="dx")
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_kv_cache_matches_full_forward(norm_first):
    block = nn.TransformerDecoderBlock(16, 4, norm_first=norm_first, dtype="float64").eval()
    x = mt(randn((2, 7, 16), seed=5))
    full = block(x).detach().numpy()
    cache = LayerCache()
    with minitorch.no_grad():
        first = block(x[:, :3], cache)  # a prefix of 3, then 1, then a chunk of 3
        second = block(x[:, 3:4], cache)
        third = block(x[:, 4:], cache)
    assert cache.length == 7 and cache.k.shape == (2, 4, 7, 4)
    got = np.concatenate([first.numpy(), second.numpy(), third.numpy()], axis=1)
    np.testing.assert_allclose(got, full, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(cache.select(np.array([1])).k.numpy(), cache.k.numpy()[1:2])


def test_block_dropout_applies_in_training_only():
    block = nn.TransformerDecoderBlock(16, 4, dropout=0.3)
    x = mt(randn((2, 6, 16), np.float32, seed=1))
    block.eval()
    a = block(x).detach().numpy()
    np.testing.assert_array_equal(a, block(x).detach().numpy())
    block.train()
    minitorch.manual_seed(3)
    b = block(x).detach().numpy()
    minitorch.manual_seed(3)
    c = block(x).detach().numpy()
    np.testing.assert_array_equal(b, c)
    assert not np.allclose(a, b)


def test_block_errors_and_repr():
    with pytest.raises(ValueError, match=r"n_embd \(10\) must be divisible by n_head \(4\)"):
        nn.TransformerDecoderBlock(10, 4)
    with pytest.raises(ValueError, match="norm must be 'layernorm' or 'rmsnorm', got 'batchnorm'"):
        nn.TransformerDecoderBlock(16, 4, norm="batchnorm")
    with pytest.raises(ValueError, match="activation must be 'gelu' or 'relu'"):
        nn.TransformerDecoderBlock(16, 4, activation="swish")
    block = nn.TransformerDecoderBlock(16, 4)
    with pytest.raises(ValueError, match=r"TransformerDecoderBlock\(d_model=16\): expected input \(B, T, 16\), "
                                         r"got shape \(2, 5, 12\)"):
        block(mt(randn((2, 5, 12), np.float32)))
    text = repr(block)
    assert "(c_attn): Linear(in_features=16, out_features=48" in text and "norm_first=True" in text


def test_causal_self_attention_is_causal():
    """Changing a later token never changes an earlier output."""
    attn = CausalSelfAttention(16, 4)
    x = randn((1, 6, 16), np.float32, seed=2)
    y1 = attn(mt(x)).detach().numpy()
    x[:, 4] += 1.0
    y2 = attn(mt(x)).detach().numpy()
    np.testing.assert_array_equal(y1[:, :4], y2[:, :4])
    assert not np.allclose(y1[:, 4:], y2[:, 4:])


# ----------------------------------------------------------------------------- positional encodings
def test_sinusoidal_encoding_matches_formula_and_torch_tutorial():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=20, dtype="float64")
    x = mt(randn((2, 5, 6), seed=1))
    out = pe(x, offset=3).numpy()
    pos = np.arange(3, 8)[:, None]
    i = np.arange(3)[None, :]
    table = np.zeros((5, 6))
    table[:, 0::2] = np.sin(pos / 10000 ** (2 * i / 6))
    table[:, 1::2] = np.cos(pos / 10000 ** (2 * i / 6))
    np.testing.assert_allclose(out, x.numpy() + table, rtol=1e-12, atol=1e-12)
    assert list(pe.state_dict()) == [] and list(pe.parameters()) == []
    assert nn.SinusoidalPositionalEncoding(6, 8).pe.dtype == np.float32
    odd = nn.SinusoidalPositionalEncoding(5, 4, dtype="float64").pe.numpy()
    np.testing.assert_allclose(odd[2, 4], math.sin(2 / 10000 ** (4 / 5)))


def test_learned_positional_embedding_grad_and_offset():
    torch = pytest.importorskip("torch")
    emb = nn.LearnedPositionalEmbedding(10, 4)
    assert emb.weight.shape == (10, 4) and abs(float(emb.weight.data.std()) - 0.02) < 0.01
    x = mt(randn((3, 5, 4), np.float32, seed=2), requires_grad=True)
    out = emb(x, offset=2)
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() + emb.weight.detach().numpy()[2:7])
    g = randn((3, 5, 4), np.float32, seed=3)
    out.backward(mt(g))
    w = torch.from_numpy(emb.weight.detach().numpy().copy()).requires_grad_(True)
    (torch.from_numpy(x.detach().numpy()) + w[2:7]).backward(torch.from_numpy(g))
    np.testing.assert_allclose(emb.weight.grad.numpy(), w.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), g)
    with pytest.raises(ValueError, match=r"positions 8..12 exceed max_len=10"):
        emb(x, offset=8)
    with pytest.raises(ValueError, match=r"expected input \(..., T, 4\), got \(3, 5, 3\)"):
        emb(mt(randn((3, 5, 3), np.float32)))
