"""Embedding kernel pair (finite differences, repeated indices, padding_idx) and F.embedding against torch."""
import numpy as np
import pytest

import minitorch
import minitorch.nn.functional as F
from minitorch.kernels import embedding as ek
from minitorch.testing import check_kernel_grads
from tests.helpers import assert_close, mt, randn, to_torch, torch_single_thread  # noqa: F401 - autouse fixture
from tests.kernels.kernel_cases import numpy_inputs_fixture, on_strict  # noqa: F401 - fixture

INDEX_CASES = [
    np.array(3),                              # a 0-d index
    np.array([4]),                            # length 1
    np.array([1, 5, 1, 1, 0, 5]),             # repeats
    np.array([[2, 2, 3], [3, 2, 0]]),         # 2-D with repeats
    np.array([[[6]], [[6]]]),                 # 3-D, all the same row
]


@pytest.mark.parametrize("indices", INDEX_CASES)
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_gradcheck(indices, padding_idx, numpy_inputs):
    w = randn((7, 3), seed=1)
    kw = dict(indices=indices, padding_idx=padding_idx)

    def dout_fn(k, out):
        """Random upstream grads, zero where the padding row was looked up: padding_idx's row is treated
        as a constant by design, so finite differences must not see it move (its grad is tested below)."""
        g = np.random.default_rng(9).standard_normal(out.shape)
        return np.where((indices == padding_idx)[..., None], 0.0, g) if padding_idx is not None else g

    err = check_kernel_grads(ek.embedding_forward, ek.embedding_backward, [w], kwargs=kw, dout_fn=dout_fn)
    assert err < 1e-6


def test_repeated_indices_accumulate_and_padding_gets_nothing(numpy_inputs):
    w = randn((4, 2), seed=2)
    idx = np.array([1, 1, 1, 3, 0, 3])
    out, cache = ek.embedding_forward(w, idx, padding_idx=0)
    np.testing.assert_array_equal(out, w[idx])
    g = randn(out.shape, seed=3)
    (dw,) = ek.embedding_backward(g, cache)
    np.testing.assert_allclose(dw[1], g[:3].sum(0), rtol=1e-12)
    np.testing.assert_allclose(dw[3], g[3] + g[5], rtol=1e-12)
    assert not dw[0].any() and not dw[2].any()


def test_scale_grad_by_freq_divides_each_row_by_its_count(numpy_inputs):
    """Not a true gradient (finite differences cannot check it): torch's heuristic, dW[v] / count(v)."""
    w = randn((6, 3), seed=10)
    idx = np.array([[1, 4, 1], [1, 0, 4]])
    g = randn(idx.shape + (3,), seed=11)
    (plain,) = ek.embedding_backward(g, ek.embedding_forward(w, idx)[1])
    (scaled,) = ek.embedding_backward(g, ek.embedding_forward(w, idx, scale_grad_by_freq=True)[1])
    counts = np.bincount(idx.reshape(-1), minlength=6)
    np.testing.assert_allclose(scaled, plain / np.maximum(counts, 1)[:, None], rtol=1e-12)


def test_large_table_path_is_correct_for_repeats():
    """Past 4M one-hot entries scatter_add_rows switches to an unbuffered add: check it too."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    w = randn((6000, 4), np.float32, 5)
    idx = rng.integers(0, 50, size=(2, 400))  # many repeats among the first 50 rows
    wm, wt = mt(w, True), to_torch(w, True)
    ym = F.embedding(mt(idx), wm, padding_idx=7)
    yt = torch.nn.functional.embedding(to_torch(idx), wt, padding_idx=7)
    g = randn(yt.shape, np.float32, 6)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert_close(wm.grad, wt.grad, np.float32, "dweight (large table)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("indices", INDEX_CASES)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_matches_torch(dtype, indices, padding_idx, scale_grad_by_freq):
    torch = pytest.importorskip("torch")
    w = randn((7, 5), dtype, 7)
    wm, wt = mt(w, True), to_torch(w, True)
    ym = F.embedding(mt(indices), wm, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
    yt = torch.nn.functional.embedding(to_torch(indices), wt, padding_idx=padding_idx,
                                       scale_grad_by_freq=scale_grad_by_freq)
    assert ym.dtype == np.dtype(dtype) and ym.shape == tuple(yt.shape)
    assert_close(ym, yt, dtype, "embedding out")
    g = randn(yt.shape, dtype, 8)
    ym.backward(mt(g))
    yt.backward(to_torch(g))
    assert wm.grad.dtype == np.dtype(dtype)
    assert_close(wm.grad, wt.grad, dtype, "dweight")


@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
def test_embedding_accepts_int32_indices(index_dtype):
    w = mt(randn((5, 3)), True)
    y = F.embedding(mt(np.array([[0, 4], [4, 4]], dtype=index_dtype)), w)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [1, 0, 0, 0, 3])


def test_embedding_max_norm_renormalises_used_rows_like_torch():
    torch = pytest.importorskip("torch")
    w = randn((6, 4), seed=9, scale=3.0)
    idx = np.array([0, 2, 2, 5])
    wm, wt = mt(w), to_torch(w)
    ym = F.embedding(mt(idx), wm, max_norm=1.5)
    yt = torch.nn.functional.embedding(to_torch(idx), wt, max_norm=1.5)
    assert_close(ym, yt, name="max_norm output")
    assert_close(wm, wt, name="weight renormalised in place")


def test_embedding_errors_name_index_and_table_size():
    w = minitorch.randn(65, 128)
    with pytest.raises(TypeError, match=r"embedding\(\): expected indices.*integer dtype.*got dtype float32"):
        F.embedding(minitorch.randn(4), w)
    with pytest.raises(IndexError, match=r"embedding\(\): index 70 is out of range for a table of 65 rows"):
        F.embedding(minitorch.tensor([[1, 70], [3, 4]]), w)
    with pytest.raises(IndexError, match=r"index -1 is out of range for a table of 65 rows"):
        F.embedding(minitorch.tensor([1, -1]), w)
    with pytest.raises(ValueError, match=r"padding_idx 65 must be within num_embeddings=65"):
        F.embedding(minitorch.tensor([1]), w, padding_idx=65)
    with pytest.raises(ValueError, match=r"2-D weight.*\(65,\)"):
        F.embedding(minitorch.tensor([1]), minitorch.randn(65))
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(minitorch.tensor([1]), w, sparse=True)


def test_embedding_kernels_run_on_strict_backend(numpy_inputs):
    idx = np.random.default_rng(1).integers(0, 7, size=(4, 5))
    on_strict(ek.embedding_forward, ek.embedding_backward, [randn((7, 3))], indices=idx, padding_idx=1,
               scale_grad_by_freq=True)
    big = np.random.default_rng(2).integers(0, 7000, size=(40, 20))  # the unbuffered-add path
    on_strict(ek.embedding_forward, ek.embedding_backward, [randn((7000, 3))], indices=big)
