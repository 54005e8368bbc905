"""Shared machinery for the hw1 kernel tests.

A ``Case`` is one call of a kernel pair on fixed float64 inputs. Each test file lists its cases and
runs three generic checks on them:

* ``run_gradcheck``: float64 central differences (``minitorch.testing.check_kernel_grads``, random
  upstream gradient, relative error < 1e-6);
* ``run_float32``: with float32 inputs, the output and every gradient stay float32;
* ``run_strict``: the same call on the strict backend's arrays (which refuse ``np.<fn>(data)``, as CuPy
  does) gives the same output and gradients as on NumPy -- the kernel is CuPy-neutral.

``case_tests(CASES)`` makes the three parametrized tests; ``on_strict`` is the strict check for a kernel
pair called directly (files without a ``Case`` list); the ``numpy_inputs`` fixture
(import ``numpy_inputs_fixture`` into the test module) keeps tests that hand kernels NumPy arrays on NumPy.

``compare_with_torch`` checks a Tensor-API expression against the same torch expression: forward values,
output dtype, and the gradient of every input (value and dtype) for a random upstream gradient.
"""
from dataclasses import dataclass, field

import numpy as np
import pytest

import minitorch
from minitorch.backend import strict
from minitorch.testing import check_kernel_grads
from tests.helpers import assert_close, mt, to_torch


@dataclass
class Case:
    name: str
    forward: object
    backward: object
    inputs: list
    kwargs: dict = field(default_factory=dict)
    wrt: list = None  # indices of the differentiable inputs (default: all)

    def __post_init__(self):
        self.inputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in self.inputs]

    def __str__(self):
        return self.name


def case_id(case):
    return case.name


def _map_arrays(value, fn):
    if isinstance(value, (np.ndarray, np.generic)):
        return fn(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_map_arrays(v, fn) for v in value)
    if isinstance(value, list):
        return [_map_arrays(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_arrays(v, fn) for k, v in value.items()}
    return value


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _wrt(case):
    return list(range(len(case.inputs))) if case.wrt is None else case.wrt


def _douts(outs, seed=1):
    r = np.random.default_rng(seed)
    return tuple(r.standard_normal(o.shape).astype(o.dtype) for o in outs)


def run_gradcheck(case, tol=1e-6):
    err = check_kernel_grads(case.forward, case.backward, case.inputs, kwargs=case.kwargs, wrt=case.wrt, tol=tol)
    assert err < tol, f"{case.name}: relative error {err}"


def run_float32(case):
    to32 = lambda a: a.astype(np.float32) if a.dtype == np.float64 else a
    inputs = _map_arrays(case.inputs, to32)
    kwargs = _map_arrays(case.kwargs, to32)
    outs, cache = case.forward(*inputs, **kwargs)
    outs = _as_tuple(outs)
    for o in outs:
        assert o.dtype == np.float32, f"{case.name}: forward returned {o.dtype} for float32 inputs"
    grads = _as_tuple(case.backward(*_douts(outs), cache))
    for i, g in zip(_wrt(case), grads):
        assert g.dtype == np.float32, f"{case.name}: gradient {i} is {g.dtype} for float32 inputs"
        assert g.shape == inputs[i].shape


def strict_matches_numpy(forward, backward, inputs, kwargs=None, seed=1, name="kernel"):
    """Run a kernel pair on NumPy arrays and again on strict-backend arrays (which refuse
    ``np.<fn>(data)``, as CuPy arrays would), with the same random upstream gradient(s) drawn with
    ``seed``; every output and gradient must be a strict array equal to the NumPy one (rtol 1e-12), and
    a ``None`` gradient slot must stay ``None``."""
    kwargs = kwargs or {}
    outs, cache = forward(*inputs, **kwargs)
    outs = _as_tuple(outs)
    douts = _douts(outs, seed)
    grads = _as_tuple(backward(*douts, cache))

    wrap = lambda a: strict.asarray(a.copy())
    s_outs, s_cache = forward(*_map_arrays(inputs, wrap), **_map_arrays(kwargs, wrap))
    s_outs = _as_tuple(s_outs)
    s_grads = _as_tuple(backward(*_map_arrays(douts, wrap), s_cache))
    assert len(s_outs + s_grads) == len(outs + grads), f"{name}: strict run returned a different number of arrays"
    for o, s in zip(outs + grads, s_outs + s_grads):
        if o is None or s is None:
            assert o is None and s is None, f"{name}: gradient slot is {s!r} on strict, {o!r} on NumPy"
            continue
        assert isinstance(s, strict.StrictArray), f"{name}: strict backend returned {type(s).__name__}"
        np.testing.assert_allclose(s.unwrap(), o, rtol=1e-12, atol=0, err_msg=name)


def run_strict(case):
    strict_matches_numpy(case.forward, case.backward, case.inputs, case.kwargs, seed=1, name=case.name)


def on_strict(forward, backward, arrays, seed=0, **kwargs):
    """``strict_matches_numpy`` for a kernel pair called as ``forward(*arrays, **kwargs)`` (upstream seed 0)."""
    strict_matches_numpy(forward, backward, arrays, kwargs, seed=seed, name=getattr(forward, "__name__", "kernel"))


def case_tests(cases):
    """The three generic tests, each parametrized over ``cases`` (ids: the case names). A test module
    assigns them to its own names so pytest collects them there::

        test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)
    """
    over_cases = pytest.mark.parametrize("case", cases, ids=case_id)

    @over_cases
    def test_gradcheck(case):
        run_gradcheck(case)

    @over_cases
    def test_float32_stays_float32(case):
        run_float32(case)

    @over_cases
    def test_cupy_neutral_on_strict_backend(case):
        run_strict(case)

    return test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend


@pytest.fixture(name="numpy_inputs")
def numpy_inputs_fixture():
    """For tests that hand kernels NumPy arrays: under MINITORCH_TEST_BACKEND=strict, kernel-made constants would be
    strict arrays that NumPy inputs cannot mix with (strict arrays are covered by the *_on_strict_backend test)."""
    if minitorch.get_backend() == "strict":
        minitorch.set_backend("numpy")


# ------------------------------------------------------------------------------------------ torch
def torch_dtype(dtype):
    import torch

    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
            np.dtype(np.int64): torch.int64, np.dtype(np.int32): torch.int32,
            np.dtype(np.bool_): torch.bool}[np.dtype(dtype)]


def compare_with_torch(fn_mt, fn_torch, arrays, grad=None, seed=1, tol=None):
    """Run ``fn_mt`` on minitorch tensors and ``fn_torch`` on torch tensors made from ``arrays``.

    ``grad``: which arrays require grad (default: the floating ones). Checks outputs (values and dtypes),
    then backpropagates the same random upstream gradient through both and checks every input gradient.
    Returns the minitorch outputs."""
    pytest.importorskip("torch")
    grad = [np.asarray(a).dtype.kind == "f" for a in arrays] if grad is None else grad
    xs = [mt(a, requires_grad=g) for a, g in zip(arrays, grad)]
    ts = [to_torch(a, requires_grad=g) for a, g in zip(arrays, grad)]
    outs, touts = _as_tuple(fn_mt(*xs)), _as_tuple(fn_torch(*ts))
    assert len(outs) == len(touts)
    tol = tol or {}
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert isinstance(o, minitorch.Tensor)
        assert torch_dtype(o.dtype) == t.dtype, f"output {k}: dtype {o.dtype} but torch gives {t.dtype}"
        assert_close(o, t, name=f"output {k}", **tol)
    diff = [k for k, o in enumerate(outs) if o.requires_grad]
    if not any(grad):
        return outs
    assert [k for k, t in enumerate(touts) if t.requires_grad] == diff, "requires_grad of outputs differs from torch"
    r = np.random.default_rng(seed)
    gs = [r.standard_normal(outs[k].shape).astype(outs[k].dtype) for k in diff]
    # one scalar objective sum_k <out_k, g_k>, so several outputs are handled like torch.autograd.backward
    loss = None
    tloss = None
    for k, g in zip(diff, gs):
        term = (outs[k] * mt(g)).sum()
        tterm = (touts[k] * to_torch(g)).sum()
        loss = term if loss is None else loss + term
        tloss = tterm if tloss is None else tloss + tterm
    if loss is None:
        return outs
    loss.backward()
    tloss.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if not grad[i]:
            continue
        if t.grad is None:
            assert x.grad is None or not np.any(x.grad.numpy()), f"input {i}: torch gives no gradient"
            continue
        assert x.grad is not None, f"input {i}: no gradient, torch has one"
        assert x.grad.dtype == x.dtype, f"input {i}: gradient dtype {x.grad.dtype} != input dtype {x.dtype}"
        assert_close(x.grad, t.grad, name=f"grad of input {i}", **tol)
    return outs
