"""How freed NumPy buffers go back to the C heap: kept for reuse instead of returned to the kernel.

A training step frees and re-allocates the same activations every step (about 40 MB for the
baby-GPT preset). With glibc's defaults, buffers above a size threshold come from fresh ``mmap``
pages and the top of the heap is trimmed after a step, so every step page-faults all of that memory
in again: about 10,000 faults and a fifth of the step on a 2-core machine. ``keep_freed_memory``
raises the two thresholds once, so the step reuses the pages it already has. Peak memory is unchanged
(the same buffers live at the same time); memory freed after the peak stays with the process,
up to ``TRIM_THRESHOLD``, instead of going back to the system.

Applied when minitorch is imported, on Linux with glibc only (elsewhere it does nothing). Set the
environment variable ``MINITORCH_MALLOC=system`` to keep the C library's defaults; malloc settings
given in the environment (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_TOP_PAD_``
or ``GLIBC_TUNABLES``) are respected and left alone.
"""
import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD = 32 << 20   # glibc's largest accepted value: buffers up to 32 MiB come from the heap
TRIM_THRESHOLD = 1 << 30    # up to 1 GiB of free memory at the heap's top stays for reuse
TOP_PAD = 16 << 20          # grow the heap 16 MiB at a time
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3   # mallopt parameters (malloc.h)
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")

_state = {"applied": False, "reason": "not attempted"}


def _glibc():
    """The process's C library when it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    # gnu_get_libc_version: glibc only (musl has no such symbol)
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def keep_freed_memory(environ=None):
    """Set glibc's mmap and trim thresholds (see the module docstring). Returns True when applied.
    Idempotent; does nothing under ``MINITORCH_MALLOC=system``, when the user set malloc options in
    the environment, or where the C library is not glibc."""
    environ = os.environ if environ is None else environ
    if _state["applied"]:
        return True
    if environ.get("MINITORCH_MALLOC", "").strip().lower() == "system":
        _state["reason"] = "MINITORCH_MALLOC=system"
        return False
    user = [name for name in _USER_SETTINGS if name in environ]
    if user:
        _state["reason"] = f"malloc settings from the environment ({', '.join(user)})"
        return False
    libc = _glibc()
    if libc is None:
        _state["reason"] = "not glibc"
        return False
    ok = all(libc.mallopt(param, value) == 1 for param, value in
             ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD)))
    _state.update(applied=ok, reason="applied" if ok else "mallopt refused a value")
    return ok


def malloc_status():
    """A short phrase for run headers: 'kept for reuse' or why the C library's defaults are in use."""
    return "freed memory kept for reuse" if _state["applied"] else f"C library defaults ({_state['reason']})"
