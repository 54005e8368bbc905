"""Switching gradient recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
import functools
import threading

_local = threading.local()


def is_grad_enabled():
    """True when operations on tensors that require grad are recorded for backward."""
    return getattr(_local, "enabled", True)


class _GradMode:
    """Base of ``no_grad`` / ``enable_grad``: a context manager, and a decorator used as
    ``@no_grad()`` or ``@no_grad``."""

    mode = True

    def __new__(cls, orig_func=None):
        if orig_func is not None and callable(orig_func):  # bare decorator: @no_grad
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        self.prev = None

    def __enter__(self):
        self.prev = is_grad_enabled()
        _local.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _local.enabled = self.prev
        return False

    def __call__(self, fn):
        mode_cls = self.__class__

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode_cls():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """``with no_grad():`` (or ``@no_grad()`` / ``@no_grad``) records nothing: results never require grad."""

    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled:
    """``set_grad_enabled(mode)``: turns recording on or off at once (a plain call), until the end of
    a ``with`` block, or inside a function when used as a decorator -- as in torch."""

    def __init__(self, mode):
        self.prev = is_grad_enabled()
        self.mode = bool(mode)
        _local.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _local.enabled = self.prev
        return False

    def __call__(self, fn):
        _local.enabled = self.prev  # as a decorator, the call above must not change the mode now
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode:
    """``with inference_mode():`` (or ``@inference_mode()`` / ``@inference_mode``): like ``no_grad`` (minitorch
    has no separate inference tensors). ``inference_mode(False)`` changes nothing, as in torch."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # bare decorator: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
        self.mode = mode
        self.prev = None

    def __enter__(self):
        self.prev = is_grad_enabled()
        if self.mode:
            _local.enabled = False
        return self

    def __exit__(self, *exc):
        _local.enabled = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled():
    """True inside ``inference_mode()`` (here: whenever gradient recording is off)."""
    return not is_grad_enabled()
