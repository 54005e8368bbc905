"""End to end: small models built from our modules train step for step like torch's (float64,
plain SGD written by hand), and nn.utils' gradient clipping matches torch.nn.utils."""
import numpy as np
import pytest

import minitorch
from minitorch import nn

torch = pytest.importorskip("torch")


def mlp(lib):
    return lib.Sequential(
        lib.Linear(6, 16), lib.Tanh(),
        lib.Linear(16, 16), lib.GELU(), lib.LayerNorm(16),
        lib.Linear(16, 16), lib.ReLU(), lib.Dropout(0.3),  # eval mode: identity
        lib.Linear(16, 4),
    )


class TinyLM:
    """Embedding -> RMSNorm -> Linear(D, D) -> GELU(tanh) -> Linear(D, V), built with either library."""

    @staticmethod
    def build(lib):
        return lib.Sequential(
            lib.Embedding(9, 8, padding_idx=0), lib.RMSNorm(8, eps=1e-6),
            lib.Linear(8, 8), lib.GELU(approximate="tanh"), lib.Linear(8, 9),
        )


def _sgd_(params, lr, grad_of):
    for p in params:
        g = grad_of(p)
        if g is not None:
            p.data -= lr * g


def _train(ours, theirs, x, y, loss_ours, loss_theirs, steps=8, lr=0.2, reshape=None):
    losses = []
    xm, ym = minitorch.tensor(x), minitorch.tensor(y)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(steps):
        out_m, out_t = ours(xm), theirs(xt)
        if reshape is not None:
            out_m, out_t = reshape(out_m), reshape(out_t)
        lm, lt = loss_ours(out_m, ym), loss_theirs(out_t, yt)
        ours.zero_grad()
        theirs.zero_grad()
        lm.backward()
        lt.backward()
        with minitorch.no_grad():
            _sgd_(ours.parameters(), lr, lambda p: None if p.grad is None else p.grad.data)
        with torch.no_grad():
            _sgd_(list(theirs.parameters()), lr, lambda p: p.grad)
        losses.append((lm.item(), lt.item()))
    return np.array(losses)


def test_mlp_trains_like_torch():
    theirs = mlp(torch.nn).double().eval()
    ours = mlp(nn).to(minitorch.float64).eval()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 6))
    y = rng.integers(0, 4, 32)
    losses = _train(ours, theirs, x, y, nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss())
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=1e-10)
    assert losses[-1, 0] < losses[0, 0] - 0.1  # it actually learned
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


def test_tiny_lm_trains_like_torch():
    theirs = TinyLM.build(torch.nn).double()
    ours = TinyLM.build(nn).double()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(1)
    x = rng.integers(0, 9, (4, 7))
    y = np.roll(x, -1, axis=1)
    y[:, -1] = -100  # ignored positions
    kw = dict(ignore_index=-100, label_smoothing=0.05)
    losses = _train(ours, theirs, x, y, nn.CrossEntropyLoss(**kw), torch.nn.CrossEntropyLoss(**kw),
                    lr=0.5, reshape=lambda o: o.transpose(1, 2))  # (B, V, T) layout
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=1e-10)
    assert losses[-1, 0] < losses[0, 0]
    assert not ours[0].weight.detach().numpy()[0].any()  # padding row never updated


def test_mse_regression_trains_like_torch():
    def build(lib):
        return lib.Sequential(lib.Linear(3, 8), lib.Sigmoid(), lib.Linear(8, 1))

    theirs = build(torch.nn).double()
    ours = build(nn).double()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20, 3))
    y = (x @ np.array([[1.0], [-2.0], [0.5]])) + 0.1
    losses = _train(ours, theirs, x, y, nn.MSELoss(), torch.nn.MSELoss(), lr=0.05)
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=1e-10)
    assert losses[-1, 0] < losses[0, 0]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.05, 100.0])
def test_clip_grad_norm_like_torch(norm_type, max_norm):
    theirs = mlp(torch.nn).double().eval()
    ours = mlp(nn).double().eval()
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(3).standard_normal((5, 6))
    ours(minitorch.tensor(x)).square().sum().backward()
    theirs(torch.tensor(x)).square().sum().backward()
    total = nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type=norm_type)
    np.testing.assert_allclose(float(total), float(ttotal), rtol=1e-10)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-14, err_msg=name)


def test_clip_grad_value_like_torch():
    from minitorch.nn.utils import clip_grad_value_

    theirs = mlp(torch.nn).double().eval()
    ours = mlp(nn).double().eval()
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(4).standard_normal((5, 6))
    ours(minitorch.tensor(x)).square().sum().backward()
    theirs(torch.tensor(x)).square().sum().backward()
    clip_grad_value_(ours.parameters(), 0.1)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.1)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        g = p.grad.numpy()
        assert np.abs(g).max() <= 0.1
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-10, atol=1e-14)
