"""Layers, containers, losses, initialisers (``minitorch.nn``), with PyTorch's names."""
from .module import Module
from .parameter import Parameter
