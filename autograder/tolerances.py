"""Every tolerance the autograder uses, in one place.

Forward outputs and gradients are compared with PyTorch's fixture values elementwise:

    |got - expected| <= atol * max(1, max|expected|) + rtol * |expected|

(``atol`` scales with the magnitude of the tensor, so a sum of many float32 terms that happens
to land near zero is not failed for rounding). Gradients are compared like outputs.

Finite-difference checks run in float64 only (float32 differences are useless: ~5e-3 error at
best) with central differences of step ``FD_STEP``; the error is
max|analytic - numeric| / max|numeric| over the checked entries (the full Jacobian-vector
product for small inputs, random directions plus sampled coordinates for large ones), and must
be below ``FD_RTOL``.
"""
import numpy as np

TOLERANCES = {
    np.dtype(np.float16): dict(rtol=1e-2, atol=1e-3),
    np.dtype(np.float32): dict(rtol=1e-4, atol=1e-5),
    np.dtype(np.float64): dict(rtol=1e-7, atol=1e-9),
}

FD_STEP = 1e-6
FD_RTOL = 1e-6
FD_FULL_MAX = 40        # inputs with at most this many entries get the full finite-difference gradient
FD_DIRECTIONS = 3       # otherwise: this many random directions ...
FD_COORDS = 6           # ... plus this many sampled coordinates

# Hints: a wrong result "matches" a recognisable mistake when it is within this relative error of it.
HINT_RTOL = 1e-3

DEFAULT_TIMEOUT_S = 20.0   # wall time per test case (one dtype of one case) in the sandbox
DEFAULT_MEMORY_MB = 3072   # address-space cap of the sandbox process
DEFAULT_BUDGET_S = 600.0   # wall time for all cases of one assignment


def tolerance(dtype):
    """(rtol, atol) for comparing arrays of ``dtype`` (integer and bool arrays: exact)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        return 0.0, 0.0
    t = TOLERANCES.get(dt, TOLERANCES[np.dtype(np.float32)])
    return t["rtol"], t["atol"]
