"""Shape kernels (hw1): reshape, permute, transpose, expand, getitem, gather, concat, stack, split."""
import numpy as np
import pytest

import minitorch
from minitorch.kernels import shape as sh
from tests.helpers import mt, randn
from tests.kernels.kernel_cases import Case, case_tests, compare_with_torch

X = randn((2, 3, 4), seed=1)

# getitem indices: basic ones, integer arrays with repeated entries, boolean masks, and mixtures
GETITEM_INDICES = {
    "int": (1,),
    "slice": (slice(None), slice(1, 3)),
    "negative_step": (slice(None, None, -1), 0),
    "ellipsis_none": (Ellipsis, None, slice(0, 4, 2)),
    "int_array_repeats": (np.array([0, 1, 0, 0]),),
    "int_array_2d": (slice(None), np.array([[2, 0], [2, 2]])),
    "two_arrays": (np.array([1, 0, 1]), np.array([2, 2, 2])),
    "array_and_slice": (np.array([1, 1]), slice(None), np.array([3, 0])),
    "negative_indices": (np.array([-1, -2, -1]),),
    "bool_full": (X > 0,),
    "bool_leading": (np.array([True, False]),),
    "bool_middle": (slice(None), np.array([True, False, True])),
}


def _cases():
    cases = [
        Case("reshape", sh.reshape_forward, sh.reshape_backward, [X], kwargs=dict(shape=(6, 4))),
        Case("reshape_flat", sh.reshape_forward, sh.reshape_backward, [X], kwargs=dict(shape=(24,))),
        Case("reshape_0d", sh.reshape_forward, sh.reshape_backward, [randn((1, 1), seed=2)], kwargs=dict(shape=())),
        Case("permute", sh.permute_forward, sh.permute_backward, [X], kwargs=dict(dims=(2, 0, 1))),
        Case("permute_swap", sh.permute_forward, sh.permute_backward, [X], kwargs=dict(dims=(1, 0, 2))),
        Case("transpose", sh.transpose_forward, sh.transpose_backward, [X], kwargs=dict(dim0=0, dim1=2)),
        Case("transpose_same", sh.transpose_forward, sh.transpose_backward, [X], kwargs=dict(dim0=1, dim1=1)),
        Case("expand", sh.expand_forward, sh.expand_backward, [randn((3, 1), seed=3)], kwargs=dict(shape=(2, 3, 4))),
        Case("expand_len1", sh.expand_forward, sh.expand_backward, [randn((1,), seed=3)], kwargs=dict(shape=(5,))),
        Case("expand_0d", sh.expand_forward, sh.expand_backward, [np.asarray(randn((), seed=3))],
             kwargs=dict(shape=(2, 3))),
        Case("concat0", sh.concat_forward, sh.concat_backward,
             [randn((1, 3), seed=4), randn((2, 3), seed=5), randn((3, 3), seed=6)], kwargs=dict(dim=0)),
        Case("concat_last", sh.concat_forward, sh.concat_backward,
             [randn((2, 1), seed=4), randn((2, 4), seed=5)], kwargs=dict(dim=1)),
        Case("stack0", sh.stack_forward, sh.stack_backward, [randn((2, 3), seed=7), randn((2, 3), seed=8)],
             kwargs=dict(dim=0)),
        Case("stack_last", sh.stack_forward, sh.stack_backward,
             [randn((2, 3), seed=7), randn((2, 3), seed=8), randn((2, 3), seed=9)], kwargs=dict(dim=2)),
        Case("stack_1d_len1", sh.stack_forward, sh.stack_backward, [randn((1,), seed=7)], kwargs=dict(dim=0)),
        Case("split", sh.split_forward, sh.split_backward, [X], kwargs=dict(sections=[1, 2, 1], dim=2)),
        Case("split_equal", sh.split_forward, sh.split_backward, [X], kwargs=dict(sections=[1, 1, 1], dim=1)),
        Case("gather_dim1_repeats", sh.gather_forward, sh.gather_backward, [X],
             kwargs=dict(index=np.array([[[0, 3], [3, 3], [1, 0]], [[2, 2], [0, 1], [3, 3]]]), dim=2)),
        Case("gather_dim0", sh.gather_forward, sh.gather_backward, [randn((3, 4), seed=10)],
             kwargs=dict(index=np.array([[2, 0, 0, 1], [2, 2, 2, 2]]), dim=0)),
        Case("gather_smaller_index", sh.gather_forward, sh.gather_backward, [randn((3, 5), seed=11)],
             kwargs=dict(index=np.array([[4, 4], [0, 1]]), dim=1)),
    ]
    for name, index in GETITEM_INDICES.items():
        cases.append(Case(f"getitem_{name}", sh.getitem_forward, sh.getitem_backward, [X], kwargs=dict(index=index)))
    return cases


CASES = _cases()


# float64 finite differences, float32 stays float32, strict backend == NumPy (tests/kernels/kernel_cases.py)
test_gradcheck, test_float32_stays_float32, test_cupy_neutral_on_strict_backend = case_tests(CASES)


def test_getitem_repeated_indices_accumulate():
    x = np.arange(4.0)
    _, cache = sh.getitem_forward(x, np.array([1, 1, 3, 1]))
    (dx,) = sh.getitem_backward(np.array([1.0, 2.0, 3.0, 4.0]), cache)
    np.testing.assert_array_equal(dx, [0.0, 7.0, 0.0, 3.0])
    _, cache = sh.gather_forward(x[None], np.array([[2, 2, 0]]), 1)
    (dx,) = sh.gather_backward(np.array([[1.0, 2.0, 5.0]]), cache)
    np.testing.assert_array_equal(dx, [[5.0, 0.0, 3.0, 0.0]])


# ------------------------------------------------------------------------------- torch, via the Tensor API
DTYPES = [np.float32, np.float64]


def _torch_index(index, torch):
    conv = lambda p: torch.from_numpy(p) if isinstance(p, np.ndarray) else p
    return tuple(conv(p) for p in index)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [n for n in GETITEM_INDICES if n != "negative_step"])
def test_getitem_vs_torch(name, dtype):
    torch = pytest.importorskip("torch")
    index = GETITEM_INDICES[name]
    compare_with_torch(lambda t: t[tuple(mt(p) if isinstance(p, np.ndarray) else p for p in index)],
                       lambda t: t[_torch_index(index, torch)], [X.astype(dtype)])
    # the same index given as raw arrays / lists, and a single (non-tuple) index
    compare_with_torch(lambda t: t[index], lambda t: t[_torch_index(index, torch)], [X.astype(dtype)])


@pytest.mark.torch
def test_getitem_with_lists_and_python_ints_vs_torch():
    x = X.astype(np.float32)
    for fn in (lambda t: t[[0, 1, 1]], lambda t: t[1, [2, 0, 2]], lambda t: t[-1], lambda t: t[:, -1, 1:],
               lambda t: t[0][1][2], lambda t: t[None, ..., 0]):
        compare_with_torch(fn, fn, [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_shape_ops_vs_torch(dtype):
    x = X.astype(dtype)
    ops = [
        (lambda t: t.reshape(6, 4), None), (lambda t: t.reshape(-1), None), (lambda t: t.view(4, -1), None),
        (lambda t: t.reshape((3, 8)), None), (lambda t: t.flatten(), None), (lambda t: t.flatten(1), None),
        (lambda t: t.unsqueeze(0), None), (lambda t: t.unsqueeze(-1), None), (lambda t: t.unsqueeze(1), None),
        (lambda t: t[:1].squeeze(), None), (lambda t: t[:1].squeeze(0), None), (lambda t: t.squeeze(1), None),
        (lambda t: t.permute(2, 0, 1), None), (lambda t: t.permute((1, 2, 0)), None),
        (lambda t: t.permute(-1, 0, 1), None), (lambda t: t.transpose(0, 2), None),
        (lambda t: t.transpose(-1, -2), None), (lambda t: t.mT, None), (lambda t: t[0].t(), None),
        (lambda t: t[0].T, None), (lambda t: t.unflatten(2, (2, 2)), None),
        (lambda t: t[:, :1].expand(2, 5, 4), None), (lambda t: t[:, :1].expand(-1, 3, -1), None),
        (lambda t: t[0, 0].expand(3, 2, 4), None), (lambda t: t[:1].expand_as(mt(X)), lambda t: t[:1].expand(2, 3, 4)),
        (lambda t: t.repeat(2, 1, 3), None), (lambda t: t[0].repeat(2, 1, 1), None),
        (lambda t: t.chunk(2, 2), None), (lambda t: t.chunk(2, 1), None), (lambda t: t.unbind(1), None),
        (lambda t: t.split(3, -1), None), (lambda t: t.split([1, 2], 1), None), (lambda t: tuple(t), None),
        (lambda t: t.contiguous().clone(), None), (lambda t: t.view_as(mt(np.zeros((4, 6)))),
                                                   lambda t: t.view(4, 6)),
    ]
    for fn, tfn in ops:
        compare_with_torch(fn, tfn or fn, [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_split_where_only_some_outputs_are_used_vs_torch(dtype):
    x = X.astype(dtype)
    fn = lambda t: t.split([1, 2, 1], dim=2)[1] * 2
    compare_with_torch(fn, fn, [x])
    fn = lambda t: t.chunk(3, 1)[0].exp() + t.chunk(3, 1)[2]
    compare_with_torch(fn, fn, [x])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_vs_torch(dim, dtype):
    torch = pytest.importorskip("torch")
    a, b, c = (randn((2, 3, 4), seed=s).astype(dtype) for s in (1, 2, 3))
    compare_with_torch(lambda *t: minitorch.cat(t, dim), lambda *t: torch.cat(t, dim), [a, b, c])
    compare_with_torch(lambda *t: minitorch.concat(list(t), dim=dim), lambda *t: torch.cat(t, dim=dim), [a, b, c])
    compare_with_torch(lambda *t: minitorch.stack(t, dim), lambda *t: torch.stack(t, dim), [a, b, c])
    compare_with_torch(lambda *t: minitorch.stack(t, -1), lambda *t: torch.stack(t, -1), [a, b, c])
    # different sizes along the cat dim; one input not requiring grad
    d = randn((2, 3, 4)[:dim % 3] + (1,) + (2, 3, 4)[dim % 3 + 1:], seed=4).astype(dtype)
    compare_with_torch(lambda x, y: minitorch.cat([x, y, x], dim), lambda x, y: torch.cat([x, y, x], dim), [a, d],
                       grad=[True, False])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_vs_torch(dtype):
    torch = pytest.importorskip("torch")
    x = X.astype(dtype)
    r = np.random.default_rng(3)
    for dim, ishape in ((0, (4, 3, 4)), (1, (2, 5, 4)), (2, (2, 3, 7)), (-1, (1, 2, 2)), (1, (2, 1, 1))):
        idx = r.integers(0, X.shape[dim], ishape)
        compare_with_torch(lambda t, d=dim, i=idx: t.gather(d, mt(i)),
                           lambda t, d=dim, i=idx: t.gather(d, torch.from_numpy(i)), [x])


@pytest.mark.torch
def test_empty_shapes_vs_torch():
    torch = pytest.importorskip("torch")
    e = np.zeros((0, 3), dtype=np.float32)
    x = randn((2, 3), seed=1).astype(np.float32)
    compare_with_torch(lambda t: t.reshape(3, 0), lambda t: t.reshape(3, 0), [e])
    compare_with_torch(lambda t: t.permute(1, 0), lambda t: t.permute(1, 0), [e])
    compare_with_torch(lambda a, b: minitorch.cat([a, b]), lambda a, b: torch.cat([a, b]), [e, x])
    compare_with_torch(lambda t: t[np.zeros(0, dtype=np.int64)], lambda t: t[torch.zeros(0, dtype=torch.int64)], [x])
    compare_with_torch(lambda t: t[t.detach() > 10], lambda t: t[t.detach() > 10], [x])


def test_shape_errors_name_the_op_and_shapes():
    x = minitorch.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"reshape.*\(4, 2\).*\(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match=r"permute.*\(0, 0\)"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match=r"expand.*\(2, 3\).*\(3, 3\)"):
        x.expand(3, 3)
    with pytest.raises(RuntimeError, match=r"cat: tensor 1 has shape \(2, 4\).*\(2, 3\)"):
        minitorch.cat([x, minitorch.randn(2, 4)], dim=0)
    with pytest.raises(RuntimeError, match=r"stack: tensor 1 has shape \(3, 2\)"):
        minitorch.stack([x, minitorch.randn(3, 2)])
    with pytest.raises(RuntimeError, match=r"split: sections \[1, 1\] sum to 2.*size 3"):
        x.split([1, 1], dim=1)
    with pytest.raises(IndexError, match=r"index.*5.*out of range for dim 1 of size 3"):
        x[:, [0, 5]]
    with pytest.raises(IndexError, match=r"index.*-3.*dim 0 of size 2"):
        x[minitorch.tensor([-3, 0])]
    with pytest.raises(IndexError, match=r"boolean mask of shape \(3,\).*\(2, 3\)"):
        x[minitorch.tensor([True, False, True])]
    with pytest.raises(IndexError, match=r"gather: index out of range for dim 1 of size 3"):
        x.gather(1, minitorch.tensor([[0, 3]]))
    with pytest.raises(RuntimeError, match=r"gather: index of shape \(2,\)"):
        x.gather(1, minitorch.tensor([0, 1]))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        x.gather(1, minitorch.tensor([[0.0, 1.0]]))


def test_views_do_not_leak_into_gradients():
    """split/getitem forwards return views; the gradient of a leaf must not alias them."""
    x = minitorch.randn(4, 3, requires_grad=True)
    a, b = x.split(2)
    (a.sum() + b.sum() * 2).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat([[1.0], [1.0], [2.0], [2.0]], 3, axis=1))


def test_indexing_accepts_and_rejects_exactly_what_numpy_does():
    """Index checks must never reject a valid index: 1-3 part indices (ints, slices, None, Ellipsis, integer
    arrays incl. negative/out-of-range/empty ones, boolean masks) agree with NumPy on success and value."""
    import itertools

    x = np.arange(24.0).reshape(2, 3, 4)
    t = minitorch.tensor(x)
    parts = [0, -1, 3, slice(None), slice(1, 3), None, Ellipsis, np.array([0, 1]), np.array([-1, 2]), np.array([3]),
             np.array([[0], [1]]), np.array([True, False]), np.array([True, False, True]), np.array([False] * 4),
             np.zeros(0, dtype=np.int64)]
    combos = [c for k in (1, 2) for c in itertools.product(range(len(parts)), repeat=k)]
    r = np.random.default_rng(0)
    combos += [tuple(r.integers(0, len(parts), 3)) for _ in range(400)]
    for combo in combos:
        index = tuple(parts[i] for i in combo)
        if sum(p is Ellipsis for p in index) > 1:
            continue
        try:
            ref = x[index]
        except IndexError:
            with pytest.raises(IndexError):
                t[index]
            continue
        np.testing.assert_array_equal(t[index].numpy(), ref, err_msg=str(index))
