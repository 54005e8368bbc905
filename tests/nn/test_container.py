"""Sequential, ModuleList, ModuleDict: indexing, mutation, numbering, state_dict keys, repr (vs torch)."""
from collections import OrderedDict

import numpy as np
import pytest

import minitorch
from minitorch import nn


class Scale(nn.Module):
    """x * w, with a parameter so that containers have something to register."""

    def __init__(self, value=2.0, n=1):
        super().__init__()
        self.weight = nn.Parameter(minitorch.full((n,), value))

    def forward(self, x):
        return x * self.weight

    def extra_repr(self):
        return f"value={float(self.weight.detach().numpy()[0])}"


def _vals(mods):
    return [float(m.weight.detach().numpy()[0]) for m in mods]


def test_sequential_forward_and_keys():
    seq = nn.Sequential(Scale(2.0), Scale(3.0), nn.Sequential(Scale(5.0)))
    out = seq(minitorch.tensor([1.0, -1.0]))
    np.testing.assert_allclose(out.detach().numpy(), [30.0, -30.0])
    assert list(seq.state_dict()) == ["0.weight", "1.weight", "2.0.weight"]
    assert len(seq) == 3


def test_sequential_from_ordered_dict():
    seq = nn.Sequential(OrderedDict([("first", Scale(2.0)), ("act", Scale(3.0))]))
    assert list(seq.state_dict()) == ["first.weight", "act.weight"]
    assert seq.first is seq[0] and seq.act is seq[-1]


def test_sequential_indexing_and_mutation():
    a, b, c, d = Scale(1.0), Scale(2.0), Scale(3.0), Scale(4.0)
    seq = nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub.state_dict()) == ["1.weight", "2.weight"]  # slices keep the keys, like torch
    with pytest.raises(IndexError, match="index 3 is out of range for Sequential of length 3"):
        seq[3]
    with pytest.raises(TypeError, match="integers or slices"):
        seq["0"]
    seq.append(d)
    assert list(seq) == [a, b, c, d] and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq) == [a, c, d] and list(seq._modules) == ["0", "1", "2"]
    seq.insert(1, b)
    assert list(seq) == [a, b, c, d] and list(seq._modules) == ["0", "1", "2", "3"]
    seq[0] = d
    assert seq[0] is d
    assert seq.pop(0) is d and len(seq) == 3
    seq.extend([Scale(7.0)])
    assert _vals(seq) == [2.0, 3.0, 4.0, 7.0]
    both = nn.Sequential(a) + nn.Sequential(b)
    assert list(both) == [a, b]
    with pytest.raises(TypeError, match="must be a minitorch.nn.Module"):
        nn.Sequential(a, lambda x: x)
    with pytest.raises(TypeError, match="must be a minitorch.nn.Module"):
        seq.append(3)


def test_module_list():
    layers = nn.ModuleList([Scale(float(i)) for i in range(3)])
    assert len(layers) == 3 and _vals(layers) == [0.0, 1.0, 2.0]
    assert list(layers.state_dict()) == ["0.weight", "1.weight", "2.weight"]
    layers.append(Scale(3.0))
    layers.extend([Scale(4.0), Scale(5.0)])
    assert _vals(layers) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    layers.insert(0, Scale(-1.0))
    assert _vals(layers) == [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    layers.insert(-1, Scale(4.5))
    assert _vals(layers) == [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 4.5, 5.0]
    assert _vals(layers[2:5]) == [1.0, 2.0, 3.0] and isinstance(layers[2:5], nn.ModuleList)
    assert layers[-1] is list(layers)[-1]
    del layers[0]
    assert list(layers._modules) == [str(i) for i in range(7)] and _vals(layers)[0] == 0.0
    del layers[1:3]
    assert _vals(layers) == [0.0, 3.0, 4.0, 4.5, 5.0]
    popped = layers.pop(-1)
    assert _vals([popped]) == [5.0] and len(layers) == 4
    layers[0] = Scale(9.0)
    assert _vals(layers)[0] == 9.0
    layers += [Scale(6.0)]
    assert len(layers) == 5 and popped not in layers and layers[0] in layers
    with pytest.raises(IndexError, match="out of range for ModuleList of length 5"):
        layers[5]
    with pytest.raises(TypeError, match="iterable of modules"):
        layers.extend(Scale())
    with pytest.raises(NotImplementedError):
        layers(minitorch.ones(1))
    # parameters of the list are the module's parameters
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([Scale(), Scale()])

    assert list(Holder().state_dict()) == ["layers.0.weight", "layers.1.weight"]


def test_module_list_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleList([Scale(1.0), Scale(1.0), Scale(1.0), Scale(2.0), Scale(1.0)])
    r = repr(ours)
    assert r == ("ModuleList(\n  (0-2): 3 x Scale(value=1.0)\n  (3): Scale(value=2.0)\n  (4): Scale(value=1.0)\n)")

    class TScale(torch.nn.Module):
        def __init__(self, v):
            super().__init__()
            self.v = v

        def extra_repr(self):
            return f"value={self.v}"

    theirs = repr(torch.nn.ModuleList([TScale(1.0)] * 3 + [TScale(2.0), TScale(1.0)])).replace("TScale", "Scale")
    assert r == theirs
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"


def test_module_dict():
    d = nn.ModuleDict({"enc": Scale(1.0), "dec": Scale(2.0)})
    assert list(d) == ["enc", "dec"] and len(d) == 2 and "enc" in d
    assert list(d.state_dict()) == ["enc.weight", "dec.weight"]
    d["head"] = Scale(3.0)
    d.update([("tail", Scale(4.0))])
    assert list(d.keys()) == ["enc", "dec", "head", "tail"]
    assert _vals(d.values()) == [1.0, 2.0, 3.0, 4.0]
    assert [k for k, _ in d.items()] == list(d.keys())
    assert _vals([d.pop("dec")]) == [2.0] and "dec" not in d
    del d["head"]
    assert list(d) == ["enc", "tail"]
    with pytest.raises(KeyError, match="ModuleDict has no key 'nope'"):
        d["nope"]
    with pytest.raises(KeyError, match="contain"):
        d["a.b"] = Scale()
    with pytest.raises(ValueError, match="pair"):
        d.update([Scale()])
    d.clear()
    assert len(d) == 0


def test_containers_state_dict_match_torch():
    torch = pytest.importorskip("torch")

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(1))

    class Ours(nn.Module):
        def __init__(self, mod, seq, ml, md):
            super().__init__()
            self.blocks = ml([seq(mod(), mod()), mod()])
            self.heads = md({"a": mod(), "b": seq(OrderedDict([("x", mod())]))})

    class Theirs(torch.nn.Module):
        def __init__(self, mod, seq, ml, md):
            super().__init__()
            self.blocks = ml([seq(mod(), mod()), mod()])
            self.heads = md({"a": mod(), "b": seq(OrderedDict([("x", mod())]))})

    ours = Ours(Scale, nn.Sequential, nn.ModuleList, nn.ModuleDict)
    theirs = Theirs(T, torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
