"""``Tensor``: an array plus what autograd needs (``requires_grad``, ``grad``, its creator).

Operators and methods follow PyTorch's names and semantics (``dim``, ``keepdim``, true
division, type promotion of Python scalars); each differentiable one calls a Function.
``tensor.data`` is the raw array (numpy or cupy), not a Tensor.

This module holds the class and the few helpers that make or recognise Tensors (``_as_tensor``,
``_binary``, ``_index_arrays``, ...); the rest lives in modules of its own, in layers listed lowest
first. A module imports only modules listed before it, at any depth (tests/autograd/test_layout.py and
tests/test_import_graph.py check it):

    grad_mode, function, engine, functions/*    the tape and the Function classes
    dtypes, shapes, indexing, formatting         dtype names and promotion, broadcasting and shape checks,
                                                index checks, printing
    joining, norms                               cat / stack / split, the norms (``Tensor.norm``)
    tensor                                       this module: the class
    ops, factories                               where / einsum, the tensor constructors

The modules below this one never import it. Those that need the class at call time -- Function.apply
and the engine to wrap arrays, norms to check its inputs -- read ``function.Tensor``, which this module
binds once, ``function.bind_tensor_class(Tensor)`` right after the class statement, before any op can
run. ``ops`` and ``factories``, above it, import it.

Names other modules import from here keep working: ``as_dtype``, ``cat``, ``concat``, ``stack``,
``split``, ``parse_to_args``, ``zero_grads``.
"""
import numbers
import operator
from collections import namedtuple

import numpy as np

from .. import backend
from ..kernels.reduce import normalize_dims
from . import engine
from .dtypes import as_dtype, infer_dtype, promote_pair
from .formatting import format_values
from .function import Function, bind_tensor_class
from .functions import basic as B
from .functions import nn as _nn_functions
from .grad_mode import is_grad_enabled
from .indexing import check_index
from .joining import cat, concat, split, stack
from .norms import tensor_norm
from .shapes import broadcast_check, broadcast_shapes, check_matmul, resolve_shape, shape_arg

__all__ = ["MaxResult", "Tensor", "as_dtype", "cat", "concat", "parse_to_args", "split", "stack", "zero_grads"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _is_array(x):
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, Tensor)


class Tensor:
    """An n-dimensional array that can record operations for automatic differentiation."""

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_out_index", "_retains_grad", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # make numpy defer to our reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        dtype = as_dtype(dtype)
        if _is_array(data) and device is None:
            arr = data if dtype is None or data.dtype == dtype else data.astype(dtype)
            if isinstance(arr, np.ndarray) and backend.get_backend() == "strict":
                arr = backend.to_device(arr, "cpu")  # host arrays become strict arrays
        else:
            if dtype is None:
                dtype = infer_dtype(data)
            host = np.asarray(backend.to_numpy(data) if _is_array(data) else data, dtype=dtype)
            arr = backend.to_device(host, backend.core.normalize_device(device)) if (
                device is not None or backend.get_backend() != "numpy") else host
        self.data = arr
        self.grad = None
        self._ctx = None
        self._out_index = 0
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, array, ctx=None, index=0):
        """Wrap an array produced by a kernel (no copy, no checks). NumPy reductions return
        scalars (np.float32(...)); those become 0-d arrays, as CuPy gives."""
        if isinstance(array, np.generic):
            array = np.asarray(array)
        t = object.__new__(cls)
        t.data = array
        t.grad = None
        t._ctx = ctx
        t._out_index = index
        t._retains_grad = False
        t._requires_grad = ctx is not None
        return t

    # ----------------------------------------------------------------- autograd state
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"only floating point tensors can require gradients, this one has dtype {self.data.dtype}"
            )
        if not flag and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on leaf tensors; use .detach()")
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that does not require grad")
        self._retains_grad = True

    def backward(self, gradient=None, retain_graph=False):
        """Compute gradients of this tensor w.r.t. the leaves of its graph, into their ``.grad``.

        ``gradient`` (same shape as self) is required unless self has one element."""
        if not self._requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn: nothing to "
                "backpropagate (did you compute it under no_grad(), or from tensors with requires_grad=False?)"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs, but this tensor has shape "
                    f"{tuple(self.shape)}; call .backward(gradient) with a gradient of that shape, or reduce "
                    "it first (e.g. .sum() or .mean())"
                )
            xp = backend.get_array_module(self.data)
            g = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else gradient
            xp = backend.get_array_module(self.data)
            g = xp.asarray(g, dtype=self.data.dtype)
            if g.shape != self.data.shape:
                raise RuntimeError(
                    f"backward: gradient has shape {tuple(g.shape)} but the tensor has shape {tuple(self.shape)}"
                )
        engine.run_backward(self, g, retain_graph=retain_graph)

    def detach(self):
        """The same data, cut off from the graph."""
        return Tensor._make(self.data)

    def detach_(self):
        self._ctx = None
        self._requires_grad = False
        return self

    def clone(self):
        return B.Mul.apply(self, _scalar_like(1, self)) if self._requires_grad else Tensor._make(self.data.copy())

    # ----------------------------------------------------------------- array facts
    @property
    def shape(self):
        return self.data.shape

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.core.device_object(self.data)

    @property
    def ndim(self):
        return self.data.ndim

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def numpy(self):
        """A NumPy array of the data (a copy when it lives on the GPU)."""
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        return backend.to_numpy(self.data)

    def item(self):
        """The single value as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars, got shape {self.shape}")
        return backend.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.data)
        return arr if dtype is None else arr.astype(dtype)

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as torch; other tensors take no format spec."""
        if self.data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ (for a tensor of "
                            f"shape {tuple(self.shape)}; format .item() of a one-element tensor)")
        return repr(self)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value ({self.shape}) is ambiguous")
        return bool(self.item())

    __hash__ = object.__hash__

    def __repr__(self):
        body = format_values(backend.to_numpy(self.data))
        extra = []
        if self.data.dtype not in (backend.get_default_dtype(), np.int64, np.bool_):
            extra.append(f"dtype=minitorch.{self.data.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self._ctx is not None:
            extra.append(f"grad_fn={self._ctx!r}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ----------------------------------------------------------------- conversion
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``to(device)``, ``to(dtype)`` or both: a new tensor (self when nothing changes, unless ``copy``).
        Differentiable: gradients flow back to the original. ``non_blocking`` is accepted for torch
        scripts (copies are synchronous)."""
        dtype, device = parse_to_args(args, dtype, device)
        out = self
        if dtype is not None and as_dtype(dtype) != self.data.dtype:
            out = out._cast(as_dtype(dtype))
        if device is not None and backend.core.normalize_device(device) != self.device:
            out = _ToDevice.apply(out, device=device) if out._requires_grad else \
                Tensor._make(backend.to_device(out.data, device))
        if copy and out is self:
            out = self.clone()
        return out

    def _cast(self, dtype):
        if self._requires_grad and dtype.kind == "f":
            return _Cast.apply(self, dtype=dtype)
        return Tensor._make(self.data.astype(dtype))

    def cpu(self):
        return self.to("cpu")

    @property
    def is_cuda(self):
        return self.device == "cuda"

    def nelement(self):
        return self.numel()

    def ndimension(self):
        return self.ndim

    def _new(self, fill, size, dtype, device, requires_grad):
        xp = backend.module_for_device(device if device is not None else self.device)
        size = shape_arg(size)
        t = Tensor._make(xp.full(size, fill, dtype=as_dtype(dtype) or self.data.dtype))
        return t.requires_grad_() if requires_grad else t

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of ``size`` with this tensor's dtype and device (unless given), as torch."""
        return self._new(0, size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(1, size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new(0, size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new(fill_value, (size,), dtype, device, requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A new tensor holding a copy of ``data``, with this tensor's dtype and device unless given."""
        src = data.data.copy() if isinstance(data, Tensor) else data
        return Tensor(src, dtype=dtype or self.data.dtype, device=device or self.device, requires_grad=requires_grad)

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    # ----------------------------------------------------------------- in-place (no autograd)
    def _inplace_check(self, name, other=None):
        """In-place ops change data without recording: refuse them where a gradient would be lost."""
        if is_grad_enabled() and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
            raise RuntimeError(
                f"{name}: in-place operations are not recorded for autograd, and a tensor involved requires grad; "
                "wrap the update in `with minitorch.no_grad():` (or use the out-of-place operation)"
            )

    def zero_(self):
        self._inplace_check("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value):
        self._inplace_check("fill_")
        self.data[...] = value
        return self

    def copy_(self, src):
        self._inplace_check("copy_")
        src_arr = src.data if isinstance(src, Tensor) else src
        src_arr = backend.to_device(src_arr, self.device) if _is_array(src_arr) else src_arr
        xp = backend.get_array_module(self.data)
        src_arr = xp.asarray(src_arr)
        if src_arr.shape != self.data.shape:
            try:
                src_arr = xp.broadcast_to(src_arr, self.data.shape)
            except ValueError:
                raise RuntimeError(
                    f"copy_: source of shape {tuple(src_arr.shape)} does not broadcast to {self.shape}"
                ) from None
        self.data[...] = src_arr
        return self

    def __setitem__(self, index, value):
        self._inplace_check("__setitem__", value)
        if self._ctx is not None and is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that is part of a graph is not supported")
        v = value.data if isinstance(value, Tensor) else value
        xp = backend.get_array_module(self.data)
        index = _index_arrays(index, xp)
        check_index(index, self.shape)
        self.data[index] = v

    def _inplace(self, name, other, op):
        """``self <op>= other`` on the data, for tensors outside any graph (parameter updates under
        no_grad, running statistics). Returns self."""
        self._inplace_check(name, other)
        o = other.data if isinstance(other, Tensor) else other
        if broadcast_shapes(self.shape, tuple(getattr(o, "shape", ()))) != self.shape:
            raise RuntimeError(
                f"{name}: shape {tuple(getattr(o, 'shape', ()))} can't be broadcast to the tensor's shape {self.shape}"
            )
        try:
            self.data = op(self.data, o)
        except TypeError as err:  # e.g. float into an int tensor (numpy's same_kind casting rule)
            raise RuntimeError(f"{name}: can't store the result in a tensor of dtype {self.dtype}: {err}") from None
        except ValueError as err:  # a read-only view, e.g. the result of expand()
            raise RuntimeError(f"{name}: this tensor can't be written in place ({err}); use .clone() first") from None
        return self

    def _augmented(self, name, other, op, fallback):
        """``x += y`` and friends: in place, like torch, when no gradient is involved; inside a graph the
        result is recorded out of place (same values and gradients) and rebinds the name."""
        if is_grad_enabled() and (self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
            if self._requires_grad and self._ctx is None:
                raise RuntimeError(
                    f"{name}: in-place modification of a leaf tensor that requires grad is only allowed inside "
                    "no_grad(); wrap the update in `with minitorch.no_grad():`"
                )
            return fallback(self, other)
        return self._inplace(name, other, op)

    def __iadd__(self, other):
        return self._augmented("__iadd__", other, operator.iadd, Tensor.__add__)

    def __isub__(self, other):
        return self._augmented("__isub__", other, operator.isub, Tensor.__sub__)

    def __imul__(self, other):
        return self._augmented("__imul__", other, operator.imul, Tensor.__mul__)

    def __itruediv__(self, other):
        return self._augmented("__itruediv__", other, operator.itruediv, Tensor.__truediv__)

    def add_(self, other, alpha=1):
        """In place: self += alpha * other (no autograd: use under no_grad for parameters)."""
        return self._inplace("add_", other if alpha == 1 else other * alpha, operator.iadd)

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", other if alpha == 1 else other * alpha, operator.isub)

    def mul_(self, other):
        return self._inplace("mul_", other, operator.imul)

    def div_(self, other):
        return self._inplace("div_", other, operator.itruediv)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        a, b = _binary("add", self, other)
        return B.Add.apply(a, b)

    def __radd__(self, other):
        b, a = _binary("add", self, other)
        return B.Add.apply(a, b)

    def __sub__(self, other):
        a, b = _binary("sub", self, other)
        return B.Sub.apply(a, b)

    def __rsub__(self, other):
        b, a = _binary("sub", self, other)
        return B.Sub.apply(a, b)

    def __mul__(self, other):
        a, b = _binary("mul", self, other)
        return B.Mul.apply(a, b)

    def __rmul__(self, other):
        b, a = _binary("mul", self, other)
        return B.Mul.apply(a, b)

    def __truediv__(self, other):
        a, b = _binary("div", self, other, true_div=True)
        return B.Div.apply(a, b)

    def __rtruediv__(self, other):
        b, a = _binary("div", self, other, true_div=True)
        return B.Div.apply(a, b)

    def __floordiv__(self, other):
        a, b = _binary("floor_divide", self, other)
        return Tensor._make(a.data // b.data)

    def __rfloordiv__(self, other):
        b, a = _binary("floor_divide", self, other)
        return Tensor._make(a.data // b.data)

    def __mod__(self, other):
        a, b = _binary("remainder", self, other)
        return Tensor._make(a.data % b.data)

    def __neg__(self):
        return B.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            if exponent.data.ndim == 0 and not exponent._requires_grad:
                exponent = exponent.item()
            else:
                return (exponent * self.log()).exp()
        if not isinstance(exponent, numbers.Real):
            raise TypeError(f"pow: exponent must be a number or a Tensor, got {type(exponent).__name__}")
        base = self if self.is_floating_point() or (isinstance(exponent, numbers.Integral) and exponent >= 0) \
            else self.to(backend.get_default_dtype())
        return B.Pow.apply(base, exponent=exponent)

    def __rpow__(self, base):
        """``base ** self`` for a Python number ``base``."""
        if not isinstance(base, numbers.Real) or isinstance(base, bool):
            raise TypeError(f"pow: base must be a number or a Tensor, got {type(base).__name__}")
        x = self if self.is_floating_point() or isinstance(base, numbers.Integral) else \
            self.to(backend.get_default_dtype())
        return B.Rpow.apply(x, base=base)

    def __matmul__(self, other):
        other = _as_tensor(other, self)
        check_matmul("matmul", self.shape, other.shape)
        a, b = promote_pair(self, other)
        return B.Matmul.apply(a, b)

    def __rmatmul__(self, other):
        return _as_tensor(other, self).__matmul__(self)

    def matmul(self, other):
        return self.__matmul__(other)

    def mm(self, other):
        """Matrix product of two 2-D tensors."""
        if self.ndim != 2 or getattr(other, "ndim", None) != 2:
            raise RuntimeError(f"mm: expected two 2-D tensors, got shapes {tuple(self.shape)} and "
                               f"{tuple(getattr(other, 'shape', ()))}")
        return self @ other

    def bmm(self, other):
        other = _as_tensor(other, self)
        if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0] or self.shape[2] != other.shape[1]:
            raise RuntimeError(
                f"bmm: expected (B, n, k) and (B, k, m) tensors, got shapes {self.shape} and {other.shape}"
            )
        return B.Bmm.apply(*promote_pair(self, other))

    add = __add__
    neg = __neg__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__

    # comparisons: results are boolean and never require grad
    def _compare(self, other, op, name="compare"):
        other_arr = other.data if isinstance(other, Tensor) else other
        if _is_array(other_arr):
            broadcast_check(name, self.shape, tuple(other_arr.shape))
        return Tensor._make(op(self.data, other_arr))

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b, "eq")

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b, "ne")

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b, "lt")

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b, "le")

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b, "gt")

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b, "ge")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        return Tensor._make(~self.data)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b, "and")

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b, "or")

    def logical_not(self):
        return Tensor._make(~self.data.astype(bool))

    def equal(self, other):
        return self.shape == other.shape and bool((self.data == other.data).all())

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        xp = backend.get_array_module(self.data)
        return bool(xp.allclose(self.data, other.data, rtol=rtol, atol=atol))

    # ----------------------------------------------------------------- elementwise
    def _float_unary(self, fn):
        x = self if self.is_floating_point() else self.to(backend.get_default_dtype())
        return fn.apply(x)

    def exp(self):
        return self._float_unary(B.Exp)

    def log(self):
        return self._float_unary(B.Log)

    def sqrt(self):
        return self._float_unary(B.Sqrt)

    def rsqrt(self):
        return self.sqrt().reciprocal()

    def reciprocal(self):
        return 1.0 / self

    def tanh(self):
        return self._float_unary(B.Tanh)

    def sigmoid(self):
        return self._float_unary(B.Sigmoid)

    def relu(self):
        return B.Relu.apply(self)

    def abs(self):
        return B.Abs.apply(self)

    def square(self):
        return self * self

    def clamp(self, min=None, max=None):  # noqa: A002 - torch's argument names
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of min and max must be given")
        x = self
        if not self.is_floating_point() and any(isinstance(v, float) for v in (min, max)):
            x = self.to(backend.get_default_dtype())  # int tensor, float bound -> float result (torch)
        return B.Clamp.apply(x, min=min, max=max)

    clip = clamp

    def maximum(self, other):
        return B.Maximum.apply(*_binary("maximum", self, other))

    def minimum(self, other):
        return -((-self).maximum(-_as_tensor(other, self)))

    def masked_fill_(self, mask, value):
        """In place: ``value`` where the boolean ``mask`` is True (no autograd: outside graphs only)."""
        self._inplace_check("masked_fill_")
        self.data = self.masked_fill(mask, value).data
        return self

    def masked_fill(self, mask, value):
        """A copy with ``value`` where the boolean ``mask`` (broadcastable to self) is True."""
        mask_arr = mask.data if isinstance(mask, Tensor) else mask
        if getattr(mask_arr, "dtype", None) is None or mask_arr.dtype != np.bool_:
            raise TypeError(
                f"masked_fill: mask must be a boolean tensor, got dtype {getattr(mask_arr, 'dtype', type(mask_arr))}"
            )
        broadcast_check("masked_fill", self.shape, tuple(mask_arr.shape), result_shape=self.shape)
        if isinstance(value, Tensor):
            value = value.item()
        return B.MaskedFill.apply(self, mask=mask_arr, value=value)

    def softmax(self, dim):
        return _nn_functions.softmax(self, dim)

    def log_softmax(self, dim):
        return _nn_functions.log_softmax(self, dim)

    # ----------------------------------------------------------------- reductions
    def _float_for_reduce(self):
        return self if self.is_floating_point() else self.to(backend.get_default_dtype())

    def sum(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        if not x.is_floating_point():
            return Tensor._make(x.data.sum(axis=normalize_dims(dim, x.ndim), keepdims=keepdim))
        return B.Sum.apply(x, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        if not self.is_floating_point():
            raise RuntimeError(f"mean(): could not infer output dtype; input dtype is {self.dtype}, use .float() first")
        return B.Mean.apply(self, dim=dim, keepdim=keepdim)

    def _check_reduce_nonempty(self, name, dims):
        for d in dims:
            if self.shape[d] == 0:
                raise IndexError(
                    f"{name}(): expected reduction dim {d} to have non-zero size (input shape {self.shape})"
                )

    def amax(self, dim=None, keepdim=False):
        """The largest value over ``dim`` (all dims by default); ties share the gradient equally."""
        dims = normalize_dims(dim, self.ndim)
        self._check_reduce_nonempty("amax", dims)
        if not self.is_floating_point():
            return Tensor._make(self.data.max(axis=dims, keepdims=keepdim))
        return B.Amax.apply(self, dim=dims, keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        """The smallest value over ``dim``; ties share the gradient equally."""
        dims = normalize_dims(dim, self.ndim)
        self._check_reduce_nonempty("amin", dims)
        if not self.is_floating_point():
            return Tensor._make(self.data.min(axis=dims, keepdims=keepdim))
        return -((-self).amax(dims, keepdim))

    def max(self, dim=None, keepdim=False):
        """max() -> the largest value (gradient shared among ties);
        max(dim) -> (values, indices), the gradient going to the returned index (first maximum);
        max(other) -> the elementwise maximum."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return self.amax()
        return self._extreme_along("max", dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """Like ``max``, for the smallest values."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return self.amin()
        return self._extreme_along("min", dim, keepdim)

    def _extreme_along(self, name, dim, keepdim):
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}(dim): dim must be a single int, got {dim!r} (use amax/amin for several dims)")
        (d,) = normalize_dims(dim, self.ndim) or (None,)
        if d is None:  # a 0-d tensor: itself, at index 0
            xp = backend.get_array_module(self.data)
            return MaxResult(self.reshape(()), Tensor._make(xp.zeros((), dtype=np.int64)))
        self._check_reduce_nonempty(name, (d,))
        xp = backend.get_array_module(self.data)
        idx_k = (xp.argmax if name == "max" else xp.argmin)(self.data, axis=d, keepdims=True).astype(np.int64)
        values = B.Gather.apply(self, index=idx_k, dim=d)  # gradient to the returned index only
        if keepdim:
            return MaxResult(values, Tensor._make(idx_k))
        return MaxResult(values.squeeze(d), Tensor._make(idx_k.reshape(values.shape[:d] + values.shape[d + 1:])))

    def argmax(self, dim=None, keepdim=False):
        """Index of the (first) largest value: over the flattened tensor, or along ``dim``."""
        return self._arg_extreme("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        """Index of the (first) smallest value: over the flattened tensor, or along ``dim``."""
        return self._arg_extreme("argmin", dim, keepdim)

    def _arg_extreme(self, name, dim, keepdim):
        xp = backend.get_array_module(self.data)
        fn = xp.argmax if name == "argmax" else xp.argmin
        if dim is None or self.ndim == 0:
            self._check_reduce_nonempty(name, range(self.ndim))
            out = xp.asarray(fn(self.data)).astype(np.int64)
            return Tensor._make(out.reshape((1,) * self.ndim) if keepdim and dim is not None else out)
        (d,) = normalize_dims(dim, self.ndim)
        self._check_reduce_nonempty(name, (d,))
        return Tensor._make(fn(self.data, axis=d, keepdims=keepdim).astype(np.int64))

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        if correction is None:
            correction = 1 if unbiased is None else int(bool(unbiased))
        return B.Var.apply(self._float_for_reduce(), dim=dim, correction=correction, keepdim=keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        return self.var(dim, unbiased, keepdim, correction).sqrt()

    def logsumexp(self, dim, keepdim=False):
        m = self.detach().amax(dim, keepdim=True)
        out = (self - m).exp().sum(dim, keepdim=True).log() + m
        return out if keepdim else out.squeeze(dim)

    def all(self):
        return Tensor._make(self.data.all())

    def any(self):
        return Tensor._make(self.data.any())

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        shape = shape_arg(shape)
        try:
            new = resolve_shape(shape, self.numel())
        except ValueError as err:
            raise RuntimeError(
                f"reshape: shape {tuple(shape)} is invalid for input of shape {self.shape}: {err}"
            ) from None
        if new == self.shape:
            return self
        return B.Reshape.apply(self, shape=new)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = start_dim % self.ndim
        e = end_dim % self.ndim
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def unflatten(self, dim, sizes):
        d = dim % self.ndim
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def unsqueeze(self, dim):
        d = dim if dim >= 0 else dim + self.ndim + 1
        if not 0 <= d <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {self.ndim} dimensions")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = (dim,) if isinstance(dim, int) else dim
        dims = {d % max(self.ndim, 1) for d in dims}
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def transpose(self, dim0, dim1):
        n = max(self.ndim, 1)
        d0, d1 = dim0 % n, dim1 % n
        if d0 == d1 or self.ndim < 2:
            return self
        return B.Transpose.apply(self, dim0=d0, dim1=d1)

    swapaxes = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}; use transpose(dim0, dim1)")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):  # noqa: N802 - torch's name
        return self.permute(*reversed(range(self.ndim))) if self.ndim >= 2 else self

    @property
    def mT(self):  # noqa: N802 - torch's name
        return self.transpose(-2, -1)

    def permute(self, *dims):
        dims = tuple(d % self.ndim for d in shape_arg(dims))
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute: {dims} is not a permutation of the {self.ndim} dims of shape {self.shape}")
        return B.Permute.apply(self, dims=dims)

    def expand(self, *sizes):
        sizes = shape_arg(sizes)
        lead = len(sizes) - self.ndim
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        broadcast_check("expand", self.shape, shape, result_shape=shape)
        return B.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = shape_arg(sizes)
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        parts = x
        for d, n in enumerate(sizes):
            if n != 1:
                parts = cat([parts] * n, dim=d)
        return parts

    def contiguous(self):
        return self

    # ----------------------------------------------------------------- norms, triangles, top-k
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The p-norm over ``dim`` (all elements when None): 'fro' (default) is the 2-norm, a number p
        the p-norm (inf: max |x|, 0: non-zero count), as ``torch.Tensor.norm``. Differentiable."""
        return tensor_norm(self, p, dim, keepdim, dtype)

    def _triangle(self, name, diagonal, lower):
        if self.ndim < 2:
            raise RuntimeError(f"{name}: expected a tensor with at least 2 dimensions, got shape {self.shape}")
        if isinstance(diagonal, bool) or not isinstance(diagonal, (int, np.integer)):
            raise TypeError(f"{name}: diagonal must be an int, got {diagonal!r}")
        xp = backend.get_array_module(self.data)
        n, m = self.shape[-2:]
        keep = xp.tri(n, m, k=int(diagonal), dtype=bool)  # True on and below the diagonal
        drop = ~keep if lower else xp.tri(n, m, k=int(diagonal) - 1, dtype=bool)
        return B.MaskedFill.apply(self, mask=drop, value=0)

    def tril(self, diagonal=0):
        """The lower triangle of the last two dims (on and below diagonal ``diagonal``), zeros above."""
        return self._triangle("tril", diagonal, lower=True)

    def triu(self, diagonal=0):
        """The upper triangle of the last two dims (on and above diagonal ``diagonal``), zeros below."""
        return self._triangle("triu", diagonal, lower=False)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's argument names
        """The ``k`` largest (``largest=False``: smallest) values along ``dim`` and their indices, as a
        (values, indices) pair; values are in descending (ascending) order. Gradients flow to the values."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"topk: k must be a non-negative int, got {k!r}")
        if self.ndim == 0:
            values, indices = self.reshape(1).topk(k, 0, largest, sorted)
            return MaxResult(values.reshape(()), indices.reshape(())) if k == 1 else MaxResult(values, indices)
        (d,) = normalize_dims(dim, self.ndim)
        if k > self.shape[d]:
            raise RuntimeError(f"topk: k ({k}) is larger than the size {self.shape[d]} of dim {d} (shape {self.shape})")
        xp = backend.get_array_module(self.data)
        key = self.data.astype(np.int64) if self.data.dtype.kind in "bu" else self.data
        order = xp.argsort(-key if largest else key, axis=d, kind="stable")
        idx = order[(slice(None),) * d + (slice(0, k),)].astype(np.int64)
        return MaxResult(B.Gather.apply(self, index=idx, dim=d), Tensor._make(idx))


    def __getitem__(self, index):
        """Basic indexing (ints, slices, None, ...) and advanced indexing with integer arrays
        (repeats accumulate in the gradient) or boolean masks; indices are checked against the shape."""
        xp = backend.get_array_module(self.data)
        index = _index_arrays(index, xp)
        check_index(index, self.shape)
        return B.GetItem.apply(self, index=index)

    def gather(self, dim, index):
        """out[i][j] = self[i][index[i][j]] for dim=1 (torch.gather): ``index`` has self's number of
        dimensions and is no larger than self outside ``dim``; the result has index's shape."""
        idx = index.data if isinstance(index, Tensor) else index
        if not _is_array(idx) or idx.dtype.kind not in "iu":
            raise TypeError(f"gather: index must be an integer tensor, got {getattr(idx, 'dtype', type(idx).__name__)}")
        (d,) = normalize_dims(dim, self.ndim) or (0,)
        if idx.ndim != self.ndim or any(idx.shape[k] > self.shape[k] for k in range(self.ndim) if k != d):
            raise RuntimeError(
                f"gather: index of shape {tuple(idx.shape)} does not fit input of shape {self.shape} "
                f"(same number of dims, and no larger than the input outside dim {d})"
            )
        if idx.size and self.ndim and (int(idx.min()) < 0 or int(idx.max()) >= self.shape[d]):
            raise IndexError(
                f"gather: index out of range for dim {d} of size {self.shape[d]} "
                f"(got values from {int(idx.min())} to {int(idx.max())})"
            )
        return B.Gather.apply(self, index=idx, dim=d)

    def split(self, split_size_or_sections, dim=0):
        return split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        n = self.shape[dim]
        size = -(-n // chunks)
        return split(self, size, dim)

    def unbind(self, dim=0):
        return tuple(t.squeeze(dim) for t in split(self, 1, dim))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))


# Function.apply (and the engine, through it) check and wrap arrays with this class: function.py cannot
# import this module (this module imports it), so it is handed the class here, once, before any op runs.
bind_tensor_class(Tensor)


# --------------------------------------------------------------------- helpers
def parse_to_args(args, dtype=None, device=None):
    """(dtype, device) from the positional arguments of ``Tensor.to`` / ``Module.to``: a device
    name ('cpu', 'cuda', 'cuda:0'), a dtype, or a Tensor whose dtype and device are copied."""
    for a in args:
        if isinstance(a, str) and (a in ("cpu", "cuda") or a.startswith("cuda")):
            device = a
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        else:
            dtype = a
    return dtype, device


def zero_grads(tensors, set_to_none=True):
    """Reset ``.grad`` of each tensor: to None (like torch's default) or to zeros in place."""
    for t in tensors:
        if t.grad is None:
            continue
        if set_to_none:
            t.grad = None
        else:
            t.grad.data[...] = 0


def _index_arrays(index, xp):
    """Tensors and lists inside an index become arrays of the data's array module ``xp``."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return xp.asarray(index)
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else xp.asarray(i) if isinstance(i, list) else i for i in index)
    return index


def _scalar_like(value, t):
    xp = backend.get_array_module(t.data)
    return Tensor._make(xp.asarray(value, dtype=t.data.dtype))


def _as_tensor(value, like):
    """``value`` as a Tensor on ``like``'s device; Python numbers take torch's promotion rules."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, bool):
        dtype = np.bool_
    elif isinstance(value, numbers.Integral):
        dtype = like.dtype if like.dtype.kind in "fiu" else np.int64
    elif isinstance(value, numbers.Real):
        dtype = like.dtype if like.dtype.kind == "f" else backend.get_default_dtype()
    elif _is_array(value) or isinstance(value, (list, tuple)):
        return Tensor(value, device=like.device)
    else:
        raise TypeError(f"unsupported operand of type {type(value).__name__} for a Tensor operation")
    xp = backend.get_array_module(like.data)
    return Tensor._make(xp.asarray(value, dtype=dtype))


def _binary(op, t, other, true_div=False):
    """(t, other) as tensors of a common dtype, with a shape check that names the op."""
    o = _as_tensor(other, t)
    broadcast_check(op, t.shape, o.shape)
    a, b = promote_pair(t, o)
    if true_div and a.data.dtype.kind != "f":
        dt = backend.get_default_dtype()
        a, b = a._cast(dt), b._cast(dt)
    return a, b


class _Cast(Function):
    """dtype conversion; the gradient is cast back to the input's dtype."""

    @staticmethod
    def forward(ctx, x, dtype=None):
        ctx.cache = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, dout):
        return dout.astype(ctx.cache)


class _ToDevice(Function):
    """Copy between host and GPU; the gradient travels back."""

    @staticmethod
    def forward(ctx, x, device=None):
        ctx.cache = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, dout):
        return backend.to_device(dout, ctx.cache)
