"""Array modules, devices and the default dtype.

Two backends exist: ``"numpy"`` (device ``"cpu"``) and ``"cupy"`` (device ``"cuda"``).
A third, ``"strict"``, is a CPU test double used to prove kernels never call NumPy on data
(see ``minitorch.backend.strict``).
"""
import numpy as np

DEVICES = ("cpu", "cuda")


class BackendUnavailableError(RuntimeError):
    """Raised when a backend or device is requested that this machine cannot provide."""


_state = {"backend": "numpy", "default_dtype": np.dtype(np.float32)}
_cupy = None
_cupy_checked = False


def _load_cupy():
    """Import CuPy and check a CUDA device is usable; return the module or None."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415

            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device")
            _cupy = cupy
        except Exception:  # ImportError, CUDARuntimeError, missing driver ...
            _cupy = None
    return _cupy


def cupy_available():
    """True when CuPy imports and at least one CUDA device is visible."""
    return _load_cupy() is not None


def _require_cupy():
    cp = _load_cupy()
    if cp is None:
        raise BackendUnavailableError(
            "the 'cupy' backend / 'cuda' device needs CuPy and a CUDA GPU, and none is usable here. "
            "Install it with `pip install \"minitorch-course[gpu]\"` on a machine with an NVIDIA GPU, "
            "or stay on the default 'numpy' backend (device 'cpu')."
        )
    return cp


def module_for_device(device):
    """The array module that holds data for ``device`` ('cpu' or 'cuda')."""
    device = normalize_device(device)
    if device == "cuda":
        return _require_cupy()
    if _state["backend"] == "strict":
        from . import strict  # noqa: PLC0415

        return strict
    return np


def normalize_device(device):
    if device is None:
        return "cuda" if _state["backend"] == "cupy" else "cpu"
    name = str(getattr(device, "type", device)).lower()
    if name.startswith("cuda"):
        return "cuda"
    if name == "cpu":
        return "cpu"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def set_backend(name):
    """Choose where new tensors live: ``"numpy"`` (cpu), ``"cupy"`` (cuda) or ``"strict"`` (tests)."""
    if name not in ("numpy", "cupy", "strict"):
        raise ValueError(f"unknown backend {name!r}: expected 'numpy' or 'cupy'")
    if name == "cupy":
        _require_cupy()
    _state["backend"] = name


def get_backend():
    """The name of the current backend."""
    return _state["backend"]


def get_array_module(*arrays):
    """The array module (numpy, cupy, or the strict test double) that owns ``arrays``.

    Python scalars and NumPy arrays give numpy (or the strict module when it is active)."""
    for a in arrays:
        if type(a) is np.ndarray:  # the common case, decided without string tests
            continue
        mod = type(a).__module__
        if mod.startswith("cupy"):
            return _load_cupy()
        if mod.startswith("minitorch.backend.strict"):
            from . import strict  # noqa: PLC0415

            return strict
    if _state["backend"] == "strict":
        from . import strict  # noqa: PLC0415

        return strict
    return np


def device_of(array):
    """'cuda' for CuPy arrays, else 'cpu'."""
    return "cuda" if type(array).__module__.startswith("cupy") else "cpu"


def to_numpy(array):
    """A host NumPy copy (or view) of ``array``."""
    if type(array).__module__.startswith("cupy"):
        return array.get()
    if type(array).__module__.startswith("minitorch.backend.strict"):
        return array.unwrap()
    return np.asarray(array)


def to_device(array, device):
    """``array`` moved to ``device`` ('cpu' or 'cuda'); a no-op when it is already there."""
    device = normalize_device(device)
    if device == "cuda":
        cp = _require_cupy()
        return array if device_of(array) == "cuda" else cp.asarray(to_numpy(array))
    host = to_numpy(array)
    xp = module_for_device("cpu")
    return xp.asarray(host)


def set_default_dtype(dtype):
    """Set the dtype of new floating tensors: float32 (default) or float64."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64, np.float16):
        raise TypeError(f"default dtype must be a floating type (float32 or float64), got {dt}")
    _state["default_dtype"] = dt


def get_default_dtype():
    """The dtype of new floating tensors."""
    return _state["default_dtype"]


default_float_dtype = get_default_dtype


def is_floating(dtype):
    """True for floating dtypes."""
    return np.dtype(dtype).kind == "f"


class Device(str):
    """``torch.device``: a device name that is also a plain string ('cpu', 'cuda', 'cuda:1'), so it goes
    wherever a device string does. ``Device('cuda', 0)``, ``Device('cuda:0')``; ``.type`` and ``.index``
    as in torch. Making one does not need the device to exist (``Tensor.to`` checks that)."""

    def __new__(cls, type, index=None):  # noqa: A002 - torch's argument name
        if isinstance(type, Device) and index is None:
            return type
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        name, sep, idx = type.strip().lower().partition(":")
        if name not in DEVICES:
            raise RuntimeError(f"device(): expected one of cpu, cuda as the device type, got {type!r}")
        if sep:
            if index is not None:
                raise RuntimeError(f"device(): the index is given twice ({type!r} and index={index!r})")
            if not idx.isdigit():
                raise RuntimeError(f"device(): invalid device string {type!r} (expected e.g. 'cuda:0')")
            index = int(idx)
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
                raise RuntimeError(f"device(): the index must be a non-negative int, got {index!r}")
            if name == "cpu" and index != 0:
                raise RuntimeError(f"device(): cpu has only index 0, got {index}")
            index = int(index)
        obj = super().__new__(cls, name if index is None else f"{name}:{index}")
        obj._type, obj._index = name, index
        return obj

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __repr__(self):
        return f"device(type={self._type!r})" if self._index is None else \
            f"device(type={self._type!r}, index={self._index})"

    def __reduce__(self):
        return (Device, (self._type, self._index))


class UnsupportedDtype:
    """A torch dtype name minitorch cannot compute in (``minitorch.bfloat16``: NumPy has no bfloat16). It
    exists so scripts that only mention it (e.g. in a table of dtypes) run; using it raises a clear error."""

    def __init__(self, name, hint):
        self.name, self.hint = name, hint

    def __repr__(self):
        return f"minitorch.{self.name}"

    def __str__(self):
        return self.name

    def error(self, where="dtype"):
        return TypeError(f"{where}: {self.name} is not supported by minitorch ({self.hint})")


_DEVICE_OBJECTS = {name: Device(name) for name in DEVICES}


def device_object(array):
    """``Device`` of ``array`` ('cpu' or 'cuda'), one shared object per device (``Tensor.device``)."""
    return _DEVICE_OBJECTS["cuda" if type(array).__module__.startswith("cupy") else "cpu"]
