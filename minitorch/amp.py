"""``minitorch.amp``: ``autocast`` and ``GradScaler`` with torch's names, for training scripts that use them.

minitorch has no mixed precision: ``autocast`` runs its block unchanged when it would compute in float32
(``enabled=False``, or ``dtype=float32``) and refuses float16/bfloat16 with a message. ``GradScaler`` is
torch's dynamic loss scaling (scale the loss, unscale the gradients, skip steps whose gradients are not
finite, adapt the scale); with ``enabled=False`` -- what nanoGPT builds for float32 and bfloat16 -- every call
passes straight through. (Also reachable as ``minitorch.cuda.amp``, torch's older path.)"""
import math
import numbers

from . import backend
from .autograd.tensor import as_dtype


class autocast:
    """``with autocast(device_type, dtype=..., enabled=True):`` -- a no-op for float32 (or ``enabled=False``);
    float16 / bfloat16 raise NotImplementedError, since minitorch computes in one dtype throughout."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        backend.core.normalize_device(device_type)
        self.device_type, self.enabled = device_type, bool(enabled)
        name = str(dtype).replace("torch.", "") if dtype is not None else None
        if self.enabled and (dtype is None or name not in ("float32", "float")):
            want = name or ("float16" if str(device_type).startswith("cuda") else "bfloat16")
            raise NotImplementedError(
                f"autocast: minitorch has no mixed precision ({want} requested); compute in float32 by dropping "
                "autocast, or pass enabled=False (e.g. `nullcontext()` as nanoGPT does on the CPU)")
        self.dtype = as_dtype("float32" if name in (None, "float") else name) if name != "bfloat16" else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        return fn


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or not math.isfinite(value):
        raise ValueError(f"GradScaler: {name} must be a positive number, got {value!r}")
    return float(value)


class GradScaler:
    """Dynamic loss scaling: ``scaler.scale(loss).backward(); scaler.unscale_(opt)`` (optional, before
    clipping); ``scaler.step(opt)`` (skipped when a gradient is inf/nan); ``scaler.update()`` (halves the scale
    after a skipped step, doubles it after ``growth_interval`` good ones)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._enabled = bool(enabled)
        self._scale = _check_positive(init_scale, "init_scale")
        self._growth_factor = _check_positive(growth_factor, "growth_factor")
        self._backoff_factor = _check_positive(backoff_factor, "backoff_factor")
        if not self._growth_factor > 1.0 or not self._backoff_factor < 1.0:
            raise ValueError("GradScaler: growth_factor must be > 1 and backoff_factor < 1")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval!r}")
        self._growth_interval = growth_interval
        self._good_steps = 0
        self._unscaled = {}  # id(optimizer) -> found a non-finite gradient

    def is_enabled(self):
        return self._enabled

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` (a Tensor, or a list/tuple of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place (once per step)."""
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("GradScaler.unscale_() has already been called on this optimizer since the last "
                               "update()")
        found_inf = False
        inv = 1.0 / self._scale
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                xp = backend.get_array_module(g)
                g *= g.dtype.type(inv)
                found_inf = found_inf or not bool(xp.isfinite(g).all())
        self._unscaled[id(optimizer)] = found_inf

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless a gradient is inf/nan (then the step is skipped); returns its result."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._unscaled[id(optimizer)]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """Adapt the scale for the next iteration (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = _check_positive(float(new_scale), "new_scale")
        elif any(self._unscaled.values()):
            self._scale *= self._backoff_factor
            self._good_steps = 0
        else:
            self._good_steps += 1
            if self._good_steps == self._growth_interval:
                self._scale *= self._growth_factor
                self._good_steps = 0
        self._unscaled.clear()

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._good_steps}

    def load_state_dict(self, state):
        if not self._enabled:
            return
        if not state:
            raise RuntimeError("GradScaler.load_state_dict: the state is empty (saved from a disabled GradScaler)")
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._good_steps = int(state["_growth_tracker"])
