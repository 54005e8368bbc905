"""LSTM + attention language models against the same model built from torch.nn, decoding, causality."""
import numpy as np
import pytest

import minitorch
from minitorch.models import LSTMAttentionLM
from minitorch.nn import functional as F
from tests.helpers import TOL

V, E, H = 11, 8, 12


def torch_model(num_heads, bidirectional, dtype, torch):
    tnn = torch.nn
    d = 2 if bidirectional else 1

    class Ref(tnn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = tnn.Embedding(V, E)
            self.lstm1 = tnn.LSTM(E, H, batch_first=True, bidirectional=bidirectional)
            self.attention = tnn.MultiheadAttention(d * H, num_heads, kdim=E, vdim=E, batch_first=True)
            self.lstm2 = tnn.LSTM(2 * d * H, H, batch_first=True)
            self.head = tnn.Linear(H, V)

        def forward(self, idx):
            emb = self.embedding(idx)
            out1, _ = self.lstm1(emb)
            t = idx.shape[1]
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            att, _ = self.attention(out1, emb, emb, attn_mask=mask, need_weights=False)
            out2, _ = self.lstm2(torch.cat([out1, att], dim=-1))
            return self.head(out2)

    return Ref().to(torch.float64 if dtype == np.float64 else torch.float32)


def ids(shape, seed=0):
    return np.random.default_rng(seed).integers(0, V, shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_heads,bidirectional", [(1, False), (4, False), (2, True)])
@pytest.mark.parametrize("shape", [(3, 6), (1, 1)])
def test_matches_torch_outputs_and_all_gradients(dtype, num_heads, bidirectional, shape):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ref = torch_model(num_heads, bidirectional, dtype, torch)
    ours = LSTMAttentionLM(V, E, H, num_heads=num_heads, bidirectional=bidirectional, dtype=dtype)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x, y = ids(shape, 1), ids(shape, 2)
    logits, tlogits = ours(minitorch.tensor(x)), ref(torch.from_numpy(x))
    tol = TOL[np.dtype(dtype)]
    assert logits.shape == shape + (V,) and logits.dtype == dtype
    np.testing.assert_allclose(logits.detach().numpy(), tlogits.detach().numpy(), **tol, err_msg="logits")
    loss = F.cross_entropy(logits.reshape(-1, V), minitorch.tensor(y.reshape(-1)))
    tloss = torch.nn.functional.cross_entropy(tlogits.reshape(-1, V), torch.from_numpy(y.reshape(-1)))
    loss.backward()
    tloss.backward()
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("num_heads,bidirectional", [(1, False), (3, False), (2, True)])
def test_step_state_and_generation_match_full_forward(num_heads, bidirectional):
    model = LSTMAttentionLM(V, E, H, num_heads=num_heads, bidirectional=bidirectional, dtype="float64").eval()
    x = minitorch.tensor(ids((2, 7), 3))

    def last(n):
        return model(x[:, :n]).detach().numpy()[:, -1]

    l1, s1 = model.step(x[:, :3])
    l2, s2 = model.step(x[:, 3:4], s1)
    l3, s3 = model.step(x[:, 4:], s2)
    assert (s1.length, s2.length, s3.length) == (3, 4, 7)
    for got, n in ((l1, 3), (l2, 4), (l3, 7)):
        np.testing.assert_allclose(got.numpy(), last(n), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.predict(x).numpy(), last(7), rtol=1e-12)
    cached = model.generate(x, 6)
    np.testing.assert_array_equal(cached.numpy(), model.generate(x, 6, use_cache=False).numpy())
    banned = np.unique(cached.numpy()).tolist()
    out = model.generate(x, 6, banned_tokens=banned).numpy()
    assert out.shape == (2, 6) and not np.isin(out, banned).any()
    kept = s3.select(np.array([1]))
    assert kept.memory.shape == (1, 7, E) and kept.lstm1[0].shape[1] == 1


def test_unidirectional_model_is_causal():
    model = LSTMAttentionLM(V, E, H, num_heads=2)
    x = ids((2, 6), 4)
    a = model(minitorch.tensor(x)).detach().numpy()
    x[:, 4] = (x[:, 4] + 1) % V
    b = model(minitorch.tensor(x)).detach().numpy()
    np.testing.assert_array_equal(a[:, :4], b[:, :4])
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_errors_and_repr():
    with pytest.raises(ValueError, match=r"query size \(1\*hidden_size = 12\) must be divisible by num_heads \(5\)"):
        LSTMAttentionLM(V, E, H, num_heads=5)
    model = LSTMAttentionLM(V, E, H, bidirectional=True)
    with pytest.raises(ValueError, match="expected token ids of shape"):
        model(minitorch.tensor(np.zeros((2, 3), dtype=np.float32)))
    _, state = model.step(minitorch.tensor(ids((1, 3))))
    with pytest.raises(ValueError, match="bidirectional model cannot continue a state"):
        model(minitorch.tensor(ids((1, 2))), state)
    assert "num_heads=1, bidirectional=True" in repr(model)
