"""``minitorch.utils.data``: Dataset, TensorDataset, Subset, ConcatDataset, random_split and the DataLoader
options torch scripts pass, checked against ``torch.utils.data``."""
import warnings

import numpy as np
import pytest

import minitorch
from minitorch.utils.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, random_split


def _ds(n=10):
    x = minitorch.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = minitorch.arange(n)
    return TensorDataset(x, y)


def test_utils_is_an_attribute_loaded_on_first_use():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(minitorch.__file__).resolve().parents[1])  # this checkout's minitorch, not an installed one
    code = ("import sys, minitorch; assert minitorch.__file__.startswith(sys.argv[1]), minitorch.__file__; "
            "assert 'minitorch.data' not in sys.modules; "
            "assert minitorch.utils.data.TensorDataset.__name__ == 'TensorDataset'")
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code, root], check=True, env=env, cwd=root)


def test_import_paths_like_torch():
    import minitorch.utils.data as data
    from minitorch.utils.data import DataLoader as DL

    assert minitorch.utils.data is data and DL is minitorch.data.DataLoader


def test_tensor_dataset_items_and_errors():
    ds = _ds()
    x, y = ds[3]
    assert x.tolist() == [9.0, 10.0, 11.0] and y.item() == 3 and len(ds) == 10
    assert ds[-1][1].item() == 9
    with pytest.raises(IndexError, match="index 10 is out of range for a dataset of 10 samples"):
        ds[10]
    with pytest.raises(ValueError, match=r"size mismatch between tensors: first dims are \[3, 4\]"):
        TensorDataset(minitorch.zeros(3, 2), minitorch.zeros(4))
    with pytest.raises(TypeError, match="argument 1 is a ndarray, expected a Tensor"):
        TensorDataset(minitorch.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()


@pytest.mark.torch
@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (10, False), (4, True), (1, False)])
def test_loader_batches_equal_torch_without_shuffle(batch_size, drop_last):
    torch = pytest.importorskip("torch")
    ds = _ds()
    tds = torch.utils.data.TensorDataset(*(torch.from_numpy(t.numpy()) for t in ds.tensors))
    ours = list(DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    theirs = list(torch.utils.data.DataLoader(tds, batch_size=batch_size, drop_last=drop_last))
    assert len(ours) == len(theirs) == len(DataLoader(ds, batch_size=batch_size, drop_last=drop_last))
    for a, b in zip(ours, theirs):
        assert type(a) is type(b) is list  # torch collates tuple samples into a list
        for u, v in zip(a, b):
            assert u.dtype == np.dtype(str(v.dtype).replace("torch.", ""))
            np.testing.assert_array_equal(u.numpy(), v.numpy())


@pytest.mark.torch
def test_default_collate_like_torch_for_tuples_lists_dicts_and_numbers():
    pytest.importorskip("torch")
    from collections import namedtuple

    from torch.utils.data import default_collate as tc

    from minitorch.utils.data import default_collate as mc

    P = namedtuple("P", "a b")
    for batch in ([(1, 2.5), (3, 4.5)], [[1, 2], [3, 4]], [{"k": 1}, {"k": 2}], [P(1, 2.0), P(3, 4.0)]):
        a, b = mc(batch), tc(batch)
        assert type(a) is type(b)
        flat_a = list(a.values()) if isinstance(a, dict) else list(a)
        flat_b = list(b.values()) if isinstance(b, dict) else list(b)
        for u, v in zip(flat_a, flat_b):
            np.testing.assert_array_equal(u.numpy(), v.numpy())
            # Python floats: torch gives float64, minitorch the default dtype (float32), on purpose
            expect = "float32" if str(v.dtype) == "torch.float64" else str(v.dtype).replace("torch.", "")
            assert str(u.dtype) == expect


class _Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return float(i * i), i


def test_custom_dataset_subclass_shuffle_generator_and_collate():
    gen = minitorch.Generator().manual_seed(5)
    dl = DataLoader(_Squares(), batch_size=3, shuffle=True, generator=gen)
    first = [b[1].tolist() for b in dl]
    second = [b[1].tolist() for b in dl]
    assert sorted(sum(first, [])) == list(range(7)) and first != second  # a new order each epoch
    again = [b[1].tolist() for b in DataLoader(_Squares(), batch_size=3, shuffle=True,
                                                 generator=minitorch.Generator().manual_seed(5))]
    assert again == first
    assert [b for b in DataLoader(_Squares(), batch_size=4, collate_fn=len)] == [4, 3]
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(_Squares(), collate_fn=3)
    with pytest.raises(ValueError, match="num_workers must be a non-negative integer"):
        DataLoader(_Squares(), num_workers=-1)
    with pytest.raises(ValueError, match="give seed or generator"):
        DataLoader(_Squares(), shuffle=True, seed=1, generator=gen)
    with pytest.raises(TypeError, match="generator must be a minitorch.Generator"):
        DataLoader(_Squares(), shuffle=True, generator=3)
    # torch's worker options are accepted; batches are the same as without them
    loader = DataLoader(_Squares(), batch_size=3, num_workers=2, pin_memory=True, persistent_workers=True,
                        prefetch_factor=2)
    assert [b[1].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        Dataset()[0]


@pytest.mark.torch
@pytest.mark.parametrize("n,lengths", [(10, [0.8, 0.2]), (11, [0.5, 0.5]), (7, [0.3, 0.3, 0.4]), (10, [7, 3]),
                                       (5, [0.34, 0.33, 0.33]), (3, [0.1, 0.1, 0.8]), (100, [0.7, 0.2, 0.1])])
def test_random_split_sizes_equal_torch_and_partition_the_dataset(n, lengths):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        ours = random_split(list(range(n)), lengths, generator=minitorch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    items = sorted(x for s in ours for x in (s[i] for i in range(len(s))))
    assert items == list(range(n))


def test_random_split_is_reproducible_and_validates():
    ds = _ds(20)
    a = random_split(ds, [0.5, 0.5], generator=minitorch.Generator().manual_seed(3))
    b = random_split(ds, [10, 10], generator=minitorch.Generator().manual_seed(3))
    assert a[0].indices == b[0].indices and a[0].indices != list(range(10))
    minitorch.manual_seed(1)
    c = random_split(ds, [0.5, 0.5])
    minitorch.manual_seed(1)
    assert random_split(ds, [0.5, 0.5])[1].indices == c[1].indices  # default: the global seeded generator
    with pytest.raises(ValueError, match=r"the lengths \[5, 5\] add up to 10, but the dataset has 20 samples"):
        random_split(ds, [5, 5])
    with pytest.raises(ValueError, match="neither sample counts"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="non-negative numbers"):
        random_split(ds, [-1, 21])
    with pytest.warns(UserWarning) as record:
        sizes = [len(s) for s in random_split(_ds(2), [0.9, 0.05, 0.05])]
    assert sizes == [2, 0, 0]
    assert [str(w.message) for w in record] == [
        f"random_split: length of split at index {i} is 0; this results in an empty dataset" for i in (1, 2)]


def test_subset_and_concat_and_loader_over_a_subset():
    ds = _ds(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1].item() == 7 and [s[1].item() for s in sub[[1, 2]]] == [2, 5]
    xb, yb = next(iter(DataLoader(sub, batch_size=3)))  # batched through TensorDataset.get_batch
    assert yb.tolist() == [7, 2, 5] and xb.shape == (3, 3)
    with pytest.raises(IndexError, match="index 12 is out of range"):
        Subset(ds, [12])
    both = ConcatDataset([sub, _Squares()])
    assert len(both) == 10 and both[3] == (0.0, 0) and both[2][1].item() == 5
    assert len(sub + _Squares()) == 10
    with pytest.raises(IndexError):
        both[10]


# ------------------------------------------------------------------------------ samplers
@pytest.mark.torch
@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (4, False), (10, True)])
def test_sequential_and_batch_samplers_equal_torch(batch_size, drop_last):
    torch = pytest.importorskip("torch")
    from minitorch.utils.data import BatchSampler, SequentialSampler

    tud = torch.utils.data
    ours = BatchSampler(SequentialSampler(range(10)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(10)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    ds = _ds(10)
    loader = DataLoader(ds, batch_sampler=ours)
    assert [yb.tolist() for _, yb in loader] == [list(b) for b in theirs] and len(loader) == len(theirs)


@pytest.mark.torch
def test_random_samplers_draw_like_torchs_and_reproducibly():
    torch = pytest.importorskip("torch")
    from minitorch.utils.data import RandomSampler, SubsetRandomSampler, WeightedRandomSampler

    g = minitorch.Generator().manual_seed(0)
    perm = list(RandomSampler(range(9), generator=g))
    assert sorted(perm) == list(range(9)) and perm != list(range(9))
    assert list(RandomSampler(range(9), generator=minitorch.Generator().manual_seed(0))) == perm
    more = RandomSampler(range(4), num_samples=10, generator=g)
    drawn = list(more)
    assert len(more) == len(torch.utils.data.RandomSampler(range(4), num_samples=10)) == len(drawn) == 10
    assert all(sorted(drawn[k:k + 4]) == [0, 1, 2, 3] for k in (0, 4))  # whole permutations first, as torch
    with_repl = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(with_repl) == 50 and set(with_repl) == {0, 1, 2}
    sub = list(SubsetRandomSampler([5, 7, 9], generator=g))
    assert sorted(sub) == [5, 7, 9]
    w = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g)
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and abs(counts[2] / 4000 - 0.75) < 0.03 and len(w) == 4000
    assert sorted(WeightedRandomSampler(minitorch.tensor([1.0, 1.0, 1.0]), 3, replacement=False,
                                        generator=g)) == [0, 1, 2]


def test_loader_with_a_sampler_and_the_errors():
    from minitorch.utils.data import BatchSampler, SubsetRandomSampler, WeightedRandomSampler

    ds = _ds(10)
    loader = DataLoader(ds, batch_size=2, sampler=SubsetRandomSampler([1, 3, 5], generator=minitorch.Generator()))
    batches = [yb.tolist() for _, yb in loader]
    assert len(loader) == 2 and sorted(sum(batches, [])) == [1, 3, 5] and [len(b) for b in batches] == [2, 1]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=[0, 1])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(TypeError, match="sampler must be iterable"):
        DataLoader(ds, sampler=3)
    with pytest.raises(NotImplementedError, match="sampler or batch_sampler can't be saved"):
        loader.state_dict()
    with pytest.raises(ValueError, match="weights must be finite, non-negative and not all zero"):
        WeightedRandomSampler([0.0, 0.0], 2)
    with pytest.raises(ValueError, match="can't draw 3 samples without replacement from 2 non-zero weights"):
        WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    assert [b for b in DataLoader(ds, sampler=[9, 0], collate_fn=lambda s: s[0][1].item())] == [9, 0]
