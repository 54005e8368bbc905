"""Seeding: one random generator per backend, reseeded together by ``manual_seed``.

CuPy's generator gives other numbers than NumPy's for the same seed; tests that compare
backends draw on the host and copy.
"""
import numpy as np

_seed = {"value": None}
_generators = {}


def manual_seed(seed):
    """Seed every backend's generator (like ``torch.manual_seed``). Returns the seed."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer, got {seed!r}")
    _seed["value"] = int(seed)
    _generators.clear()
    return int(seed)


def generator(xp=np):
    """The seeded generator for array module ``xp`` (created on first use)."""
    name = xp.__name__
    gen = _generators.get(name)
    if gen is None:
        if xp is not np:  # cupy, or the strict test module
            gen = xp.random.default_rng(_seed["value"])
        else:
            gen = np.random.default_rng(_seed["value"])
        _generators[name] = gen
    return gen


def seed_state():
    """A JSON-able snapshot of the NumPy generator, for exact resume from a checkpoint."""
    return generator(np).bit_generator.state


def set_seed_state(state):
    """Restore a snapshot made by ``seed_state``."""
    generator(np).bit_generator.state = state


_TORCH_DEFAULT_SEED = 67280421310721  # what torch.Generator() starts from


class Generator:
    """``torch.Generator``: an independent random stream, for ``random_split``, ``DataLoader(generator=...)``,
    ``randn(..., generator=...)`` and friends. ``Generator().manual_seed(42)`` returns the generator.
    Draws are NumPy's (PCG64), so the numbers differ from torch's for the same seed."""

    def __init__(self, device="cpu"):
        from .core import Device  # noqa: PLC0415

        self.device = Device(device)
        self.manual_seed(_TORCH_DEFAULT_SEED)

    def manual_seed(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Generator.manual_seed expects a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state (a dict of plain Python values), for ``set_state``."""
        return {"seed": self._seed, "bit_generator": self.rng.bit_generator.state}

    def set_state(self, state):
        if not isinstance(state, dict) or "bit_generator" not in state:
            raise TypeError("Generator.set_state expects a state returned by Generator.get_state()")
        self._seed = int(state.get("seed", self._seed))
        self.rng.bit_generator.state = state["bit_generator"]
        return self

    def __repr__(self):
        return f"<minitorch.Generator device={self.device} initial_seed={self._seed}>"


def numpy_generator(gen, owner="generator"):
    """A NumPy Generator from ``gen``: a ``Generator``, a NumPy Generator, or None (the global one)."""
    if gen is None:
        return generator(np)
    if isinstance(gen, Generator):
        return gen.rng
    if isinstance(gen, np.random.Generator):
        return gen
    raise TypeError(f"{owner}: generator must be a minitorch.Generator (or a NumPy Generator), "
                    f"got {type(gen).__name__}")
