"""A GPT (decoder-only transformer) language model, with nanoGPT's layout, names and initialisation.

``GPT(vocab_size, block_size, n_layer, n_head, n_embd)``: token embedding ``transformer.wte`` +
positions ``transformer.wpe`` -> dropout -> ``n_layer`` TransformerDecoderBlocks -> ``ln_f`` ->
``lm_head`` (tied to ``wte`` by default). The state_dict keys are nanoGPT's, so its checkpoints load.

- ``forward(idx (B, T)) -> logits (B, T, vocab)``: the whole sequence, for training.
- ``step(tokens (B, T), state=None) -> (logits (B, vocab), state)``: incremental decoding with a
  key/value cache (``KVCache``); N new tokens cost N single-token steps.
- ``predict(x) -> (B, vocab)`` raw next-token scores; ``generate(x, timesteps) -> (B, timesteps)``.
"""
import math

from .. import nn
from ..autograd import Tensor, cat, no_grad
from ..backend import generator, get_array_module
from ..nn import functional as F
from ..nn.transformer import LayerCache, LearnedPositionalEmbedding, SinusoidalPositionalEncoding, make_norm


class KVCache:
    """The decoding state of a GPT: one ``LayerCache`` per block plus the token window it encodes
    (B, length <= block_size). ``select(index)`` keeps the batch rows ``index`` (beam search)."""

    __slots__ = ("layers", "tokens")

    def __init__(self, layers, tokens=None):
        self.layers = layers
        self.tokens = tokens

    @property
    def length(self):
        return 0 if self.tokens is None else self.tokens.shape[1]

    def copy(self):
        """A new state sharing the cached arrays (steps never modify arrays in place)."""
        return KVCache([LayerCache(c.k, c.v) for c in self.layers], self.tokens)

    def select(self, index):
        return KVCache([c.select(index) for c in self.layers], None if self.tokens is None else self.tokens[index])


class GPT(nn.Module):
    """A decoder-only transformer LM (GPT-2 / nanoGPT).

    Options: ``dropout`` (embeddings, attention weights, residual branches), ``embedding_dropout``
    (Gal & Ghahramani: whole rows of the token embedding, i.e. every occurrence of a word, are dropped
    per forward pass and the rest rescaled by 1/(1-p)), ``bias``, ``tie_weights``, ``norm``
    ('layernorm' | 'rmsnorm'), ``activation`` ('gelu' | 'relu'), ``norm_first``, ``position``
    ('learned' | 'sinusoidal'), ``special_tokens`` (ids ``generate`` never draws).
    Init as nanoGPT: N(0, 0.02) weights, zero biases, residual projections N(0, 0.02 / sqrt(2 n_layer))."""

    def __init__(self, vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True,
                 tie_weights=True, norm="layernorm", activation="gelu", norm_first=True, position="learned",
                 embedding_dropout=0.0, layer_norm_eps=1e-5, special_tokens=(), dtype=None, device=None):
        super().__init__()
        if vocab_size <= 0 or block_size <= 0 or n_layer <= 0:
            raise ValueError(f"GPT: vocab_size, block_size and n_layer must be positive, got {vocab_size}, "
                             f"{block_size} and {n_layer}")
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        if position not in ("learned", "sinusoidal"):
            raise ValueError(f"GPT: position must be 'learned' or 'sinusoidal', got {position!r}")
        if not 0.0 <= embedding_dropout < 1.0:
            raise ValueError(f"GPT: embedding_dropout must be in [0, 1), got {embedding_dropout}")
        self.vocab_size, self.block_size, self.n_layer = vocab_size, block_size, n_layer
        self.n_head, self.n_embd = n_head, n_embd
        self.embedding_dropout = float(embedding_dropout)
        self.special_tokens = tuple(int(t) for t in special_tokens)
        wpe = (LearnedPositionalEmbedding(block_size, n_embd, dtype=dtype, device=device) if position == "learned"
               else SinusoidalPositionalEncoding(n_embd, block_size, dtype=dtype, device=device))
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd, dtype=dtype, device=device),
            wpe=wpe,
            drop=nn.Dropout(dropout),
            h=nn.ModuleList([nn.TransformerDecoderBlock(n_embd, n_head, dropout=dropout, activation=activation,
                                                        layer_norm_eps=layer_norm_eps, norm_first=norm_first,
                                                        bias=bias, norm=norm, dtype=dtype, device=device)
                             for _ in range(n_layer)]),
            ln_f=make_norm(norm, n_embd, layer_norm_eps, bias, dtype, device),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False, dtype=dtype, device=device)
        self.tie_weights = tie_weights
        if tie_weights:
            self.lm_head.weight = self.transformer.wte.weight
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.Embedding, LearnedPositionalEmbedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)

    def extra_repr(self):
        return (f"vocab_size={self.vocab_size}, block_size={self.block_size}, n_layer={self.n_layer}, "
                f"n_head={self.n_head}, n_embd={self.n_embd}, tie_weights={self.tie_weights}")

    # ----------------------------------------------------------------- the network
    def _embed(self, idx):
        wte = self.transformer.wte.weight
        if self.training and self.embedding_dropout > 0:
            xp = get_array_module(wte.data)
            p = self.embedding_dropout
            keep = generator(xp).random((wte.shape[0], 1)) >= p
            scale = Tensor._make(keep.astype(wte.dtype) * (1.0 / (1.0 - p)))
            return F.embedding(idx, wte * scale)
        return self.transformer.wte(idx)

    def forward(self, idx, cache=None):
        """idx: (B, T) token ids -> logits (B, T, vocab). With a ``KVCache``, idx continues the cached
        sequence and the cache is extended in place (see ``step`` for the functional form)."""
        check_token_ids("GPT", idx)
        past = 0 if cache is None else cache.length
        t = idx.shape[1]
        if past + t > self.block_size:
            raise ValueError(f"GPT: cannot take a sequence of length {past + t}"
                             + (f" ({past} cached + {t} new)" if past else "")
                             + f": block_size is {self.block_size}")
        x = self.transformer.wpe(self._embed(idx), offset=past)
        x = self.transformer.drop(x)
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if cache is None else cache.layers[i])
        if cache is not None:
            cache.tokens = idx.data if cache.tokens is None else cat([Tensor._make(cache.tokens), idx], dim=1).data
        return self.lm_head(self.transformer.ln_f(x))

    # ----------------------------------------------------------------- decoding
    def new_cache(self):
        return KVCache([LayerCache() for _ in range(self.n_layer)])

    def step(self, tokens, state=None):
        """Feed ``tokens`` (B, T) after ``state`` (a KVCache, or None to start); returns (the last
        position's logits (B, vocab), the new state). ``state`` itself is not modified. When the
        window would pass block_size, the last block_size tokens are re-encoded from scratch, so the
        result always equals ``forward`` on the last block_size tokens."""
        state = self.new_cache() if state is None else state.copy()
        if state.length + tokens.shape[1] > self.block_size:
            window = tokens if state.tokens is None else cat([Tensor._make(state.tokens), tokens], dim=1)
            tokens, state = window[:, -self.block_size:], self.new_cache()
        with no_grad():
            logits = self.forward(tokens, state)
        return logits[:, -1, :], state

    @no_grad()
    def attention_weights(self, idx):
        """Attention weights of every block on one sequence, for plots: idx (T,) or (1, T) token ids
        (the last block_size are used) -> (n_layer, n_head, T, T) array; row i is query position i,
        and entries above the diagonal are 0 (causal mask)."""
        idx = idx if isinstance(idx, Tensor) else Tensor(idx)
        idx = idx.reshape(1, -1)[:, -self.block_size:]
        inputs = []
        hooks = [block.attn.register_forward_pre_hook(lambda mod, args: inputs.append(args[0]))
                 for block in self.transformer.h]
        was_training = self.training
        self.eval()
        try:
            self.forward(idx)
        finally:
            self.train(was_training)
            for h in hooks:
                h.remove()
        t = idx.shape[1]
        xp = get_array_module(idx.data)
        future = Tensor(xp.triu(xp.ones((t, t), dtype=bool), 1))
        maps = []
        for block, x in zip(self.transformer.h, inputs):
            attn = block.attn
            hd = attn.n_embd // attn.n_head
            q, k, _ = attn.c_attn(x).reshape(1, t, 3, attn.n_head, hd).permute(2, 0, 3, 1, 4).unbind(0)
            scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
            maps.append(F.softmax(scores.masked_fill(future, -math.inf), dim=-1)[0])
        return xp.stack([m.data for m in maps])

    @no_grad()
    def predict(self, x):
        """Raw next-token scores (B, vocab) after the sequences ``x`` (B, T) (their last block_size tokens)."""
        return self.forward(x[:, -self.block_size:])[:, -1, :]

    def generate(self, x, timesteps, banned_tokens=None, use_cache=True, do_sample=False, temperature=1.0):
        """``timesteps`` new tokens after ``x`` (B, T): (B, timesteps) int64 ids, greedy unless
        ``do_sample``. Tokens in ``banned_tokens`` (default: the model's ``special_tokens``) are never
        drawn. With ``use_cache`` each new token costs one single-token step on the key/value cache;
        without, each re-encodes the last block_size tokens (both give the same tokens)."""
        return generate_tokens(self, x, timesteps, self.special_tokens if banned_tokens is None else banned_tokens,
                               use_cache, do_sample, temperature)


def check_token_ids(owner, idx):
    """A clear error unless ``idx`` is a (batch, time) integer Tensor."""
    if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.dtype.kind not in "iu":
        raise ValueError(f"{owner}: expected token ids of shape (batch, time) and an integer dtype, got "
                         f"{getattr(idx, 'shape', type(idx).__name__)} {getattr(idx, 'dtype', '')}".rstrip())


@no_grad()
def generate_tokens(model, x, timesteps, banned_tokens=(), use_cache=True, do_sample=False, temperature=1.0):
    """The decoding loop shared by the models: ``model.step(tokens, state)`` when ``use_cache``, else
    ``model.predict(sequence so far)``; greedy (argmax) or, with ``do_sample``, drawn from
    softmax(logits / temperature) with the seeded generator. ``banned_tokens`` get probability 0.
    Returns (B, timesteps) ids in x's integer dtype."""
    banned = sorted({int(t) for t in banned_tokens})
    if len(banned) >= model.vocab_size:
        raise ValueError(f"{type(model).__name__}.generate: every token is banned")
    if do_sample and not temperature > 0:
        raise ValueError(f"{type(model).__name__}.generate: temperature must be positive, got {temperature}")
    xp = get_array_module(x.data)
    out, state = [], None
    for i in range(timesteps):
        if use_cache:
            logits, state = model.step(x if i == 0 else Tensor._make(out[-1][:, None]), state)
        else:
            logits = model.predict(x if i == 0 else cat([x, Tensor._make(xp.stack(out, axis=1))], dim=1))
        scores = logits.data
        if banned:
            scores = scores.copy()
            scores[:, banned] = -xp.inf
        if do_sample:
            z = scores / temperature
            z = xp.exp(z - z.max(axis=-1, keepdims=True))
            c = z.cumsum(axis=-1)
            u = generator(xp).random((c.shape[0], 1)) * c[:, -1:]
            nxt = (c <= u).sum(axis=-1)  # the first token whose cumulative mass passes u (never a banned one)
        else:
            nxt = scores.argmax(axis=-1)
        out.append(nxt.astype(x.dtype))
    return Tensor._make(xp.stack(out, axis=1) if out else xp.zeros((x.shape[0], 0), dtype=x.dtype))


CausalLanguageModel = GPT
