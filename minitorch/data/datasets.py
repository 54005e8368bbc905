"""Datasets for language modelling.

- ``LMDataset``: sliding windows over one long token sequence, ``x = tokens[i:i+T]``,
  ``y = tokens[i+1:i+T+1]``; the sequence can be an in-memory array or a memory-mapped token file
  (``write_token_file`` / ``load_token_file``, for corpora larger than memory).
- ``LineDataset``: one example per line, ``<sos> ... <eos>``; ``pad_collate`` pads a batch, inputs with
  ``<pad>`` and targets with ``ignore_index`` (-100, cross-entropy's default) so padding costs no loss.
- ``train_val_split``: split by position (the validation part is the tail: no window straddles both).

Items and batches are minitorch int64 Tensors (what an embedding layer consumes).
"""
import os
import shutil
import tempfile

import numpy as np

from ..autograd import Tensor

IGNORE_INDEX = -100


def _as_token_array(tokens, owner):
    """A 1-D integer NumPy array (or memmap) view of ``tokens``: an array, a list, a Tensor or a path."""
    if isinstance(tokens, (str, os.PathLike)):
        return load_token_file(tokens)
    if isinstance(tokens, Tensor):
        tokens = tokens.numpy()
    if type(tokens).__module__.startswith("cupy"):
        tokens = tokens.get()
    arr = tokens if isinstance(tokens, np.ndarray) else np.asarray(tokens)
    if arr.ndim != 1:
        raise ValueError(f"{owner}: expected a 1-D sequence of token ids, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{owner}: token ids must be integers, got dtype {arr.dtype}")
    return arr


def _long(arr):
    return Tensor(np.ascontiguousarray(arr, dtype=np.int64))


# ====================================================================== token files
def _smallest_dtype(max_id):
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_id <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def write_token_file(path, tokens, dtype=None):
    """Write token ids to ``path`` as a ``.npy`` file that ``load_token_file`` memory-maps.

    ``tokens``: a 1-D integer array/list, or an iterable of such chunks (streamed through a temporary file,
    so a corpus larger than memory can be written). ``dtype`` defaults to uint16 (uint8, uint32 when the ids
    need it; the chunked form needs an explicit dtype or uses uint32). Written atomically. Returns ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tokens-", suffix=".npy", dir=directory)
    os.close(fd)
    try:
        if isinstance(tokens, (np.ndarray, list, tuple, Tensor)):
            arr = _as_token_array(tokens, "write_token_file")
            if arr.size and arr.min() < 0:
                raise ValueError(f"write_token_file: token ids must be >= 0, got {int(arr.min())}")
            dt = np.dtype(dtype) if dtype is not None else (
                _smallest_dtype(int(arr.max())) if arr.size else np.dtype(np.uint16))
            dt = np.dtype(np.uint16) if dtype is None and dt == np.uint8 else dt
            if arr.size and int(arr.max()) > np.iinfo(dt).max:
                raise ValueError(f"write_token_file: id {int(arr.max())} does not fit in dtype {dt}")
            np.save(tmp, arr.astype(dt, copy=False))
        else:
            _write_chunks(tmp, tokens, np.dtype(dtype or np.uint32))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _write_chunks(out_path, chunks, dt):
    """Stream chunks to a raw file, then prepend the .npy header (the length is known only at the end)."""
    limit = np.iinfo(dt).max
    n = 0
    raw = out_path + ".raw"
    try:
        with open(raw, "wb") as f:
            for chunk in chunks:
                arr = _as_token_array(chunk, "write_token_file")
                if arr.size and (arr.min() < 0 or arr.max() > limit):
                    raise ValueError(f"write_token_file: ids must lie in [0, {limit}] for dtype {dt}")
                f.write(np.ascontiguousarray(arr, dtype=dt).tobytes())
                n += arr.size
        with open(out_path, "wb") as out, open(raw, "rb") as f:
            header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": (n,)}
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(f, out, 1 << 22)
    finally:
        if os.path.exists(raw):
            os.remove(raw)


def load_token_file(path, dtype=None):
    """Memory-map a token file read-only: a ``.npy`` from ``write_token_file``, or a raw nanoGPT-style
    ``.bin`` of ``dtype`` (default uint16). Nothing is read until it is indexed."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"token file not found: {path}")
    if path.endswith(".npy"):
        arr = np.load(path, mmap_mode="r")
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(f"{path}: expected a 1-D integer token array, got shape {arr.shape} dtype {arr.dtype}")
        return arr
    return np.memmap(path, dtype=np.dtype(dtype or np.uint16), mode="r")


def tokenize_file(tokenizer, text_path, out_path, chunk_chars=1 << 22, dtype=None):
    """Encode a (possibly huge) UTF-8 text file into a token file, reading ``chunk_chars`` characters at a time
    (``tokenizer.encode_iter`` makes the result identical to encoding the whole text at once).
    Returns the memory-mapped tokens."""
    def chunks():
        with open(text_path, encoding="utf-8", newline="") as f:
            for block in iter(lambda: f.read(chunk_chars), ""):
                yield block

    if dtype is None:
        dtype = _smallest_dtype(tokenizer.vocab_size - 1)
        dtype = np.uint16 if dtype == np.uint8 else dtype
    write_token_file(out_path, tokenizer.encode_iter(chunks()), dtype=dtype)
    return load_token_file(out_path)


# ====================================================================== splits
def train_val_split(data, val_fraction=0.1):
    """``(train, val)`` by position: the first ``int(n * (1 - val_fraction))`` items, then the rest.

    Works on anything with ``len`` and slicing: arrays (views, no copy: memmaps stay on disk), lists, strings.
    TinyShakespeare at character level gives 1,003,854 / 111,540 tokens."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1), got {val_fraction}")
    n = len(data)
    n_train = int(n * (1.0 - val_fraction))
    return data[:n_train], data[n_train:]


# ====================================================================== datasets
class LMDataset:
    """Every window of ``block_size`` tokens: item ``i`` is ``(x, y)`` with ``x = tokens[i:i+block_size]`` and
    ``y = tokens[i+1:i+block_size+1]`` (int64 Tensors of shape (block_size,)).

    ``tokens``: a 1-D integer array, list or Tensor, a ``np.memmap``, or the path of a token file
    (memory-mapped). ``stride`` > 1 keeps every ``stride``-th window (``stride=block_size``: disjoint windows,
    e.g. for evaluation)."""

    def __init__(self, tokens, block_size, stride=1):
        self.tokens = _as_token_array(tokens, "LMDataset")
        if not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ValueError(f"LMDataset: block_size must be a positive int, got {block_size!r}")
        if not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ValueError(f"LMDataset: stride must be a positive int, got {stride!r}")
        if len(self.tokens) < block_size + 1:
            raise ValueError(
                f"LMDataset: {len(self.tokens)} tokens are too few for one window of block_size={block_size} "
                f"(need at least {block_size + 1})"
            )
        self.block_size = int(block_size)
        self.stride = int(stride)

    def __len__(self):
        return (len(self.tokens) - self.block_size - 1) // self.stride + 1

    def _starts(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = int(idx[(idx < -n) | (idx >= n)][0])
            raise IndexError(f"LMDataset: index {bad} is out of range for {n} windows")
        return np.where(idx < 0, idx + n, idx) * self.stride

    def __getitem__(self, i):
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"LMDataset indices must be integers, got {type(i).__name__}")
        s = int(self._starts([i])[0])
        chunk = np.asarray(self.tokens[s:s + self.block_size + 1])
        return _long(chunk[:-1]), _long(chunk[1:])

    def get_batch(self, indices):
        """The windows ``indices`` stacked: ``(x, y)``, each (len(indices), block_size) int64."""
        starts = self._starts(indices)
        rows = starts[:, None] + np.arange(self.block_size + 1)
        chunk = np.asarray(self.tokens[rows])
        return _long(chunk[:, :-1]), _long(chunk[:, 1:])

    def __repr__(self):
        return f"LMDataset(tokens={len(self.tokens)}, block_size={self.block_size}, stride={self.stride})"


def pad_collate(batch, pad_id, ignore_index=IGNORE_INDEX):
    """Pad a list of ``(x, y)`` pairs of 1-D id sequences to the longest: ``x`` with ``pad_id``, ``y`` with
    ``ignore_index`` (so cross-entropy ignores padding). Returns (B, T_max) int64 Tensors ``(x, y)``."""
    if not batch:
        raise ValueError("pad_collate: empty batch")
    xs = [np.asarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.int64) for x, _ in batch]
    ys = [np.asarray(y.numpy() if isinstance(y, Tensor) else y, dtype=np.int64) for _, y in batch]
    t = max(len(x) for x in xs)
    x_out = np.full((len(batch), t), pad_id, dtype=np.int64)
    y_out = np.full((len(batch), t), ignore_index, dtype=np.int64)
    for i, (x, y) in enumerate(zip(xs, ys)):
        if len(x) != len(y):
            raise ValueError(f"pad_collate: example {i} has input length {len(x)} but target length {len(y)}")
        x_out[i, :len(x)] = x
        y_out[i, :len(y)] = y
    return _long(x_out), _long(y_out)


class LineDataset:
    """One example per line of text: ``ids = [<sos>] + encode(line) + [<eos>]``, item ``(ids[:-1], ids[1:])``.

    The tokenizer must have ``<sos>``, ``<eos>`` and ``<pad>``. Empty lines are skipped unless
    ``skip_empty=False``; ``max_length`` truncates a line's ids (including ``<sos>``/``<eos>``; a truncated
    line loses its ``<eos>``). ``collate_fn`` pads a batch (``DataLoader`` uses it by default)."""

    def __init__(self, lines, tokenizer, max_length=None, skip_empty=True, ignore_index=IGNORE_INDEX):
        missing = [name for name, i in (("<sos>", tokenizer.sos_id), ("<eos>", tokenizer.eos_id),
                                        ("<pad>", tokenizer.pad_id)) if i is None]
        if missing:
            raise ValueError(
                f"LineDataset: the tokenizer has no {missing} token(s); build it with "
                "special_tokens=('<sos>', '<eos>', '<pad>')"
            )
        if isinstance(lines, str):
            lines = lines.splitlines()
        if max_length is not None and max_length < 2:
            raise ValueError(f"LineDataset: max_length must be >= 2, got {max_length}")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.ignore_index = ignore_index
        self.pad_id = tokenizer.pad_id
        self.lines = [ln for ln in lines if ln or not skip_empty]
        self._ids = []
        for ln in self.lines:
            ids = tokenizer.encode_array(ln, add_special_tokens=True)
            self._ids.append(ids[:max_length] if max_length is not None else ids)

    def __len__(self):
        return len(self._ids)

    def __getitem__(self, i):
        ids = self._ids[i]
        return _long(ids[:-1]), _long(ids[1:])

    def __getitems__(self, indices):
        return [self[int(i)] for i in indices]

    def collate_fn(self, batch):
        return pad_collate(batch, self.pad_id, self.ignore_index)

    def __repr__(self):
        return f"LineDataset(lines={len(self)}, max_length={self.max_length})"
