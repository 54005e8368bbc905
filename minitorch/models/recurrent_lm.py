"""Recurrent character/BPE language models: embedding -> RNN/GRU/LSTM -> linear head."""
from .. import nn
from ..autograd import no_grad
from ..nn import functional as F

_CELLS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}


class RecurrentLM(nn.Module):
    """Embedding(vocab, d) -> {RNN, GRU, LSTM}(d, hidden, num_layers) -> Linear(hidden, vocab).

    forward(idx (B, T) int64, state=None) -> logits (B, T, vocab). With ``return_state=True``
    also returns the final recurrent state, so generation carries it forward in O(1) per token.

    The first recurrent layer's input projection x W_ih^T + b_ih is linear in the embedding row x, so when no
    dropout acts on the embedding and the vocabulary is small (at most embedding_dim rows, fewer than the
    batch's tokens), the model projects the V rows of the embedding once and picks rows of that for the tokens
    (``RNNBase.input_projection``): the same function and gradients, with V rows' projection work instead of
    B*T (65 instead of 768 for the lstm preset's character batches)."""

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
        if self._project_table(idx):
            # gathered time-major, so that the layers (which run time-major) get contiguous steps
            xw = F.embedding(idx.transpose(0, 1), self.rnn.input_projection(self.embedding.weight)).transpose(0, 1)
            out, state = self.rnn(xw, state, projected=True)
        else:
            out, state = self.rnn(self.drop(self.embedding(idx)), state)
        logits = self.head(self.drop(out))
        return (logits, state) if return_state else logits

    def _project_table(self, idx):
        """Whether to project the embedding table (see the class docstring): it pays when the vocabulary has at
        most embedding_dim rows and fewer than the batch has tokens; it needs the plain lookup (no padding_idx,
        max_norm ...), no dropout on the embedding, and no hooks that read the layers' usual inputs (observers that
        only follow which module runs, the FLOP counter's and the graph drawer's, mark theirs ``observer``)."""
        emb, rnn = self.embedding, self.rnn
        plain = (type(emb) is nn.Embedding and emb.padding_idx is None and emb.max_norm is None
                 and not emb.scale_grad_by_freq and not emb.sparse)
        hooked = any(not getattr(hook, "observer", False) for m in (emb, rnn)
                     for h in ("_forward_pre_hooks", "_forward_hooks") for hook in (m.__dict__.get(h) or {}).values())
        dropped = self.training and self.drop.p > 0
        V = emb.num_embeddings
        return plain and not hooked and not dropped and V <= emb.embedding_dim and V < idx.shape[0] * idx.shape[1]

    def step(self, tokens, state=None):
        """Feed ``tokens`` (B, T) after ``state``; returns (last-position logits (B, V), new state)."""
        logits, state = self.forward(tokens, state, return_state=True)
        return logits[:, -1, :], state

    @no_grad()
    def predict(self, x):
        """Raw next-token scores (B, vocab) after the sequences ``x`` (B, T)."""
        return self.step(x)[0]
