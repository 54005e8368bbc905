"""``Flatten`` and ``Unflatten``: reshape modules with torch's arguments (no parameters)."""
from ..kernels.reduce import normalize_dims
from .module import Module, _check_input


class Flatten(Module):
    """Flattens dims ``start_dim`` .. ``end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default
    (start_dim=1, so the batch dim is kept)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"Flatten: {name} must be an int, got {v!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"
        _check_input(desc, input, floating=False)
        if input.ndim == 0:
            return input.reshape(1)
        try:
            (s,), (e,) = normalize_dims(self.start_dim, input.ndim), normalize_dims(self.end_dim, input.ndim)
        except IndexError:
            raise IndexError(f"{desc}: dims out of range for an input of shape {tuple(input.shape)}") from None
        if s > e:
            raise RuntimeError(f"{desc}: start_dim comes after end_dim for an input of shape {tuple(input.shape)}")
        return input.flatten(s, e)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size``: Unflatten(1, (C, H, W)) turns (N, C*H*W) into
    (N, C, H, W); one size may be -1."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(n, int) and not isinstance(n, bool) for n in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):  # noqa: A002 - torch's argument name
        desc = f"Unflatten(dim={self.dim}, unflattened_size={self.unflattened_size})"
        _check_input(desc, input, floating=False)
        try:
            (d,) = normalize_dims(self.dim, input.ndim)
        except IndexError:
            raise IndexError(f"{desc}: dim out of range for an input of shape {tuple(input.shape)}") from None
        sizes = self.unflattened_size
        known = 1
        for n in sizes:
            known *= n if n != -1 else 1
        n = input.shape[d]
        if sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
            raise RuntimeError(f"{desc}: sizes {sizes} don't multiply to the size {n} of dim {d} "
                               f"(input shape {tuple(input.shape)})")
        return input.unflatten(d, sizes)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
