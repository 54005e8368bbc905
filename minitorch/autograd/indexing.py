"""Checks of the index of ``tensor[index]`` and ``tensor[index] = value`` before it reaches the kernel.

Below tensor.py in the import order (tensor.py imports this module; this module never imports tensor.py).
``check_index`` sees the index after ``Tensor`` has turned the Tensors and lists in it into arrays.
"""
import numpy as np


def _is_array(x):
    return hasattr(x, "shape") and hasattr(x, "dtype")


def check_index(index, shape):
    """Raise a clear IndexError for integer-array indices out of range and boolean masks of the wrong
    shape (NumPy would raise deep inside the kernel; CuPy would silently wrap around)."""
    parts = index if isinstance(index, tuple) else (index,)
    consumed = sum(1 if not _is_array(p) or p.dtype != np.bool_ else max(p.ndim, 1)
                   for p in parts if p is not None and p is not Ellipsis)
    axis = 0
    int_parts = []  # (index array, dim it indexes)
    n_advanced = 0
    empty = False  # advanced indices that select nothing: like torch, their values are not checked
    for p in parts:
        if p is None:
            continue
        if p is Ellipsis:
            axis += len(shape) - consumed
            continue
        if _is_array(p) and p.ndim > 0:
            n_advanced += 1
            if p.dtype == np.bool_:
                if tuple(p.shape) != tuple(shape[axis:axis + p.ndim]):
                    raise IndexError(
                        f"index: boolean mask of shape {tuple(p.shape)} does not match the tensor's shape "
                        f"{tuple(shape)} at dim {axis}"
                    )
                axis += p.ndim
                continue
            if p.dtype.kind not in "iu":
                raise IndexError(f"index: tensors used as indices must be integer or boolean, got {p.dtype}")
            if axis >= len(shape):
                raise IndexError(f"index: too many indices for a tensor of shape {tuple(shape)}")
            empty = empty or p.size == 0
            int_parts.append((p, axis))
        axis += 1
    if int_parts and n_advanced > 1:
        empty = empty or any(p.dtype == np.bool_ and not bool(p.any()) for p in parts if _is_array(p) and p.ndim > 0)
    if empty:
        return
    for p, dim in int_parts:
        n = shape[dim]
        if int(p.min()) < -n or int(p.max()) >= n:
            raise IndexError(
                f"index: values from {int(p.min())} to {int(p.max())} are out of range for dim {dim} "
                f"of size {n} (tensor shape {tuple(shape)})"
            )

