"""Decoding strategies for autoregressive models: greedy, sampling with temperature, top-k, top-p (nucleus),
top-k + top-p, and beam search.

Every strategy drives the model through one small protocol, a *step* callable::

    logits, state = step(tokens, state)

- first call: ``tokens`` is the whole prompt, an int64 Tensor of shape (B, T0), and ``state`` is None;
- later calls: ``tokens`` is only the last chosen token, shape (B, 1), and ``state`` is what the previous call
  returned (an RNN's hidden state, a transformer's key/value cache, ...);
- ``logits``: the next-token scores, (B, V) (a (B, t, V) output is accepted: its last position is used), a
  minitorch Tensor or an array (NumPy or CuPy).

So generating N tokens costs N model steps, not a recomputation of the whole prefix each time. A model without
a cache can still be used through ``uncached_step(forward)``, which recomputes from the full history (and is
the reference that cached generation must reproduce token for token).

Instead of a step function, every decoding function also takes a model with a ``step(tokens, state)`` method
(``minitorch.models.GPT`` with its key/value cache, ``RecurrentLM`` with its hidden state).

Beam search reorders the state when hypotheses are kept, duplicated or dropped. In order of precedence:
``reorder_state(state, indices)`` if given, a ``reorder_state`` method of the model/step, a state object's own
``select(indices)`` method (the GPT ``KVCache``), else every array/Tensor in ``state`` is indexed along
``state_batch_dim``: the argument, the model's ``state_batch_dim`` attribute, 1 for a model whose ``rnn`` is a
recurrent layer (torch-layout hidden states (layers, B, H)), else 0.

All the decoding arithmetic is NumPy float64 on host copies of the logits, so the same code serves CPU and
CuPy models. Randomness comes from a NumPy generator: ``seed=``, ``generator=``, or minitorch's global one.
"""
from collections import namedtuple

import numpy as np

from . import backend
from .autograd import Tensor, no_grad

STRATEGIES = ("greedy", "sample", "top-k", "top-p", "beam")


class GenerationError(ValueError):
    """Bad arguments to a decoding function, or a step that broke the protocol."""


class BeamHypothesis(namedtuple("BeamHypothesis", ["tokens", "log_prob", "score"])):
    """A finished beam: ``tokens`` (prompt + generated, int64 array), the cumulative ``log_prob`` of the
    generated tokens, and the ``score`` used for ranking (``log_prob / n_generated ** length_penalty``)."""

    __slots__ = ()

    @property
    def prob(self):
        """The model's probability of the generated tokens given the prompt."""
        return float(np.exp(self.log_prob))


# ====================================================================== logits processing
def _host(x):
    if isinstance(x, Tensor):
        x = x.data
    return backend.to_numpy(x) if hasattr(x, "shape") else np.asarray(x)


def _step_logits(out, batch, owner):
    if not isinstance(out, tuple) or len(out) != 2:
        raise GenerationError(f"{owner}: the step function must return (logits, state), got {type(out).__name__}")
    logits = np.asarray(_host(out[0]), dtype=np.float64)
    if logits.ndim == 3:
        logits = logits[:, -1, :]
    if logits.ndim != 2 or logits.shape[0] != batch:
        raise GenerationError(
            f"{owner}: the step function returned logits of shape {logits.shape}, expected (batch={batch}, vocab) "
            f"or (batch={batch}, time, vocab)"
        )
    return logits, out[1]


def log_softmax(logits):
    """Row-wise log-softmax in float64; rows of all -inf stay -inf."""
    logits = np.asarray(logits, dtype=np.float64)
    m = np.max(logits, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return logits - m - np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True))


def softmax(logits):
    return np.exp(log_softmax(logits))


def ban_tokens(logits, banned_token_ids):
    """``logits`` with the banned ids set to -inf (a copy)."""
    logits = np.array(logits, dtype=np.float64)
    if banned_token_ids is not None and len(banned_token_ids):
        banned = np.asarray(list(banned_token_ids), dtype=np.int64)
        v = logits.shape[-1]
        if banned.min() < 0 or banned.max() >= v:
            raise GenerationError(f"banned_token_ids {banned.tolist()} must lie in [0, {v}) (vocabulary size {v})")
        logits[..., banned] = -np.inf
    return logits


def top_k_filter(logits, top_k):
    """Keep the ``top_k`` largest logits per row (all tied with the k-th are kept, as in HF's TopKLogitsWarper);
    the rest become -inf."""
    logits = np.array(logits, dtype=np.float64)
    v = logits.shape[-1]
    k = min(int(top_k), v)
    kth = np.partition(logits, v - k, axis=-1)[..., v - k:v - k + 1]  # the k-th largest of each row
    logits[logits < kth] = -np.inf
    return logits


def top_p_filter(logits, top_p, min_tokens_to_keep=1):
    """Nucleus filtering with HF's TopPLogitsWarper semantics: sort ascending, drop the tokens whose cumulative
    probability is <= 1 - top_p, always keep the ``min_tokens_to_keep`` most likely. Equivalently: keep the
    smallest set of most likely tokens whose total probability is >= top_p."""
    logits = np.array(logits, dtype=np.float64)
    order = np.argsort(logits, axis=-1, kind="stable")
    sorted_logits = np.take_along_axis(logits, order, axis=-1)
    cum = np.cumsum(softmax(sorted_logits), axis=-1)
    remove_sorted = cum <= (1.0 - top_p)
    remove_sorted[..., -min_tokens_to_keep:] = False
    remove = np.zeros_like(remove_sorted)
    np.put_along_axis(remove, order, remove_sorted, axis=-1)
    logits[remove] = -np.inf
    return logits


def _check_sampling_args(temperature, top_k, top_p, owner):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)) or temperature < 0 \
            or not np.isfinite(temperature):
        raise GenerationError(f"{owner}: temperature must be a finite number >= 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise GenerationError(f"{owner}: top_k must be a positive integer, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, (int, float, np.floating)) and 0.0 < top_p <= 1.0):
        raise GenerationError(f"{owner}: top_p must be in (0, 1], got {top_p!r}")


def process_logits(logits, temperature=1.0, top_k=None, top_p=None, banned_token_ids=None):
    """The logits a sampler draws from, in HF's order: banned ids -> -inf, divide by ``temperature``, top-k,
    then top-p. (``temperature`` 0 is handled by the callers as greedy.)"""
    _check_sampling_args(temperature, top_k, top_p, "process_logits")
    logits = ban_tokens(logits, banned_token_ids)
    if temperature not in (0, 1):
        logits = logits / float(temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None and top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    return logits


def sample_from_logits(logits, rng):
    """One id per row drawn from softmax(logits) by inverting the CDF with one uniform per row; tokens whose
    logit is -inf have probability 0 and are never drawn."""
    probs = softmax(logits)
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(probs.shape[0]) * cdf[:, -1]
    return np.argmax(cdf > u[:, None], axis=-1).astype(np.int64)


def _check_rows(logits, owner):
    dead = ~np.isfinite(logits).any(axis=-1) | np.isnan(logits).any(axis=-1)
    if dead.any():
        raise GenerationError(
            f"{owner}: no token can be chosen for sequence {int(np.argmax(dead))}: every logit is -inf or NaN "
            "(all tokens banned, or the model produced NaN)"
        )


def _rng(seed, generator):
    if generator is not None:
        return generator
    if seed is not None:
        return np.random.default_rng(seed)
    return backend.generator(np)


def _prompt_array(prompt, owner):
    arr = _host(prompt)
    arr = np.asarray(arr)
    if arr.size == 0:
        raise GenerationError(
            f"{owner}: the prompt is empty; give at least one token (e.g. the <sos> id, or a newline character)"
        )
    if arr.dtype.kind not in "iu":
        raise GenerationError(f"{owner}: prompt token ids must be integers, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise GenerationError(f"{owner}: the prompt must have shape (T,) or (B, T), got {arr.shape}")
    if arr.min() < 0:
        raise GenerationError(f"{owner}: prompt token ids must be >= 0, got {int(arr.min())}")
    return arr.astype(np.int64)


def _tokens_tensor(arr, device):
    t = Tensor(np.ascontiguousarray(arr, dtype=np.int64))
    return t.to(device) if device is not None else t


def _check_vocab(prompt, vocab, owner):
    if prompt.max() >= vocab:
        raise GenerationError(
            f"{owner}: prompt token id {int(prompt.max())} is out of range for the model's vocabulary of {vocab} "
            "(a tokenizer from another model?)"
        )


def as_step(model_or_step):
    """The step function of a model (its ``step`` method) or the step function itself."""
    fn = getattr(model_or_step, "step", None)
    if callable(fn):
        return fn
    if callable(model_or_step):
        return model_or_step
    raise GenerationError(
        f"expected a model with a step(tokens, state) method or a step function, got {type(model_or_step).__name__}"
    )


def _state_batch_dim(model_or_step, state_batch_dim):
    if state_batch_dim is not None:
        return state_batch_dim
    dim = getattr(model_or_step, "state_batch_dim", None)
    if dim is not None:
        return dim
    from .nn.rnn import RNNBase  # noqa: PLC0415

    return 1 if isinstance(getattr(model_or_step, "rnn", None), RNNBase) else 0


# ====================================================================== greedy and sampling
def generate(step, prompt, max_new_tokens, strategy="greedy", temperature=1.0, top_k=None, top_p=None,
             banned_token_ids=None, eos_token_id=None, seed=None, generator=None, device=None, beam_width=4,
             length_penalty=0.0, return_log_probs=False):
    """Extend ``prompt`` ((T,) or (B, T) token ids) by up to ``max_new_tokens`` tokens; returns the int64 array
    (B, T + n) of prompt + generated tokens (and, with ``return_log_probs``, the (B,) log-probabilities of the
    generated tokens under the model's unmodified distribution).

    ``step``: a step function or a model with a ``step`` method (see the module docstring).
    ``strategy``: ``"greedy"`` (argmax); ``"sample"`` (from softmax(logits / temperature), restricted by
    ``top_k`` and/or ``top_p`` when given: both together act as in HF, top-k first); ``"top-k"`` (``top_k``
    only); ``"top-p"`` (``top_p`` only); ``"beam"`` (the best hypothesis of ``beam_search``).
    ``temperature=0`` means greedy. ``banned_token_ids`` are never produced. With ``eos_token_id``, a sequence
    that emits it is finished (later positions repeat it) and generation stops when all are."""
    owner = "generate"
    if strategy not in STRATEGIES:
        raise GenerationError(f"{owner}: unknown strategy {strategy!r}; expected one of {list(STRATEGIES)}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
        raise GenerationError(f"{owner}: max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    _check_sampling_args(temperature, top_k, top_p, owner)
    if strategy == "top-k" and top_k is None:
        raise GenerationError(f"{owner}: strategy 'top-k' needs top_k (e.g. top_k=40)")
    if strategy == "top-p" and top_p is None:
        raise GenerationError(f"{owner}: strategy 'top-p' needs top_p (e.g. top_p=0.9)")
    if strategy == "top-k":
        top_p = None
    elif strategy == "top-p":
        top_k = None
    prompt = _prompt_array(prompt, owner)
    if strategy == "beam":
        if prompt.shape[0] != 1:
            raise GenerationError(f"{owner}: beam search takes one prompt, got a batch of {prompt.shape[0]}")
        best = beam_search(step, prompt[0], max_new_tokens, beam_width=beam_width, length_penalty=length_penalty,
                           eos_token_id=eos_token_id, banned_token_ids=banned_token_ids, device=device,
                           num_return_sequences=1)[0]
        return (best.tokens[None, :], np.array([best.log_prob])) if return_log_probs else best.tokens[None, :]
    step = as_step(step)
    greedy = strategy == "greedy" or temperature == 0
    rng = None if greedy else _rng(seed, generator)
    batch = prompt.shape[0]
    out = [prompt]
    total_logp = np.zeros(batch)
    if max_new_tokens == 0:
        return (prompt, total_logp) if return_log_probs else prompt
    finished = np.zeros(batch, dtype=bool)
    with no_grad():
        logits, state = _step_logits(step(_tokens_tensor(prompt, device), None), batch, owner)
        _check_vocab(prompt, logits.shape[-1], owner)
        for t in range(max_new_tokens):
            if greedy:
                scores = ban_tokens(logits, banned_token_ids)
                _check_rows(scores, owner)
                nxt = np.argmax(scores, axis=-1).astype(np.int64)
            else:
                scores = process_logits(logits, temperature, top_k, top_p, banned_token_ids)
                _check_rows(scores, owner)
                nxt = sample_from_logits(scores, rng)
            if eos_token_id is not None:
                nxt = np.where(finished, eos_token_id, nxt)
            if return_log_probs:
                chosen = np.take_along_axis(log_softmax(logits), nxt[:, None], axis=1)[:, 0]
                total_logp += np.where(finished, 0.0, chosen)
            if eos_token_id is not None:
                finished |= nxt == eos_token_id
            out.append(nxt[:, None])
            if t == max_new_tokens - 1 or (eos_token_id is not None and finished.all()):
                break
            logits, state = _step_logits(step(_tokens_tensor(nxt[:, None], device), state), batch, owner)
    tokens = np.concatenate(out, axis=1)
    return (tokens, total_logp) if return_log_probs else tokens


def generate_text(step, tokenizer, prompt, max_new_tokens, skip_special_tokens=True, return_details=False,
                  **kwargs):
    """``generate`` (or ``beam_search``) on text. Encodes ``prompt`` with ``tokenizer`` (an unknown character is
    the tokenizer's clear error), bans the tokenizer's special tokens except ``<eos>`` (which ends the text), and
    returns prompt + continuation as one string.

    ``return_details=True`` returns a dict instead: ``texts`` (the continuations only: one, or one per beam, best
    first), ``logprobs`` (their log-probabilities under the model), ``tokens`` (the generated ids) and ``prompt``."""
    if not isinstance(prompt, str):
        raise GenerationError(f"generate_text: prompt must be a str, got {type(prompt).__name__}")
    if not prompt:
        raise GenerationError("generate_text: the prompt is empty; give at least one character (e.g. '\\n')")
    ids = tokenizer.encode(prompt)
    eos = getattr(tokenizer, "eos_id", None)
    kwargs.setdefault("eos_token_id", eos)
    if "banned_token_ids" not in kwargs:
        kwargs["banned_token_ids"] = [i for i in getattr(tokenizer, "special_ids", []) if i != eos] or None
    if kwargs.get("strategy") == "beam":
        beam_args = {k: kwargs[k] for k in ("beam_width", "length_penalty", "eos_token_id", "banned_token_ids",
                                            "device", "num_return_sequences", "reorder_state", "state_batch_dim")
                     if k in kwargs}
        hyps = beam_search(step, ids, max_new_tokens, **beam_args)
        gens = [h.tokens[len(ids):] for h in hyps]
        logprobs = [h.log_prob for h in hyps]
    else:
        out, logp = generate(step, ids, max_new_tokens, return_log_probs=True, **kwargs)
        gens, logprobs = [out[0, len(ids):]], [float(logp[0])]
    texts = [tokenizer.decode(g, skip_special_tokens=skip_special_tokens) for g in gens]
    if return_details:
        return {"prompt": prompt, "texts": texts, "logprobs": logprobs, "tokens": [g.tolist() for g in gens]}
    return prompt + texts[0]


# ====================================================================== beam search
def select_state(state, indices, dim=0):
    """``state`` with every array/Tensor in it indexed by ``indices`` along ``dim`` (tuples, lists and dicts are
    walked; an object with a ``select(indices)`` method selects itself; other values, e.g. a position counter,
    are kept)."""
    if state is None:
        return None
    select = getattr(state, "select", None)
    if callable(select) and not isinstance(state, Tensor) and not hasattr(state, "shape"):
        xp = backend.get_array_module(*_first_array(state))
        return select(xp.asarray(np.asarray(indices, dtype=np.int64)))
    if isinstance(state, Tensor):
        return Tensor._make(select_state(state.data, indices, dim))
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(select_state(s, indices, dim) for s in state))
    if isinstance(state, (tuple, list)):
        return type(state)(select_state(s, indices, dim) for s in state)
    if isinstance(state, dict):
        return {k: select_state(v, indices, dim) for k, v in state.items()}
    if hasattr(state, "shape") and hasattr(state, "dtype"):
        xp = backend.get_array_module(state)
        return xp.take(state, xp.asarray(np.asarray(indices, dtype=np.int64)), axis=dim)
    return state


def _first_array(obj, depth=0):
    """A list holding the first array found inside ``obj`` (to learn its array module), or empty."""
    if depth > 4 or obj is None:
        return []
    if isinstance(obj, Tensor):
        return [obj.data]
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    elif not isinstance(obj, (list, tuple)):
        slots = getattr(type(obj), "__slots__", ())
        obj = [getattr(obj, n, None) for n in slots] + list(getattr(obj, "__dict__", {}).values())
    for item in obj:
        found = _first_array(item, depth + 1)
        if found:
            return found
    return []


def beam_search(step, prompt, max_new_tokens, beam_width=4, length_penalty=0.0, eos_token_id=None,
                banned_token_ids=None, num_return_sequences=None, reorder_state=None, state_batch_dim=None,
                device=None):
    """Beam search from one prompt ((T,) ids). Keeps the ``beam_width`` prefixes with the highest cumulative
    log-probability; a beam that emits ``eos_token_id`` is finished. Stops after ``max_new_tokens`` tokens, or
    once ``beam_width`` hypotheses have finished. Hypotheses are ranked by
    ``log_prob / n_generated ** length_penalty`` (0: raw log-probability; 1: per-token average, which stops
    favouring short endings). Returns the best ``num_return_sequences`` (default ``beam_width``)
    ``BeamHypothesis(tokens, log_prob, score)``, best first. Ties go to the lower beam, then the lower id."""
    owner = "beam_search"
    if isinstance(beam_width, bool) or not isinstance(beam_width, (int, np.integer)) or beam_width < 1:
        raise GenerationError(f"{owner}: beam_width must be a positive integer, got {beam_width!r}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 0:
        raise GenerationError(f"{owner}: max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    prompt = _prompt_array(prompt, owner)
    if prompt.shape[0] != 1:
        raise GenerationError(f"{owner}: beam search takes one prompt, got a batch of {prompt.shape[0]}")
    prompt = prompt[0]
    n_return = beam_width if num_return_sequences is None else int(num_return_sequences)
    if not 1 <= n_return <= beam_width:
        raise GenerationError(f"{owner}: num_return_sequences must be in [1, beam_width={beam_width}], got {n_return}")
    if reorder_state is None:
        reorder_state = getattr(step, "reorder_state", None)
    if reorder_state is None:
        dim = _state_batch_dim(step, state_batch_dim)
        reorder_state = lambda s, idx: select_state(s, idx, dim=dim)  # noqa: E731
    step = as_step(step)
    if max_new_tokens == 0:
        return [BeamHypothesis(prompt.copy(), 0.0, 0.0)]

    def score(logp, n):
        return logp / (n ** length_penalty) if length_penalty else logp

    finished = []  # (score, log_prob, generated tokens)
    with no_grad():
        logits, state = _step_logits(step(_tokens_tensor(prompt[None, :], device), None), 1, owner)
        _check_vocab(prompt[None, :], logits.shape[-1], owner)
        beams = np.zeros((1, 0), dtype=np.int64)  # generated tokens of the live beams
        beam_logp = np.zeros(1)
        for t in range(max_new_tokens):
            logp = log_softmax(ban_tokens(logits, banned_token_ids))
            _check_rows(logp, owner)
            cand = (beam_logp[:, None] + logp).ravel()
            v = logp.shape[-1]
            order = np.argsort(-cand, kind="stable")
            next_src, next_tok, next_logp = [], [], []
            for rank, flat in enumerate(order[:2 * beam_width]):
                if not np.isfinite(cand[flat]):
                    break
                src, tok = divmod(int(flat), v)
                if eos_token_id is not None and tok == eos_token_id:
                    if rank < beam_width:  # an eos below the best beam_width candidates is not a hypothesis
                        gen = np.append(beams[src], tok)
                        finished.append((score(cand[flat], len(gen)), float(cand[flat]), gen))
                    continue
                next_src.append(src)
                next_tok.append(tok)
                next_logp.append(float(cand[flat]))
                if len(next_src) == beam_width:
                    break
            if eos_token_id is not None and len(finished) >= beam_width or not next_src:
                beams = np.zeros((0, 0), dtype=np.int64)
                break
            src = np.asarray(next_src, dtype=np.int64)
            beams = np.concatenate([beams[src], np.asarray(next_tok, dtype=np.int64)[:, None]], axis=1)
            beam_logp = np.asarray(next_logp)
            if t == max_new_tokens - 1:
                break
            state = reorder_state(state, src)
            logits, state = _step_logits(
                step(_tokens_tensor(beams[:, -1:], device), state), len(src), owner)
    for gen, lp in zip(beams, beam_logp if len(beams) else []):
        finished.append((score(float(lp), len(gen)), float(lp), gen))
    # best first; ties keep the order in which hypotheses were found (stable sort)
    ranked = sorted(range(len(finished)), key=lambda i: -finished[i][0])
    return [BeamHypothesis(np.concatenate([prompt, finished[i][2]]).astype(np.int64), finished[i][1], finished[i][0])
            for i in ranked[:n_return]]


# ====================================================================== models without a cache
def uncached_step(forward, block_size=None):
    """A step function for a model that only maps a whole sequence to logits, ``forward(tokens (B, T)) ->
    logits (B, T, V)``: its state is the token history, and each call runs ``forward`` on the last
    ``block_size`` tokens of it (all of them when None). O(N^2) work for N tokens: the reference that a cached
    step must match."""
    def step(tokens, state):
        toks = _host(tokens).astype(np.int64)
        hist = toks if state is None else np.concatenate([state, toks], axis=1)
        ctx = hist if block_size is None else hist[:, -block_size:]
        logits = forward(_tokens_tensor(ctx, tokens.device if isinstance(tokens, Tensor) else None))
        arr = _host(logits)
        if arr.ndim != 3:
            raise GenerationError(f"uncached_step: forward must return (B, T, V) logits, got shape {arr.shape}")
        return arr[:, -1, :], hist

    step.reorder_state = lambda state, idx: state[np.asarray(idx, dtype=np.int64)]
    return step
