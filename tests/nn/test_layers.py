"""Every nn module against its torch equivalent with the same weights (torch's state_dict loaded
into ours): outputs, input gradients and all parameter gradients under a random upstream gradient,
in float32 and float64; also state_dict keys and repr, which must equal torch's."""
import numpy as np
import pytest

import minitorch
from minitorch import nn
from tests.helpers import TOL

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _randomize(tmod, seed):
    """Give torch's module non-default parameters (e.g. LayerNorm's ones/zeros would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))


def compare(ours, theirs, inputs, dtype, randomize=True, seed=0, train=False, atol=None):
    """Run both modules on ``inputs`` (NumPy arrays; floating ones are cast to ``dtype`` and get
    gradients), backpropagate the same random upstream gradient and compare everything."""
    tdt = TORCH_DTYPE[dtype]
    theirs = theirs.to(tdt)
    if randomize:
        _randomize(theirs, seed)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    ours.to(dtype)
    ours.load_state_dict(theirs.state_dict())
    ours.train(train)
    theirs.train(train)
    m_in, t_in = [], []
    for a in inputs:
        if a.dtype.kind == "f":
            a = a.astype(dtype)
            m_in.append(minitorch.tensor(a, requires_grad=True))
            t_in.append(torch.tensor(a, requires_grad=True))
        else:
            m_in.append(minitorch.tensor(a))
            t_in.append(torch.tensor(a))
    out = ours(*m_in)
    tout = theirs(*t_in)
    tol = dict(TOL[np.dtype(dtype)])
    if atol is not None:
        tol["atol"] = atol
    assert out.dtype == dtype
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), **tol, err_msg="output")
    g = np.random.default_rng(seed + 1).standard_normal(tout.shape).astype(dtype)
    if not tout.requires_grad:
        assert not out.requires_grad
        return out
    out.backward(minitorch.tensor(g))
    tout.backward(torch.tensor(g))
    for i, (m, t) in enumerate(zip(m_in, t_in)):
        if t.requires_grad:
            assert m.grad is not None and m.grad.dtype == dtype, f"input {i} grad"
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **tol, err_msg=f"grad of input {i}")
    tparams = dict(theirs.named_parameters())
    mparams = dict(ours.named_parameters())
    assert list(mparams) == list(tparams)
    for name, tp in tparams.items():
        mp = mparams[name]
        if tp.grad is None:
            assert mp.grad is None or not mp.grad.numpy().any(), name
            continue
        assert mp.grad is not None and mp.grad.dtype == dtype, name
        np.testing.assert_allclose(mp.grad.numpy(), tp.grad.numpy(), **tol, err_msg=f"grad of {name}")
    return out


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----------------------------------------------------------------------------- Linear / Identity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_in,n_out,bias,shape", [
    (4, 3, True, (2, 4)), (4, 3, False, (2, 4)), (4, 3, True, (1, 4)), (4, 3, True, (2, 5, 4)),
    (4, 1, True, (3, 4)), (1, 3, True, (3, 1)), (4, 3, True, (4,)), (6, 2, True, (2, 1, 3, 6)),
])
def test_linear(dtype, n_in, n_out, bias, shape):
    compare(nn.Linear(n_in, n_out, bias=bias), torch.nn.Linear(n_in, n_out, bias=bias), [_x(*shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_identity(dtype):
    compare(nn.Identity(3, unused=True), torch.nn.Identity(3, unused=True), [_x(2, 3)], dtype)


# ----------------------------------------------------------------------------- Embedding
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("idx", [
    np.array([[1, 2, 2, 0], [9, 0, 2, 5]]), np.array([[3]]), np.array([7, 7, 7]), np.array(4),
])
def test_embedding(dtype, padding_idx, idx):
    ours = nn.Embedding(10, 4, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(10, 4, padding_idx=padding_idx)
    compare(ours, theirs, [idx.astype(np.int64)], dtype)
    if padding_idx is not None:
        row = padding_idx % 10
        assert not ours.weight.grad.numpy()[row].any()


def test_embedding_int32_indices():
    ours, theirs = nn.Embedding(6, 3), torch.nn.Embedding(6, 3)
    compare(ours, theirs, [np.array([[0, 5, 5]], dtype=np.int32)], np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_from_pretrained(dtype):
    w = _x(5, 3).astype(dtype)
    ours = nn.Embedding.from_pretrained(minitorch.tensor(w))
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert not ours.weight.requires_grad and ours.weight.dtype == dtype
    assert repr(ours) == repr(theirs)
    idx = np.array([[0, 4, 4]])
    out = ours(minitorch.tensor(idx))
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), theirs(torch.tensor(idx)).numpy())
    trainable = nn.Embedding.from_pretrained(minitorch.tensor(w), freeze=False, padding_idx=1)
    ttrain = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad
    np.testing.assert_array_equal(trainable.weight.detach().numpy()[1], w[1])  # padding row kept as given
    compare(trainable, ttrain, [np.array([1, 2, 1, 0])], dtype, randomize=False)


# ----------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs,shape", [
    (dict(normalized_shape=4), (2, 4)), (dict(normalized_shape=4), (1, 1, 4)),
    (dict(normalized_shape=(3, 4)), (2, 3, 4)),
    (dict(normalized_shape=4, elementwise_affine=False), (3, 4)), (dict(normalized_shape=4, bias=False), (2, 5, 4)),
    (dict(normalized_shape=[5], eps=1e-2), (5,)), (dict(normalized_shape=1), (3, 1)),
])
def test_layer_norm(dtype, kwargs, shape):
    # normalized_shape=1: dx is exactly 0; torch's float32 kernel leaves rounding noise of ~3e-5
    atol = 1e-4 if kwargs["normalized_shape"] == 1 and dtype == np.float32 else None
    compare(nn.LayerNorm(**kwargs), torch.nn.LayerNorm(**kwargs), [_x(*shape)], dtype, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs,shape", [
    (dict(normalized_shape=4), (2, 4)), (dict(normalized_shape=4, eps=1e-6), (1, 1, 4)),
    (dict(normalized_shape=(3, 4), eps=1e-5), (2, 3, 4)), (dict(normalized_shape=4, elementwise_affine=False), (3, 4)),
    (dict(normalized_shape=2), (2,)),
])
def test_rms_norm(dtype, kwargs, shape):
    compare(nn.RMSNorm(**kwargs), torch.nn.RMSNorm(**kwargs), [_x(*shape)], dtype)


# ----------------------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kwargs", [
    ("ReLU", {}), ("GELU", {}), ("GELU", dict(approximate="tanh")), ("Tanh", {}), ("Sigmoid", {}),
    ("Softmax", dict(dim=-1)), ("Softmax", dict(dim=0)), ("Softmax", dict(dim=1)),
    ("LogSoftmax", dict(dim=-1)), ("LogSoftmax", dict(dim=1)),
])
@pytest.mark.parametrize("shape", [(3, 5), (1, 1), (2, 3, 4)])
def test_activations(dtype, name, kwargs, shape):
    x = _x(*shape) * 3
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink
    compare(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), [x], dtype)


def test_softmax_implicit_dim_warns_like_torch():
    x = _x(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(minitorch.tensor(x))
    with pytest.warns(UserWarning):
        tout = torch.nn.Softmax()(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_eval_and_p0_are_identity(dtype):
    compare(nn.Dropout(0.3), torch.nn.Dropout(0.3), [_x(4, 5)], dtype, train=False)
    compare(nn.Dropout(0.0), torch.nn.Dropout(0.0), [_x(4, 5)], dtype, train=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_train_statistics_and_gradient(dtype):
    p = 0.3
    drop = nn.Dropout(p)
    x = minitorch.tensor(np.ones((200, 100), dtype=dtype), requires_grad=True)
    out = drop(x)
    y = out.detach().numpy()
    assert y.dtype == dtype
    kept = y != 0
    assert kept.mean() == pytest.approx(1 - p, abs=0.015)
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    g = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
    out.backward(minitorch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g * kept / (1 - p), rtol=1e-6)
    # reproducible under manual_seed, different between calls
    minitorch.manual_seed(5)
    a = drop(minitorch.ones(50)).numpy()
    b = drop(minitorch.ones(50)).numpy()
    minitorch.manual_seed(5)
    np.testing.assert_array_equal(drop(minitorch.ones(50)).numpy(), a)
    assert not np.array_equal(a, b)
    assert not nn.Dropout(1.0)(minitorch.ones(10)).numpy().any()


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


# ----------------------------------------------------------------------------- a composed model
@pytest.mark.parametrize("dtype", DTYPES)
def test_composed_model(dtype):
    """Embedding -> LayerNorm -> Linear -> GELU -> Dropout(eval) -> Linear, nested containers."""

    def build(lib):
        return lib.Sequential(
            lib.Embedding(11, 6, padding_idx=0),
            lib.LayerNorm(6),
            lib.Sequential(lib.Linear(6, 8), lib.GELU(), lib.Dropout(0.5)),
            lib.RMSNorm(8, eps=1e-6),
            lib.Linear(8, 3, bias=False),
        )

    compare(build(nn), build(torch.nn), [np.array([[0, 3, 10, 3], [1, 1, 2, 0]])], dtype)
