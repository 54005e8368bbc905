"""RecurrentLM's projected-embedding path: the first layer's input projection taken from the embedding table
(V rows) instead of every token gives the plain path's loss and gradients, and is used only where it applies."""
import numpy as np
import pytest

import minitorch
from minitorch import models
from minitorch.nn import functional as F
from minitorch.nn.rnn import RNNBase


def _model(cell="lstm", vocab=10, emb=16, hidden=12, **kw):
    minitorch.manual_seed(0)
    return models.RecurrentLM(vocab, emb, hidden, cell=cell, **kw).double()


def _batch(vocab=10, B=3, T=7, seed=1):
    r = np.random.default_rng(seed)
    return minitorch.tensor(r.integers(0, vocab, (B, T))), minitorch.tensor(r.integers(0, vocab, (B, T)))


def _loss_and_grads(model, x, y, projected):
    """The loss and gradients with the projected path allowed (as built) or turned off."""
    for p in model.parameters():
        p.grad = None
    if not projected:
        model._project_table = lambda idx: False
    try:
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
    finally:
        model.__dict__.pop("_project_table", None)
    return loss.item(), {n: p.grad.numpy().copy() for n, p in model.named_parameters()}


def _spy(monkeypatch):
    """The names of the layers called with a projected input, in order."""
    calls = []
    real = RNNBase._run

    def spy(self, input, states, projected=False):  # noqa: A002
        if projected:
            calls.append(type(self).__name__)
        return real(self, input, states, projected)

    monkeypatch.setattr(RNNBase, "_run", spy)
    return calls


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("kw", [{}, {"num_layers": 2}, {"tie_weights": True, "emb": 12}])
def test_projected_path_equals_plain(cell, kw, monkeypatch):
    calls = _spy(monkeypatch)
    model = _model(cell, **kw)
    x, y = _batch()
    loss, grads = _loss_and_grads(model, x, y, projected=True)
    assert calls == [{"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[cell]]
    plain_loss, plain_grads = _loss_and_grads(model, x, y, projected=False)
    assert len(calls) == 1
    assert loss == pytest.approx(plain_loss, rel=1e-12)
    for name, g in plain_grads.items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-9, atol=1e-12, err_msg=name)


def test_projected_path_state_and_generation_steps(monkeypatch):
    """With a carried state: the projected path's logits and state equal the plain path's."""
    model = _model("lstm")
    x, _ = _batch(T=6)
    with minitorch.no_grad():
        logits, state = model(x, return_state=True)
        again, state2 = model(x, state, return_state=True)
        model._project_table = lambda idx: False
        plain, pstate = model(x, return_state=True)
        plain2, pstate2 = model(x, pstate, return_state=True)
    for a, b in [(logits, plain), (again, plain2), *zip(state2, pstate2)]:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("change,used", [
    (lambda m: None, True),
    (lambda m: setattr(m.drop, "p", 0.2), False),                   # dropout on the embedding, training
    (lambda m: (setattr(m.drop, "p", 0.2), m.eval()), True),        # ... but not in evaluation
    (lambda m: setattr(m.embedding, "padding_idx", 0), False),      # padding_idx: the plain lookup's gradient
    (lambda m: setattr(m.embedding, "max_norm", 1.0), False),
    (lambda m: m.rnn.register_forward_hook(lambda *a: None), False),  # hooks see the usual inputs
    (lambda m: m.embedding.register_forward_pre_hook(lambda *a: None), False),
])
def test_projected_path_only_where_it_applies(change, used, monkeypatch):
    calls = _spy(monkeypatch)
    model = _model("gru")
    change(model)
    model(_batch()[0])
    assert bool(calls) == used


@pytest.mark.parametrize("vocab,emb,B,T,used", [
    (10, 16, 3, 7, True),
    (16, 16, 3, 7, True),    # V == embedding_dim
    (17, 16, 3, 7, False),   # a vocabulary larger than the embedding: projecting its rows costs more
    (10, 16, 1, 10, False),  # no more tokens than vocabulary rows (a generation step)
    (10, 16, 1, 11, True),
])
def test_projected_path_size_rule(vocab, emb, B, T, used, monkeypatch):
    calls = _spy(monkeypatch)
    model = _model("lstm", vocab=vocab, emb=emb)
    model(_batch(vocab, B, T)[0])
    assert bool(calls) == used


def test_flop_counter_sees_the_projected_path(monkeypatch):
    """The FLOP counter's module hooks are observers: the projected path runs under it, charged to `rnn`, and the
    count is what runs: no input product in the LSTM, one (V, I) @ (I, 4H) product for the table."""
    from minitorch.utils.flops import FlopCounter
    calls = _spy(monkeypatch)
    model = _model("lstm", vocab=10, emb=16, hidden=12)
    x, y = _batch(B=3, T=7)
    with FlopCounter(model) as fc:
        logits = model(x)
        F.cross_entropy(logits.reshape(-1, 10), y.reshape(-1)).backward()
    assert calls == ["LSTM"]
    ops = fc.by_op()
    tokens, G = 21, 4 * 12
    assert ops["LSTMFunction"][1] == 2 * tokens * 12 * G             # forward: the recurrent product only
    assert fc.counts[("", "Linear")][1] == 2 * 10 * 16 * G            # the table's projection, V rows (the
    assert ops["Linear"][0] == 2                                         # model's own; the head is the other)
    assert "rnn" in fc.by_module()
