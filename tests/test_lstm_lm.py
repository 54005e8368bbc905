"""A character-level LSTM language model trains: Embedding -> LSTM -> Linear, cross-entropy, AdamW.

Seeded, fixed number of steps, a stated loss to beat. The text is Shakespeare's sonnet 18 (public
domain); its unigram entropy is about 2.9 nats, so a loss far below that needs the recurrent state."""
import numpy as np
import pytest

import minitorch
from minitorch import nn
from minitorch.nn import functional as F
from tests.helpers import torch_single_thread  # noqa: F401 - autouse fixture

TEXT = (
    "Shall I compare thee to a summer's day?\n"
    "Thou art more lovely and more temperate:\n"
    "Rough winds do shake the darling buds of May,\n"
    "And summer's lease hath all too short a date;\n"
    "Sometime too hot the eye of heaven shines,\n"
    "And often is his gold complexion dimm'd;\n"
    "And every fair from fair sometime declines,\n"
    "By chance or nature's changing course untrimm'd;\n"
)
CHARS = sorted(set(TEXT))
IDS = np.array([CHARS.index(c) for c in TEXT], dtype=np.int64)
V = len(CHARS)
BATCH, SEQ, STEPS = 8, 32, 150
TARGET_LOSS = 0.5  # mean cross-entropy of the last 10 steps, in nats


class CharLSTM(nn.Module):
    def __init__(self, vocab, emb=16, hidden=64):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx):
        out, _ = self.lstm(self.embedding(idx))
        return self.head(out)


def _batches(n, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        starts = rng.integers(0, len(IDS) - SEQ - 1, BATCH)
        chunk = np.stack([IDS[s:s + SEQ + 1] for s in starts])
        yield chunk[:, :-1], chunk[:, 1:]


def _unigram_entropy():
    p = np.bincount(IDS, minlength=V) / len(IDS)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def test_char_lstm_lm_learns():
    minitorch.manual_seed(0)
    model = CharLSTM(V)
    opt = minitorch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for x, y in _batches(STEPS):
        opt.zero_grad()
        logits = model(minitorch.tensor(x))
        loss = F.cross_entropy(logits.reshape(-1, V), minitorch.tensor(y.reshape(-1)))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert abs(losses[0] - np.log(V)) < 0.1  # starts near uniform
    final = float(np.mean(losses[-10:]))
    assert final < TARGET_LOSS, f"loss after {STEPS} steps: {final:.3f} (target < {TARGET_LOSS})"
    assert final < _unigram_entropy() - 2.0  # uses the context, not just character frequencies
    # greedy generation from the first 20 characters continues the memorised text
    with minitorch.no_grad():
        idx = list(IDS[:20])
        for _ in range(20):
            logits = model(minitorch.tensor(np.array([idx])))
            idx.append(int(logits[0, -1].argmax().item()))
    generated = "".join(CHARS[i] for i in idx[20:])
    assert sum(a == b for a, b in zip(generated, TEXT[20:40])) >= 15, generated


def test_first_steps_match_torch():
    """Same weights and batches: minitorch's losses track PyTorch's step by step (float32)."""
    torch = pytest.importorskip("torch")
    minitorch.manual_seed(0)
    model = CharLSTM(V)

    class TorchCharLSTM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(V, 16)
            self.lstm = torch.nn.LSTM(16, 64, batch_first=True)
            self.head = torch.nn.Linear(64, V)

        def forward(self, idx):
            return self.head(self.lstm(self.embedding(idx))[0])

    tmodel = TorchCharLSTM()
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()})
    opt = minitorch.optim.AdamW(model.parameters(), lr=1e-2)
    topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-2)
    for x, y in _batches(8, seed=1):
        opt.zero_grad()
        loss = F.cross_entropy(model(minitorch.tensor(x)).reshape(-1, V), minitorch.tensor(y.reshape(-1)))
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)).reshape(-1, V),
                                                  torch.from_numpy(y.reshape(-1)))
        tloss.backward()
        topt.step()
        assert abs(loss.item() - tloss.item()) < 1e-4
    for name, p in tmodel.named_parameters():
        np.testing.assert_allclose(model.state_dict()[name].numpy(), p.detach().numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=name)
