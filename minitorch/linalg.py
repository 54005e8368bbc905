"""``minitorch.linalg``: norms with ``torch.linalg``'s names (``vector_norm``, ``matrix_norm``, ``norm``).

Differentiable; the vector norm is a kernel pair (``minitorch.kernels.linalg``)."""
from .autograd.norms import matrix_norm, norm, vector_norm

__all__ = ["vector_norm", "matrix_norm", "norm"]
