"""Sequence classification with a bidirectional LSTM and additive (Bahdanau-style) attention pooling
over the time steps, with a padding mask for variable-length sequences; the kind of model written for
sentiment-analysis homework. The task: does token 1 occur more often than token 2 in the sequence?

Written for PyTorch; tests/port/test_port.py also runs it with the import lines switched to minitorch.
Run it alone with `python tests/port/lstm_attention.py`."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB, PAD = 12, 0


class AttentionPool(nn.Module):
    def __init__(self, dim, attn_dim):
        super().__init__()
        self.proj = nn.Linear(dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, h, mask):
        scores = self.v(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T)
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = F.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), h).squeeze(1)  # (B, D)
        return context, weights


class LSTMAttentionClassifier(nn.Module):
    def __init__(self, vocab=VOCAB, embed=16, hidden=24, n_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
        self.attn = AttentionPool(2 * hidden, 16)
        self.dropout = nn.Dropout(0.0)
        self.out = nn.Linear(2 * hidden, n_classes)

    def forward(self, tokens):
        mask = tokens != PAD
        h, _ = self.lstm(self.embedding(tokens))
        context, weights = self.attn(h, mask)
        return self.out(self.dropout(context)), weights


def make_data(n=96, max_len=14, seed=0):
    rng = np.random.default_rng(seed)
    tokens = np.zeros((n, max_len), dtype=np.int64)
    labels = np.zeros(n, dtype=np.int64)
    for i in range(n):
        length = rng.integers(4, max_len + 1)
        seq = rng.integers(1, VOCAB, size=length)
        tokens[i, :length] = seq
        labels[i] = int((seq == 1).sum() > (seq == 2).sum())
    return tokens, labels


def build_model():
    torch.manual_seed(0)
    return LSTMAttentionClassifier()


def train(model, workdir=None, epochs=3, batch_size=16, lr=1e-2):
    tokens, labels = make_data()
    X, Y = torch.tensor(tokens), torch.tensor(labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    losses, accs = [], []
    for _ in range(epochs):
        model.train()
        for i in range(0, len(X), batch_size):
            logits, _ = model(X[i:i + batch_size])
            loss = F.cross_entropy(logits, Y[i:i + batch_size])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits, weights = model(X)
            accs.append((logits.argmax(1) == Y).float().mean().item())
    pad_weight = weights[X == PAD].sum().item()  # attention on padding must be exactly 0
    return {"losses": losses, "acc": accs, "pad_weight": pad_weight,
            "weight_rows": weights.sum(dim=1).tolist()}


if __name__ == "__main__":
    result = train(build_model())
    print("losses:", [round(v, 3) for v in result["losses"]])
    print("accuracy per epoch:", result["acc"])
