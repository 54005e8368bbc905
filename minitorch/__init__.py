"""minitorch: a from-scratch NumPy (and CuPy) deep-learning framework for teaching.

Every differentiable op is a hand-written forward/backward kernel pair (``minitorch.kernels``);
the API follows PyTorch so that a torch training script ports by changing its imports."""
import math as _math

import numpy as _np

from .autograd import (  # noqa: F401 - re-exported as minitorch.<name>
    Function,
    Tensor,
    arange,
    as_tensor,
    cat,
    concat,
    einsum,
    empty,
    empty_like,
    enable_grad,
    eye,
    from_numpy,
    full,
    full_like,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    linspace,
    multinomial,
    no_grad,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_grad_enabled,
    split,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .backend import Device as device  # noqa: F401 - torch.device
from .backend import (  # noqa: F401
    Generator,
    cupy_available,
    get_array_module,
    get_backend,
    get_default_dtype,
    get_num_threads,
    manual_seed,
    set_backend,
    set_default_dtype,
    set_num_threads,
)
from .backend.core import UnsupportedDtype as _UnsupportedDtype

__version__ = "0.1.0"

float32 = float = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
float16 = half = _np.dtype(_np.float16)
int64 = long = _np.dtype(_np.int64)
int32 = int = _np.dtype(_np.int32)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)  # noqa: A001 - torch.bool
bfloat16 = _UnsupportedDtype("bfloat16", "NumPy has no bfloat16; use float32, or float16 where it is enough")


inf, nan, pi, e = _math.inf, _math.nan, _math.pi, _math.e
finfo, iinfo = _np.finfo, _np.iinfo  # torch.finfo(dtype).min / .max / .eps / .tiny


class Size(tuple):
    """``torch.Size``: a tuple of dims (``Tensor.shape`` is a plain tuple, and compares equal to one)."""

    def numel(self):
        return _math.prod(self)

    def __repr__(self):
        return f"minitorch.Size({list(self)})"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.is_floating_point()


def clone(t):
    return t.clone()


def mm(a, b):
    return a.mm(b)


concatenate = cat


def matmul(a, b):
    return a @ b


def bmm(a, b):
    return a.bmm(b)


def _method(name):
    def fn(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``minitorch.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "clamp", "sum", "mean", "amax", "amin",
              "max", "min", "var", "std", "argmax", "argmin", "reshape", "flatten", "unsqueeze", "squeeze",
              "transpose", "permute", "gather", "softmax", "log_softmax", "logsumexp", "maximum", "minimum",
              "masked_fill", "chunk", "unbind", "square", "rsqrt", "allclose", "equal", "numel", "neg", "pow", "add",
              "sub", "mul", "div", "clip", "reciprocal", "flatten", "squeeze", "expand", "repeat", "t", "norm", "tril",
              "triu", "topk"):
    globals()[_name] = _method(_name)
del _name

# Subpackages reachable as attributes after ``import minitorch`` (like torch.nn, torch.optim).
from . import amp, backends, cuda, linalg, nn, optim  # noqa: E402, F401

cuda.amp = amp  # torch.cuda.amp.GradScaler / autocast, torch's older path


def compile(model=None, *args, **kwargs):  # noqa: A001 - torch.compile
    """``torch.compile``: minitorch has no compiler, so the model (or function) comes back unchanged;
    usable as ``compile(model)`` and as a decorator."""
    if model is None:
        return lambda fn: fn
    return model
from .checkpoint import load, save  # noqa: E402, F401  (torch.save / torch.load for state dicts, without pickle)


def __getattr__(name):
    """``minitorch.utils`` (torch.utils.data's names) is imported on first use: it loads the data layer
    (tokenizers, corpora), which ``import minitorch`` alone does not need."""
    if name == "utils":
        import importlib  # noqa: PLC0415

        return importlib.import_module(".utils", __name__)
    raise AttributeError(f"module 'minitorch' has no attribute {name!r}")
