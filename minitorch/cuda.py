"""``minitorch.cuda``: the few ``torch.cuda`` calls that training scripts make, answered through CuPy.

``is_available()`` is True when CuPy imports and sees a CUDA GPU (``pip install "minitorch-course[gpu]"``);
then ``device='cuda'`` puts tensors on it."""
from . import backend


def is_available():
    """True when the 'cuda' device can be used (CuPy and a CUDA GPU)."""
    return backend.cupy_available()


def device_count():
    """The number of visible CUDA GPUs (0 without CuPy)."""
    if not is_available():
        return 0
    import cupy  # noqa: PLC0415

    return int(cupy.cuda.runtime.getDeviceCount())


def is_bf16_supported(including_emulation=True):
    """False: minitorch has no bfloat16 (NumPy and CuPy lack the dtype)."""
    return False


def current_device():
    if not is_available():
        raise RuntimeError("minitorch.cuda.current_device(): no CUDA GPU is usable here (CuPy missing or no device)")
    import cupy  # noqa: PLC0415

    return int(cupy.cuda.Device().id)


def synchronize(device=None):
    """Wait for the GPU's queued work to finish (a no-op without a GPU)."""
    if is_available():
        import cupy  # noqa: PLC0415

        cupy.cuda.Device().synchronize()


def manual_seed(seed):
    """Seed the GPU generator; minitorch seeds all its generators at once, as ``minitorch.manual_seed``."""
    backend.manual_seed(seed)


manual_seed_all = manual_seed


def empty_cache():
    """Return cached GPU memory to the driver (CuPy's memory pool; a no-op without a GPU)."""
    if is_available():
        import cupy  # noqa: PLC0415

        cupy.get_default_memory_pool().free_all_blocks()
