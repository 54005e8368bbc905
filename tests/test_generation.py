"""Decoding strategies on hand-made Markov "models" whose next-token distributions are known exactly."""
import itertools

import numpy as np
import pytest

import minitorch
from minitorch.data import CharTokenizer, TokenizerError
from minitorch.generation import (
    GenerationError,
    beam_search,
    generate,
    generate_text,
    process_logits,
    select_state,
    top_k_filter,
    top_p_filter,
    uncached_step,
)

V = 6
# a first-order chain with distinct probabilities in every row (so argmax and sorting are unambiguous)
_rng = np.random.default_rng(1234)
P = _rng.dirichlet(np.ones(V), size=V)


def _dev(x):
    """A Tensor holding ``x`` in the current backend's array module (a strict array under the strict backend)."""
    return minitorch.Tensor(minitorch.backend.to_device(np.asarray(x), "cpu"))


def _log(p):
    with np.errstate(divide="ignore"):
        return np.log(p)


class Markov:
    """step(tokens, state): next-token logits log P[last token]; records what it was fed."""

    def __init__(self, probs, as_tensor=False):
        self.logp = _log(np.asarray(probs, dtype=np.float64))
        self.fed = []
        self.as_tensor = as_tensor

    def __call__(self, tokens, state):
        assert isinstance(tokens, minitorch.Tensor) and tokens.dtype == np.int64
        t = tokens.numpy()
        self.fed.append(t.shape)
        logits = self.logp[t[:, -1]]
        return (_dev(logits) if self.as_tensor else logits), (0 if state is None else state + 1)


class SecondOrder:
    """Logits depend on the last two tokens, log P2[prev, cur]; the state holds prev per sequence, so a beam
    search that reorders states wrongly sees the wrong distributions. ``batch_dim=1`` keeps the state as a
    (1, B) Tensor, like a torch RNN's (layers, B, H)."""

    def __init__(self, p2, batch_dim=0):
        self.logp2 = _log(p2)
        self.batch_dim = batch_dim
        self.calls = 0

    def _pack(self, prev):
        return prev if self.batch_dim == 0 else _dev(prev[None, :])

    def _unpack(self, state):
        return state if self.batch_dim == 0 else state.numpy()[0]

    def __call__(self, tokens, state):
        self.calls += 1
        t = tokens.numpy()
        if state is None:
            prev = t[:, -2] if t.shape[1] > 1 else np.zeros(len(t), dtype=np.int64)
        else:
            prev = self._unpack(state)
        return self.logp2[prev, t[:, -1]], self._pack(t[:, -1])

    def forward(self, tokens):
        """All positions at once (for uncached_step): (B, T) -> (B, T, V)."""
        t = tokens.numpy()
        prev = np.concatenate([np.zeros((len(t), 1), dtype=np.int64), t[:, :-1]], axis=1)
        return minitorch.tensor(self.logp2[prev, t])

    def seq_logp(self, prompt, gen):
        seq = list(prompt) + list(gen)
        total = 0.0
        for i in range(len(prompt), len(seq)):
            prev = seq[i - 2] if i >= 2 else 0
            total += self.logp2[prev, seq[i - 1], seq[i]]
        return total


P2 = np.random.default_rng(7).dirichlet(np.ones(4) * 0.7, size=(4, 4))


def _chi2_ok(counts, probs):
    """Pearson's chi-square test at significance 1e-3 (critical value by Wilson-Hilferty, z = 3.09)."""
    keep = probs > 0
    expected = probs[keep] * counts.sum()
    stat = ((counts[keep] - expected) ** 2 / expected).sum()
    k = keep.sum() - 1
    critical = k * (1 - 2 / (9 * k) + 3.09 * np.sqrt(2 / (9 * k))) ** 3
    return stat < critical, stat


def _draw(probs_row_token, n, **kw):
    """n samples of the next token after ``probs_row_token``, in one batched step."""
    model = Markov(P)
    out = generate(model, np.full((n, 1), probs_row_token), 1, **kw)
    return out[:, 1]


# ====================================================================== greedy
def test_greedy_follows_the_argmax_chain_in_n_steps():
    model = Markov(P)
    out = generate(model, [2, 4], 8)
    expected, cur = [2, 4], 4
    for _ in range(8):
        cur = int(np.argmax(P[cur]))
        expected.append(cur)
    assert out.tolist() == [expected]
    # O(N): one call with the prompt, then one single-token call per further token
    assert model.fed == [(1, 2)] + [(1, 1)] * 7


def test_greedy_batch_and_tensor_logits():
    model = Markov(P, as_tensor=True)
    prompts = np.array([[0], [1], [5]])
    out = generate(model, minitorch.tensor(prompts), 3)
    for row, p in zip(out, prompts[:, 0]):
        cur, exp = p, [p]
        for _ in range(3):
            cur = int(np.argmax(P[cur]))
            exp.append(cur)
        assert row.tolist() == exp
    assert out.dtype == np.int64


def test_max_new_tokens_zero_returns_the_prompt():
    model = Markov(P)
    assert generate(model, [3, 1], 0).tolist() == [[3, 1]]
    assert model.fed == []


# ====================================================================== sampling
def test_sampling_frequencies_match_the_distribution():
    n = 20_000
    draws = _draw(3, n, strategy="sample", seed=0)
    counts = np.bincount(draws, minlength=V)
    ok, stat = _chi2_ok(counts, P[3])
    assert ok, f"chi-square {stat:.1f}: counts {counts} vs probabilities {P[3]}"
    # a wrong distribution is rejected by the same test (the test can fail)
    assert not _chi2_ok(counts, np.roll(P[3], 1))[0]


def test_temperature_reshapes_the_distribution():
    draws = _draw(0, 20_000, strategy="sample", temperature=2.0, seed=1)
    counts = np.bincount(draws, minlength=V)
    hot = np.exp(np.log(P[0]) / 2.0)
    hot /= hot.sum()
    assert _chi2_ok(counts, hot)[0]
    assert not _chi2_ok(counts, P[0])[0]


def test_sampling_is_seeded():
    a = generate(Markov(P), [[0], [1]], 20, strategy="sample", seed=5)
    b = generate(Markov(P), [[0], [1]], 20, strategy="sample", seed=5)
    c = generate(Markov(P), [[0], [1]], 20, strategy="sample", seed=6)
    assert (a == b).all() and not (a == c).all()
    minitorch.manual_seed(11)
    d = generate(Markov(P), [0], 20, strategy="sample")
    minitorch.manual_seed(11)
    assert (generate(Markov(P), [0], 20, strategy="sample") == d).all()
    gen = np.random.default_rng(5)
    assert (generate(Markov(P), [[0], [1]], 20, strategy="sample", generator=gen) == a).all()


@pytest.mark.parametrize("temperature", [0, 1e-6])
def test_temperature_to_zero_is_greedy(temperature):
    greedy = generate(Markov(P), [[0], [3], [5]], 15)
    cold = generate(Markov(P), [[0], [3], [5]], 15, strategy="sample", temperature=temperature, seed=3)
    assert (greedy == cold).all()


def test_top_k_never_leaves_the_k_best_and_renormalises():
    k = 3
    draws = _draw(1, 20_000, strategy="top-k", top_k=k, seed=2)
    best = set(np.argsort(-P[1])[:k].tolist())
    assert set(draws.tolist()) == best
    expected = np.where(np.isin(np.arange(V), list(best)), P[1], 0)
    assert _chi2_ok(np.bincount(draws, minlength=V), expected / expected.sum())[0]


def test_top_p_hand_example():
    probs = np.array([[0.05, 0.5, 0.15, 0.3]])
    logits = np.log(probs)
    kept = lambda p: set(np.flatnonzero(np.isfinite(top_p_filter(logits, p)[0])).tolist())  # noqa: E731
    assert kept(0.1) == {1}  # the single best token already has 0.5 >= 0.1
    assert kept(0.75) == {1, 3}  # 0.5 + 0.3 >= 0.75
    assert kept(0.85) == {1, 3, 2}
    assert kept(0.99) == {0, 1, 2, 3}
    assert kept(1.0) == {0, 1, 2, 3}
    # the kept logits are unchanged (renormalisation happens in the softmax)
    np.testing.assert_array_equal(top_p_filter(logits, 0.75)[0, [1, 3]], logits[0, [1, 3]])


def test_top_p_sampling_stays_in_the_nucleus():
    order = np.argsort(-P[4])
    cum = np.cumsum(P[4][order])
    nucleus = set(order[:int(np.searchsorted(cum, 0.7)) + 1].tolist())
    draws = _draw(4, 20_000, strategy="top-p", top_p=0.7, seed=4)
    assert set(draws.tolist()) == nucleus
    expected = np.where(np.isin(np.arange(V), list(nucleus)), P[4], 0)
    assert _chi2_ok(np.bincount(draws, minlength=V), expected / expected.sum())[0]


def _hf_warpers(torch, scores, temperature=1.0, top_k=None, top_p=None):
    """HF transformers' TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper (min_tokens_to_keep=1)."""
    scores = scores / temperature
    if top_k is not None:
        k = min(top_k, scores.size(-1))
        remove = scores < torch.topk(scores, k)[0][..., -1, None]
        scores = scores.masked_fill(remove, -float("inf"))
    if top_p is not None:
        sorted_logits, sorted_indices = torch.sort(scores, descending=False)
        cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        sorted_remove = cumulative_probs <= (1 - top_p)
        sorted_remove[..., -1:] = 0
        remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
        scores = scores.masked_fill(remove, -float("inf"))
    return scores


@pytest.mark.parametrize("temperature, top_k, top_p", [
    (1.0, None, 0.9), (1.0, None, 0.3), (0.7, None, 0.95), (1.0, 5, None), (1.0, 1, None), (1.3, 8, 0.8),
    (1.0, 40, 0.5), (0.5, 3, 0.99),
])
def test_logit_processing_matches_hf_semantics(temperature, top_k, top_p):
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(0).standard_normal((64, 30)) * 2
    got = process_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    want = _hf_warpers(torch, torch.from_numpy(logits), temperature, top_k, top_p).numpy()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    np.testing.assert_allclose(got[np.isfinite(got)], want[np.isfinite(want)], rtol=1e-12)


def test_top_k_keeps_ties_like_hf():
    torch = pytest.importorskip("torch")
    logits = np.round(np.random.default_rng(1).standard_normal((50, 12)), 0)  # many ties
    for k in (1, 2, 5, 12, 20):
        got = np.isfinite(top_k_filter(logits, k))
        want = np.isfinite(_hf_warpers(torch, torch.from_numpy(logits), top_k=k).numpy())
        np.testing.assert_array_equal(got, want)


def test_banned_tokens_never_appear():
    best = int(np.argmax(P[2]))
    banned = [best, 0]
    draws = _draw(2, 20_000, strategy="sample", banned_token_ids=banned, seed=0)
    assert not np.isin(draws, banned).any()
    assert len(set(draws.tolist())) == V - 2
    out = generate(Markov(P), [2], 30, banned_token_ids=banned)
    assert not np.isin(out[0, 1:], banned).any()
    assert out[0, 1] == [i for i in np.argsort(-P[2]) if i not in banned][0]  # greedy takes the best allowed
    hyps = beam_search(Markov(P), [2], 4, beam_width=3, banned_token_ids=banned)
    assert all(not np.isin(h.tokens[1:], banned).any() for h in hyps)
    with pytest.raises(GenerationError, match="every logit is -inf"):
        generate(Markov(P), [2], 3, banned_token_ids=list(range(V)))


def test_eos_finishes_sequences():
    eos = 5
    probs = np.full((V, V), 0.1)
    probs[:, eos] = 0.5  # eos is the most likely next token everywhere
    probs[0] = [0.0, 0.9, 0.0, 0.0, 0.0, 0.1]
    probs[1] = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    probs /= probs.sum(1, keepdims=True)
    model = Markov(probs)
    out = generate(model, [[0], [1]], 10, eos_token_id=eos)
    assert out.tolist() == [[0, 1, eos], [1, eos, eos]]  # stopped once both finished, the done row repeats eos
    assert len(model.fed) == 2


# ====================================================================== beam search
def test_beam_finds_the_best_sequence_where_greedy_does_not():
    probs = np.array([
        [0.0, 0.55, 0.45, 0.0],
        [0.25, 0.25, 0.25, 0.25],
        [0.02, 0.02, 0.02, 0.94],
        [0.25, 0.25, 0.25, 0.25],
    ])
    greedy = generate(Markov(probs), [0], 2)
    assert greedy.tolist() == [[0, 1, 0]]  # 0.55 * 0.25 = 0.1375
    hyps = beam_search(Markov(probs), [0], 2, beam_width=2)
    assert hyps[0].tokens.tolist() == [0, 2, 3]  # 0.45 * 0.94 = 0.423
    assert hyps[0].prob == pytest.approx(0.45 * 0.94, rel=1e-12)
    assert hyps[1].prob == pytest.approx(0.55 * 0.25, rel=1e-12)
    assert generate(Markov(probs), [0], 2, strategy="beam", beam_width=2).tolist() == [[0, 2, 3]]


@pytest.mark.parametrize("batch_dim", [0, 1])
def test_beam_equals_exhaustive_search(batch_dim):
    """With beam_width >= V^(N-1) beam search is exhaustive: its hypotheses are the true top sequences."""
    n, w, prompt = 3, 16, [1, 2]
    model = SecondOrder(P2, batch_dim=batch_dim)
    hyps = beam_search(model, prompt, n, beam_width=w, state_batch_dim=batch_dim)
    assert model.calls == n
    every = sorted(((model.seq_logp(prompt, g), g) for g in itertools.product(range(4), repeat=n)),
                   key=lambda x: -x[0])
    assert [h.tokens[2:].tolist() for h in hyps] == [list(g) for _, g in every[:w]]
    np.testing.assert_allclose([h.log_prob for h in hyps], [lp for lp, _ in every[:w]], rtol=1e-12)
    for h in hyps:  # each reported log-probability is that of its own tokens
        assert h.log_prob == pytest.approx(model.seq_logp(prompt, h.tokens[2:]), rel=1e-12)


def test_narrow_beam_on_second_order_model_is_consistent():
    model = SecondOrder(P2)
    hyps = beam_search(model, [3], 6, beam_width=3)
    assert len(hyps) == 3 and [h.log_prob for h in hyps] == sorted([h.log_prob for h in hyps], reverse=True)
    for h in hyps:
        assert h.log_prob == pytest.approx(model.seq_logp([3], h.tokens[1:]), rel=1e-12)
    # width 1 is greedy
    assert beam_search(SecondOrder(P2), [3], 6, beam_width=1)[0].tokens.tolist() == \
        generate(SecondOrder(P2), [3], 6)[0].tolist()


def test_beam_length_normalisation_with_eos():
    a, b, eos = 0, 1, 2
    probs = np.array([[0.8, 0.1, 0.1], [0.45, 0.0, 0.55], [1 / 3, 1 / 3, 1 / 3]])
    raw = beam_search(Markov(probs), [b], 3, beam_width=2, eos_token_id=eos)
    assert raw[0].tokens.tolist() == [b, eos]  # log 0.55 beats log(0.45 * 0.8 * 0.8)
    assert raw[0].log_prob == pytest.approx(np.log(0.55))
    norm = beam_search(Markov(probs), [b], 3, beam_width=2, eos_token_id=eos, length_penalty=1.0)
    assert norm[0].tokens.tolist() == [b, a, a, a]  # per token: log(0.288) / 3 > log(0.55) / 1
    assert norm[0].score == pytest.approx(np.log(0.45 * 0.64) / 3)
    assert norm[0].log_prob == pytest.approx(np.log(0.45 * 0.64))


def test_beam_stops_when_width_hypotheses_finished():
    eos = 3
    probs = np.array([[0.1, 0.1, 0.1, 0.7]] * 4)
    model = Markov(probs)
    hyps = beam_search(model, [0], 50, beam_width=2, eos_token_id=eos)
    assert len(model.fed) < 5
    assert hyps[0].tokens.tolist() == [0, eos]


# ====================================================================== cached vs uncached
@pytest.mark.parametrize("kwargs", [
    dict(strategy="greedy"), dict(strategy="sample", seed=3), dict(strategy="top-p", top_p=0.8, seed=1),
    dict(strategy="top-k", top_k=2, temperature=0.8, seed=2), dict(strategy="beam", beam_width=3),
])
def test_cached_and_uncached_generation_give_identical_tokens(kwargs):
    model = SecondOrder(P2)
    cached = generate(model, [1, 3] if kwargs["strategy"] == "beam" else [[1, 3], [2, 0]], 12, **kwargs)
    uncached = generate(uncached_step(model.forward), [1, 3] if kwargs["strategy"] == "beam" else [[1, 3], [2, 0]],
                        12, **kwargs)
    np.testing.assert_array_equal(cached, uncached)


def test_uncached_step_crops_to_block_size():
    seen = []

    def forward(tokens):
        seen.append(tokens.shape)
        return minitorch.tensor(np.zeros(tokens.shape + (4,)))

    generate(uncached_step(forward, block_size=3), [0, 1], 5)
    assert seen == [(1, 2), (1, 3), (1, 3), (1, 3), (1, 3)]


def test_select_state_walks_structures():
    state = {"h": (np.arange(6).reshape(3, 2), minitorch.tensor([[1.0], [2.0], [3.0]])), "pos": 7, "none": None}
    out = select_state(state, [2, 2, 0])
    assert out["h"][0].tolist() == [[4, 5], [4, 5], [0, 1]] and out["pos"] == 7 and out["none"] is None
    assert isinstance(out["h"][1], minitorch.Tensor) and out["h"][1].tolist() == [[3.0], [3.0], [1.0]]
    assert select_state(minitorch.tensor([[1.0, 2.0, 3.0]]), [2, 0], dim=1).tolist() == [[3.0, 1.0]]


# ====================================================================== text and errors
def test_generate_text_with_a_char_tokenizer():
    tok = CharTokenizer.from_text("abcdef", special_tokens=("<sos>", "<eos>", "<pad>"))
    probs = np.full((9, 9), 1.0)
    probs[:, 6:] = 0  # <sos>, <eos>, <pad>
    probs[:, 0] = 10
    probs /= probs.sum(1, keepdims=True)
    assert generate_text(Markov(probs), tok, "fed", 4) == "fedaaaa"
    with pytest.raises(TokenizerError, match="'z'.*position 1"):
        generate_text(Markov(probs), tok, "az", 4)
    with pytest.raises(GenerationError, match="prompt is empty"):
        generate_text(Markov(probs), tok, "", 4)


def test_argument_and_protocol_errors():
    m = Markov(P)
    with pytest.raises(GenerationError, match="prompt is empty"):
        generate(m, [], 3)
    with pytest.raises(GenerationError, match="unknown strategy 'nucleus'"):
        generate(m, [0], 3, strategy="nucleus")
    with pytest.raises(GenerationError, match="'top-k' needs top_k"):
        generate(m, [0], 3, strategy="top-k")
    with pytest.raises(GenerationError, match="'top-p' needs top_p"):
        generate(m, [0], 3, strategy="top-p")
    with pytest.raises(GenerationError, match="temperature must be a finite number >= 0"):
        generate(m, [0], 3, strategy="sample", temperature=-1)
    with pytest.raises(GenerationError, match=r"top_p must be in \(0, 1\]"):
        generate(m, [0], 3, strategy="sample", top_p=1.5)
    with pytest.raises(GenerationError, match="top_k must be a positive integer"):
        generate(m, [0], 3, strategy="sample", top_k=0)
    with pytest.raises(GenerationError, match="beam_width must be a positive integer"):
        beam_search(m, [0], 3, beam_width=0)
    with pytest.raises(GenerationError, match="prompt token id 9 is out of range for the model's vocabulary of 6"):
        generate(lambda t, s: (np.zeros((len(t), 6)), s), [0, 9], 3)
    with pytest.raises(GenerationError, match=r"returned logits of shape \(6,\), expected \(batch=1, vocab\)"):
        generate(lambda t, s: (np.zeros(6), s), [0], 3)
    with pytest.raises(GenerationError, match="must return \\(logits, state\\)"):
        generate(lambda t, s: np.zeros((1, 6)), [0], 3)
    with pytest.raises(GenerationError, match="one prompt"):
        beam_search(m, [[0], [1]], 3)


def test_generate_text_details_for_the_cli():
    tok = CharTokenizer.from_text("abc", special_tokens=("<eos>",))
    probs = np.array([[0.1, 0.6, 0.2, 0.1], [0.1, 0.1, 0.7, 0.1], [0.5, 0.1, 0.1, 0.3], [0.25] * 4])
    model = Markov(probs)
    out = generate_text(model, tok, "a", 3, return_details=True)
    assert out["texts"] == ["bca"] and out["tokens"] == [[1, 2, 0]]
    assert out["logprobs"][0] == pytest.approx(np.log(0.6 * 0.7 * 0.5))
    beams = generate_text(model, tok, "a", 2, strategy="beam", beam_width=3, return_details=True)
    assert len(beams["texts"]) == 3 and beams["texts"][0] == "bc"
    assert beams["logprobs"] == sorted(beams["logprobs"], reverse=True)
    assert beams["logprobs"][0] == pytest.approx(np.log(0.6 * 0.7))
    sampled = generate_text(model, tok, "a", 50, strategy="sample", seed=0, return_details=True)
    # <eos> ends the text: nothing after it, and its probability is part of the log-probability
    text = sampled["texts"][0]
    assert "<eos>" not in text and len(sampled["tokens"][0]) == len(text) + 1 and sampled["tokens"][0][-1] == 3


def test_strategy_selects_the_filters():
    """'top-k' uses only top_k and 'top-p' only top_p (a CLI passes both defaults); 'sample' combines them."""
    a = generate(Markov(P), np.zeros((3000, 1), dtype=np.int64), 1, strategy="top-k", top_k=4, top_p=0.01, seed=0)
    assert len(set(a[:, 1].tolist())) == 4
    b = generate(Markov(P), np.zeros((3000, 1), dtype=np.int64), 1, strategy="top-p", top_p=0.999, top_k=1, seed=0)
    assert len(set(b[:, 1].tolist())) == V
    c = generate(Markov(P), np.zeros((3000, 1), dtype=np.int64), 1, strategy="sample", top_k=4, top_p=0.01, seed=0)
    assert set(c[:, 1].tolist()) == {int(np.argmax(P[0]))}


def _real_models():
    models = pytest.importorskip("minitorch.models")
    minitorch.manual_seed(0)
    return {
        "gpt": models.GPT(17, block_size=12, n_layer=2, n_head=2, n_embd=16),
        "lstm-2-layers": models.RecurrentLM(17, 8, 12, num_layers=2, cell="lstm"),
        "gru-3-layers": models.RecurrentLM(17, 8, 12, num_layers=3, cell="gru"),  # num_layers == beam_width
    }


@pytest.mark.parametrize("kwargs", [dict(strategy="greedy"), dict(strategy="sample", temperature=2.0, seed=1),
                                    dict(strategy="top-p", top_p=0.9, seed=2), dict(strategy="beam", beam_width=3)])
def test_real_models_cached_equals_uncached(kwargs):
    """The GPT key/value cache and the recurrent hidden state give exactly the tokens of recomputing the whole
    window every step (past the GPT's block_size too), for every strategy; beam search reorders both kinds."""
    for name, model in _real_models().items():
        model.eval()
        prompt = [3, 1, 4] if kwargs["strategy"] == "beam" else [[3, 1, 4], [1, 5, 9]]
        cached = generate(model, prompt, 14, **kwargs)
        uncached = generate(uncached_step(model.forward, block_size=12), prompt, 14, **kwargs)
        np.testing.assert_array_equal(cached, uncached, err_msg=name)


def test_strict_backend_logits_and_states():
    """Logits and states held in a non-NumPy array module (the strict double stands in for CuPy) work: decoding
    copies logits to the host and reorders states with the state's own array module."""
    minitorch.set_backend("strict")
    model = Markov(P, as_tensor=True)
    assert type(model(_dev([[0]]), None)[0].data).__module__ == "minitorch.backend.strict"
    greedy = generate(model, [[0], [4]], 5)
    minitorch.set_backend("numpy")
    assert (greedy == generate(Markov(P), [[0], [4]], 5)).all()
    minitorch.set_backend("strict")
    tensor_state = SecondOrder(P2, batch_dim=1)  # its state is a (1, B) Tensor on the strict backend
    hyps = beam_search(tensor_state, [1, 2], 3, beam_width=16, state_batch_dim=1)
    assert type(tensor_state._pack(np.zeros(2, dtype=np.int64)).data).__module__ == "minitorch.backend.strict"
    minitorch.set_backend("numpy")
    ref = beam_search(SecondOrder(P2), [1, 2], 3, beam_width=16)
    assert [h.tokens.tolist() for h in hyps] == [h.tokens.tolist() for h in ref]
