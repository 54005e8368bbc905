"""The shared problem of the optimizer tests: a one-hidden-layer tanh regression on fixed float64
data, trained side by side with minitorch and torch.optim, recording every step's parameters.

Gradients come from each library's autograd (``autograd=True``) or, to keep the many option
combinations fast, from the same hand-written NumPy gradient applied to each library's own
current parameters; either way each trajectory only depends on its own optimizer."""
import numpy as np
import pytest

import minitorch
from minitorch.nn import Parameter

N_STEPS = 200
RTOL = 1e-5


def problem(dtype=np.float64, seed=0):
    """Fixed data and initial weights of a one-hidden-layer tanh regression."""
    r = np.random.default_rng(seed)
    data = dict(x=r.standard_normal((8, 4)), y=r.standard_normal((8, 2)))
    init = dict(w=r.standard_normal((4, 3)) * 0.5, b=r.standard_normal(3) * 0.1, v=r.standard_normal((3, 2)) * 0.5,
                unused=r.standard_normal(5))
    return {k: a.astype(dtype) for k, a in data.items()}, {k: a.astype(dtype) for k, a in init.items()}


def mt_loss(p, data, negate=False):
    x, y = minitorch.tensor(data["x"]), minitorch.tensor(data["y"])
    loss = (((x @ p["w"] + p["b"]).tanh() @ p["v"] - y) ** 2).mean()
    return -loss if negate else loss


def torch_loss(p, data, torch, negate=False):
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    loss = ((torch.tanh(x @ p["w"] + p["b"]) @ p["v"] - y) ** 2).mean()
    return -loss if negate else loss


def numpy_grads(p, data, negate=False):
    """d loss / d (w, b, v) of ``mt_loss`` by hand, from arrays ``p``; 'unused' gets none."""
    x, y = data["x"], data["y"]
    h = np.tanh(x @ p["w"] + p["b"])
    r = h @ p["v"] - y
    dr = (-2.0 if negate else 2.0) * r / r.size
    da = (dr @ p["v"].T) * (1 - h * h)
    return {"w": x.T @ da, "b": da.sum(0), "v": h.T @ dr}


def groups(params, group_opts):
    """Param groups: (w), (b, v, unused) with per-group options, or one group of all."""
    if group_opts is None:
        return [params["w"], params["b"], params["v"], params["unused"]]
    first, second = group_opts
    return [dict(params=[params["w"]], **first), dict(params=[params["b"], params["v"], params["unused"]], **second)]


def run_pair(mt_cls, torch_cls, opts, group_opts=None, steps=N_STEPS, dtype=np.float64, negate=False,
             autograd=False):
    """Train the same problem with both libraries; returns the parameters, the optimizers and
    per-step lists of parameter arrays."""
    torch = pytest.importorskip("torch")
    data, init = problem(dtype)
    mp = {k: Parameter(a.copy()) for k, a in init.items()}
    tp = {k: torch.tensor(a.copy(), requires_grad=True) for k, a in init.items()}
    mopt = mt_cls(groups(mp, group_opts), **opts)
    topt = torch_cls(groups(tp, group_opts), **opts)
    m_traj, t_traj = [], []
    for _ in range(steps):
        mopt.zero_grad()
        topt.zero_grad()
        if autograd:
            mt_loss(mp, data, negate).backward()
            torch_loss(tp, data, torch, negate).backward()
        else:
            for k, g in numpy_grads({k: p.detach().numpy() for k, p in mp.items()}, data, negate).items():
                mp[k].grad = minitorch.tensor(g)
            for k, g in numpy_grads({k: p.detach().numpy() for k, p in tp.items()}, data, negate).items():
                tp[k].grad = torch.from_numpy(g)
        mopt.step()
        topt.step()
        m_traj.append({k: p.detach().numpy().copy() for k, p in mp.items()})
        t_traj.append({k: p.detach().numpy().copy() for k, p in tp.items()})
    return mp, tp, mopt, topt, m_traj, t_traj


def assert_trajectories(m_traj, t_traj, rtol=RTOL, atol=1e-9):
    for i, (m, t) in enumerate(zip(m_traj, t_traj)):
        for k in m:
            np.testing.assert_allclose(m[k], t[k], rtol=rtol, atol=atol, err_msg=f"step {i + 1}, parameter {k}")


def case_id(opts):
    return "-".join(f"{k}={v}" for k, v in opts.items())
