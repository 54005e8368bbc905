"""Binary cross-entropy kernel pairs (``minitorch.kernels.binary_loss``) and ``F.binary_cross_entropy[_with_logits]``,
``nn.BCEWithLogitsLoss`` / ``nn.BCELoss`` against torch."""
import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.kernels import binary_loss as bl
from tests.helpers import mt, randn, rng
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch, numpy_inputs_fixture  # noqa: F401

SHAPES = [(4, 3), (1, 1), (5,), (2, 3, 2)]


def _targets(shape, seed=2):
    return rng(seed).uniform(0.05, 0.95, size=shape)


def _probs(shape, seed=3):
    return rng(seed).uniform(0.05, 0.95, size=shape)


def _cases():
    cases = []
    for shape in SHAPES:
        x, y = randn(shape, seed=1, scale=2.0), _targets(shape)
        w = rng(4).uniform(0.5, 2.0, size=shape)
        pw = rng(5).uniform(0.5, 3.0, size=shape[-1:])
        cases += [
            Case(f"logits{shape}", bl.bce_with_logits_forward, bl.bce_with_logits_backward, [x, y]),
            Case(f"logits{shape}-weight", bl.bce_with_logits_forward, bl.bce_with_logits_backward, [x, y],
                 kwargs=dict(weight=w)),
            Case(f"logits{shape}-pos_weight", bl.bce_with_logits_forward, bl.bce_with_logits_backward, [x, y],
                 kwargs=dict(weight=w, pos_weight=pw)),
            Case(f"probs{shape}", bl.bce_forward, bl.bce_backward, [_probs(shape), y]),
            Case(f"probs{shape}-weight", bl.bce_forward, bl.bce_backward, [_probs(shape), y], kwargs=dict(weight=w)),
        ]
    return cases


CASES = _cases()
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


def test_extreme_logits_and_probabilities_stay_finite(numpy_inputs):
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    y = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    out, cache = bl.bce_with_logits_forward(x, y)
    np.testing.assert_allclose(out, [1000.0, 0.0, np.log(2), 0.0, 1000.0], atol=1e-12)
    dx, dy = bl.bce_with_logits_backward(np.ones(5), cache)
    np.testing.assert_allclose(dx, [-1.0, 0.0, 0.0, 0.0, 1.0], atol=1e-12)
    out, cache = bl.bce_forward(np.array([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    np.testing.assert_allclose(out, [100.0, 100.0, 0.0])  # torch clamps each log at -100
    assert all(np.isfinite(g).all() for g in bl.bce_backward(np.ones(3), cache))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", SHAPES)
def test_functional_vs_torch(shape, reduction, dtype):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, y = randn(shape, seed=1, scale=3.0).astype(dtype), _targets(shape).astype(dtype)
    w = rng(4).uniform(0.5, 2.0, size=shape[-1:]).astype(dtype)
    pw = rng(5).uniform(0.5, 3.0, size=shape[-1:]).astype(dtype)
    compare_with_torch(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
                       lambda a, b: tf.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, y])
    compare_with_torch(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, reduction=reduction,
                                                                             pos_weight=d),
                       lambda a, b, c, d: tf.binary_cross_entropy_with_logits(a, b, c, reduction=reduction,
                                                                              pos_weight=d),
                       [x, y, w, pw], grad=[True, True, False, False])
    p = _probs(shape).astype(dtype)
    compare_with_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                       lambda a, b: tf.binary_cross_entropy(a, b, reduction=reduction), [p, y])
    compare_with_torch(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
                       lambda a, b, c: tf.binary_cross_entropy(a, b, c, reduction=reduction), [p, y, w],
                       grad=[True, True, False])


@pytest.mark.torch
def test_modules_vs_torch_and_state_dict_keys():
    torch = pytest.importorskip("torch")
    x, y = randn((6, 3), seed=7), (rng(8).random((6, 3)) > 0.5).astype(np.float64)
    pw = np.array([1.0, 2.0, 0.5])
    ours = nn.BCEWithLogitsLoss(pos_weight=mt(pw))
    theirs = torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pw))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["pos_weight"]
    compare_with_torch(lambda a: ours(a, mt(y)), lambda a: theirs(a, torch.from_numpy(y)), [x])
    compare_with_torch(lambda a: nn.BCELoss(reduction="sum")(nn.Sigmoid()(a), mt(y)),
                       lambda a: torch.nn.BCELoss(reduction="sum")(torch.sigmoid(a), torch.from_numpy(y)), [x])


def test_errors_name_the_problem():
    x = minitorch.randn(4, 3)
    with pytest.raises(ValueError, match=r"target size \(4,\) must be the same as input size \(4, 3\)"):
        F.binary_cross_entropy_with_logits(x, minitorch.zeros(4))
    with pytest.raises(TypeError, match="'target' to be a floating point tensor"):
        F.binary_cross_entropy_with_logits(x, minitorch.zeros(4, 3, dtype=minitorch.int64))
    with pytest.raises(RuntimeError, match="between 0 and 1 .*apply sigmoid first"):
        F.binary_cross_entropy(x * 10, minitorch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) can't be broadcast"):
        F.binary_cross_entropy_with_logits(x, minitorch.zeros(4, 3), pos_weight=minitorch.ones(2))
    with pytest.raises(ValueError, match="reduction must be"):
        nn.BCELoss(reduction="avg")
    with pytest.raises(TypeError, match="pos_weight must be a floating Tensor"):
        nn.BCEWithLogitsLoss(pos_weight=[1.0])
