"""Dtypes: names such as 'float32', torch's rule for the dtype of new tensors, and the promotion of
two tensors to a common dtype.

Below tensor.py in the import order (tensor.py imports this module; this module never imports tensor.py):
the functions here take dtypes, data, or Tensors given as arguments, and never name the Tensor class.
"""
import numbers

import numpy as np

from .. import backend

DTYPE_NAMES = {
    "float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64,
    "int32": np.int32, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_, "long": np.int64,
    "float": np.float32, "double": np.float64, "int": np.int32, "half": np.float16,
}


def as_dtype(dtype):
    """A NumPy dtype from a dtype, a type or a name such as 'float32'."""
    if dtype is None:
        return None
    if isinstance(dtype, backend.core.UnsupportedDtype):
        raise dtype.error()
    if isinstance(dtype, str):
        if dtype not in DTYPE_NAMES:
            raise TypeError(f"unknown dtype {dtype!r}")
        return np.dtype(DTYPE_NAMES[dtype])
    return np.dtype(dtype)


def infer_dtype(data):
    """torch.tensor's dtype rule: bools -> bool, ints -> int64, floats -> the default dtype."""
    if isinstance(data, bool):
        return np.dtype(np.bool_)
    if isinstance(data, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(data, numbers.Real):
        return backend.get_default_dtype()
    arr = np.asarray(data)
    if arr.dtype.kind == "f" and not hasattr(data, "dtype"):
        return backend.get_default_dtype()
    if arr.dtype.kind in "iu" and not hasattr(data, "dtype"):
        return np.dtype(np.int64)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype} ({type(data).__name__})")
    return arr.dtype


def promote_pair(a, b):
    """Cast two tensors to a common dtype the way torch does (int with float -> the float)."""
    da, db = a.data.dtype, b.data.dtype
    if da == db:
        return a, b
    if da.kind == "f" and db.kind != "f":
        return a, b._cast(da)
    if db.kind == "f" and da.kind != "f":
        return a._cast(db), b
    common = np.promote_types(da, db)
    return (a if da == common else a._cast(common)), (b if db == common else b._cast(common))

