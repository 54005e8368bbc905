"""``Module``: the base of every layer, with PyTorch's registration, state_dict and modes."""
from collections import OrderedDict

from .. import backend
from ..autograd import Tensor, no_grad
from .parameter import Parameter


class Module:
    """Base class for layers and models. Assign Parameters, Modules and buffers as attributes
    and they are registered (in assignment order, like torch)."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: call super().__init__() first"
            )
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):  # pragma: no cover
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._modules, self._buffers):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
            self.__dict__.pop(name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A non-learnable tensor saved in the state_dict (unless ``persistent=False``)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        self._modules[name] = module

    register_module = add_module

    # ----------------------------------------------------------------- traversal
    def named_modules(self, memo=None, prefix=""):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (mp + "." if mp else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix=""):
        for mp, m in self.named_modules(prefix=prefix):
            for name, b in m._buffers.items():
                if b is not None:
                    yield (mp + "." if mp else "") + name, b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------- modes and grads
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = Tensor._make(p.grad.data * 0)

    # ----------------------------------------------------------------- device / dtype
    def _map_tensors(self, fn):
        for m in self.modules():
            for name, p in m._parameters.items():
                if p is not None:
                    p.data = fn(p.data)
                    if p.grad is not None:
                        p.grad = Tensor._make(fn(p.grad.data))
            for name, b in m._buffers.items():
                if b is not None:
                    b.data = fn(b.data)
        return self

    def to(self, *args, dtype=None, device=None):
        """Move (``to('cuda')``) or cast (``to(minitorch.float64)``) all parameters and buffers in place."""
        from ..autograd.tensor import as_dtype  # noqa: PLC0415

        for a in args:
            if isinstance(a, str) and (a in ("cpu", "cuda") or a.startswith("cuda")):
                device = a
            else:
                dtype = a
        if device is not None:
            self._map_tensors(lambda arr: backend.to_device(arr, device))
        if dtype is not None:
            dt = as_dtype(dtype)
            self._map_tensors(lambda arr: arr.astype(dt) if arr.dtype.kind == "f" else arr)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    # ----------------------------------------------------------------- state dict
    def state_dict(self, prefix="", keep_vars=False):
        """An OrderedDict name -> Tensor of all parameters and persistent buffers, keyed like torch."""
        out = OrderedDict()
        for mp, m in self.named_modules(prefix=prefix.rstrip(".")):
            pre = mp + "." if mp else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[pre + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors, NumPy arrays or torch tensors) into parameters and buffers.

        With ``strict``, missing and unexpected keys are an error; a shape mismatch always is.
        All problems are listed at once. Returns (missing_keys, unexpected_keys)."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            arr = _to_host_array(state_dict[k], k)
            if tuple(arr.shape) != tuple(target.shape):
                problems.append(
                    f"size mismatch for {k}: copying a param with shape {tuple(arr.shape)} from checkpoint, "
                    f"the shape in current model is {tuple(target.shape)}"
                )
            values[k] = arr
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing))
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected))
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(problems)
            )
        with no_grad():
            for k, arr in values.items():
                target = own[k]
                xp = backend.get_array_module(target.data)
                target.data = backend.to_device(arr.astype(target.data.dtype, copy=True), target.device) \
                    if xp.__name__ != "numpy" else arr.astype(target.data.dtype, copy=True)
        return missing, unexpected

    # ----------------------------------------------------------------- calling and printing
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def num_parameters(self):
        """The number of learnable values."""
        return sum(p.numel() for p in self.parameters())


def _to_host_array(value, key):
    """A NumPy array from a minitorch Tensor, a torch tensor, or an array."""
    import numpy as np  # noqa: PLC0415 - host-side conversion of user input

    if isinstance(value, Tensor):
        return backend.to_numpy(value.data)
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    try:
        return backend.to_numpy(value) if hasattr(value, "shape") else np.asarray(value)
    except Exception as err:  # pragma: no cover
        raise TypeError(f"state_dict entry {key!r} is not an array or tensor ({type(value).__name__})") from err
