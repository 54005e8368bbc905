"""``Module``: the base of every layer, with PyTorch's registration, state_dict and modes."""
from collections import OrderedDict, namedtuple

from .. import backend
from ..autograd import Tensor, no_grad
from ..autograd.tensor import zero_grads
from .parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns (torch's ``_IncompatibleKeys``)."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _check_name(kind, name, owner):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
    if hasattr(owner, name) and not any(name in s for s in (owner._parameters, owner._modules, owner._buffers)):
        raise KeyError(f"attribute {name!r} already exists")


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
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: call super().__init__() first"
            )
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            d.pop(name, None)
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(minitorch.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            d.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(minitorch.nn.Module or None expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (minitorch.Tensor or None expected)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

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
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules) | set(self._buffers))

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as ``bias=False``)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(minitorch.nn.Parameter or None required)"
            )
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A non-learnable tensor saved in the state_dict (unless ``persistent=False``)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (minitorch.Tensor or None required)"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register ``module`` (or None) as the child ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name, self)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at dotted path ``target`` ('' is self), e.g. ``'encoder.layers.0'``."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules or mod._modules[item] is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{item}` (looking up {target!r})")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target):
        """The parameter at dotted path ``target``, e.g. ``'0.weight'``."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}` (looking up {target!r})")
        return mod._parameters[name]

    # ----------------------------------------------------------------- traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every submodule, depth first; a module reachable
        by two paths is listed once (unless ``remove_duplicate=False``)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, v in getattr(m, store).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (mp + "." if mp else "") + name, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter); a parameter shared by several modules (tied weights) is
        listed once, under the first name that reaches it."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------- modes and grads
    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode on self and all submodules."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default, like torch) or to zeros."""
        zero_grads(self.parameters(), set_to_none)

    # ----------------------------------------------------------------- device / dtype
    def _map_tensors(self, fn):
        done = set()
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is None or id(t) in done:
                        continue
                    done.add(id(t))
                    t.data = fn(t.data)
                    if t.grad is not None:
                        t.grad = Tensor._make(fn(t.grad.data))
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """Move (``to('cuda')``) or cast (``to(minitorch.float64)``) all parameters and buffers in place.
        Only floating tensors change dtype (integer buffers such as counters keep theirs).
        ``non_blocking`` is accepted for torch scripts (copies are synchronous)."""
        from ..autograd.tensor import as_dtype, parse_to_args  # noqa: PLC0415

        dtype, device = parse_to_args(args, dtype, device)
        if device is not None:
            self._map_tensors(lambda arr: backend.to_device(arr, device))
        if dtype is not None:
            try:
                dt = as_dtype(dtype)
            except TypeError:
                raise TypeError(
                    f"Module.to: expected a device ('cpu', 'cuda') or a floating dtype, got {dtype!r}"
                ) from None
            if dt.kind != "f":
                raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype={dt}")
            self._map_tensors(lambda arr: arr.astype(dt) if arr.dtype.kind == "f" and arr.dtype != dt else arr)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    def half(self):
        return self.to("float16")

    # ----------------------------------------------------------------- state dict
    def _state_items(self, prefix, keep_vars):
        # Like torch: no de-duplication here, so a module (or weight) shared by two paths is saved
        # under both names.
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, (p if keep_vars else p.detach())
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                yield prefix + name, (b if keep_vars else b.detach())
        for name, m in self._modules.items():
            if m is not None:
                yield from m._state_items(prefix + name + ".", keep_vars)

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict name -> Tensor of all parameters and persistent buffers, keyed exactly as
        torch keys the equivalent module (``'0.weight'``, ``'encoder.layers.1.bias'``)."""
        out = OrderedDict() if destination is None else destination
        out.update(self._state_items(prefix, keep_vars))
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values (minitorch Tensors, torch tensors or arrays) into parameters and buffers, in place,
        in the module's dtypes (``assign=True``: take the checkpoint's arrays and dtypes instead).

        With ``strict`` (default), missing and unexpected keys are an error; a shape mismatch always
        is. All problems are reported together in one RuntimeError, and then nothing is loaded.
        Returns ``(missing_keys, unexpected_keys)`` as a named tuple."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
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
                    f"the shape in current model is {tuple(target.shape)}."
                )
            elif arr.dtype.kind == "f" and target.data.dtype.kind != "f":
                problems.append(f"dtype mismatch for {k}: copying floating values ({arr.dtype}) from checkpoint "
                                f"into {target.data.dtype}")
            values[k] = arr
        if strict and unexpected:
            problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if strict and missing:
            problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(problems)
            )
        with no_grad():
            for k, arr in values.items():
                target = own[k]
                if assign:
                    target.data = backend.to_device(arr.copy(), target.device)
                    continue
                src = arr.astype(target.data.dtype, copy=False)
                if target.device != "cpu":
                    src = backend.to_device(src, target.device)
                try:
                    target.data[...] = src
                except ValueError:  # a read-only array (e.g. wrapped from a frozen NumPy buffer)
                    target.data = src.copy()
        return _IncompatibleKeys(missing, unexpected)

    # ----------------------------------------------------------------- calling and printing
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        pre, post = d.get("_forward_pre_hooks"), d.get("_forward_hooks")
        if not pre and not post:
            return self.forward(*args, **kwargs)
        for hook in list(pre.values()) if pre else ():
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(post.values()) if post else ():
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before each forward; a non-None result replaces the positional
        args. Returns a handle whose ``remove()`` unregisters it."""
        return _RemovableHandle(self._hooks("_forward_pre_hooks"), hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after each forward (e.g. to record activations); a non-None
        result replaces the output. Returns a handle whose ``remove()`` unregisters it."""
        return _RemovableHandle(self._hooks("_forward_hooks"), hook)

    def _hooks(self, name):
        if name not in self.__dict__:
            object.__setattr__(self, name, OrderedDict())
        return self.__dict__[name]

    def extra_repr(self):
        """Extra text inside this module's repr, e.g. ``in_features=4, out_features=2, bias=True``."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, m in self._modules.items():
            child_lines.append(f"({name}): " + _addindent(repr(m), 2))
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def num_parameters(self):
        """The number of learnable values (shared parameters counted once)."""
        return sum(p.numel() for p in self.parameters())


class _RemovableHandle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` (or ``with handle:``) unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks, hook):
        self._hooks = hooks
        self.id = _RemovableHandle._next_id
        _RemovableHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _addindent(s, n):
    """Indent every line of ``s`` but the first by ``n`` spaces (torch's repr layout)."""
    return s.replace("\n", "\n" + " " * n)


def _to_host_array(value, key):
    """A NumPy array from a minitorch Tensor, a torch tensor, or an array."""
    import numpy as np  # noqa: PLC0415 - host-side conversion of user input

    if isinstance(value, Tensor):
        return backend.to_numpy(value.data)
    if type(value).__module__.startswith("torch"):
        t = value.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    try:
        return backend.to_numpy(value) if hasattr(value, "shape") else np.asarray(value)
    except Exception as err:
        raise TypeError(f"state_dict entry {key!r} is not an array or tensor ({type(value).__name__})") from err


def _check_input(desc, x, floating=True, dtype=None):
    """Module-boundary check: ``x`` is a Tensor (floating, and of ``dtype`` when given).
    ``desc`` names the module in the message, e.g. ``'Linear(in_features=128)'``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{desc}: expected a minitorch Tensor as input, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{desc}: expected a floating point input, got dtype {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{desc}: expected input of dtype {dtype} (the dtype of its parameters), got {x.dtype}; "
            f"convert the input with .to({str(dtype)!r}) or the module with .to({str(x.dtype)!r})"
        )
    return x
