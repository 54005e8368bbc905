"""A character-level language model with nn.LSTM (Karpathy's char-rnn, in the PyTorch-tutorial style):
embedding -> 2-layer LSTM -> linear, trained with truncated backpropagation through time, the hidden
state carried (detached) from one chunk to the next, then sampled greedily.

Written for PyTorch; tests/port/test_port.py also runs it with the import lines switched to minitorch.
Run it alone with `python tests/port/char_rnn.py`."""
import torch
import torch.nn as nn

TEXT = ("the quick brown fox jumps over the lazy dog. " * 8
        + "a stitch in time saves nine. " * 6
        + "all that glitters is not gold. " * 6)


class CharRNN(nn.Module):
    def __init__(self, vocab_size, embed=16, hidden=48, num_layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x, hidden=None):
        out, hidden = self.lstm(self.embed(x), hidden)
        return self.head(out), hidden


chars = sorted(set(TEXT))
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}


def build_model():
    torch.manual_seed(0)
    return CharRNN(len(chars))


def train(model, workdir=None, epochs=3, batch_size=4, seq_len=20, lr=1e-2):
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
    n_batches = (len(data) - 1) // (batch_size * seq_len)
    usable = n_batches * batch_size * seq_len
    inputs = data[:usable].view(batch_size, -1)  # (B, T_total): B parallel streams
    targets = data[1:usable + 1].view(batch_size, -1)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        hidden = None
        for i in range(0, inputs.size(1), seq_len):
            x, y = inputs[:, i:i + seq_len], targets[:, i:i + seq_len]
            if hidden is not None:
                hidden = tuple(h.detach() for h in hidden)  # truncated BPTT
            logits, hidden = model(x, hidden)
            loss = criterion(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        h = None
        x = torch.tensor([[stoi["t"]]])
        out = ["t"]
        for _ in range(20):
            logits, h = model(x, h)
            x = logits[:, -1].argmax(dim=-1, keepdim=True)
            out.append(itos[x.item()])
        probs = torch.softmax(logits[0, -1], dim=0)
    return {"losses": losses, "sample": "".join(out), "max_prob": probs.max().item(),
            "n_steps": len(losses), "final_hidden_norm": h[0].norm().item()}


if __name__ == "__main__":
    result = train(build_model())
    print("losses:", [round(v, 3) for v in result["losses"]])
    print("sample:", repr(result["sample"]))
