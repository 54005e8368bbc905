"""Every nn module against its torch equivalent with the same weights (torch's state_dict loaded
into ours): outputs, input gradients and all parameter gradients under a random upstream gradient,
in float32 and float64; also state_dict keys and repr, which must equal torch's."""
import numpy as np
import pytest

import minitorch
from minitorch import nn

torch = pytest.importorskip("torch")

from tests.nn.compare import DTYPES, _x, compare  # noqa: E402 - needs torch


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


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_max_norm_and_scale_grad_by_freq(dtype):
    kw = dict(max_norm=1.5, norm_type=2.0, scale_grad_by_freq=True)
    ours, theirs = nn.Embedding(8, 3, **kw), torch.nn.Embedding(8, 3, **kw)
    idx = np.array([[1, 2, 2, 7], [2, 7, 0, 0]])
    compare(ours, theirs, [idx], dtype)
    # the looked-up rows were renormalised in place, exactly like torch's
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert (np.linalg.norm(ours.weight.detach().numpy()[[0, 1, 2, 7]], axis=1) <= 1.5 + 1e-5).all()


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


def test_composed_model_finite_differences():
    """Independent of torch: d(sum(out * g))/d(param) by float64 central differences for sampled
    coordinates of every parameter (biases included) and the input."""
    minitorch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.LayerNorm(6), nn.Linear(6, 6), nn.GELU(),
                          nn.RMSNorm(6, eps=1e-6), nn.Linear(6, 3)).double()
    x = minitorch.tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    g = np.random.default_rng(1).standard_normal((4, 3))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    t = minitorch.tensor(np.array([0, 2, 1, 2]))

    def objective():
        out = model(x)
        return (out * minitorch.tensor(g)).sum() + loss_fn(out, t)

    objective().backward()
    rng = np.random.default_rng(2)
    h = 1e-6
    for name, p in list(model.named_parameters()) + [("input", x)]:
        analytic = p.grad.numpy()
        flat = p.data.reshape(-1)
        for k in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            orig = flat[k]
            flat[k] = orig + h
            fp = objective().item()
            flat[k] = orig - h
            fm = objective().item()
            flat[k] = orig
            numeric = (fp - fm) / (2 * h)
            assert abs(analytic.reshape(-1)[k] - numeric) <= 1e-6 * max(1.0, abs(numeric)), (name, k)
