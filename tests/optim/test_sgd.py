"""SGD against torch.optim.SGD: 200-step parameter trajectories for every option combination
(momentum, dampening, nesterov, weight_decay, maximize), with a parameter that never gets a gradient."""
import numpy as np
import pytest

from minitorch.optim import SGD

from .trajectory import RTOL, assert_trajectories, case_id, problem, run_pair

SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9, weight_decay=0.05, nesterov=True),
    dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.01),
    dict(lr=0.1, maximize=True),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    dict(lr=0.05, momentum=0.8, dampening=0.2, maximize=True),
]

@pytest.mark.parametrize("opts", SGD_CASES, ids=case_id)
def test_sgd_matches_torch(opts):
    torch = pytest.importorskip("torch")
    negate = opts.get("maximize", False)
    mp, tp, mopt, topt, m_traj, t_traj = run_pair(SGD, torch.optim.SGD, opts, negate=negate)
    assert_trajectories(m_traj, t_traj)
    np.testing.assert_array_equal(mp["unused"].detach().numpy(), problem()[1]["unused"])
    assert mp["unused"] not in mopt.state
    if opts.get("momentum", 0):
        for k in ("w", "b", "v"):
            np.testing.assert_allclose(mopt.state[mp[k]]["momentum_buffer"].numpy(),
                                       topt.state[tp[k]]["momentum_buffer"].numpy(), rtol=RTOL, atol=1e-9)
    else:
        assert not any(mopt.state.values())
