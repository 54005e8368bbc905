"""nn.init: torch's fan/gain semantics, distribution statistics, seeding, dtype preservation."""
import math

import numpy as np
import pytest

import minitorch
from minitorch.nn import init


def _t(*shape, dtype=np.float64):
    return minitorch.zeros(*shape, dtype=dtype)


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    for slope in [None, 0.2, math.sqrt(5), 0]:
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope))
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 5), (7, 2, 3), (4, 6, 2, 5)])
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    ours = init._calculate_fan_in_and_fan_out(_t(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    assert ours == theirs


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(_t(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(_t(3, 4), mode="fan_avg")


def _uniform_check(t, bound):
    a = t.numpy()
    assert a.min() >= -bound and a.max() <= bound
    # U(-b, b): almost reaches both ends, std b/sqrt(3), mean 0
    assert a.min() < -0.98 * bound and a.max() > 0.98 * bound
    n = a.size
    assert abs(a.mean()) < 5 * bound / math.sqrt(3 * n)
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def _normal_check(t, std, mean=0.0):
    a = t.numpy()
    n = a.size
    assert abs(a.mean() - mean) < 5 * std / math.sqrt(n)
    assert a.std() == pytest.approx(std, rel=0.03)


def test_uniform_and_normal():
    t = init.uniform_(_t(200, 100), -0.3, 0.7)
    a = t.numpy()
    assert a.min() >= -0.3 and a.max() < 0.7 and a.mean() == pytest.approx(0.2, abs=0.01)
    t = init.normal_(_t(200, 100), mean=1.5, std=0.2)
    _normal_check(t, 0.2, mean=1.5)


@pytest.mark.parametrize("shape", [(256, 128), (64, 32, 3, 3)])
def test_xavier(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(_t(*shape))
    std = 1.7 * math.sqrt(2.0 / (fan_in + fan_out))
    _uniform_check(init.xavier_uniform_(_t(*shape), gain=1.7), math.sqrt(3) * std)
    _normal_check(init.xavier_normal_(_t(*shape), gain=1.7), std)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0.1)])
def test_kaiming(mode, nonlinearity, a):
    shape = (300, 120)
    fan = 120 if mode == "fan_in" else 300
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _uniform_check(init.kaiming_uniform_(_t(*shape), a=a, mode=mode, nonlinearity=nonlinearity), math.sqrt(3) * std)
    _normal_check(init.kaiming_normal_(_t(*shape), a=a, mode=mode, nonlinearity=nonlinearity), std)


def test_kaiming_uniform_sqrt5_is_one_over_sqrt_fan_in():
    """Linear's default: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    t = init.kaiming_uniform_(_t(400, 64), a=math.sqrt(5))
    _uniform_check(t, 1 / 8)


def test_kaiming_zero_element_warns():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(_t(0, 3))


def test_trunc_normal_bounds_and_moments():
    scipy_stats = pytest.importorskip("scipy.stats")
    t = init.trunc_normal_(_t(300, 200), mean=0.1, std=0.02, a=0.07, b=0.14)
    a = t.numpy()
    assert a.min() >= 0.07 and a.max() <= 0.14
    dist = scipy_stats.truncnorm((0.07 - 0.1) / 0.02, (0.14 - 0.1) / 0.02, loc=0.1, scale=0.02)
    assert a.mean() == pytest.approx(dist.mean(), abs=5 * dist.std() / math.sqrt(a.size))
    assert a.std() == pytest.approx(dist.std(), rel=0.03)


def test_trunc_normal_default_bounds_are_absolute():
    # torch: a=-2, b=2 are absolute bounds, so with std=1 the cut is at 2 std.
    a = init.trunc_normal_(_t(100, 100)).numpy()
    assert a.min() >= -2 and a.max() <= 2 and a.min() < -1.9 and a.max() > 1.9


def test_trunc_normal_errors():
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(_t(3, 3), a=1, b=0)
    with pytest.raises(ValueError, match="rejection sampling"), pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(_t(3, 3), mean=0, std=1, a=20, b=21)


def test_constant_ones_zeros_eye():
    t = _t(3, 4)
    assert (init.constant_(t, 0.5).numpy() == 0.5).all()
    assert (init.ones_(t).numpy() == 1).all()
    assert (init.zeros_(t).numpy() == 0).all()
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(_t(2, 2, 2))


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
                                init.kaiming_uniform_, init.kaiming_normal_, init.trunc_normal_])
def test_seeded_inplace_dtype_kept(fn):
    p = minitorch.nn.Parameter(minitorch.zeros(5, 4))
    minitorch.manual_seed(3)
    out = fn(p)
    assert out is p and p.dtype == np.float32 and p.requires_grad and p.is_leaf
    first = p.detach().numpy().copy()
    minitorch.manual_seed(3)
    fn(p)
    np.testing.assert_array_equal(p.detach().numpy(), first)
    fn(p)
    assert not np.array_equal(p.detach().numpy(), first)


def test_explicit_generator():
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    a = init.normal_(_t(4, 4), generator=g1).numpy()
    b = init.normal_(_t(4, 4), generator=g2).numpy()
    np.testing.assert_array_equal(a, b)


def test_rejects_non_tensor():
    with pytest.raises(TypeError, match="nn.init.normal_: expected a minitorch Tensor"):
        init.normal_(np.zeros(3))
