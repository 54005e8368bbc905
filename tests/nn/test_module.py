"""Module machinery: registration, traversal, state_dict / load_state_dict (also from torch),
modes, apply, zero_grad, dtype casting, repr, tied parameters. Uses hand-made modules only."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import minitorch
from minitorch import nn


class Affine(nn.Module):
    """y = x @ W.T + b, written with Tensor ops only (no functional)."""

    def __init__(self, n_in, n_out, bias=True):
        super().__init__()
        self.weight = nn.Parameter(minitorch.randn(n_out, n_in))
        if bias:
            self.bias = nn.Parameter(minitorch.randn(n_out))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return f"in={self.weight.shape[1]}, out={self.weight.shape[0]}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Affine(3, 4)
        self.register_buffer("steps", minitorch.zeros(2, dtype=minitorch.int64))
        self.register_buffer("cache", minitorch.zeros(3), persistent=False)
        self.dec = Affine(4, 2, bias=False)
        self.scale = nn.Parameter(minitorch.ones(1))

    def forward(self, x):
        return self.dec(self.enc(x).tanh()) * self.scale


def test_registration_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "enc.weight", "enc.bias", "dec.weight"]
    assert list(net.state_dict()) == ["scale", "steps", "enc.weight", "enc.bias", "dec.weight"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "cache"]
    assert [n for n, _ in net.named_modules()] == ["", "enc", "dec"]
    assert [n for n, _ in net.named_children()] == ["enc", "dec"]
    assert net.dec.bias is None and "bias" in net.dec._parameters
    assert net.num_parameters() == 1 + 12 + 4 + 8
    assert net.get_submodule("enc") is net.enc and net.get_parameter("enc.bias") is net.enc.bias


def test_state_dict_order_matches_torch():
    torch = pytest.importorskip("torch")

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.Linear(3, 4)
            self.register_buffer("steps", torch.zeros(2, dtype=torch.int64))
            self.register_buffer("cache", torch.zeros(3), persistent=False)
            self.dec = torch.nn.Linear(4, 2, bias=False)
            self.scale = torch.nn.Parameter(torch.ones(1))

    assert list(Net().state_dict()) == list(TNet().state_dict())


def test_reassignment_rules():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = minitorch.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters()) and net.scale is None
    new = minitorch.ones(2, dtype=minitorch.int64)
    net.steps = new  # assigning a Tensor to a buffer name replaces the buffer
    assert net.steps is new and "steps" in net.state_dict()
    with pytest.raises(TypeError, match="as buffer 'steps'"):
        net.steps = 3
    with pytest.raises(TypeError, match="as child module 'enc'"):
        net.enc = 3
    net.enc = Affine(3, 4)
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", minitorch.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        net.register_parameter("forward", nn.Parameter(minitorch.zeros(1)))
    with pytest.raises(TypeError, match="Parameter or None required"):
        net.register_parameter("w", minitorch.zeros(1))
    del net.enc
    assert "enc" not in dict(net.named_children())

    class NoInit(nn.Module):
        def __init__(self):
            self.w = 1

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        NoInit()


def test_train_eval_recurse_and_respect_overrides():
    calls = []

    class Custom(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    net = Net()
    net.enc.inner = Custom()
    assert net.training and net.enc.inner.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    assert calls == [False, True]
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_apply_order_and_return():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Affine", "Affine", "Net"]

    def reinit(m):
        if isinstance(m, Affine):
            nn.init.zeros_(m.weight)

    net.apply(reinit)
    assert (net.enc.weight.detach().numpy() == 0).all() and (net.dec.weight.detach().numpy() == 0).all()


def test_zero_grad_and_requires_grad():
    net = Net()
    net(minitorch.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    g = net.enc.weight.grad
    net.zero_grad(set_to_none=False)
    assert net.enc.weight.grad is g and (g.numpy() == 0).all()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_tied_parameters_dedup_but_state_dict_keeps_both():
    torch = pytest.importorskip("torch")

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Affine(4, 4, bias=False)
            self.b = Affine(4, 4, bias=False)
            self.b.weight = self.a.weight

    class TTied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(4, 4, bias=False)
            self.b = torch.nn.Linear(4, 4, bias=False)
            self.b.weight = self.a.weight

    m = Tied()
    assert len(list(m.parameters())) == 1 and m.num_parameters() == 16
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in TTied().named_parameters()]
    assert list(m.state_dict()) == list(TTied().state_dict()) == ["a.weight", "b.weight"]
    # loading keeps them tied
    t = TTied()
    m.load_state_dict(t.state_dict())
    assert m.b.weight is m.a.weight
    np.testing.assert_array_equal(m.a.weight.detach().numpy(), t.a.weight.detach().numpy())

    # the same module reachable twice: listed once by modules(), twice by the state_dict (like torch)
    shared = Affine(2, 2)
    seq = nn.Sequential(shared, shared)
    tshared = torch.nn.Linear(2, 2)
    assert list(seq.state_dict()) == list(torch.nn.Sequential(tshared, tshared).state_dict())
    assert len(list(seq.modules())) == 2 and len(list(seq.parameters())) == 2


def test_state_dict_values_are_detached_copies_of_nothing():
    net = Net()
    sd = net.state_dict()
    assert not sd["enc.weight"].requires_grad
    assert sd["enc.weight"].data is net.enc.weight.data  # shares memory, like torch
    kv = net.state_dict(keep_vars=True)
    assert kv["enc.weight"] is net.enc.weight
    pre = net.state_dict(prefix="model.")
    assert list(pre)[0] == "model.scale"


def test_load_state_dict_roundtrip_in_place():
    a, b = Net(), Net()
    w = b.enc.weight
    data_before = w.data
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    assert b.enc.weight is w and w.data is data_before  # copied in place: optimizers keep working
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k].numpy(), v.numpy())
    # the loaded values are copies, not views of the source
    a.enc.weight.data[...] = 123
    assert not (b.enc.weight.detach().numpy() == 123).any()


def test_load_state_dict_reports_every_problem_at_once():
    net = Net()
    sd = OrderedDict(net.state_dict())
    del sd["enc.bias"]
    del sd["scale"]
    sd["extra.weight"] = minitorch.zeros(1)
    sd["enc.weight"] = minitorch.zeros(5, 3)
    sd["dec.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "scale", "enc.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for enc.weight: copying a param with shape (5, 3) from checkpoint, " \
           "the shape in current model is (4, 3)" in msg
    assert "size mismatch for dec.weight" in msg
    assert msg.index("Missing") < msg.index("Unexpected") < msg.index("size mismatch")


def test_load_state_dict_non_strict():
    net = Net()
    before = net.enc.bias.detach().numpy().copy()
    sd = {"enc.weight": np.ones((4, 3)), "bogus": np.zeros(2)}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert unexpected == ["bogus"] and set(missing) == {"scale", "steps", "enc.bias", "dec.weight"}
    assert (net.enc.weight.detach().numpy() == 1).all()
    np.testing.assert_array_equal(net.enc.bias.detach().numpy(), before)
    # size mismatches are an error even when not strict (as in torch)
    with pytest.raises(RuntimeError, match="size mismatch for enc.weight"):
        net.load_state_dict({"enc.weight": np.ones((2, 2))}, strict=False)


def test_load_torch_state_dict_and_keep_dtype():
    torch = pytest.importorskip("torch")
    tl = torch.nn.Linear(3, 4).double()
    m = Affine(3, 4)
    m.load_state_dict(tl.state_dict())
    assert m.weight.dtype == np.float32  # the module keeps its dtype
    np.testing.assert_allclose(m.weight.detach().numpy(), tl.weight.detach().numpy(), rtol=1e-6)
    x = np.random.default_rng(0).standard_normal((2, 3))
    np.testing.assert_allclose(
        m(minitorch.tensor(x, dtype=np.float32)).detach().numpy(),
        tl(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    # bfloat16 checkpoints load too
    m.load_state_dict({k: v.bfloat16() for k, v in tl.state_dict().items()})
    np.testing.assert_allclose(m.weight.detach().numpy(), tl.weight.detach().numpy(), rtol=1e-2)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_to_dtype_casts_floats_only_and_keeps_identity():
    net = Net()
    net(minitorch.randn(2, 3)).sum().backward()
    w = net.enc.weight
    assert net.to(minitorch.float64) is net
    assert net.enc.weight is w and w.dtype == np.float64 and w.grad.dtype == np.float64
    assert net.steps.dtype == np.int64 and net.cache.dtype == np.float64
    out = net(minitorch.randn(2, 3, dtype=minitorch.float64))
    assert out.dtype == np.float64
    net.float()
    assert w.dtype == np.float32
    net.to("float64")
    assert w.dtype == np.float64
    net.half()
    assert w.dtype == np.float16
    with pytest.raises(TypeError, match="floating point"):
        net.to(minitorch.int64)
    with pytest.raises(TypeError, match="expected a device \\('cpu', 'cuda'\\) or a floating dtype, got 'gpu'"):
        net.to("gpu")


def test_repr_matches_torch_layout():
    torch = pytest.importorskip("torch")

    class Leaf(nn.Module):
        def extra_repr(self):
            return "in_features=3, out_features=4, bias=True"

    class TLeaf(torch.nn.Module):
        def extra_repr(self):
            return "in_features=3, out_features=4, bias=True"

    class Outer(nn.Module):
        def __init__(self, leaf, seq):
            super().__init__()
            self.a = leaf()
            self.body = seq(leaf(), seq(leaf()))
            self.empty = seq()

    class TOuter(torch.nn.Module):
        def __init__(self, leaf, seq):
            super().__init__()
            self.a = leaf()
            self.body = seq(leaf(), seq(leaf()))
            self.empty = seq()

    ours = repr(Outer(Leaf, nn.Sequential)).replace("Leaf", "X")
    theirs = repr(TOuter(TLeaf, torch.nn.Sequential)).replace("TLeaf", "X").replace("TOuter", "Outer")
    assert ours == theirs
    assert repr(Leaf()) == "Leaf(in_features=3, out_features=4, bias=True)"


def test_deepcopy_is_independent():
    net = Net()
    clone = copy.deepcopy(net)
    assert list(clone.state_dict()) == list(net.state_dict())
    clone.enc.weight.data[...] = 0
    assert not (net.enc.weight.detach().numpy() == 0).all()
    assert clone.enc.weight.requires_grad


def test_forward_missing():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_forward_hooks():
    net = Net()
    seen = []
    h = net.enc.register_forward_hook(lambda m, args, out: seen.append((type(m).__name__, out.shape)))
    pre = net.dec.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = net(minitorch.randn(2, 3))
    assert seen == [("Affine", (2, 4))]
    assert not out.detach().numpy().any()  # the pre-hook replaced dec's input with zeros, and dec has no bias
    h.remove()
    pre.remove()
    net(minitorch.randn(2, 3))
    assert len(seen) == 1
    with net.register_forward_hook(lambda m, args, o: o * 0 + 7):
        assert (net(minitorch.randn(1, 3)).detach().numpy() == 7).all()
    assert not (net(minitorch.randn(1, 3)).detach().numpy() == 7).all()


def test_load_state_dict_dtype_mismatch_and_assign():
    net = Net()
    before = net.enc.weight.detach().numpy().copy()
    sd = dict(net.state_dict())
    sd["enc.weight"] = np.zeros((4, 3))
    sd["steps"] = np.ones(2)  # floats into an int64 buffer
    with pytest.raises(RuntimeError, match="dtype mismatch for steps"):
        net.load_state_dict(sd)
    np.testing.assert_array_equal(net.enc.weight.detach().numpy(), before)  # nothing loaded
    sd["steps"] = np.ones(2, dtype=np.int64)
    w = net.enc.weight
    net.load_state_dict(sd, assign=True)
    assert net.enc.weight is w and w.dtype == np.float64 and not w.detach().numpy().any()
