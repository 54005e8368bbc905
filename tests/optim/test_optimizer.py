"""The Optimizer machinery: several parameter groups against torch, state-dict round trips (ours and
torch's), float32 kept float32, in-place updates, the update kernels directly, and input errors."""
import copy

import numpy as np
import pytest

import minitorch
from minitorch.kernels import optim as K
from minitorch.nn import Parameter
from minitorch.optim import SGD, Adam, AdamW, Optimizer

from .trajectory import RTOL, assert_trajectories, groups, mt_loss, numpy_grads, problem, run_pair, torch_loss


@pytest.mark.parametrize("negate", [False, True])
def test_hand_written_gradient_of_the_test_problem(negate):
    """The NumPy gradient used by the trajectory tests equals minitorch's autograd gradient."""
    data, init = problem()
    params = {k: Parameter(a.copy()) for k, a in init.items()}
    mt_loss(params, data, negate).backward()
    expected = numpy_grads(init, data, negate)
    assert params["unused"].grad is None and "unused" not in expected
    for k, g in expected.items():
        np.testing.assert_allclose(params[k].grad.numpy(), g, rtol=1e-12, atol=1e-14, err_msg=k)


GROUP_CASES = [
    ("SGD", {}, (dict(lr=0.05, momentum=0.9), dict(lr=0.1, weight_decay=0.1, nesterov=False))),
    ("SGD", dict(lr=0.02, momentum=0.5), (dict(nesterov=True), dict(lr=0.1, dampening=0.5))),
    ("Adam", dict(lr=0.01), (dict(weight_decay=0.1), dict(lr=0.03, amsgrad=True, betas=(0.8, 0.9)))),
    ("AdamW", dict(lr=0.01), (dict(weight_decay=0.0, amsgrad=True), dict(lr=0.005, weight_decay=0.2))),
]


@pytest.mark.parametrize("name,opts,group_opts", GROUP_CASES)
def test_param_groups_match_torch(name, opts, group_opts):
    torch = pytest.importorskip("torch")
    mt_cls = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    mp, tp, mopt, topt, m_traj, t_traj = run_pair(mt_cls, getattr(torch.optim, name), opts, group_opts,
                                                  autograd=True)
    assert_trajectories(m_traj, t_traj)
    msd, tsd = mopt.state_dict(), topt.state_dict()
    assert sorted(msd["state"]) == sorted(tsd["state"])  # same parameter numbering; 3 (unused) has no state
    assert [g["params"] for g in msd["param_groups"]] == [g["params"] for g in tsd["param_groups"]] == [[0], [1, 2, 3]]
    for mg, tg in zip(msd["param_groups"], tsd["param_groups"]):
        for key in mg:
            if key != "params":
                assert mg[key] == tg[key], key


@pytest.mark.parametrize("name,opts", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
])
def test_state_dict_round_trip_resumes_exactly(name, opts):
    """Save mid-run, load into a fresh optimizer over copies of the parameters, continue: the
    result is bit-identical to an uninterrupted run."""
    cls = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name]
    data, init = problem()
    params = {k: Parameter(a.copy()) for k, a in init.items()}
    opt = cls(groups(params, (dict(), dict(lr=opts["lr"] / 2))), **opts)

    def train(p, o, n):
        for _ in range(n):
            o.zero_grad()
            mt_loss(p, data).backward()
            o.step()

    train(params, opt, 60)
    saved = copy.deepcopy(opt.state_dict())
    saved_params = {k: p.detach().numpy().copy() for k, p in params.items()}
    train(params, opt, 60)

    fresh = {k: Parameter(a) for k, a in saved_params.items()}
    opt2 = cls(groups(fresh, (dict(), dict())), lr=123.0)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == opts["lr"] / 2
    assert opt2.param_groups[1]["params"][0] is fresh["b"]
    train(fresh, opt2, 60)
    for k in params:
        np.testing.assert_array_equal(fresh[k].detach().numpy(), params[k].detach().numpy(), err_msg=k)
    # the loaded state is a copy: continuing did not modify the saved dict
    first_key = next(iter(saved["state"]))
    assert not np.shares_memory(
        minitorch.backend.to_numpy(next(v for v in opt2.state_dict()["state"][first_key].values()
                                        if isinstance(v, minitorch.Tensor)).data),
        minitorch.backend.to_numpy(next(v for v in saved["state"][first_key].values()
                                        if isinstance(v, minitorch.Tensor)).data))


@pytest.mark.parametrize("name,opts", [("Adam", dict(lr=0.01, amsgrad=True)),
                                       ("SGD", dict(lr=0.05, momentum=0.9))])
def test_loads_torch_state_dict(name, opts):
    """A torch optimizer's state_dict (torch tensors, step as a tensor) loads and continues like torch."""
    torch = pytest.importorskip("torch")
    data, init = problem()
    tp = {k: torch.tensor(a.copy(), requires_grad=True) for k, a in init.items()}
    topt = getattr(torch.optim, name)(groups(tp, None), **opts)
    for _ in range(30):
        topt.zero_grad()
        torch_loss(tp, data, torch).backward()
        topt.step()
    mp = {k: Parameter(p.detach().numpy().copy()) for k, p in tp.items()}
    mopt = {"SGD": SGD, "Adam": Adam}[name](groups(mp, None), lr=1.0)
    mopt.load_state_dict(topt.state_dict())
    for _ in range(30):
        topt.zero_grad()
        torch_loss(tp, data, torch).backward()
        topt.step()
        mopt.zero_grad()
        mt_loss(mp, data).backward()
        mopt.step()
    for k in mp:
        np.testing.assert_allclose(mp[k].detach().numpy(), tp[k].detach().numpy(), rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("cls,opts", [
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, maximize=True)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
])
def test_float32_stays_float32_and_matches_torch(cls, opts):
    torch = pytest.importorskip("torch")
    tcls = getattr(torch.optim, cls.__name__)
    mp, tp, mopt, topt, m_traj, t_traj = run_pair(cls, tcls, opts, steps=50, dtype=np.float32,
                                                  negate=opts.get("maximize", False), autograd=True)
    for k, p in mp.items():
        assert p.dtype == np.float32, k
    for state in mopt.state.values():
        for name, v in state.items():
            if isinstance(v, minitorch.Tensor):
                assert v.dtype == np.float32, name
    assert_trajectories(m_traj, t_traj, rtol=1e-4, atol=1e-5)


def test_kernels_keep_float32_with_numpy_scalar_hyperparameters():
    """NumPy float64 scalars as hyperparameters must not promote float32 arrays (NEP 50)."""
    r = np.random.default_rng(0)
    p, g = r.standard_normal((3, 4)).astype(np.float32), r.standard_normal((3, 4)).astype(np.float32)
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    before = p.copy()
    K.adam_step(p, g, m, v, vmax, step=1, lr=np.float64(0.1), beta1=np.float64(0.9), beta2=np.float64(0.999),
                eps=np.float64(1e-8), weight_decay=np.float64(0.1), decoupled_weight_decay=True)
    assert p.dtype == m.dtype == v.dtype == vmax.dtype == np.float32
    assert not np.array_equal(p, before)
    buf = K.sgd_step(p, g, None, lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=np.float64(0.1),
                     nesterov=True)
    buf = K.sgd_step(p, g, buf, lr=np.float64(0.1), momentum=np.float64(0.9), dampening=np.float64(0.1))
    assert p.dtype == buf.dtype == np.float32


def test_sgd_kernel_first_step_and_buffer_in_place():
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    buf = K.sgd_step(p, g, None, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(buf, g)  # the first buffer is the gradient, undamped (torch)
    assert not np.shares_memory(buf, g)
    np.testing.assert_allclose(p, [1.0 - 0.05, -2.0 - 0.025])
    same = K.sgd_step(p, g, buf, lr=0.1, momentum=0.9, dampening=0.5)
    assert same is buf
    np.testing.assert_allclose(buf, 0.9 * g + 0.5 * g)
    assert K.sgd_step(p, g, None, lr=0.1) is None


def test_adam_kernel_first_step_is_sign_step():
    """After one step with m = (1-b1) g, v = (1-b2) g^2, bias correction makes the step lr * sign(g)."""
    p = np.array([1.0, 2.0, 3.0])
    g = np.array([0.3, -4.0, 1e-3])
    K.adam_step(p, g, np.zeros(3), np.zeros(3), None, step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=0.0)
    np.testing.assert_allclose(p, [0.9, 2.1, 2.9], rtol=1e-12)


def test_updates_in_place_keep_tied_weights_shared():
    shared = Parameter(np.ones((2, 3)))
    other = Parameter(np.zeros(3))
    opt = Adam([shared, other], lr=0.1)
    arr = shared.data
    tied_view = minitorch.Tensor(shared.data)  # e.g. an output layer tied to an embedding
    (shared * shared).sum().backward()
    opt.step()
    assert shared.data is arr
    np.testing.assert_array_equal(tied_view.numpy(), shared.detach().numpy())
    np.testing.assert_allclose(shared.detach().numpy(), 0.9)


def test_zero_grad():
    p = Parameter(np.ones(3))
    q = Parameter(np.ones(2))
    opt = SGD([p, q], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3))
    assert q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_step_closure_and_skips_params_without_grad():
    p = Parameter(np.array([3.0]))
    q = Parameter(np.array([5.0]))
    opt = SGD([p, q], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with minitorch.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 9.0
    np.testing.assert_allclose(p.detach().numpy(), [3.0 - 0.25 * 6.0])
    np.testing.assert_array_equal(q.detach().numpy(), [5.0])


def test_add_param_group_and_defaults():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = AdamW([a], lr=0.01)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert len(opt.param_groups) == 2
    g = opt.param_groups[1]
    assert g["lr"] == 0.5 and g["weight_decay"] == 1e-2 and g["betas"] == (0.9, 0.999) and g["params"] == [b]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="unknown option"):
        opt.add_param_group({"params": [Parameter(np.ones(1))], "momentum": 0.9})
    assert "Parameter Group 1" in repr(opt)
    assert isinstance(opt, Optimizer)


@pytest.mark.parametrize("make,err,match", [
    (lambda p: SGD(p, lr=-0.1), ValueError, r"SGD: invalid lr value -0.1"),
    (lambda p: SGD(p, lr=0.1, momentum=-1), ValueError, "invalid momentum"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, "Nesterov momentum requires"),
    (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "zero dampening"),
    (lambda p: Adam(p, lr=-1e-3), ValueError, "Adam: invalid lr"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), ValueError, r"invalid beta1 value 1.0: expected a number in \[0, 1\)"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), ValueError, "invalid beta2"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, "betas must be a pair"),
    (lambda p: AdamW(p, eps=-1e-8), ValueError, "AdamW: invalid eps"),
    (lambda p: AdamW(p, weight_decay=-0.1), ValueError, "invalid weight_decay"),
    (lambda p: Adam(p, lr=float("nan")), ValueError, "invalid lr"),
    (lambda p: Adam(p, lr="fast"), ValueError, "invalid lr"),
])
def test_invalid_hyperparameters(make, err, match):
    with pytest.raises(err, match=match):
        make([Parameter(np.ones(2))])


def test_invalid_params():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="SGD got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam got an empty parameter list"):
        Adam(iter([]))
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a Tensor of shape"):
        SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 is a ndarray"):
        SGD([p, np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="floating point"):
        SGD([minitorch.tensor([1, 2])], lr=0.1)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        opt = SGD([p, p], lr=0.1)
    assert opt.param_groups[0]["params"] == [p]


def test_wrong_grad_shape_is_a_clear_error():
    p = Parameter(np.ones((2, 3)))
    p.grad = minitorch.tensor(np.ones(3))
    with pytest.raises(RuntimeError, match=r"SGD.step: a parameter of shape \(2, 3\) has a gradient of shape \(3,\)"):
        SGD([p], lr=0.1).step()


def test_load_state_dict_errors():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = Adam([a, b], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameter group.*this optimizer has 2"):
        Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters, this optimizer's group 0 has 1"):
        Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(2,\), but the parameter has "
                                         r"shape \(3,\)"):
        Adam([b, a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="expected a dict with 'state' and 'param_groups'"):
        Adam([a]).load_state_dict({"state": {}})
