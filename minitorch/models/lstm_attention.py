"""LSTM language models with an attention layer between two LSTMs (hw4).

tokens -> Embedding -> LSTM_1 (optionally bidirectional) -> attention whose queries are LSTM_1's
outputs and whose keys and values are the token embeddings (each position sees itself and the
positions before it) -> LSTM_2 over [LSTM_1 output, attention output] -> Linear head.

``num_heads=1`` is the single-head variant; ``num_heads=h`` splits the attention into h heads whose
outputs are concatenated and mixed by the output projection (``nn.MultiheadAttention``).

With ``bidirectional=True`` the output at position t also depends on the tokens after t, so the
per-position logits of ``forward`` are not a causal language model; ``predict`` (which scores only
the position after the whole input) and ``generate`` are still exact, re-reading the whole sequence
for every new token.
"""
from .. import nn
from ..autograd import Tensor, cat, no_grad
from ..backend import get_array_module
from ..kernels.attention import causal_mask
from .gpt import check_token_ids, generate_tokens


class LSTMAttentionState:
    """Decoding state: LSTM_1's and LSTM_2's (h, c), the embeddings seen so far (the attention's keys
    and values, (B, T, E)) and the token ids (B, T). ``select(index)`` keeps batch rows ``index``."""

    __slots__ = ("lstm1", "lstm2", "memory", "tokens")

    def __init__(self, lstm1=None, lstm2=None, memory=None, tokens=None):
        self.lstm1, self.lstm2, self.memory, self.tokens = lstm1, lstm2, memory, tokens

    @property
    def length(self):
        return 0 if self.tokens is None else self.tokens.shape[1]

    def select(self, index):
        def pick(hc):
            return None if hc is None else tuple(Tensor._make(s.data[:, index]) for s in hc)

        return LSTMAttentionState(pick(self.lstm1), pick(self.lstm2),
                                  None if self.memory is None else Tensor._make(self.memory.data[index]),
                                  None if self.tokens is None else self.tokens[index])


class LSTMAttentionLM(nn.Module):
    """Embedding(vocab, embedding_dim) -> LSTM(embedding_dim, hidden_size[, bidirectional]) ->
    MultiheadAttention(queries: LSTM outputs; keys, values: embeddings; causal) ->
    LSTM(D*hidden + D*hidden, hidden_size) -> Linear(hidden_size, vocab), D = 2 if bidirectional.

    forward(idx (B, T), state=None, return_state=False) -> logits (B, T, vocab) [, state];
    step(tokens, state) -> (last logits (B, vocab), new state); predict(x) -> (B, vocab);
    generate(x, timesteps, banned_tokens=None) -> (B, timesteps)."""

    def __init__(self, vocab_size, embedding_dim=128, hidden_size=256, num_heads=1, dropout=0.0,
                 bidirectional=False, special_tokens=(), dtype=None, device=None):
        super().__init__()
        d = 2 if bidirectional else 1
        if (d * hidden_size) % num_heads:
            raise ValueError(f"LSTMAttentionLM: the attention's query size ({d}*hidden_size = {d * hidden_size}) "
                             f"must be divisible by num_heads ({num_heads})")
        self.vocab_size, self.num_heads, self.bidirectional = vocab_size, num_heads, bidirectional
        self.special_tokens = tuple(int(t) for t in special_tokens)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, dtype=dtype, device=device)
        self.drop = nn.Dropout(dropout)
        self.lstm1 = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=bidirectional,
                             dtype=dtype, device=device)
        self.attention = nn.MultiheadAttention(d * hidden_size, num_heads, dropout=dropout, kdim=embedding_dim,
                                               vdim=embedding_dim, batch_first=True, dtype=dtype, device=device)
        self.lstm2 = nn.LSTM(2 * d * hidden_size, hidden_size, batch_first=True, dtype=dtype, device=device)
        self.head = nn.Linear(hidden_size, vocab_size, dtype=dtype, device=device)

    def extra_repr(self):
        return f"num_heads={self.num_heads}, bidirectional={self.bidirectional}"

    def forward(self, idx, state=None, return_state=False):
        check_token_ids("LSTMAttentionLM", idx)
        if state is not None and self.bidirectional and state.length:
            raise ValueError("LSTMAttentionLM: a bidirectional model cannot continue a state; feed the whole "
                             "sequence (step() does this for you)")
        emb = self.drop(self.embedding(idx))
        past = 0 if state is None else state.length
        out1, s1 = self.lstm1(emb, None if state is None else state.lstm1)
        memory = emb if not past else cat([state.memory, emb], dim=1)
        t, total = idx.shape[1], memory.shape[1]
        xp = get_array_module(idx.data)
        blocked = ~causal_mask(t, total, xp, offset=past)  # True = may not attend (the module's convention)
        attended, _ = self.attention(out1, memory, memory, attn_mask=Tensor._make(blocked), need_weights=False)
        out2, s2 = self.lstm2(cat([out1, self.drop(attended)], dim=-1), None if state is None else state.lstm2)
        logits = self.head(self.drop(out2))
        if not return_state:
            return logits
        tokens = idx.data if not past else xp.concatenate([state.tokens, idx.data], axis=1)
        return logits, LSTMAttentionState(s1, s2, memory.detach(), tokens)

    def step(self, tokens, state=None):
        """Feed ``tokens`` (B, T) after ``state``; returns (the last position's logits (B, vocab), new state).
        Unidirectional: O(T) work per new token (the LSTMs carry their state; attention reads the stored
        embeddings). Bidirectional: the whole sequence is re-read."""
        with no_grad():
            if self.bidirectional and state is not None:
                tokens = Tensor._make(get_array_module(tokens.data).concatenate([state.tokens, tokens.data], axis=1))
                state = None
            logits, state = self.forward(tokens, state, return_state=True)
        return logits[:, -1, :], state

    @no_grad()
    def predict(self, x):
        """Raw next-token scores (B, vocab) after the sequences ``x`` (B, T)."""
        return self.forward(x)[:, -1, :]

    def generate(self, x, timesteps, banned_tokens=None, use_cache=True, do_sample=False, temperature=1.0):
        """(B, timesteps) token ids after ``x``, greedy by default, never drawing ``banned_tokens``
        (default: the model's ``special_tokens``)."""
        return generate_tokens(self, x, timesteps, self.special_tokens if banned_tokens is None else banned_tokens,
                               use_cache, do_sample, temperature)
