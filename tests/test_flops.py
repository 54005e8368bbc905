"""FLOP counting (minitorch/utils/flops.py, python -m minitorch.flops): hand counts, modes, scopes, the CLI, and
agreement with torch.utils.flop_counter.FlopCounterMode on a small GPT."""
import numpy as np
import pytest

import minitorch as mt
from minitorch import nn
from minitorch.autograd import function as _function
from minitorch.nn import functional as F
from minitorch.utils.flops import OUTSIDE, FlopCounter, count_flops


def _rand(*shape, grad=True):
    return mt.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32), requires_grad=grad)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_hand_count(bias):
    b, n_in, n_out = 4, 8, 5
    layer = nn.Linear(n_in, n_out, bias=bias)
    x = _rand(b, n_in)
    gemm = count_flops(layer, x, backward=True)
    assert gemm.forward_flops == 2 * b * n_in * n_out
    assert gemm.backward_flops == 4 * b * n_in * n_out
    every = count_flops(layer, x, mode="all")
    assert every.forward_flops == 2 * b * n_in * n_out + (b * n_out if bias else 0)
    # all mode: the bias gradient is a sum over the batch (B*out); the loss's .sum() is not in the count here
    assert every.backward_flops == 4 * b * n_in * n_out + (b * n_out if bias else 0)


def test_linear_backward_only_for_inputs_that_need_grad():
    b, n_in, n_out = 3, 6, 7
    layer = nn.Linear(n_in, n_out)
    fc = count_flops(layer, _rand(b, n_in, grad=False))  # the weight's gradient only: one GEMM
    assert (fc.forward_flops, fc.backward_flops) == (2 * b * n_in * n_out, 2 * b * n_in * n_out)
    with mt.no_grad():
        fc = count_flops(layer, _rand(b, n_in))
    assert (fc.forward_flops, fc.backward_flops) == (2 * b * n_in * n_out, 0)


def test_matmul_broadcast_and_bmm():
    a, b = _rand(2, 3, 4, 5), _rand(5, 6)
    fc = count_flops(lambda u, v: u @ v, a, b)
    assert fc.forward_flops == 2 * 2 * 3 * 4 * 5 * 6
    assert fc.backward_flops == 2 * fc.forward_flops
    fc = count_flops(lambda u, v: mt.bmm(u, v), _rand(3, 4, 5), _rand(3, 5, 2, grad=False))
    assert (fc.forward_flops, fc.backward_flops) == (2 * 3 * 4 * 5 * 2, 2 * 3 * 4 * 5 * 2)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_matches_hand_count(causal):
    b, h, tq, tk, d = 2, 3, 5, 7, 4
    q, k, v = _rand(b, h, tq, d), _rand(b, h, tk, d), _rand(b, h, tk, d)
    fc = count_flops(lambda *a: F.scaled_dot_product_attention(*a, is_causal=causal), q, k, v)
    qk = av = 2 * b * h * tq * tk * d  # QK^T and AV; the full square even with a causal mask, as torch counts
    assert fc.forward_flops == qk + av
    assert fc.backward_flops == 2 * (qk + av)
    every = count_flops(lambda *a: F.scaled_dot_product_attention(*a, is_causal=causal), q, k, v, mode="all")
    assert every.forward_flops == qk + av + 7 * b * h * tq * tk + b * h * tq * d


@pytest.mark.parametrize("need_weights", [False, True])
def test_multihead_attention_matches_hand_count(need_weights):
    b, t, e, h = 2, 6, 12, 3
    mha = nn.MultiheadAttention(e, h, batch_first=True)
    x = _rand(b, t, e)
    with FlopCounter(mha) as fc:
        mha(x, x, x, need_weights=need_weights)
    proj = 2 * b * t * e * 3 * e + 2 * b * t * e * e  # in-projection (q, k, v) and out-projection
    attention = 2 * (2 * b * h * t * t * (e // h))
    assert fc.forward_flops == proj + attention
    assert fc.backward_flops == 2 * (proj + attention)
    ops = fc.by_op()
    att_op = "ScaledDotProductAttentionWithWeights" if need_weights else "QKVAttention"
    assert ops[att_op][1] == attention
    # all mode: per score terms need the head count, which QKVAttention keeps in its cache
    every = FlopCounter(mha, mode="all")
    with every:
        mha(x, x, x, need_weights=need_weights)
    assert every.by_op()[att_op][1] == attention + 7 * b * h * t * t + b * h * t * (e // h)


def test_all_mode_elementwise_table_and_shape_ops_free():
    x, y = _rand(4, 5), _rand(5)
    fc = count_flops(lambda u, v: ((u + v) * u).exp().reshape(20).sum(), x, y, mode="all")
    ops = fc.by_op()
    assert ops["Add"][1:] == (20, 20) and ops["Mul"][1:] == (20, 40) and ops["Exp"][1:] == (20, 20)
    assert ops["Reshape"][1:] == (0, 0) and ops["Sum"][1:] == (20, 0)
    assert count_flops(lambda u, v: ((u + v) * u).exp().sum(), x, y).total_flops == 0  # gemm mode: none


def test_by_module_scopes_and_outside():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = _rand(3, 4, grad=False)
    with FlopCounter(model, mode="all") as fc:
        model(x).sum().backward()
    mods = fc.by_module()
    assert mods["0"] == (2 * 3 * 4 * 8 + 3 * 8, 2 * 3 * 4 * 8 + 3 * 8)  # no gradient for x: weight GEMM only
    assert mods["1"] == (3 * 8, 3 * 8)
    assert mods["2"] == (2 * 3 * 8 * 2 + 3 * 2, 2 * 2 * 3 * 8 * 2 + 3 * 2)
    assert mods[OUTSIDE] == (3 * 2, 0)  # the .sum() ran outside the model
    text = fc.table()
    assert "Linear" in text and "total: forward" in text


def test_counter_leaves_no_hook_behind_and_counts_uncounted_ops():
    before = list(_function.record_hooks)
    with pytest.raises(ZeroDivisionError), FlopCounter():
        raise ZeroDivisionError
    assert _function.record_hooks == before


    class Twice(_function.Function):
        @staticmethod
        def forward(ctx, a):
            return 2 * a

        @staticmethod
        def backward(ctx, g):
            return (2 * g,)

    fc = count_flops(Twice.apply, _rand(2, 3))
    assert fc.uncounted == {"Twice": 1} and "ops without a FLOP rule (counted as 0): Twice x1" in fc.table()
    with pytest.raises(ValueError, match="mode"):
        FlopCounter(mode="fast")


def _torch_gpt(torch, vocab, block, n_layer, n_head, n_embd):
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(n_embd), tnn.LayerNorm(n_embd)
            self.c_attn, self.proj = tnn.Linear(n_embd, 3 * n_embd), tnn.Linear(n_embd, n_embd)
            self.fc, self.fc_proj = tnn.Linear(n_embd, 4 * n_embd), tnn.Linear(4 * n_embd, n_embd)

        def forward(self, x):
            b, t, e = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).view(b, t, 3, n_head, e // n_head).permute(2, 0, 3, 1, 4)
            # explicit QK^T and AV: on a CPU torch's fused SDPA kernel is not in FlopCounterMode's table
            att = (q @ k.transpose(-1, -2)) * (e // n_head) ** -0.5
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, e))
            return x + self.fc_proj(tnn.functional.gelu(self.fc(self.ln_2(x))))

    class GPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = tnn.Embedding(vocab, n_embd), tnn.Embedding(block, n_embd)
            self.h = tnn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = tnn.LayerNorm(n_embd)
            self.lm_head = tnn.Linear(n_embd, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    return GPT()


def test_gemm_mode_agrees_with_torch_flop_counter_on_a_gpt():
    torch = pytest.importorskip("torch")
    flop_counter = pytest.importorskip("torch.utils.flop_counter")
    from minitorch.models import GPT
    from minitorch.models.registry import lm_loss

    vocab, block, n_layer, n_head, n_embd, b = 65, 16, 2, 4, 32, 3
    idx = np.random.default_rng(0).integers(0, vocab, (b, block))
    model = GPT(vocab_size=vocab, block_size=block, n_layer=n_layer, n_head=n_head, n_embd=n_embd)
    with FlopCounter(model) as ours:
        lm_loss(model, mt.tensor(idx), mt.tensor(idx)).backward()
    tmodel = _torch_gpt(torch, vocab, block, n_layer, n_head, n_embd)
    with flop_counter.FlopCounterMode(display=False) as theirs:
        logits = tmodel(torch.from_numpy(idx))
        fwd = theirs.get_total_flops()
        torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), torch.from_numpy(idx).reshape(-1)).backward()
    assert ours.forward_flops == fwd
    assert ours.total_flops == theirs.get_total_flops()


def test_cli_prints_table_and_rejects_bad_flags(capsys):
    from minitorch.cli.flops import main

    fc = main(["--preset", "baby-gpt", "--batch-size", "2", "--block-size", "8", "--time", "1"])
    out = capsys.readouterr().out
    assert "transformer.h.0" in out and "per token (16 tokens)" in out and "GFLOP/s" in out
    e, v = 128, 65  # baby-gpt: 4 layers of 12 E^2 weights, a tied E x V head, attention 4 B T^2 E per layer
    assert fc.forward_flops == 2 * 16 * (4 * 12 * e * e + e * v) + 4 * 4 * 2 * 8 * 8 * e
    for argv, words in (([["--mode", "fast"]], "--mode"), ([["--batch-size", "0"]], "at least 1"),
                        ([["--seed", "-1"]], "--seed: must be 0 or more, got -1")):
        with pytest.raises(SystemExit) as err:
            main(argv[0])
        assert err.value.code == 2
        line = capsys.readouterr().err.strip()
        assert line.startswith("minitorch.flops: error:") and words in line and "\n" not in line


def test_every_flag_has_help_with_its_default_and_choices():
    import argparse

    from minitorch.cli.flops import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, action.option_strings
        if not isinstance(action, argparse._StoreTrueAction):
            assert "default" in action.help, action.option_strings
        assert all(str(c) in action.help for c in action.choices or ()), action.option_strings


@pytest.mark.parametrize("kind, gates", [("RNN", 1), ("GRU", 3), ("LSTM", 4)])
def test_recurrent_layers_match_hand_count(kind, gates):
    t, b, i, h = 5, 2, 3, 4
    layer = getattr(nn, kind)(i, h)
    x = _rand(t, b, i, grad=False)
    fc = count_flops(lambda u: layer(u)[0], x)
    f_x, f_h = 2 * t * b * i * gates * h, 2 * t * b * h * gates * h
    assert fc.forward_flops == f_x + f_h
    assert fc.backward_flops == f_x + 2 * f_h  # dW_ih; dh at every step and dW_hh; no dx (x needs no grad)
    cell = getattr(nn, kind + "Cell")(i, h)
    fc = count_flops(cell, _rand(b, i))
    f_x, f_h = 2 * b * i * gates * h, 2 * b * h * gates * h
    assert (fc.forward_flops, fc.backward_flops) == (f_x + f_h, 2 * f_x + f_h)  # h0 is zeros: no dh
    assert not fc.uncounted
