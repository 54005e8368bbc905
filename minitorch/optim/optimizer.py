"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad`` and torch-layout state dicts.

Subclasses set their defaults, check a group's options in ``_check_group`` and implement
``step()`` by calling a kernel from ``minitorch.kernels.optim`` on each parameter's arrays.
Updates happen in place on ``p.data``, so tensors shared between modules stay shared.
"""
import math
import numbers
import warnings
from collections import defaultdict

from .. import backend
from ..autograd import Tensor, enable_grad
from ..autograd.tensor import zero_grads


class _RequiredParameter:
    """The default of an option that every group must give (SGD's lr in old torch)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _host_array(value, what):
    """A NumPy array from a minitorch Tensor, a torch tensor or an array (for load_state_dict)."""
    if isinstance(value, Tensor):
        return backend.to_numpy(value.data)
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return backend.to_numpy(value)
    raise TypeError(f"{what}: expected a tensor or an array, got {type(value).__name__}")


class Optimizer:
    """Base class of optimizers (torch.optim.Optimizer).

    ``params``: an iterable of Tensors, or of dicts ``{"params": [...], <option>: value}`` that
    make parameter groups with their own options (options not given take ``defaults``)."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._step_count = 0
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or dicts, but got a Tensor of shape "
                f"{params.shape}; pass [tensor] or model.parameters()"
            )
        if isinstance(params, dict):
            params = [params]
        param_groups = list(params)
        if not param_groups:
            raise ValueError(f"{name} got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ----------------------------------------------------------------- groups
    def _check_group(self, group):
        """Raise ValueError for invalid hyperparameters in ``group`` (subclasses)."""

    def add_param_group(self, param_group):
        """Add a group of parameters (a dict with "params" and optional per-group options)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                f"{name}: optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        if not params:
            raise ValueError(f"{name} got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"{name} can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}, made by "
                    f"{p.grad_fn!r}); optimize the leaf it was computed from, or call .detach().requires_grad_()"
                )
            if not p.is_floating_point():
                raise TypeError(f"{name} can only optimize floating point Tensors, parameter {i} has dtype {p.dtype}")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            warnings.warn(
                f"{name}: a parameter group contains duplicate parameters; in future this will cause an error",
                stacklevel=3,
            )
            unique, seen = [], set()
            for p in params:
                if id(p) not in seen:
                    seen.add(id(p))
                    unique.append(p)
            params = unique
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required option {key!r}")
            group.setdefault(key, default)
        unknown = sorted(set(group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(
                f"{name}: unknown option(s) {unknown} in a parameter group; expected some of "
                f"{sorted(self.defaults)}"
            )
        self._check_group(group)
        for other in self.param_groups:
            if ids & {id(p) for p in other["params"]}:
                raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ----------------------------------------------------------------- gradients
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized parameters: to None (default) or to zeros."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def _grad(self, p):
        """``p.grad``'s array in ``p``'s dtype, with a clear error when its shape is wrong."""
        g = p.grad.data
        if tuple(g.shape) != p.shape:
            raise RuntimeError(
                f"{type(self).__name__}.step: a parameter of shape {p.shape} has a gradient of shape {tuple(g.shape)}"
            )
        if g.dtype != p.data.dtype:
            g = g.astype(p.data.dtype)
        return g

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure``: optional function that
        re-evaluates the model and returns the loss (it is called with gradients enabled)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._step_count += 1
        for group in self.param_groups:
            self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    # ----------------------------------------------------------------- state dicts
    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{option: value, "params": [index]}]}``,
        with parameters numbered in group order (torch's layout). Values are references, not copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a ``state_dict()`` (of this or a same-shaped optimizer; torch's own state dicts work
        too). Arrays are copied to each parameter's device and dtype; groups keep their parameters."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the loaded state dict has {len(saved_groups)} parameter group(s), "
                f"this optimizer has {len(self.param_groups)}"
            )
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: loaded parameter group {i} has {len(s['params'])} parameters, "
                    f"this optimizer's group {i} has {len(g['params'])}"
                )
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            for p, k in zip(g["params"], s["params"]):
                id_map[k] = p
        new_state = defaultdict(dict)
        for k, values in state_dict["state"].items():
            key = int(k)
            if key not in id_map:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, which no group contains")
            p = id_map[key]
            new_state[p] = {n: self._load_state_value(n, v, p, key) for n, v in values.items()}
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            group = {k: v for k, v in s.items() if k != "params"}
            group = {k: (tuple(v) if isinstance(self.defaults.get(k), tuple) else v) for k, v in group.items()}
            for k, default in self.defaults.items():
                group.setdefault(k, default)
            group = {k: v for k, v in group.items() if k in self.defaults or k == "initial_lr"}
            group["params"] = g["params"]
            self._check_group(group)
            new_groups.append(group)
        self.state = new_state
        self.param_groups = new_groups

    def _load_state_value(self, name, value, p, index):
        """A saved state entry, made ready for parameter ``p``: arrays become Tensors on p's device
        (floating ones in p's dtype), ``step`` becomes an int."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if name == "step":
            return int(float(value.item() if hasattr(value, "item") else value))
        if isinstance(value, numbers.Number):
            return value
        arr = _host_array(value, f"{type(self).__name__}.load_state_dict: state {name!r} of parameter {index}")
        if arr.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state {name!r} of parameter {index} has shape "
                f"{arr.shape}, but the parameter has shape {p.shape}"
            )
        if arr.dtype.kind == "f":
            arr = arr.astype(p.data.dtype)
        return Tensor._make(backend.to_device(arr.copy(), p.device))

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def check_number(optimizer, group, key, low=0.0, high=math.inf, low_open=False, high_open=False):
    """Raise ValueError naming ``optimizer`` when ``group[key]`` is not a number in the interval."""
    value = group[key]
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
        raise ValueError(f"{optimizer}: invalid {key} value {value!r}: expected a number in {interval}")
