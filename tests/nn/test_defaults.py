"""Module construction: torch's default initialisation (bounds and statistics), dtypes, seeding,
constructor validation and the error messages of bad inputs."""
import math

import numpy as np
import pytest

import minitorch
from minitorch import nn


# ----------------------------------------------------------------------------- default initialisation
def test_linear_default_init_bounds_and_stats():
    lin = nn.Linear(64, 300)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    bound = 1 / math.sqrt(64)
    assert w.shape == (300, 64) and b.shape == (300,)
    assert w.dtype == b.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert abs(w.mean()) < 5 * bound / math.sqrt(3 * w.size)
    assert np.abs(b).max() <= bound and b.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert lin.weight.requires_grad and lin.bias.requires_grad


def test_linear_init_matches_torch_distribution():
    """Same formula as torch: compare the empirical bound with torch's module of the same size."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ours = nn.Linear(37, 500)
    theirs = torch.nn.Linear(37, 500)
    for name in ("weight", "bias"):
        a = getattr(ours, name).detach().numpy()
        t = getattr(theirs, name).detach().numpy()
        assert np.abs(a).max() == pytest.approx(np.abs(t).max(), rel=0.02)
        assert a.std() == pytest.approx(t.std(), rel=0.1)


def test_linear_dtype_and_no_bias():
    lin = nn.Linear(3, 2, bias=False, dtype=minitorch.float64)
    assert lin.bias is None and lin.weight.dtype == np.float64
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert repr(lin) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_zero_in_features_like_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="zero-element"):
        lin = nn.Linear(0, 3)
    assert not lin.bias.detach().numpy().any()
    with pytest.warns(UserWarning):
        tlin = torch.nn.Linear(0, 3)
    assert not tlin.bias.detach().numpy().any()


def test_embedding_default_init():
    emb = nn.Embedding(400, 50, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert w.dtype == np.float32 and emb.weight.requires_grad
    assert not w[3].any()
    rest = np.delete(w, 3, axis=0)
    assert rest.std() == pytest.approx(1.0, rel=0.03) and abs(rest.mean()) < 5 / math.sqrt(rest.size)
    assert nn.Embedding(5, 2, padding_idx=-2).padding_idx == 3


def test_norm_defaults():
    ln = nn.LayerNorm((2, 3), dtype=minitorch.float64)
    assert ln.weight.shape == ln.bias.shape == (2, 3) and ln.weight.dtype == np.float64
    assert (ln.weight.detach().numpy() == 1).all() and (ln.bias.detach().numpy() == 0).all()
    assert nn.LayerNorm(4, elementwise_affine=False).weight is None
    assert nn.LayerNorm(4, bias=False).bias is None
    rms = nn.RMSNorm([4])
    assert rms.normalized_shape == (4,) and rms.eps is None and (rms.weight.detach().numpy() == 1).all()
    assert [n for n, _ in nn.RMSNorm(4, elementwise_affine=False).named_parameters()] == []


def test_manual_seed_reproduces_modules():
    minitorch.manual_seed(11)
    a = nn.Sequential(nn.Linear(5, 4), nn.Embedding(6, 3))
    minitorch.manual_seed(11)
    b = nn.Sequential(nn.Linear(5, 4), nn.Embedding(6, 3))
    c = nn.Sequential(nn.Linear(5, 4), nn.Embedding(6, 3))
    for (k, v), w, u in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        np.testing.assert_array_equal(v.numpy(), w.numpy(), err_msg=k)
        assert not np.array_equal(v.numpy(), u.numpy())


def test_reset_parameters_redraws():
    lin = nn.Linear(4, 4)
    before = lin.weight.detach().numpy().copy()
    lin.reset_parameters()
    assert not np.array_equal(before, lin.weight.detach().numpy())


def test_reprs_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        (nn.Linear(3, 4), torch.nn.Linear(3, 4)),
        (nn.Embedding(10, 3, padding_idx=-1, max_norm=1.0, scale_grad_by_freq=True),
         torch.nn.Embedding(10, 3, padding_idx=-1, max_norm=1.0, scale_grad_by_freq=True)),
        (nn.LayerNorm((2, 3), eps=1e-6, bias=False), torch.nn.LayerNorm((2, 3), eps=1e-6, bias=False)),
        (nn.RMSNorm(3), torch.nn.RMSNorm(3)),
        (nn.RMSNorm([3], eps=1e-5, elementwise_affine=False),
         torch.nn.RMSNorm([3], eps=1e-5, elementwise_affine=False)),
        (nn.Dropout(), torch.nn.Dropout()),
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.GELU("tanh"), torch.nn.GELU("tanh")),
        (nn.Tanh(), torch.nn.Tanh()), (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)), (nn.LogSoftmax(1), torch.nn.LogSoftmax(1)),
        (nn.Identity(), torch.nn.Identity()),
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()), (nn.NLLLoss(), torch.nn.NLLLoss()),
        (nn.MSELoss(), torch.nn.MSELoss()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


# ----------------------------------------------------------------------------- constructor validation
@pytest.mark.parametrize("make,exc,match", [
    (lambda: nn.Linear(-1, 4), ValueError, "Linear: in_features must be a non-negative integer, got -1"),
    (lambda: nn.Linear(3, 2.5), ValueError, "out_features"),
    (lambda: nn.Embedding(10, 4, padding_idx=10), ValueError, "padding_idx must be within num_embeddings"),
    (lambda: nn.Embedding(10, 4, sparse=True), NotImplementedError, "sparse=True"),
    (lambda: nn.Embedding(3, 2, _weight=minitorch.zeros(2, 2)), ValueError, r"_weight must have shape \(3, 2\)"),
    (lambda: nn.Embedding.from_pretrained(minitorch.zeros(3)), ValueError, "must be 2-D"),
    (lambda: nn.LayerNorm(0), ValueError, "normalized_shape must be a positive int"),
    (lambda: nn.RMSNorm(()), ValueError, "normalized_shape"),
    (lambda: nn.Dropout(1.5), ValueError, "dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda: nn.Dropout(-0.1), ValueError, "between 0 and 1"),
    (lambda: nn.GELU("fast"), ValueError, "approximate must be 'none' or 'tanh', got 'fast'"),
    (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, "CrossEntropyLoss: reduction must be"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=2), ValueError, "label_smoothing must be between"),
    (lambda: nn.NLLLoss(weight=[1.0, 2.0]), TypeError, "NLLLoss: weight must be a 1-D floating Tensor"),
    (lambda: nn.CrossEntropyLoss(weight=minitorch.ones(2, 2)), TypeError, r"got shape \(2, 2\)"),
])
def test_constructor_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


# ----------------------------------------------------------------------------- bad inputs
def _r(*shape, dtype=None):
    return minitorch.randn(*shape, dtype=dtype)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: nn.Linear(128, 4)(_r(12, 64, 96)), ValueError,
     r"Linear\(in_features=128\): expected input with last dimension 128, got shape \(12, 64, 96\)"),
    (lambda: nn.Linear(3, 4)(minitorch.tensor(1.0)), ValueError, r"last dimension 3, got shape \(\)"),
    (lambda: nn.Linear(3, 4)(_r(2, 3, dtype=minitorch.float64)), TypeError,
     r"Linear\(in_features=3\): expected input of dtype float32 \(the dtype of its parameters\), got float64"),
    (lambda: nn.Linear(3, 4)(minitorch.zeros(2, 3, dtype=minitorch.int64)), TypeError,
     "expected a floating point input, got dtype int64"),
    (lambda: nn.Linear(3, 4)(np.zeros((2, 3))), TypeError, "expected a minitorch Tensor as input, got ndarray"),
    (lambda: nn.Embedding(10, 4)(_r(3)), TypeError,
     r"Embedding\(10, 4\): expected a Tensor of integer indices \(int64 or int32\), got dtype float32"),
    (lambda: nn.Embedding(10, 4)(minitorch.tensor([1, 10])), IndexError, "index 10 is out of range.*10 rows"),
    (lambda: nn.Embedding(10, 4)(minitorch.tensor([-1, 2])), IndexError, "index -1 is out of range"),
    (lambda: nn.LayerNorm(8)(_r(2, 3, 7)), ValueError,
     r"LayerNorm\(\(8,\)\): expected input with shape \[\*, 8\], got shape \(2, 3, 7\)"),
    (lambda: nn.LayerNorm((3, 8))(_r(8)), ValueError, r"shape \[\*, 3, 8\], got shape \(8,\)"),
    (lambda: nn.LayerNorm(8)(_r(2, 8, dtype=minitorch.float64)), TypeError, "dtype float32"),
    (lambda: nn.RMSNorm(8)(_r(2, 7)), ValueError, r"RMSNorm\(\(8,\)\): expected input with shape \[\*, 8\]"),
    (lambda: nn.Dropout()(minitorch.tensor([1, 2])), TypeError, r"Dropout\(p=0.5\): expected a floating point"),
    (lambda: nn.Softmax(dim=2)(_r(2, 3)), IndexError, r"Softmax\(dim=2\): dim 2 is out of range.*\(2, 3\)"),
    (lambda: nn.LogSoftmax(dim=-3)(_r(2, 3)), IndexError, r"LogSoftmax\(dim=-3\)"),
    (lambda: nn.GELU()(minitorch.tensor([1, 2])), TypeError, "floating point"),
    (lambda: nn.ReLU()(3.0), TypeError, r"ReLU\(\): expected a minitorch Tensor"),
    (lambda: nn.CrossEntropyLoss()(_r(4, 5), minitorch.tensor([0, 1, 2])), ValueError,
     r"input of shape \(4, 5\) needs target of shape \(4,\)"),
    (lambda: nn.CrossEntropyLoss()(_r(4, 5), minitorch.tensor([0, 1, 2, 5])), IndexError,
     "target 5 is out of bounds for 5 classes"),
    (lambda: nn.CrossEntropyLoss(weight=minitorch.ones(3))(_r(4, 5), minitorch.tensor([0, 1, 2, 3])), ValueError,
     r"weight must have shape \(5,\)"),
    (lambda: nn.NLLLoss()(_r(4, 5), _r(4)), TypeError, "integer dtype"),
    (lambda: nn.MSELoss()(_r(4, 5), _r(3, 5)), ValueError, "not broadcastable"),
])
def test_input_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
