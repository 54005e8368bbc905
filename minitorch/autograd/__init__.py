"""Tensors, Functions, the tape and the backward engine. The import order of the modules (which imports
which) is in tensor.py's docstring."""
from . import factories
from .factories import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .function import Context, Function, kernel_function
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .joining import cat, concat, split, stack
from .ops import einsum, where
from .tensor import MaxResult, Tensor, as_dtype

__all__ = [
    "Context", "Function", "kernel_function", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled",
    "MaxResult", "Tensor", "as_dtype", "cat", "concat", "split", "stack", "where", "factories", "arange", "empty",
    "empty_like", "eye", "full", "full_like", "linspace", "ones", "ones_like", "rand", "rand_like", "randint",
    "randn", "randn_like", "randperm", "tensor", "zeros", "zeros_like", "as_tensor", "from_numpy", "multinomial",
    "inference_mode", "is_inference_mode_enabled", "einsum",
]
