"""Containers with torch's behaviour: ``Sequential``, ``ModuleList``, ``ModuleDict``.

Children are registered under their index ('0', '1', ...) or key, so state_dict keys match torch
(``'0.weight'``, ``'layers.3.bias'``)."""
import operator
from collections import OrderedDict
from collections.abc import Mapping

from .module import Module, _addindent


def _index(container, idx):
    """A non-negative int index into ``container`` or an IndexError naming the container."""
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(
            f"{type(container).__name__} indices must be integers or slices, not {type(idx).__name__}"
        ) from None
    n = len(container)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {type(container).__name__} of length {n}")
    return idx % n


def _renumber(container):
    """Re-key children as '0', '1', ... after a deletion or insertion (torch keeps numbering dense)."""
    mods = list(container._modules.values())
    container._modules.clear()
    for i, m in enumerate(mods):
        container._modules[str(i)] = m


def _check_module(container, value, what="module"):
    if not isinstance(value, Module):
        raise TypeError(f"{type(container).__name__}: {what} must be a minitorch.nn.Module, got {type(value).__name__}")
    return value


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))`` or
    ``Sequential(OrderedDict([('fc', Linear(4, 8)), ('act', ReLU())]))``."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for key, module in args[0].items():
                self.add_module(key, _check_module(self, module))
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), _check_module(self, module))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(self, idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules.keys())[_index(self, idx)]
        self._modules[key] = _check_module(self, module)

    def __delitem__(self, idx):
        keys = list(self._modules.keys())
        if isinstance(idx, slice):
            for key in keys[idx]:
                del self._modules[key]
        else:
            del self._modules[keys[_index(self, idx)]]
        _renumber(self)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(
                f"add operator supports only objects of Sequential class, but {type(other).__name__} is given."
            )
        return Sequential(*self, *other)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(self, module))
        return self

    def extend(self, sequential):
        for m in sequential:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (children are renumbered)."""
        _check_module(self, module)
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
        return self

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def forward(self, input):  # noqa: A002 - torch's argument name
        for module in self:
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules whose parameters are registered (``'0.weight'``, ``'1.weight'``, ...).
    It has no forward: iterate over it in your own."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(self, idx))]

    def __setitem__(self, idx, module):
        self._modules[str(_index(self, idx))] = _check_module(self, module)

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            for k in range(len(self._modules))[idx]:
                del self._modules[str(k)]
        else:
            del self._modules[str(_index(self, idx))]
        _renumber(self)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __contains__(self, module):
        return any(m is module for m in self)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(self, module))
        return self

    def extend(self, modules):
        """Append every module of an iterable; returns self."""
        if not hasattr(modules, "__iter__") or isinstance(modules, (Mapping, str)):
            raise TypeError(
                f"ModuleList.extend should be called with an iterable of modules, got {type(modules).__name__}"
            )
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``."""
        _check_module(self, module)
        n = len(self._modules)
        if index < 0:
            index = max(0, index + n)
        index = min(index, n)
        for i in range(n, index, -1):
            self._modules[str(i)] = self._modules[str(i - 1)]
        self._modules[str(index)] = module

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def __repr__(self):
        # torch's layout: runs of identical children are printed once, e.g. "(0-3): 4 x Linear(...)".
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if blocks and blocks[-1][2] == r:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, r])
        lines = []
        for start, end, r in blocks:
            line = f"({start}): {r}" if start == end else f"({start}-{end}): {end - start + 1} x {r}"
            lines.append(_addindent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules (insertion ordered) whose parameters are registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r} (keys: {list(self._modules)})")
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check_module(self, module))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add (key, module) pairs from a mapping or an iterable of pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs = modules.items()
        else:
            pairs = []
            for j, m in enumerate(modules):
                if not isinstance(m, (tuple, list)) or len(m) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{j} should be a (key, module) pair")
                pairs.append(m)
        for key, module in pairs:
            self[key] = module
