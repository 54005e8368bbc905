"""The optimizer kernels, the optimizers and clipping on the strict backend (arrays that refuse
NumPy calls, as CuPy's do): same results as NumPy, and everything stays a strict array."""
import math

import numpy as np
import pytest

import minitorch
from minitorch.backend import strict
from minitorch.nn import Parameter
from minitorch.optim import SGD, Adam, AdamW, clip_grad_norm_, clip_grad_value_

from .trajectory import numpy_grads, problem


def _train(cls, opts, wrap, steps=20):
    data, init = problem()
    params = {k: Parameter(wrap(a.copy())) for k, a in init.items()}
    rest = [params["b"], params["v"], params["unused"]]
    opt = cls([{"params": [params["w"]]}, {"params": rest, "lr": opts["lr"] / 2}], **opts)
    for _ in range(steps):
        opt.zero_grad()
        host = {k: minitorch.backend.to_numpy(p.data) for k, p in params.items()}
        for k, g in numpy_grads(host, data).items():
            params[k].grad = minitorch.Tensor(wrap(g))
        clip_grad_norm_(params.values(), 0.5)
        opt.step()
    return params, opt


@pytest.mark.parametrize("cls,opts", [
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, maximize=True)),
])
def test_optimizers_on_strict_backend(cls, opts):
    ref, _ = _train(cls, opts, lambda a: a)
    got, opt = _train(cls, opts, strict.asarray)
    for k in ref:
        assert isinstance(got[k].data, strict.StrictArray), k
        np.testing.assert_allclose(got[k].data.unwrap(), ref[k].data, rtol=1e-12, atol=0, err_msg=k)
    for state in opt.state.values():
        for name, v in state.items():
            if isinstance(v, minitorch.Tensor):
                assert isinstance(v.data, strict.StrictArray), name


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clipping_on_strict_backend(norm_type):
    r = np.random.default_rng(0)
    grads = [r.standard_normal(s) for s in [(3, 4), (5,), (1,)]]
    ref = [Parameter(np.zeros_like(g)) for g in grads]
    got = [Parameter(strict.asarray(np.zeros_like(g))) for g in grads]
    for p, q, g in zip(ref, got, grads):
        p.grad, q.grad = minitorch.Tensor(g.copy()), minitorch.Tensor(strict.asarray(g.copy()))
    total_ref = clip_grad_norm_(ref, 0.7, norm_type)
    total = clip_grad_norm_(got, 0.7, norm_type)
    assert isinstance(total.data, strict.StrictArray)
    np.testing.assert_allclose(float(total), float(total_ref), rtol=1e-12)
    clip_grad_value_(ref, 0.1)
    clip_grad_value_(got, 0.1)
    for p, q in zip(ref, got):
        assert isinstance(q.grad.data, strict.StrictArray)
        np.testing.assert_allclose(q.grad.data.unwrap(), p.grad.data, rtol=1e-12, atol=0)
