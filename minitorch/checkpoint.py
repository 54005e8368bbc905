"""Saving and loading training state without pickle: ``save``/``load`` for state dicts and other
nested data, ``save_checkpoint``/``load_checkpoint`` for model + optimizer + scheduler + step + RNG.

File format (an ordinary ``.npz`` that ``np.load(path, allow_pickle=False)`` can open):

- ``__meta__.npy``: UTF-8 JSON (as uint8) with the format name, its version and the saved object,
  in which every array is replaced by a reference to its own member, and tuples and dicts with
  non-string keys are tagged so that they come back as they went in;
- ``a0.npy``, ``a1.npy``, ...: the arrays (copied to the host first when they live on a GPU);
- ``__integrity__.npy``: JSON with the sha256 and byte count of all the members before it.

Files are written to a temporary file in the same directory, fsynced and renamed over the
target (``os.replace``), so a crash mid-save leaves the previous file intact. A truncated or
corrupt file, or one that does not fit the model, raises ``CheckpointError`` naming the file.
"""
import contextlib
import hashlib
import io
import json
import numbers
import os
import tempfile
import zipfile

import numpy as np  # host-side serialisation only: arrays are copied to the host first

from . import backend
from .autograd import Tensor

FORMAT = "minitorch-checkpoint"
VERSION = 1
_META = "__meta__.npy"
_INTEGRITY = "__integrity__.npy"


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be read or does not fit what it is loaded into."""


# --------------------------------------------------------------------- encoding
class _Encoder:
    """Turns a nested object into JSON-able data, collecting its arrays (host copies) by name.
    An array reached twice (tied weights listed under two keys) is stored once."""

    def __init__(self):
        self.arrays = {}
        self._names = {}  # id(source array) -> (name, source), the source kept alive while encoding

    def _add(self, source):
        known = self._names.get(id(source))
        if known is None:
            known = self._names[id(source)] = (f"a{len(self.arrays)}", source)
            self.arrays[known[0]] = backend.to_numpy(source)
        return known[0]

    def encode(self, obj, where):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return obj.item()
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, numbers.Real):
            return float(obj)
        if isinstance(obj, Tensor):
            return {"__tensor__": self._add(obj.data), "requires_grad": obj.requires_grad}
        if hasattr(obj, "shape") and hasattr(obj, "dtype") and not type(obj).__module__.startswith("torch"):
            return {"__array__": self._add(obj)}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj):
                return {"__dict__": {k: self.encode(v, f"{where}[{k!r}]") for k, v in obj.items()}}
            return {"__items__": [[self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                                  for k, v in obj.items()]}
        raise TypeError(
            f"can't save {type(obj).__module__}.{type(obj).__name__} at {where}: a checkpoint holds minitorch "
            "Tensors, arrays, numbers, strings, None and lists, tuples and dicts of them (no pickle)"
        )


def _decode(obj, arrays, map_location):
    if isinstance(obj, list):
        return [_decode(v, arrays, map_location) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        t = Tensor(arrays[obj["__tensor__"]], device=map_location)
        if obj.get("requires_grad"):
            t.requires_grad = True
        return t
    if "__array__" in obj:
        return arrays[obj["__array__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays, map_location) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {k: _decode(v, arrays, map_location) for k, v in obj["__dict__"].items()}
    if "__items__" in obj:
        return {_hashable(_decode(k, arrays, map_location)): _decode(v, arrays, map_location)
                for k, v in obj["__items__"]}
    raise ValueError(f"unknown entry {sorted(obj)}")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def _json_array(data):
    return np.frombuffer(json.dumps(data).encode("utf-8"), dtype=np.uint8)


# --------------------------------------------------------------------- writing
class _HashingFile:
    """A write-only stream that feeds what passes through it to a sha256."""

    def __init__(self, f, digest):
        self.f, self.digest, self.size = f, digest, 0

    def write(self, data):
        data = bytes(data)
        self.digest.update(data)
        self.size += len(data)
        return self.f.write(data)


def _write_member(zf, name, array, digest):
    """Write one ``.npy`` member, hashing its name and bytes; returns the byte count."""
    digest.update(name.encode("utf-8"))
    with zf.open(name, "w", force_zip64=True) as raw:
        out = _HashingFile(raw, digest)
        np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.size


def _write_file(f, tree):
    encoder = _Encoder()
    meta = {"format": FORMAT, "version": VERSION, "tree": encoder.encode(tree, "the saved object")}
    arrays = encoder.arrays
    for name, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"can't save an array of dtype {arr.dtype} (entry {name}): only numbers and bools")
    digest = hashlib.sha256()
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        size = _write_member(zf, _META, _json_array(meta), digest)
        for name, arr in arrays.items():
            size += _write_member(zf, name + ".npy", arr, digest)
        integrity = {"format": FORMAT, "version": VERSION, "sha256": digest.hexdigest(), "size": size}
        with zf.open(_INTEGRITY, "w") as raw:
            np.lib.format.write_array(raw, _json_array(integrity), allow_pickle=False)


def _atomic_write(path, write):
    """Call ``write(file)`` on a temporary file next to ``path``, fsync it, rename it over ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save(obj, path):
    """Save ``obj`` (a state dict, or any nesting of dicts, lists, tuples, Tensors, arrays, numbers,
    strings and None) to ``path`` atomically (like ``torch.save`` for such objects, without pickle)."""
    _atomic_write(path, lambda f: _write_file(f, obj))


# --------------------------------------------------------------------- reading
def _read_json(stream):
    """The JSON value stored by ``_json_array`` in an ``.npy`` stream."""
    return json.loads(np.lib.format.read_array(stream, allow_pickle=False).tobytes().decode("utf-8"))


def _read_member(zf, name, digest):
    digest.update(name.encode("utf-8"))
    with zf.open(name) as raw:
        data = raw.read()
    digest.update(data)
    return data


def _read_file(path):
    """(meta, arrays) of a checkpoint file, verified against its recorded sha256 and size."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path, "r") as zf:
            names = [i.filename for i in zf.infolist()]
            if _INTEGRITY not in names or _META not in names:
                raise CheckpointError(f"{path}: not a minitorch checkpoint (no {_INTEGRITY} / {_META} entry)")
            with zf.open(_INTEGRITY) as stream:
                integrity = _read_json(stream)
            if integrity.get("format") != FORMAT:
                raise CheckpointError(f"{path}: not a minitorch checkpoint (format {integrity.get('format')!r})")
            if integrity.get("version", 0) > VERSION:
                raise CheckpointError(
                    f"{path}: written in checkpoint format version {integrity['version']}, but this minitorch reads "
                    f"versions up to {VERSION}; upgrade minitorch"
                )
            digest = hashlib.sha256()
            raw = {name: _read_member(zf, name, digest) for name in names if name != _INTEGRITY}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CheckpointError(f"{path}: cannot read the checkpoint, the file is truncated or corrupt ({err})") from err
    size = sum(len(d) for d in raw.values())
    if size != integrity.get("size") or digest.hexdigest() != integrity.get("sha256"):
        raise CheckpointError(
            f"{path}: the checkpoint is corrupt: its contents ({size} bytes, sha256 {digest.hexdigest()[:16]}...) "
            f"do not match the recorded {integrity.get('size')} bytes, sha256 {str(integrity.get('sha256'))[:16]}..."
        )
    try:
        arrays = {name[:-4]: np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
                  for name, data in raw.items() if name != _META}
        meta = _read_json(io.BytesIO(raw[_META]))
    except (ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: the checkpoint is corrupt ({err})") from err
    return meta, arrays


def load(path, map_location=None, weights_only=None):
    """Load what ``save`` (or ``save_checkpoint``) wrote. Tensors come back as Tensors on
    ``map_location`` ('cpu', 'cuda'; default: the current backend's device), arrays as NumPy arrays.
    ``weights_only`` is accepted for torch scripts: the format never holds code (no pickle), so loading
    is always as safe as torch's ``weights_only=True``."""
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    meta, arrays = _read_file(path)
    try:
        return _decode(meta["tree"], arrays, map_location)
    except (KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"{os.fspath(path)}: the checkpoint's contents are malformed ({err})") from err


# --------------------------------------------------------------------- checkpoints
def save_checkpoint(path, model=None, optimizer=None, scheduler=None, step=None, extra=None):
    """Save a training checkpoint to one file, atomically: the model's and optimizer's state dicts,
    the scheduler's, the step, ``extra`` (anything ``save`` accepts) and the random generator's
    state (``minitorch.backend.seed_state``), so that training resumes exactly."""
    if step is not None and not isinstance(step, numbers.Integral):
        raise TypeError(f"save_checkpoint: step must be an int or None, got {type(step).__name__}")
    tree = {
        "model": None if model is None else model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "step": None if step is None else int(step),
        "extra": extra,
        "rng": backend.seed_state(),
    }
    save(tree, path)


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, map_location=None, strict=True,
                    restore_rng=True):
    """Load a file written by ``save_checkpoint``; returns its dict (keys model, optimizer, scheduler,
    step, extra, rng). Given a ``model`` / ``optimizer`` / ``scheduler``, their state is loaded into
    them (tensors go to the model's device; ``strict`` as in ``Module.load_state_dict``), and with
    ``restore_rng`` the random generator continues where it was when the checkpoint was saved."""
    path = os.fspath(path)
    ckpt = load(path, map_location=map_location)
    if not isinstance(ckpt, dict) or "rng" not in ckpt:
        raise CheckpointError(f"{path}: not a training checkpoint (written by save(), not save_checkpoint()?)")
    return restore_checkpoint(ckpt, model, optimizer, scheduler, strict=strict, restore_rng=restore_rng, name=path)


def restore_checkpoint(ckpt, model=None, optimizer=None, scheduler=None, strict=True, restore_rng=True,
                       name="the checkpoint"):
    """Load the state held in ``ckpt``, a dict that ``load_checkpoint`` returned, into ``model`` /
    ``optimizer`` / ``scheduler`` (and the random generator with ``restore_rng``), as ``load_checkpoint`` does
    for a file: so a checkpoint read once can be looked at first and restored later. Errors name ``name``
    (the file's path). Returns ``ckpt``."""
    if model is not None:
        saved = ckpt.get("model")
        if saved is None:
            raise CheckpointError(f"{name}: the checkpoint holds no model state")
        try:
            model.load_state_dict(saved, strict=strict)  # checks everything before it copies anything
        except (RuntimeError, TypeError) as err:
            raise CheckpointError(f"{name}: the checkpoint does not fit {type(model).__name__}: {err}") from err
    for part, target in (("optimizer", optimizer), ("scheduler", scheduler)):
        if target is None:
            continue
        if ckpt.get(part) is None:
            raise CheckpointError(f"{name}: the checkpoint holds no {part} state")
        try:
            target.load_state_dict(ckpt[part])
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"{name}: the {part} state does not fit {type(target).__name__}: {err}") from err
    if restore_rng:
        backend.set_seed_state(ckpt["rng"])
    return ckpt
