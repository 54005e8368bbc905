"""Parameter initialisers with torch's names and semantics (``minitorch.nn.init``).

Each ``*_`` function fills a tensor in place (no gradient is recorded) and returns it. Random ones
draw from ``minitorch.backend.generator(xp)`` (or the ``generator`` argument), so
``minitorch.manual_seed`` makes them reproducible. Values are drawn in float64 and cast to the
tensor's dtype. Fan and gain follow ``torch.nn.init``:

- fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the receptive field
  is the product of the dimensions after the first two (1 for a Linear weight of shape (out, in));
- xavier: std = gain * sqrt(2 / (fan_in + fan_out));  kaiming: std = gain / sqrt(fan);
- a uniform distribution with that std has bound sqrt(3) * std.
"""
import math
import warnings

import numpy as np  # dtype objects only

from .. import backend
from ..autograd import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]


def _check_tensor(fn, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{fn}: expected a minitorch Tensor, got {type(tensor).__name__}")
    return tensor


def _gen(tensor, generator):
    return generator if generator is not None else backend.generator(backend.get_array_module(tensor.data))


def _fill(tensor, values):
    """Write float64 ``values`` (an array shaped like ``tensor``) into it, in its dtype."""
    values = values.astype(tensor.data.dtype)
    if backend.device_of(values) != tensor.device:  # a user generator of another backend
        values = backend.to_device(values, tensor.device)
    tensor.data[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (torch's table):
    linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4."""
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel)."""
    dims = tensor.ndim
    if dims < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(got shape {tuple(tensor.shape)})"
        )
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    fan_in = tensor.shape[1] * receptive_field_size
    fan_out = tensor.shape[0] * receptive_field_size
    return fan_in, fan_out


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples of U(a, b)."""
    _check_tensor("uniform_", tensor)
    if not a <= b:
        raise ValueError(f"nn.init.uniform_: expects a <= b, got a={a}, b={b}")
    u = _gen(tensor, generator).random(tensor.shape, dtype=np.float64)
    return _fill(tensor, u * (b - a) + a)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    _check_tensor("normal_", tensor)
    if std < 0:
        raise ValueError(f"nn.init.normal_: expects std >= 0.0, got std={std}")
    z = _gen(tensor, generator).standard_normal(tensor.shape)
    return _fill(tensor, z * std + mean)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples of N(mean, std^2) conditioned on [a, b] (absolute bounds, not in units of std).
    Out-of-range draws are redrawn (exact rejection sampling)."""
    _check_tensor("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"nn.init.trunc_normal_: expects a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"nn.init.trunc_normal_: expects std > 0, got std={std}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values may be "
            "incorrect.",
            stacklevel=2,
        )

    def cdf(x):
        return (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0)))) / 2.0

    accept = cdf(b) - cdf(a)
    if accept < 1e-6:
        raise ValueError(
            f"nn.init.trunc_normal_: [a, b] = [{a}, {b}] holds only {accept:.2g} of N({mean}, {std}^2); "
            "rejection sampling would not finish"
        )
    gen = _gen(tensor, generator)
    vals = gen.standard_normal(tensor.shape) * std + mean
    bad = (vals < a) | (vals > b)
    while bool(bad.any()):
        n = int(bad.sum())
        vals[bad] = gen.standard_normal((n,)) * std + mean
        bad = (vals < a) | (vals > b)
    return _fill(tensor, vals)


def constant_(tensor, val):
    """Fill with the value ``val``."""
    _check_tensor("constant_", tensor)
    tensor.data[...] = val
    return tensor


def ones_(tensor):
    return constant_(tensor, 1)


def zeros_(tensor):
    return constant_(tensor, 0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal, as far as the shape allows)."""
    _check_tensor("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"nn.init.eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    xp = backend.get_array_module(tensor.data)
    tensor.data[...] = xp.eye(*tensor.shape, dtype=tensor.data.dtype)
    return tensor


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check_tensor("xavier_uniform_", tensor))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check_tensor("xavier_normal_", tensor))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a) (He et al., 2015).
    ``Linear`` uses ``a=sqrt(5)``, which gives bound = 1 / sqrt(fan_in)."""
    _check_tensor("kaiming_uniform_", tensor)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan)."""
    _check_tensor("kaiming_normal_", tensor)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator=generator)
