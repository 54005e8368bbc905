"""The array backend: which array module (``xp``) holds tensor data, devices, dtypes, seeding.

Everything outside this package reaches NumPy/CuPy-specific behaviour only through here:
kernels call ``get_array_module(x)`` and the helpers below, never ``numpy`` on data.
"""
from .core import (
    DEVICES,
    BackendUnavailableError,
    Device,
    cupy_available,
    default_float_dtype,
    device_of,
    get_array_module,
    get_backend,
    get_default_dtype,
    is_floating,
    module_for_device,
    set_backend,
    set_default_dtype,
    to_device,
    to_numpy,
)
from .memory import keep_freed_memory, malloc_status
from .ops import (
    CACHE_LINE,
    SQRT_2_OVER_PI,
    aligned_bytes,
    col_sum,
    empty_aligned,
    erf,
    gelu_erf,
    index_add,
    scatter_add_rows,
)
from .random import Generator, generator, manual_seed, numpy_generator, seed_state, set_seed_state
from .threads import get_num_threads, set_num_threads

__all__ = [
    "BackendUnavailableError", "DEVICES", "cupy_available", "default_float_dtype", "device_of",
    "get_array_module", "get_backend", "is_floating", "module_for_device", "set_backend",
    "set_default_dtype", "get_default_dtype", "to_device", "to_numpy", "manual_seed",
    "generator", "seed_state", "set_seed_state", "scatter_add_rows", "col_sum", "erf", "gelu_erf", "index_add",
    "SQRT_2_OVER_PI", "CACHE_LINE", "empty_aligned", "aligned_bytes",
    "Device", "Generator", "numpy_generator", "get_num_threads", "set_num_threads",
    "keep_freed_memory", "malloc_status",
]

keep_freed_memory()  # training steps reuse their freed buffers instead of page-faulting them in (see memory.py)
