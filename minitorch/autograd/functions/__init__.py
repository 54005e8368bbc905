"""Function classes, one per kernel pair, grouped like ``minitorch.kernels``."""
