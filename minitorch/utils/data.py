"""``minitorch.utils.data``: ``torch.utils.data``'s names, so ``from torch.utils.data import ...`` ports.

- ``Dataset`` (base class), ``TensorDataset``, ``Subset``, ``ConcatDataset``, ``random_split``: here.
- ``DataLoader`` and ``default_collate``: ``minitorch.data``'s (shuffle, drop_last, collate_fn, generator,
  sampler / batch_sampler, and a ``state_dict`` to resume mid-epoch); the samplers: ``minitorch.data.samplers``.

```python
ds = TensorDataset(x, y)                                   # x (N, D), y (N,)
train, val = random_split(ds, [0.8, 0.2], generator=minitorch.Generator().manual_seed(0))
for xb, yb in DataLoader(train, batch_size=32, shuffle=True):
    ...
```
Random splits and shuffles use NumPy's generator: the same seed gives other (equally random) orders than torch."""
import bisect
import math
import numbers
import warnings

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..data.dataloader import DataLoader, default_collate
from ..data.samplers import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and ``__len__()``.
    ``a + b`` concatenates two datasets."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index)")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _check_index(owner, index, n):
    if isinstance(index, bool) or not isinstance(index, (numbers.Integral, np.integer)):
        raise TypeError(f"{owner}: index must be an int, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"{owner}: index {index} is out of range for a dataset of {n} samples")
    return int(index) % n


class TensorDataset(Dataset):
    """Samples are the rows of ``tensors``: ``ds[i] == (tensors[0][i], tensors[1][i], ...)``; all tensors
    need the same size in dim 0."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {k} is a {type(t).__name__}, expected a Tensor "
                                "(convert arrays with minitorch.tensor or minitorch.from_numpy)")
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is a 0-d tensor; every tensor needs a first dim")
        n = tensors[0].shape[0]
        sizes = [t.shape[0] for t in tensors]
        if any(s != n for s in sizes):
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dims are {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        i = _check_index("TensorDataset", index, len(self))
        return tuple(t[i] for t in self.tensors)

    def get_batch(self, indices):
        """The samples at ``indices`` already stacked (what ``DataLoader`` gives): a list, as torch's collate."""
        idx = np.asarray(indices, dtype=np.int64)
        return [t[idx] for t in self.tensors]

    def __len__(self):
        return self.tensors[0].shape[0]

    def __repr__(self):
        return f"TensorDataset({len(self)} samples, shapes {[tuple(t.shape[1:]) for t in self.tensors]})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"Subset: dataset must support len() and indexing, got {type(dataset).__name__}")
        indices = [int(i) for i in indices]
        n = len(dataset)
        bad = [i for i in indices if not -n <= i < n]
        if bad:
            raise IndexError(f"Subset: index {bad[0]} is out of range for a dataset of {n} samples")
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index):
        if isinstance(index, (list, tuple, np.ndarray)):
            return [self.dataset[self.indices[int(i)]] for i in index]
        return self.dataset[self.indices[_check_index("Subset", index, len(self))]]

    def __getattr__(self, name):
        if name == "get_batch" and hasattr(self.__dict__.get("dataset"), "get_batch"):
            return lambda indices: self.dataset.get_batch(np.asarray(self.indices, dtype=np.int64)[np.asarray(
                indices, dtype=np.int64)])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __len__(self):
        return len(self.indices)

    def __repr__(self):
        return f"Subset({len(self)} of {len(self.dataset)} samples)"


class ConcatDataset(Dataset):
    """The samples of several datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = []
        total = 0
        for k, d in enumerate(self.datasets):
            if not hasattr(d, "__getitem__") or not hasattr(d, "__len__"):
                raise TypeError(f"ConcatDataset: dataset {k} ({type(d).__name__}) does not support len() and indexing")
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index("ConcatDataset", index, len(self))
        k = bisect.bisect_right(self.cumulative_sizes, i)
        return self.datasets[k][i - (self.cumulative_sizes[k - 1] if k else 0)]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given ``lengths``: sample counts that
    add up to ``len(dataset)``, or fractions that add up to 1 (each gets floor(n * fraction) samples and the
    remainder is dealt one by one, round-robin, from the first subset on -- torch's rule).
    ``generator``: a ``minitorch.Generator`` (default: the global one seeded by ``minitorch.manual_seed``)."""
    if not hasattr(dataset, "__len__"):
        raise TypeError(f"random_split: dataset must support len(), got {type(dataset).__name__}")
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    for v in lengths:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"random_split: lengths must be non-negative numbers, got {lengths!r}")
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this results in an empty dataset",
                              stacklevel=2)
        lengths = counts
    elif any(not float(v).is_integer() for v in lengths):
        raise ValueError(f"random_split: lengths {lengths!r} are neither sample counts (ints) nor fractions that sum "
                         "to 1")
    lengths = [int(v) for v in lengths]
    if sum(lengths) != n:
        raise ValueError(f"random_split: the lengths {lengths} add up to {sum(lengths)}, but the dataset has {n} "
                         "samples")
    perm = backend.numpy_generator(generator, "random_split").permutation(n)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + length].tolist()))
        start += length
    return out
