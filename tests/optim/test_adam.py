"""Adam and AdamW against torch.optim: 200-step parameter trajectories and final state for every
option combination (weight decay coupled / decoupled, amsgrad, betas, eps, maximize)."""
import numpy as np
import pytest

from minitorch.optim import Adam, AdamW

from .trajectory import N_STEPS, RTOL, assert_trajectories, case_id, problem, run_pair

ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, amsgrad=True, weight_decay=0.1),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, maximize=True),
    dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True),
]

ADAMW_CASES = [
    dict(lr=0.01),  # default weight_decay 1e-2
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.0),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True),
    dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3),
    dict(lr=0.01, weight_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("cls_name,opts", [("Adam", o) for o in ADAM_CASES] + [("AdamW", o) for o in ADAMW_CASES],
                         ids=lambda v: v if isinstance(v, str) else case_id(v))
def test_adam_matches_torch(cls_name, opts):
    torch = pytest.importorskip("torch")
    mt_cls = {"Adam": Adam, "AdamW": AdamW}[cls_name]
    mp, tp, mopt, topt, m_traj, t_traj = run_pair(mt_cls, getattr(torch.optim, cls_name), opts,
                                                   negate=opts.get("maximize", False))
    assert_trajectories(m_traj, t_traj)
    np.testing.assert_array_equal(mp["unused"].detach().numpy(), problem()[1]["unused"])
    assert mp["unused"] not in mopt.state
    for k in ("w", "b", "v"):
        ms, ts = mopt.state[mp[k]], topt.state[tp[k]]
        assert ms["step"] == int(ts["step"].item()) == N_STEPS
        names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if opts.get("amsgrad") else [])
        assert sorted(ms) == sorted(["step"] + names)
        for name in names:
            np.testing.assert_allclose(ms[name].numpy(), ts[name].numpy(), rtol=RTOL, atol=1e-12, err_msg=name)
