"""Joining and cutting tensors: ``cat`` (``concat``), ``stack``, ``split`` (``minitorch.cat`` etc.).

Below tensor.py in the import order: tensor.py imports this module (``Tensor.repeat``, ``split``,
``chunk`` and ``unbind`` use these functions), and this module never imports tensor.py: the functions
take tensors as arguments and use only their methods and the Function classes.
"""
from .functions import basic as B


def cat(tensors, dim=0):
    """Join tensors along an existing dim (torch.cat)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    d = dim % max(ref.ndim, 1)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise RuntimeError(
                f"cat: tensor {i} has shape {t.shape}, which does not match {ref.shape} outside dim {dim}"
            )
    if len(tensors) == 1:
        return tensors[0]
    dt = tensors[0].dtype
    tensors = [t if t.dtype == dt else t.to(dt) for t in tensors]
    return B.Concat.apply(*tensors, dim=d)


concat = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dim (torch.stack)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: tensor {i} has shape {t.shape}, but tensor 0 has {tensors[0].shape}")
    d = dim % (tensors[0].ndim + 1)
    return B.Stack.apply(*tensors, dim=d)


def split(tensor, split_size_or_sections, dim=0):
    """Cut a tensor into pieces along ``dim``: equal pieces of a given size (the last may be
    smaller) or a list of sizes (torch.split)."""
    d = dim % tensor.ndim
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {size}")
        sections = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sections = [int(s) for s in split_size_or_sections]
        if sum(sections) != n:
            raise RuntimeError(f"split: sections {sections} sum to {sum(sections)}, but dim {dim} has size {n}")
    if len(sections) == 1:
        return (tensor,)
    return B.Split.apply(tensor, sections=sections, dim=d)

