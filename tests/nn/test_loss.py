"""CrossEntropyLoss, NLLLoss, MSELoss against torch's modules: values and input gradients in
float32 and float64, every reduction, class weights, ignore_index, label smoothing, (N, C, d...) layouts."""
import numpy as np
import pytest

import minitorch
from minitorch import nn

torch = pytest.importorskip("torch")

from tests.nn.compare import DTYPES, _x, compare  # noqa: E402 - needs torch


# ----------------------------------------------------------------------------- losses
def _targets(n_classes, shape, seed=1, ignore=None):
    t = np.random.default_rng(seed).integers(0, n_classes, size=shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t.astype(np.int64)


CE_CASES = [
    (dict(), (4, 5), (4,), None),
    (dict(reduction="sum"), (4, 5), (4,), None),
    (dict(reduction="none"), (4, 5), (4,), None),
    (dict(ignore_index=2), (6, 5), (6,), 2),
    (dict(ignore_index=-100), (6, 5), (6,), -100),
    (dict(label_smoothing=0.1), (4, 5), (4,), None),
    (dict(label_smoothing=0.2, ignore_index=-100, reduction="sum"), (6, 3), (6,), -100),
    (dict(), (1, 5), (1,), None),
    (dict(), (5,), (), None),
    (dict(), (2, 5, 3), (2, 3), None),
    (dict(reduction="none"), (2, 5, 3, 2), (2, 3, 2), None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs,in_shape,t_shape,ignore", CE_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_loss(dtype, kwargs, in_shape, t_shape, ignore, weighted):
    c = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    if weighted:
        w = np.random.default_rng(3).uniform(0.5, 2.0, c).astype(dtype)
        ours = nn.CrossEntropyLoss(weight=minitorch.tensor(w), **kwargs)
        theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), **kwargs)
    else:
        ours, theirs = nn.CrossEntropyLoss(**kwargs), torch.nn.CrossEntropyLoss(**kwargs)
    compare(ours, theirs, [_x(*in_shape) * 2, _targets(c, t_shape, ignore=ignore)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_loss_probability_targets(dtype):
    probs = np.random.default_rng(2).dirichlet(np.ones(5), size=4)
    compare(nn.CrossEntropyLoss(label_smoothing=0.1), torch.nn.CrossEntropyLoss(label_smoothing=0.1),
            [_x(4, 5), probs], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs,ignore", [(dict(), None), (dict(reduction="sum"), None),
                                           (dict(reduction="none"), None), (dict(ignore_index=1), 1)])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(dtype, kwargs, ignore, weighted):
    logp = torch.log_softmax(torch.tensor(_x(6, 4)), -1).numpy()
    if weighted:
        w = np.random.default_rng(3).uniform(0.5, 2.0, 4).astype(dtype)
        ours = nn.NLLLoss(weight=minitorch.tensor(w), **kwargs)
        theirs = torch.nn.NLLLoss(weight=torch.tensor(w), **kwargs)
    else:
        ours, theirs = nn.NLLLoss(**kwargs), torch.nn.NLLLoss(**kwargs)
    compare(ours, theirs, [logp, _targets(4, (6,), ignore=ignore)], dtype)


def test_nll_after_log_softmax_equals_cross_entropy():
    x = minitorch.tensor(_x(5, 7), requires_grad=True)
    t = minitorch.tensor(_targets(7, (5,)))
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), t)
    b = nn.CrossEntropyLoss()(x, t)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(3, 4), (1,), (2, 1, 3)])
def test_mse_loss(dtype, reduction, shape):
    compare(nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction),
            [_x(*shape), _x(*shape, seed=7)], dtype)


def test_weighted_loss_weight_is_a_buffer_like_torch():
    w = np.array([1.0, 2.0, 0.5])
    ours = nn.CrossEntropyLoss(weight=minitorch.tensor(w))
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert list(nn.NLLLoss().state_dict()) == list(torch.nn.NLLLoss().state_dict()) == []
    ours.to(minitorch.float32)
    assert ours.weight.dtype == np.float32
    assert repr(ours) == repr(theirs) == "CrossEntropyLoss()"


def test_loss_deprecated_size_average_reduce():
    with pytest.warns(UserWarning, match="deprecated"):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.NLLLoss(reduce=False).reduction == "none"
