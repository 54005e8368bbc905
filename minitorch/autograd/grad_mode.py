"""Switching gradient recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
import functools
import threading

_local = threading.local()


def is_grad_enabled():
    """True when operations on tensors that require grad are recorded for backward."""
    return getattr(_local, "enabled", True)


class set_grad_enabled:
    """Context manager (or plain call) that turns recording on or off."""

    def __init__(self, mode):
        self.prev = is_grad_enabled()
        _local.enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _local.enabled = self.prev
        return False


class _GradMode:
    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        _local.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _local.enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """``with no_grad():`` (or ``@no_grad()``) records nothing: results never require grad."""

    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a ``no_grad`` block."""

    mode = True
