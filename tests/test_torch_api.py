"""The torch names that course scripts use and minitorch now answers: from_numpy / as_tensor, tril / triu,
topk, multinomial, device, Generator, cuda, backends, set_num_threads, inference_mode, nn.Flatten /
Unflatten, F.one_hot, load(weights_only=...). Compared with torch where torch is installed."""
import os

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from tests.helpers import mt, randn, to_torch
from tests.kernels.kernel_cases import compare_with_torch

# ------------------------------------------------------------------------------ from_numpy / as_tensor
numpy_backend_only = pytest.mark.skipif(os.environ.get("MINITORCH_TEST_BACKEND", "numpy") != "numpy",
                                        reason="sharing memory with NumPy arrays: the numpy backend only")


@numpy_backend_only
def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = minitorch.from_numpy(a)
    assert t.dtype == np.float64 and t.shape == (2, 3)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    t.data[1, 2] = -1
    assert a[1, 2] == -1
    assert minitorch.from_numpy(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    with pytest.raises(TypeError, match="expected a numpy.ndarray, got list"):
        minitorch.from_numpy([1, 2])
    with pytest.raises(TypeError, match="dtype complex128"):
        minitorch.from_numpy(np.zeros(2, dtype=complex))


def test_from_numpy_on_another_backend_says_to_copy():
    minitorch.set_backend("strict")
    with pytest.raises(RuntimeError, match=r"can't share memory with a NumPy array; use minitorch.tensor\(array\)"):
        minitorch.from_numpy(np.zeros(2))


@numpy_backend_only
def test_as_tensor_copies_only_when_needed():
    a = np.ones(3, dtype=np.float32)
    assert minitorch.as_tensor(a).data is a
    assert minitorch.as_tensor(a, dtype=minitorch.float64).dtype == np.float64
    t = minitorch.ones(2)
    assert minitorch.as_tensor(t) is t
    assert minitorch.as_tensor([1, 2]).dtype == np.int64


# ------------------------------------------------------------------------------ tril / triu
@pytest.mark.torch
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2), (2, 3, 4), (1, 1)])
@pytest.mark.parametrize("diagonal", [0, 1, -1, 3, -4])
def test_tril_triu_vs_torch(shape, diagonal):
    torch = pytest.importorskip("torch")
    x = randn(shape, seed=4)
    compare_with_torch(lambda t: minitorch.tril(t, diagonal), lambda t: torch.tril(t, diagonal), [x])
    compare_with_torch(lambda t: t.triu(diagonal), lambda t: t.triu(diagonal), [x])


@pytest.mark.torch
def test_causal_mask_buffer_as_nanogpt_builds_it():
    torch = pytest.importorskip("torch")
    T = 5
    ours = minitorch.tril(minitorch.ones(T, T)).view(1, 1, T, T)
    theirs = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == np.float32
    ints = minitorch.tril(minitorch.ones(3, 3, dtype=minitorch.int64))
    assert ints.dtype == np.int64 and ints.tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    with pytest.raises(RuntimeError, match="at least 2 dimensions, got shape"):
        minitorch.tril(minitorch.ones(3))
    with pytest.raises(TypeError, match="diagonal must be an int"):
        minitorch.triu(minitorch.ones(3, 3), 0.5)


# ------------------------------------------------------------------------------ topk
@pytest.mark.torch
@pytest.mark.parametrize("k,dim,largest", [(1, -1, True), (3, -1, True), (2, 0, False), (4, 1, False), (0, 1, True)])
def test_topk_vs_torch(k, dim, largest):
    torch = pytest.importorskip("torch")
    x = randn((3, 4), seed=5)
    compare_with_torch(lambda t: minitorch.topk(t, k, dim, largest), lambda t: torch.topk(t, k, dim, largest), [x])
    values, indices = mt(x).topk(k, dim=dim, largest=largest)
    tv, ti = to_torch(x).topk(k, dim=dim, largest=largest)
    np.testing.assert_array_equal(indices.numpy(), ti.numpy())
    assert indices.dtype == np.int64


def test_topk_errors():
    with pytest.raises(RuntimeError, match=r"k \(5\) is larger than the size 4 of dim 1"):
        minitorch.ones(2, 4).topk(5)
    with pytest.raises(ValueError, match="k must be a non-negative int"):
        minitorch.ones(2, 4).topk(-1)
    v, i = minitorch.tensor(3.0).topk(1)
    assert v.item() == 3.0 and i.item() == 0


# ------------------------------------------------------------------------------ multinomial
def test_multinomial_draws_by_weight_and_reproducibly():
    probs = minitorch.tensor([[0.0, 0.1, 0.9], [1.0, 0.0, 0.0]])
    g = minitorch.Generator().manual_seed(0)
    draws = minitorch.multinomial(probs, 2000, replacement=True, generator=g)
    assert draws.shape == (2, 2000) and draws.dtype == np.int64
    counts = np.bincount(draws[0].numpy(), minlength=3) / 2000
    assert counts[0] == 0 and abs(counts[2] - 0.9) < 0.03 and (draws[1].numpy() == 0).all()
    again = minitorch.multinomial(probs, 2000, replacement=True, generator=minitorch.Generator().manual_seed(0))
    assert again.tolist() == draws.tolist()
    w = minitorch.tensor([1.0, 2.0, 3.0, 4.0])
    perm = minitorch.multinomial(w, 4)
    assert sorted(perm.tolist()) == [0, 1, 2, 3] and perm.shape == (4,)


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match="without replacement from 3 categories"):
        minitorch.multinomial(minitorch.ones(3), 4)
    with pytest.raises(RuntimeError, match="finite and non-negative"):
        minitorch.multinomial(minitorch.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match="sums to 0"):
        minitorch.multinomial(minitorch.zeros(2, 3), 1)
    with pytest.raises(RuntimeError, match="fewer than 2 non-zero weights"):
        minitorch.multinomial(minitorch.tensor([0.0, 1.0, 0.0]), 2)
    with pytest.raises(RuntimeError, match="1-D or 2-D floating"):
        minitorch.multinomial(minitorch.ones(2, 2, 2), 1)


# ------------------------------------------------------------------------------ device, Generator, cuda
def test_device_like_torch():
    torch = pytest.importorskip("torch")
    for spec in [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0)]:
        ours, theirs = minitorch.device(*spec), torch.device(*spec)
        assert (ours.type, ours.index, str(ours), repr(ours)) == (theirs.type, theirs.index, str(theirs), repr(theirs))
    d = minitorch.device("cpu")
    assert d == "cpu" and minitorch.device(d) is d
    t = minitorch.ones(2).to(d)
    assert t.device == "cpu" and t.device.type == "cpu" and isinstance(t.device, minitorch.device)
    with pytest.raises(RuntimeError, match="expected one of cpu, cuda"):
        minitorch.device("mps")
    with pytest.raises(RuntimeError, match="invalid device string"):
        minitorch.device("cuda:x")
    with pytest.raises(TypeError, match="expected a string"):
        minitorch.device(0)


def test_cuda_and_backends_answer_without_a_gpu():
    assert minitorch.cuda.is_available() == minitorch.cupy_available()
    if not minitorch.cuda.is_available():
        assert minitorch.cuda.device_count() == 0
        minitorch.cuda.synchronize()
        minitorch.cuda.empty_cache()
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            minitorch.cuda.current_device()
    minitorch.cuda.manual_seed_all(3)
    assert minitorch.backends.mps.is_available() is False
    minitorch.backends.cudnn.deterministic = True
    minitorch.backends.cuda.matmul.allow_tf32 = True
    assert "deterministic=True" in repr(minitorch.backends.cudnn)


def test_generator_like_torch():
    g = minitorch.Generator()
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    a = minitorch.randn(3, generator=g)
    state = g.get_state()
    b = minitorch.randn(3, generator=g)
    g.set_state(state)
    assert minitorch.randn(3, generator=g).tolist() == b.tolist()
    assert minitorch.randn(3, generator=minitorch.Generator().manual_seed(7)).tolist() == a.tolist()
    assert sorted(minitorch.randperm(5, generator=g).tolist()) == [0, 1, 2, 3, 4]
    assert minitorch.randint(0, 3, (4,), generator=g).shape == (4,)
    assert minitorch.rand(2, generator=g).shape == (2,)
    assert minitorch.Generator().initial_seed() == 67280421310721  # torch's default seed
    with pytest.raises(ValueError, match="non-negative integer"):
        g.manual_seed(-1)
    with pytest.raises(TypeError, match="generator must be a minitorch.Generator"):
        minitorch.randn(2, generator=5)


# ------------------------------------------------------------------------------ threads, inference_mode
def test_set_num_threads_round_trip():
    before = minitorch.get_num_threads()
    try:
        minitorch.set_num_threads(1)
        assert minitorch.get_num_threads() == 1
    finally:
        minitorch.set_num_threads(before)
    with pytest.raises(ValueError, match="positive integer"):
        minitorch.set_num_threads(0)


def test_set_num_threads_limits_blas_through_threadpoolctl():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = minitorch.get_num_threads()
    try:
        minitorch.set_num_threads(1)
        blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(n == 1 for n in blas)
    finally:
        minitorch.set_num_threads(before)


def test_inference_mode_as_context_and_decorator():
    w = minitorch.ones(2, requires_grad=True)
    with minitorch.inference_mode():
        assert not (w * 2).requires_grad and minitorch.is_inference_mode_enabled()
    with minitorch.inference_mode(False):
        assert (w * 2).requires_grad

    @minitorch.inference_mode()
    def f(x):
        return x * 2

    @minitorch.inference_mode
    def g(x):
        return x * 3

    assert not f(w).requires_grad and not g(w).requires_grad and (w * 2).requires_grad
    with pytest.raises(TypeError, match="mode must be True or False"):
        minitorch.inference_mode("yes")


# ------------------------------------------------------------------------------ nn.Flatten, F.one_hot
@pytest.mark.torch
@pytest.mark.parametrize("args", [(), (0,), (1, 2), (2, -1), (-3, -2)])
def test_flatten_module_vs_torch(args):
    torch = pytest.importorskip("torch")
    x = randn((2, 3, 4, 5), seed=6)
    compare_with_torch(lambda t: nn.Flatten(*args)(t), lambda t: torch.nn.Flatten(*args)(t), [x])
    assert repr(nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))


@pytest.mark.torch
def test_unflatten_module_vs_torch_and_errors():
    torch = pytest.importorskip("torch")
    x = randn((2, 12), seed=7)
    for size in [(3, 4), (2, -1), (12,)]:
        compare_with_torch(lambda t, s=size: nn.Unflatten(1, s)(t), lambda t, s=size: torch.nn.Unflatten(1, s)(t), [x])
    with pytest.raises(RuntimeError, match=r"sizes \(5, 2\) don't multiply to the size 12"):
        nn.Unflatten(1, (5, 2))(mt(x))
    with pytest.raises(RuntimeError, match="start_dim comes after end_dim"):
        nn.Flatten(2, 1)(mt(randn((2, 3, 4))))
    with pytest.raises(IndexError, match="dims out of range"):
        nn.Flatten(3)(mt(x))


@pytest.mark.torch
@pytest.mark.parametrize("num_classes", [-1, 5, 7])
def test_one_hot_vs_torch(num_classes):
    torch = pytest.importorskip("torch")
    idx = np.array([[0, 4, 2], [1, 1, 3]])
    ours = F.one_hot(minitorch.tensor(idx), num_classes)
    theirs = torch.nn.functional.one_hot(torch.from_numpy(idx), num_classes)
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="smaller than num_classes=3, got 3"):
        F.one_hot(minitorch.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="non-negative, got -1"):
        F.one_hot(minitorch.tensor([-1, 0]))
    with pytest.raises(TypeError, match="integer dtype"):
        F.one_hot(minitorch.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="empty tensor; pass num_classes"):
        F.one_hot(minitorch.tensor(np.zeros(0, dtype=np.int64)))
    assert F.one_hot(minitorch.tensor(np.zeros(0, dtype=np.int64)), 4).shape == (0, 4)


def test_module_apply_visits_every_module_like_torch():
    seen = []
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]


def test_load_accepts_weights_only(tmp_path):
    path = tmp_path / "m.pt"
    minitorch.save({"w": minitorch.ones(2)}, path)
    assert minitorch.load(path, weights_only=True)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="weights_only must be True, False or None"):
        minitorch.load(path, weights_only="yes")


# ------------------------------------------------------------------------------ small torch conveniences
@pytest.mark.torch
def test_small_conveniences_like_torch():
    torch = pytest.importorskip("torch")
    x, tx = minitorch.ones(2, 3), torch.ones(2, 3)
    assert x.to("cpu", non_blocking=True) is x and nn.Linear(2, 2).to("cpu", non_blocking=True) is not None
    c = x.to(copy=True)
    assert c is not x and c.tolist() == x.tolist()
    assert x.is_cuda is False and x.nelement() == tx.nelement() and x.ndimension() == tx.ndimension()
    for ours, theirs in [(x.new_zeros(4), tx.new_zeros(4)), (x.new_ones((2, 2)), tx.new_ones((2, 2))),
                         (x.new_full((3,), 7.0), tx.new_full((3,), 7.0)), (x.new_tensor([1, 2]), tx.new_tensor([1, 2])),
                         (x.new_zeros(2, dtype=minitorch.int64), tx.new_zeros(2, dtype=torch.int64))]:
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    m, tm = minitorch.zeros(3, 3), torch.zeros(3, 3)
    assert m.masked_fill_(minitorch.eye(3) == 1, 2.0) is m
    tm.masked_fill_(torch.eye(3) == 1, 2.0)
    assert m.tolist() == tm.tolist()
    w = minitorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operations are not recorded"):
        w.masked_fill_(minitorch.tensor([True, False]), 0.0)
    assert minitorch.Size([2, 3]) == x.shape and minitorch.Size([2, 3]).numel() == 6
    assert repr(minitorch.Size([2, 3])) == "minitorch.Size([2, 3])"
    assert minitorch.finfo(minitorch.float32).min == torch.finfo(torch.float32).min
    assert minitorch.finfo(minitorch.float16).eps == torch.finfo(torch.float16).eps
    assert (minitorch.inf, minitorch.pi, minitorch.e) == (torch.inf, torch.pi, torch.e)
    assert minitorch.nan != minitorch.nan
    a, b = randn((2, 3), seed=8), randn((3, 4), seed=9)
    compare_with_torch(lambda u, v: minitorch.mm(u, v), lambda u, v: torch.mm(u, v), [a, b])
    with pytest.raises(RuntimeError, match="mm: expected two 2-D tensors"):
        minitorch.ones(2, 2, 2).mm(minitorch.ones(2, 2))
    assert minitorch.concatenate([x, x]).shape == (4, 3) and minitorch.is_floating_point(x)
    assert minitorch.clone(x).tolist() == x.tolist()


# ------------------------------------------------------------------------------ nn.utils.rnn.pad_sequence
@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_vs_torch(batch_first, side):
    torch = pytest.importorskip("torch")
    from minitorch.nn.utils.rnn import pad_sequence

    arrays = [randn((3, 2), seed=1), randn((1, 2), seed=2), randn((4, 2), seed=3)]
    compare_with_torch(lambda *s: pad_sequence(s, batch_first, -1.5, side),
                       lambda *s: torch.nn.utils.rnn.pad_sequence(s, batch_first, -1.5, side), arrays)
    ids = [np.array([4, 5, 6]), np.array([7])]
    ours = pad_sequence([minitorch.tensor(a) for a in ids], batch_first=True)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(a) for a in ids], batch_first=True)
    assert ours.tolist() == theirs.tolist() and ours.dtype == np.int64


def test_pad_sequence_errors():
    from minitorch.nn.utils.rnn import pad_sequence

    with pytest.raises(RuntimeError, match="empty list"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match=r"sequence 1 has shape \(2, 3\)"):
        pad_sequence([minitorch.ones(2, 2), minitorch.ones(2, 3)])
    with pytest.raises(ValueError, match="padding_side must be"):
        pad_sequence([minitorch.ones(2)], padding_side="top")


# ------------------------------------------------------------------------------ amp, compile, bfloat16, format
@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the step with an infinite loss, on purpose
def test_grad_scaler_matches_torch_step_by_step():
    torch = pytest.importorskip("torch")
    w0 = randn((3, 2), seed=10)
    ours_w, theirs_w = mt(w0, requires_grad=True), to_torch(w0, requires_grad=True)
    ours_opt, theirs_opt = minitorch.optim.SGD([ours_w], lr=0.1), torch.optim.SGD([theirs_w], lr=0.1)
    ours = minitorch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    theirs = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    scales = []
    for step, factor in enumerate([1.0, 1.0, float("inf"), 1.0, 1.0]):
        for w, scaler, opt in ((ours_w, ours, ours_opt), (theirs_w, theirs, theirs_opt)):
            loss = (w * w).sum() * factor if step != 2 else (w * factor).sum()
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            scaler.step(opt)  # skipped at the inf step
            scaler.update()
            opt.zero_grad()
        scales.append((ours.get_scale(), theirs.get_scale()))
        np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.detach().numpy(), rtol=1e-12)
    assert [a for a, _ in scales] == [b for _, b in scales] == [1024.0, 2048.0, 1024.0, 1024.0, 2048.0]
    assert ours.state_dict()["scale"] == theirs.state_dict()["scale"]
    with pytest.raises(RuntimeError, match="already been called"):
        ours.unscale_(ours_opt)
        ours.unscale_(ours_opt)


def test_disabled_scaler_autocast_compile_and_bfloat16():
    off = minitorch.cuda.amp.GradScaler(enabled=False)
    x = minitorch.ones(2)
    assert off.scale(x) is x and off.get_scale() == 1.0 and off.state_dict() == {} and not off.is_enabled()
    with minitorch.amp.autocast("cpu", dtype=minitorch.float32):
        pass
    with minitorch.amp.autocast("cuda", dtype=minitorch.float16, enabled=False):
        pass
    with pytest.raises(NotImplementedError, match=r"no mixed precision \(bfloat16 requested\)"):
        minitorch.amp.autocast(device_type="cpu", dtype=minitorch.bfloat16)
    with pytest.raises(ValueError, match="init_scale must be a positive number"):
        minitorch.amp.GradScaler(init_scale=0)
    model = nn.Linear(2, 2)
    assert minitorch.compile(model) is model and minitorch.compile()(len) is len
    assert str(minitorch.bfloat16) == "bfloat16" and minitorch.cuda.is_bf16_supported() is False
    with pytest.raises(TypeError, match="bfloat16 is not supported by minitorch"):
        minitorch.zeros(2, dtype=minitorch.bfloat16)


@pytest.mark.torch
def test_format_like_torch():
    torch = pytest.importorskip("torch")
    for value in (1.23456, 3, 2.5):
        assert f"{minitorch.tensor(value):.3f}" == f"{torch.tensor(value):.3f}"
        assert f"{minitorch.tensor(value)}" == f"{torch.tensor(value)}"
    assert f"{minitorch.tensor([1.0, 2.0])}" == f"{torch.tensor([1.0, 2.0])}"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{minitorch.tensor([1.0, 2.0]):.3f}"
