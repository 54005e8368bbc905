"""Recurrent character/BPE language models: embedding -> RNN/GRU/LSTM -> linear head."""
from .. import nn
from ..autograd import no_grad

_CELLS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}


class RecurrentLM(nn.Module):
    """Embedding(vocab, d) -> {RNN, GRU, LSTM}(d, hidden, num_layers) -> Linear(hidden, vocab).

    forward(idx (B, T) int64, state=None) -> logits (B, T, vocab). With ``return_state=True``
    also returns the final recurrent state, so generation carries it forward in O(1) per token."""

    state_batch_dim = 1  # hidden states are (layers * directions, B, H), as in torch

    def __init__(self, vocab_size, embedding_dim=128, hidden_size=256, num_layers=1, cell="lstm",
                 dropout=0.0, tie_weights=False):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"RecurrentLM: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if tie_weights and embedding_dim != hidden_size:
            raise ValueError(
                f"RecurrentLM: tie_weights needs embedding_dim == hidden_size, got {embedding_dim} and {hidden_size}"
            )
        self.vocab_size = vocab_size
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.drop = nn.Dropout(dropout)
        self.rnn = getattr(nn, _CELLS[cell])(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True,
                                             dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    def extra_repr(self):
        return f"cell={self.cell!r}"

    def forward(self, idx, state=None, return_state=False):
        if idx.ndim != 2:
            raise ValueError(f"RecurrentLM: expected token ids of shape (batch, time), got shape {idx.shape}")
        x = self.drop(self.embedding(idx))
        out, state = self.rnn(x, state)
        logits = self.head(self.drop(out))
        return (logits, state) if return_state else logits

    def step(self, tokens, state=None):
        """Feed ``tokens`` (B, T) after ``state``; returns (last-position logits (B, V), new state)."""
        logits, state = self.forward(tokens, state, return_state=True)
        return logits[:, -1, :], state

    @no_grad()
    def predict(self, x):
        """Raw next-token scores (B, vocab) after the sequences ``x`` (B, T)."""
        return self.step(x)[0]
