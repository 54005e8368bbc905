"""``where`` and ``einsum`` (``minitorch.where``, ``minitorch.einsum``): functions of several tensors that
need the Tensor class itself (to recognise tensors among Python numbers, and to make one).

Above tensor.py in the import order: this module imports tensor.py, and tensor.py never imports it.
"""
import numpy as np

from .. import backend
from .dtypes import promote_pair
from .functions import basic as B
from .functions.extra import Einsum
from .shapes import broadcast_check, broadcast_shapes
from .tensor import Tensor, _as_tensor


def where(condition, input, other):  # noqa: A002 - torch's argument names
    """Elements of ``input`` where ``condition`` is True, else of ``other`` (all three broadcast).
    ``input`` / ``other`` may be Python numbers (torch's promotion rules)."""
    if isinstance(input, Tensor):
        like = input
    elif isinstance(other, Tensor):
        like = other
    else:
        like = Tensor(input)
    xp = backend.get_array_module(like.data)
    cond = condition.data if isinstance(condition, Tensor) else xp.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    a, b = promote_pair(_as_tensor(input, like), _as_tensor(other, like))
    broadcast_check("where", a.shape, b.shape)
    out_shape = broadcast_shapes(a.shape, b.shape)
    if broadcast_shapes(tuple(cond.shape), out_shape) is None:
        raise RuntimeError(f"where: condition of shape {tuple(cond.shape)} does not broadcast with shapes "
                           f"{a.shape} and {b.shape}")
    return B.Where.apply(a, b, condition=cond)


def einsum(equation, *operands):
    """Sums of products over named indices, as ``torch.einsum``: ``einsum('bij,bjk->bik', a, b)`` (operands
    may also come as one list). '...' stands for the same leading dims in each operand; an index repeated
    within one operand (a diagonal) is not supported. Differentiable in every operand."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the first argument must be the equation string, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum(): give at least one operand")
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum(): operand {k} is a {type(t).__name__}, expected a Tensor")
        if t.dtype != operands[0].dtype:
            raise TypeError(f"einsum(): operands must have one dtype, got {operands[0].dtype} and {t.dtype} "
                            f"(operand {k})")
    return Einsum.apply(*operands, equation=equation)

