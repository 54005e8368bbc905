"""Shared test helpers: seeded inputs, conversions to and from torch, closeness checks, running a bench script."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minitorch

# Tolerances for comparing minitorch with PyTorch, per dtype (forward, gradient).
TOL = {
    np.dtype(np.float32): dict(rtol=1e-4, atol=1e-5),
    np.dtype(np.float64): dict(rtol=1e-9, atol=1e-11),
}


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(shape, dtype=np.float64, seed=0, scale=1.0):
    return (rng(seed).standard_normal(shape) * scale).astype(dtype)


def to_torch(a, requires_grad=False):
    import torch

    if isinstance(a, minitorch.Tensor):
        a = a.detach().numpy()
    t = torch.from_numpy(np.array(a, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


def mt(a, requires_grad=False):
    """A minitorch tensor holding a copy of array ``a`` (dtype kept)."""
    return minitorch.tensor(np.array(a, copy=True), requires_grad=requires_grad)


def assert_close(actual, expected, dtype=None, name="value", rtol=None, atol=None):
    """Compare arrays/tensors (minitorch or torch) with the per-dtype tolerance."""
    a = actual.detach().numpy() if hasattr(actual, "detach") else np.asarray(actual)
    e = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != expected {e.shape}"
    tol = TOL.get(np.dtype(dtype or a.dtype), dict(rtol=1e-4, atol=1e-5))
    np.testing.assert_allclose(a, e, rtol=rtol or tol["rtol"], atol=atol or tol["atol"], err_msg=name)


@pytest.fixture(autouse=True, scope="module")
def torch_single_thread():
    """One torch intra-op thread for a test module (import this fixture into the module to use it).

    The tests compare small tensors: torch's OpenMP pool only adds contention on a shared 2-core machine
    (~50 ms per tiny op when loaded), and one thread is as exact. The previous count is restored after the
    module; without torch this does nothing."""
    try:
        import torch
    except ImportError:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def run_bench(name, *args, timeout=300):
    """``python bench/<name>.py *args`` in a subprocess with this checkout first on PYTHONPATH: the
    CompletedProcess, its output as text."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    env = dict(os.environ, PYTHONPATH=root)
    return subprocess.run([sys.executable, os.path.join(root, "bench", f"{name}.py"), *args], capture_output=True,
                          text=True, env=env, timeout=timeout)
