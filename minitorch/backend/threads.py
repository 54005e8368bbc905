"""How many threads NumPy's BLAS (matrix products) may use: ``set_num_threads`` / ``get_num_threads``,
as in torch. The limit is applied at run time through ``threadpoolctl`` when it is installed
(``pip install threadpoolctl``); without it the environment variables (``OPENBLAS_NUM_THREADS`` ...)
that must be set before NumPy is imported are the only way, and ``set_num_threads`` says so once."""
import os
import warnings

_state = {"threads": None, "warned": False}
_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _threadpoolctl():
    try:
        import threadpoolctl  # noqa: PLC0415
    except ImportError:
        return None
    return threadpoolctl


def set_num_threads(n):
    """Limit NumPy's BLAS to ``n`` threads (a positive int), like ``torch.set_num_threads``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    tpc = _threadpoolctl()
    if tpc is None:
        if not _state["warned"]:
            _state["warned"] = True
            warnings.warn(
                "minitorch.set_num_threads: threadpoolctl is not installed, so NumPy's BLAS thread count can't be "
                "changed at run time; `pip install threadpoolctl`, or set OPENBLAS_NUM_THREADS before starting "
                "Python", RuntimeWarning, stacklevel=2)
    else:
        tpc.threadpool_limits(limits=n)
    _state["threads"] = n


def get_num_threads():
    """The BLAS thread limit: what ``set_num_threads`` set, else what the BLAS library reports (or the
    environment variables, or the number of CPUs)."""
    if _state["threads"] is not None:
        return _state["threads"]
    tpc = _threadpoolctl()
    if tpc is not None:
        counts = [info.get("num_threads") for info in tpc.threadpool_info() if info.get("user_api") == "blas"]
        if counts:
            return int(max(counts))
    for var in _VARS:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1
