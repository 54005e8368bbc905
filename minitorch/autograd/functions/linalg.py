"""Functions for the norm kernels (``minitorch.kernels.linalg``)."""
from ...kernels import linalg as la
from ..function import kernel_function

VectorNorm = kernel_function("VectorNorm", la.vector_norm_forward, la.vector_norm_backward)
