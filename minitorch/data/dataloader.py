"""Batching: ``DataLoader`` (epochs over a dataset, torch's arguments) and ``RandomBatchSampler`` /
``get_batch`` (random windows of a token sequence, for iteration-based training as in nanoGPT).

Both own a seeded NumPy generator, so a run is reproducible and its position can be saved in a
checkpoint (``state_dict`` / ``load_state_dict``) and resumed exactly. Batches are minitorch Tensors.
"""
import numbers

import numpy as np

from .. import backend
from ..autograd import Tensor
from .datasets import _as_token_array


def _check_positive_int(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _new_rng(seed, owner):
    """A NumPy generator: from ``seed``, or (seed None) from minitorch's seeded global generator."""
    if seed is None:
        seed = int(backend.generator(np).integers(0, 2**63 - 1))
    elif isinstance(seed, np.random.Generator):
        return seed
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{owner}: seed must be a non-negative integer or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def default_collate(batch):
    """Stack a list of samples into a batch, like torch's ``default_collate``: Tensors and arrays are
    stacked along a new first dim; Python ints become an int64 Tensor, floats one of the default dtype;
    tuples/lists and dicts are collated field by field (a tuple gives a list, as in torch; a namedtuple
    stays one); strings are kept as a list."""
    if not batch:
        raise ValueError("default_collate: empty batch")
    first = batch[0]
    if isinstance(first, Tensor) or (hasattr(first, "shape") and hasattr(first, "dtype")):
        arrays = [b.data if isinstance(b, Tensor) else b for b in batch]
        for i, a in enumerate(arrays):
            if tuple(a.shape) != tuple(arrays[0].shape):
                raise ValueError(
                    f"default_collate: sample {i} has shape {tuple(a.shape)} but sample 0 has "
                    f"{tuple(arrays[0].shape)}; for variable-length sequences pass collate_fn=pad_collate "
                    "(or use LineDataset)"
                )
        xp = backend.get_array_module(arrays[0])
        return Tensor(xp.stack([xp.asarray(a) for a in arrays]))
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(np.array(batch, dtype=backend.get_default_dtype()))
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        for i, b in enumerate(batch):
            if len(b) != n:
                raise ValueError(f"default_collate: sample {i} has {len(b)} fields but sample 0 has {n}")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields  # torch: tuples become lists
    raise TypeError(f"default_collate: don't know how to batch samples of type {type(first).__name__}")


class DataLoader:
    """Iterate over ``dataset`` in batches (torch's ``DataLoader`` arguments).

    - ``shuffle``: a new permutation every epoch from the loader's own generator (``seed``; None draws the
      seed from minitorch's global generator, so ``minitorch.manual_seed`` makes runs repeatable).
    - ``drop_last``: drop the final incomplete batch.
    - ``collate_fn``: turns a list of samples into a batch; defaults to the dataset's ``collate_fn`` when it
      has one (``LineDataset`` pads), else ``default_collate``. Datasets with a ``get_batch(indices)`` method
      (``LMDataset``, ``TensorDataset``) are batched by it directly, in one vectorised read.
    - ``generator``: a ``minitorch.Generator`` (or NumPy Generator) to shuffle with, as in torch; ``seed``
      is the same as ``generator=Generator().manual_seed(seed)``.
    - ``sampler`` (indices) or ``batch_sampler`` (lists of indices), e.g. ``WeightedRandomSampler``: as torch.
    - ``num_workers``, ``pin_memory``, ``persistent_workers``, ``prefetch_factor``: accepted for torch
      scripts; batches are always made in the main process (the same batches torch's workers would give)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, seed=None,
                 generator=None, num_workers=0, pin_memory=False, persistent_workers=False, prefetch_factor=None,
                 sampler=None, batch_sampler=None):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must support len() and indexing, got {type(dataset).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
        for name, s in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if s is not None and not hasattr(s, "__iter__"):
                raise TypeError(f"DataLoader: {name} must be iterable (a Sampler), got {type(s).__name__}")
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        self.dataset = dataset
        self.batch_size = _check_positive_int(batch_size, "batch_size", "DataLoader")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        self.collate_fn = collate_fn
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        if generator is not None:
            generator = backend.numpy_generator(generator, "DataLoader")
        self._rng = _new_rng(seed if generator is None else generator, "DataLoader") if shuffle else None
        self.epoch = 0
        self._skip = 0
        self._done = None
        self._epoch_start = None

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batches(self):
        """The index batches of one epoch: from the batch sampler, the sampler, or the loader's own order."""
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        if self.sampler is not None:
            order = np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        n_batches = len(order) // self.batch_size if self.drop_last else -(-len(order) // self.batch_size)
        return [order[b * self.batch_size:(b + 1) * self.batch_size] for b in range(n_batches)]

    def _fetch(self, indices):
        ds = self.dataset
        if self.collate_fn is None and hasattr(ds, "get_batch"):
            return ds.get_batch(indices)
        collate = self.collate_fn or getattr(ds, "collate_fn", None) or default_collate
        samples = ds.__getitems__(indices) if hasattr(ds, "__getitems__") else [ds[int(i)] for i in indices]
        return collate(samples)

    def __iter__(self):
        skip, self._skip = self._skip, 0
        self._epoch_start = None if self._rng is None else self._rng.bit_generator.state
        batches = self._batches()
        self.epoch += 1
        self._done = skip
        for b in range(skip, len(batches)):
            batch = self._fetch(batches[b])
            self._done = b + 1
            yield batch
        self._done = None

    def state_dict(self):
        """Where the loader is: its generator and, in the middle of an epoch, how many batches of it were
        given out. ``load_state_dict`` on a new loader makes its next iteration continue exactly there.
        (Not with a ``sampler`` / ``batch_sampler``: their random state is theirs, not the loader's.)"""
        if self.sampler is not None or self.batch_sampler is not None:
            raise NotImplementedError("DataLoader.state_dict: a loader with a sampler or batch_sampler can't be "
                                      "saved (the sampler's random state is not the loader's); use shuffle=True")
        in_epoch = self._done is not None and self._done < len(self)
        if in_epoch:
            return {"epoch": self.epoch - 1, "batches_done": self._done, "generator": self._epoch_start}
        return {"epoch": self.epoch, "batches_done": 0,
                "generator": None if self._rng is None else self._rng.bit_generator.state}

    def load_state_dict(self, state):
        self.epoch = int(state["epoch"])
        self._skip = int(state.get("batches_done", 0))
        self._done = None
        if state.get("generator") is not None:
            if self._rng is None:
                raise ValueError("DataLoader.load_state_dict: the state has a shuffle generator but shuffle=False")
            self._rng.bit_generator.state = state["generator"]

    def __repr__(self):
        return (f"DataLoader(dataset={self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")


def _batch_at(data, ix, block_size, device):
    rows = np.asarray(ix, dtype=np.int64)[:, None] + np.arange(block_size + 1)
    chunk = np.asarray(data[rows]).astype(np.int64)
    x, y = Tensor(np.ascontiguousarray(chunk[:, :-1])), Tensor(np.ascontiguousarray(chunk[:, 1:]))
    if device is not None:
        x, y = x.to(device), y.to(device)
    return x, y


def get_batch(data, block_size, batch_size, generator=None, device=None):
    """``batch_size`` random windows of ``data`` (nanoGPT's ``get_batch``): offsets ``i`` drawn uniformly from
    ``[0, len(data) - block_size)``, ``x = data[i:i+block_size]``, ``y = data[i+1:i+1+block_size]``.

    ``data``: a 1-D token array / memmap / Tensor / token-file path. ``generator``: a NumPy Generator
    (default: minitorch's seeded global one). Returns int64 Tensors of shape (batch_size, block_size),
    moved to ``device`` when given."""
    data = _as_token_array(data, "get_batch")
    block_size = _check_positive_int(block_size, "block_size", "get_batch")
    batch_size = _check_positive_int(batch_size, "batch_size", "get_batch")
    if len(data) <= block_size:
        raise ValueError(
            f"get_batch: {len(data)} tokens are too few for block_size={block_size} (need at least {block_size + 1})"
        )
    rng = generator if generator is not None else backend.generator(np)
    ix = rng.integers(0, len(data) - block_size, size=batch_size)
    return _batch_at(data, ix, block_size, device)


class RandomBatchSampler:
    """Endless random batches of windows from a token sequence, with its own seeded generator.

    ``sampler()`` (or ``next(iter(sampler))``) gives ``(x, y)``: int64 Tensors (batch_size, block_size)
    as ``get_batch``. ``state_dict()``/``load_state_dict()`` save and restore the generator so a resumed
    run draws exactly the batches an uninterrupted run would."""

    def __init__(self, data, block_size, batch_size, seed=None, device=None):
        self.data = _as_token_array(data, "RandomBatchSampler")
        self.block_size = _check_positive_int(block_size, "block_size", "RandomBatchSampler")
        self.batch_size = _check_positive_int(batch_size, "batch_size", "RandomBatchSampler")
        if len(self.data) <= self.block_size:
            raise ValueError(
                f"RandomBatchSampler: {len(self.data)} tokens are too few for block_size={self.block_size} "
                f"(need at least {self.block_size + 1})"
            )
        self.device = device
        self._rng = _new_rng(seed, "RandomBatchSampler")

    def __call__(self):
        return get_batch(self.data, self.block_size, self.batch_size, generator=self._rng, device=self.device)

    next_batch = __call__

    def __iter__(self):
        while True:
            yield self()

    def state_dict(self):
        return {"generator": self._rng.bit_generator.state}

    def load_state_dict(self, state):
        self._rng.bit_generator.state = state["generator"]

    def __repr__(self):
        return (f"RandomBatchSampler(tokens={len(self.data)}, block_size={self.block_size}, "
                f"batch_size={self.batch_size})")
