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
