"""How tensors print: the values laid out as torch lays them out (``Tensor.__repr__``).

Below tensor.py in the import order (tensor.py imports this module; this module never imports tensor.py).
"""
import numpy as np


def format_values(arr):
    """The values as torch prints them: integral floats as ``1.``, others with 4 decimals (``0.5000``),
    scientific notation (``1.0000e-05``) for wide ranges, all right-aligned to one width."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return np.array2string(arr, separator=", ", prefix="tensor(", max_line_width=80)
    finite = arr[np.isfinite(arr)].astype(np.float64)
    nonzero = np.abs(finite[finite != 0])
    big, small = (nonzero.max(), nonzero.min()) if nonzero.size else (0.0, 0.0)
    if finite.size and np.all(finite == np.round(finite)):
        fmt = "{:.4e}" if big > 1e8 else "{:.0f}."
    else:
        fmt = "{:.4e}" if nonzero.size and (big / small > 1000 or big > 1e8 or small < 1e-4) else "{:.4f}"

    def one(v):
        return fmt.format(v) if np.isfinite(v) else str(float(v))

    edge = [one(v) for v in (finite.min(), finite.max())] if finite.size else []
    edge += [one(v) for v in arr[~np.isfinite(arr)][:1]] + ([one(-np.inf)] if np.isneginf(arr).any() else [])
    width = max(len(e) for e in edge)
    return np.array2string(arr, separator=", ", prefix="tensor(", max_line_width=80,
                           formatter={"float_kind": lambda v: one(v).rjust(width)})

