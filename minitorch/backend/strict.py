"""A strict CPU array module for tests: proves kernels never call NumPy directly on data.

``set_backend("strict")`` makes tensors hold ``StrictArray``s. The module itself forwards every
function to NumPy, but a ``StrictArray`` refuses to be turned into a NumPy array: any
``np.<fn>(data)`` in a kernel raises ``StrictBackendError`` — exactly where CuPy would fail
(CuPy arrays reject implicit conversion to NumPy). Reductions return 0-d arrays, as CuPy does.
Code written against ``xp = get_array_module(x)`` runs unchanged.
"""
import numpy as _np


class StrictBackendError(TypeError):
    """NumPy was called directly on a strict-backend array."""


def _wrap(value):
    if isinstance(value, _np.ndarray):
        return StrictArray(value)
    if isinstance(value, _np.generic):
        return StrictArray(_np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value):
    if isinstance(value, StrictArray):
        return value._a
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _forward(fn):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    call.__name__ = getattr(fn, "__name__", "fn")
    return call


class StrictArray:
    """A NumPy array that cannot be passed to NumPy functions."""

    __slots__ = ("_a",)
    __array_ufunc__ = None
    __array_priority__ = 2000

    def __init__(self, array):
        self._a = array

    def __array__(self, *args, **kwargs):
        raise StrictBackendError(
            "NumPy was called on a strict-backend array: kernels must use xp = get_array_module(x), "
            "not numpy, on data (this call would fail on CuPy arrays too)"
        )

    def unwrap(self):
        """The underlying NumPy array (for host transfers only)."""
        return self._a

    # attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: StrictArray(self._a.T))
    flags = property(lambda self: self._a.flags)

    def __getattr__(self, name):
        attr = getattr(self._a, name)
        return _forward(attr) if callable(attr) else _wrap(attr)

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap(index)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __repr__(self):
        return "strict(" + repr(self._a) + ")"

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __bool__(self):
        return bool(self._a)

    def __copy__(self):
        return StrictArray(self._a.copy())

    def __deepcopy__(self, memo):
        return StrictArray(self._a.copy())


def _binop(name):
    def op(self, other):
        return _wrap(getattr(self._a, name)(_unwrap(other)))

    op.__name__ = name
    return op


for _op in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv", "rfloordiv",
            "mod", "rmod", "pow", "rpow", "matmul", "rmatmul", "eq", "ne", "lt", "le", "gt", "ge", "and",
            "rand", "or", "ror", "xor", "rxor", "iadd", "isub", "imul", "itruediv", "ipow", "iand", "ior"):
    setattr(StrictArray, f"__{_op}__", _binop(f"__{_op}__"))
for _op in ("neg", "pos", "abs", "invert"):
    setattr(StrictArray, f"__{_op}__", (lambda n: lambda self: _wrap(getattr(self._a, n)()))(f"__{_op}__"))
StrictArray.__hash__ = None


class _Ufunc:
    """A NumPy ufunc that takes and returns strict arrays (``add.at`` included)."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        return _forward(self._uf)(*args, **kwargs)

    def at(self, a, indices, b=None):
        target = _unwrap(a)
        if b is None:
            self._uf.at(target, _unwrap(indices))
        else:
            self._uf.at(target, _unwrap(indices), _unwrap(b))

    def __getattr__(self, name):
        return _forward(getattr(self._uf, name))


class _Random:
    """``strict.random``: NumPy's generators, returning strict arrays."""

    class _Gen:
        def __init__(self, gen):
            self._g = gen
            self.bit_generator = gen.bit_generator

        def __getattr__(self, name):
            return _forward(getattr(self._g, name))

    def default_rng(self, seed=None):
        return self._Gen(_np.random.default_rng(seed))

    def __getattr__(self, name):
        return _forward(getattr(_np.random, name))


random = _Random()
ndarray = StrictArray
newaxis = None
pi = _np.pi
e = _np.e
inf = _np.inf
nan = _np.nan
float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64, uint8 = _np.int8, _np.int16, _np.int32, _np.int64, _np.uint8
bool_ = _np.bool_
dtype = _np.dtype
finfo = _np.finfo
iinfo = _np.iinfo


def asarray(a, dtype=None, **kwargs):
    if isinstance(a, StrictArray):
        return a if dtype is None or a.dtype == dtype else StrictArray(a._a.astype(dtype))
    return StrictArray(_np.asarray(_unwrap(a), dtype=dtype, **kwargs))


def array(a, dtype=None, copy=True, **kwargs):
    return StrictArray(_np.array(_unwrap(a), dtype=dtype, copy=copy, **kwargs))


def __getattr__(name):
    attr = getattr(_np, name)
    if isinstance(attr, _np.ufunc):
        return _Ufunc(attr)
    if callable(attr) and not isinstance(attr, type):
        return _forward(attr)
    return attr
