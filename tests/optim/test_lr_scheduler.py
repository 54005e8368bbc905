"""Learning-rate schedulers against torch.optim.lr_scheduler: lr sequences over 50 steps with two
parameter groups, chaining, the closed form, state-dict resume, ReduceLROnPlateau on a fixed loss
sequence, and the nanoGPT warmup_cosine helper."""
import math
import warnings

import numpy as np
import pytest

import minitorch
from minitorch.nn import Parameter
from minitorch.optim import SGD, Adam, lr_scheduler

N = 50
LRS = (0.1, 0.05)


def _mt_opt(lrs=LRS):
    return SGD([{"params": [Parameter(np.ones(2))], "lr": lr} for lr in lrs], lr=1.0)


def _torch_opt(torch, lrs=LRS):
    return torch.optim.SGD([{"params": [torch.ones(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)


def _build(lib, opt, spec):
    """``spec``: (class name, args, kwargs); nested specs for SequentialLR's schedulers."""
    name, args, kwargs = spec
    cls = getattr(lib, name)
    if name == "SequentialLR":
        return cls(opt, [_build(lib, opt, s) for s in args[0]], *args[1:], **kwargs)
    return cls(opt, *args, **kwargs)


def _sequence(opt, schedulers, n=N, epochs=None):
    """lrs before training, then after each of ``n`` (optimizer.step, scheduler.step) rounds."""
    out = [schedulers[-1].get_last_lr()]
    for i in range(n):
        opt.step()
        for s in schedulers:
            if epochs is None:
                s.step()
            else:
                s.step(epochs[i])
        out.append(schedulers[-1].get_last_lr())
        assert out[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(out)


def _lambda(e):
    return 0.9 ** e


SPECS = [
    ("StepLR", (7,), dict(gamma=0.5)),
    ("StepLR", (1,), {}),
    ("MultiStepLR", ([5, 12, 12, 30],), dict(gamma=0.3)),
    ("ExponentialLR", (0.95,), {}),
    ("CosineAnnealingLR", (20,), dict(eta_min=1e-3)),  # past T_max the lr rises again (torch's recursive form)
    ("CosineAnnealingLR", (N,), {}),
    ("LambdaLR", (_lambda,), {}),
    ("LambdaLR", ([_lambda, lambda e: 1.0 / (e + 1)],), {}),
    ("LinearLR", (), dict(start_factor=0.25, total_iters=10)),
    ("LinearLR", (), dict(start_factor=1.0, end_factor=0.1, total_iters=20)),
    ("LinearLR", (), {}),
    ("SequentialLR", ([("LinearLR", (), dict(start_factor=0.1, total_iters=5)), ("CosineAnnealingLR", (30,), {})],
                      [5]), {}),
    ("SequentialLR", ([("LinearLR", (0.5,), dict(total_iters=4)), ("ExponentialLR", (0.9,), {}),
                       ("StepLR", (3,), dict(gamma=0.5))], [5, 20]), {}),
]


def _spec_id(spec):
    return spec[0] + "-" + "-".join(str(a if not callable(a) else "fn") for a in spec[1] if not isinstance(a, list)) \
        + "-".join(f"{k}={v}" for k, v in spec[2].items())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("spec", SPECS, ids=[f"{i}-{s[0]}" for i, s in enumerate(SPECS)])
def test_lr_sequence_matches_torch(spec):
    torch = pytest.importorskip("torch")
    mopt, topt = _mt_opt(), _torch_opt(torch)
    mine = _sequence(mopt, [_build(lr_scheduler, mopt, spec)])
    theirs = _sequence(topt, [_build(torch.optim.lr_scheduler, topt, spec)])
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=0)
    assert mine.shape == (N + 1, 2)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chained_schedulers_match_torch():
    """Two schedulers acting on one optimizer compose multiplicatively (the recursive form)."""
    torch = pytest.importorskip("torch")
    specs = [("StepLR", (4,), dict(gamma=0.5)), ("ExponentialLR", (0.97,), {})]
    mopt, topt = _mt_opt(), _torch_opt(torch)
    mine = _sequence(mopt, [_build(lr_scheduler, mopt, s) for s in specs])
    theirs = _sequence(topt, [_build(torch.optim.lr_scheduler, topt, s) for s in specs])
    np.testing.assert_allclose(mine, theirs, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("spec", [("StepLR", (3,), dict(gamma=0.5)), ("MultiStepLR", ([2, 6, 6],), {}),
                                  ("ExponentialLR", (0.9,), {}), ("CosineAnnealingLR", (10,), dict(eta_min=0.01)),
                                  ("LinearLR", (), dict(start_factor=0.2, total_iters=6))],
                         ids=lambda s: s[0])
def test_step_with_epoch_uses_closed_form_like_torch(spec):
    torch = pytest.importorskip("torch")
    epochs = [3, 4, 9, 1, 15, 6, 6, 20]
    mopt, topt = _mt_opt(), _torch_opt(torch)
    mine = _sequence(mopt, [_build(lr_scheduler, mopt, spec)], n=len(epochs), epochs=epochs)
    theirs = _sequence(topt, [_build(torch.optim.lr_scheduler, topt, spec)], n=len(epochs), epochs=epochs)
    np.testing.assert_allclose(mine, theirs, rtol=1e-12)


@pytest.mark.parametrize("spec", [s for s in SPECS if s[0] != "LambdaLR"] + [("LambdaLR", (_lambda,), {})],
                         ids=lambda s: s[0])
def test_state_dict_resume(spec):
    """Stop after 20 steps, rebuild optimizer and scheduler, load both state dicts, continue:
    the same lrs as without the interruption."""
    opt = _mt_opt()
    sched = _build(lr_scheduler, opt, spec)
    full = _sequence(opt, [sched], n=N)
    opt = _mt_opt()
    sched = _build(lr_scheduler, opt, spec)
    _sequence(opt, [sched], n=20)
    opt_sd, sched_sd = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sched_sd
    opt2 = _mt_opt(lrs=(7.0, 7.0))
    sched2 = _build(lr_scheduler, opt2, spec)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    resumed = _sequence(opt2, [sched2], n=N - 20)
    np.testing.assert_array_equal(resumed, full[20:])


def test_lambda_state_dict_skips_functions_but_keeps_callable_objects():
    class Scale:
        def __init__(self, k):
            self.k = k

        def __call__(self, e):
            return self.k ** e

    opt = _mt_opt()
    sched = lr_scheduler.LambdaLR(opt, [_lambda, Scale(0.5)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"k": 0.5}]
    other = Scale(0.1)
    sched2 = lr_scheduler.LambdaLR(_mt_opt(), [_lambda, other])
    sched2.load_state_dict(sd)
    assert other.k == 0.5 and sched2.lr_lambdas[0] is _lambda


LOSSES = [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.8, 0.8, 0.80001, 0.85, 0.9, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75,
          0.69, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(patience=1, factor=0.5),
    dict(patience=0, factor=0.5, cooldown=2, min_lr=0.02),
    dict(mode="max", patience=1, factor=0.3),
    dict(patience=1, threshold=0.05, threshold_mode="abs", min_lr=[0.03, 0.0]),
    dict(mode="max", patience=2, threshold=0.01, threshold_mode="abs", cooldown=1),
    dict(patience=0, factor=0.9, eps=0.007),  # group 1: decreases smaller than eps are skipped
])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    mopt, topt = _mt_opt(), _torch_opt(torch)
    ms = lr_scheduler.ReduceLROnPlateau(mopt, **kwargs)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    mine, theirs = [ms.get_last_lr()], [ts.get_last_lr()]
    for i, loss in enumerate(LOSSES):
        ms.step(minitorch.tensor(loss, dtype=np.float64) if i % 2 else loss)  # a 0-d Tensor works too
        ts.step(loss)
        mine.append(ms.get_last_lr())
        theirs.append(ts.get_last_lr())
        assert (ms.num_bad_epochs, ms.cooldown_counter, ms.best) == (ts.num_bad_epochs, ts.cooldown_counter, ts.best)
    np.testing.assert_allclose(mine, theirs, rtol=1e-12)
    assert len({tuple(r) for r in mine}) > 1 or kwargs == {}  # the lr did change in every configured case


def test_reduce_lr_on_plateau_state_dict():
    opt = _mt_opt()
    s = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for loss in LOSSES[:8]:
        s.step(loss)
    sd = s.state_dict()
    s2 = lr_scheduler.ReduceLROnPlateau(_mt_opt(), mode="max")
    s2.load_state_dict(sd)
    assert (s2.mode, s2.best, s2.num_bad_epochs, s2.patience, s2.mode_worse) == ("min", s.best, s.num_bad_epochs, 1,
                                                                                math.inf)


def _nanogpt_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    """nanoGPT train.py's get_lr."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def test_warmup_cosine_is_nanogpt_schedule():
    torch = pytest.importorskip("torch")
    opt = Adam([{"params": [Parameter(np.ones(2))]}, {"params": [Parameter(np.ones(1))], "lr": 5e-4}], lr=1e-3)
    sched = lr_scheduler.warmup_cosine(opt, warmup_iters=10, max_iters=60, min_lr=1e-4)
    assert isinstance(sched, lr_scheduler.LambdaLR)
    got = []
    for _ in range(80):
        got.append(sched.get_last_lr())
        opt.step()
        sched.step()
    for base, col in ((1e-3, 0), (5e-4, 1)):
        expected = [_nanogpt_lr(it, base, 10, 60, 1e-4) for it in range(80)]
        np.testing.assert_allclose([g[col] for g in got], expected, rtol=1e-12)
    assert got[0][0] == pytest.approx(1e-3 / 11) and got[-1] == pytest.approx([1e-4, 1e-4])
    # the same lambdas drive torch's LambdaLR to the same sequence
    topt = torch.optim.Adam([{"params": [torch.ones(2)]}, {"params": [torch.ones(1)], "lr": 5e-4}], lr=1e-3)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, sched.lr_lambdas)
    theirs = []
    for _ in range(80):
        theirs.append(tsched.get_last_lr())
        topt.step()
        tsched.step()
    np.testing.assert_allclose(got, theirs, rtol=1e-12)
    assert sched.state_dict()["lr_lambdas"][1] == {"warmup_iters": 10, "max_iters": 60, "min_ratio": 1e-4 / 5e-4}


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _mt_opt()
    sched = lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt = _mt_opt()
    sched = lr_scheduler.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_scheduler_errors():
    opt = _mt_opt()
    with pytest.raises(TypeError, match="StepLR: list is not an Optimizer"):
        lr_scheduler.StepLR([], 3)
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        lr_scheduler.StepLR(opt, 0)
    with pytest.raises(ValueError, match="start_factor must be in"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="expected 2 lr_lambdas, got 1"):
        lr_scheduler.LambdaLR(opt, [_lambda])
    with pytest.raises(ValueError, match="one milestone fewer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(_mt_opt(), 2)], milestones=[])
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode 'up' is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0, 0, 0])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_mt_opt(), 3, last_epoch=5)
    with pytest.raises(ValueError, match="warmup_iters <= max_iters"):
        lr_scheduler.warmup_cosine(opt, 10, 5, 0.0)
