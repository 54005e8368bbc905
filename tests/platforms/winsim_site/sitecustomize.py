"""Simulates a Windows (default) or macOS (``WINSIM_PLATFORM=darwin``: ``sys.platform`` darwin and
``setrlimit(RLIMIT_AS)`` refused, everything else POSIX) interpreter on Linux for the platform tests
(tests/platforms/): loaded as ``sitecustomize`` through PYTHONPATH. For Windows it does what a Windows
Python lacks or does differently:

- ``sys.platform == "win32"``;
- the POSIX-only modules (resource, fcntl, pwd, grp, termios, pty) cannot be imported;
- ``os`` has no fork, killpg, setsid, process groups, uids or CPU affinity; ``signal`` has no SIGKILL;
- ``subprocess.Popen`` refuses ``pass_fds``, ``start_new_session`` and ``preexec_fn`` (Windows raises
  for preexec_fn and ignores the others; refusing makes their use visible);
- a child Python started as ``python -I ... script.py`` (isolated: no PYTHONPATH, so no sitecustomize)
  is started through ``winsim_run.py``, which applies the same simulation before running the script.

Third-party libraries that load Windows DLLs or read the registry when they see win32 (threadpoolctl,
matplotlib's font manager) keep seeing the real platform (``REAL_PLATFORM_FOR``).

The stdlib modules that choose their implementation by platform at import time are imported first,
so they keep working (this simulates the interface the project's code sees, not Windows' internals).
"""
import ctypes.util  # noqa: F401
import os
import pathlib  # noqa: F401
import platform  # noqa: F401
import queue  # noqa: F401
import select  # noqa: F401
import shutil  # noqa: F401  (import order: before sys.platform changes)
import signal
import subprocess
import sys
import tempfile  # noqa: F401
import threading  # noqa: F401
import zoneinfo  # noqa: F401  (reads sysconfig, which has no build data for win32; python-dateutil 4 imports it)

HERE = os.path.dirname(os.path.abspath(__file__))
POSIX_ONLY = ("resource", "fcntl", "pwd", "grp", "termios", "pty", "tty")
OS_MISSING = ("fork", "forkpty", "killpg", "setsid", "getpgid", "setpgid", "getpgrp", "getuid", "geteuid",
              "getgid", "getegid", "setuid", "setgid", "sched_getaffinity", "sched_setaffinity", "getloadavg",
              "register_at_fork", "wait3", "wait4")


# Third-party libraries that branch on sys.platform at call time to load Windows DLLs or the registry
# (threadpoolctl: kernel32; matplotlib: the font registry) keep seeing the real platform: the simulation
# covers the interface this project's code sees, and these libraries ship their own Windows support.
REAL_PLATFORM_FOR = ("threadpoolctl", "matplotlib.font_manager")


class _RealSys:
    def __init__(self, real_platform):
        self.platform = real_platform

    def __getattr__(self, name):
        return getattr(sys, name)


class _KeepRealPlatform:
    """After one of REAL_PLATFORM_FOR is imported, its global ``sys`` is a view with the real platform."""

    def __init__(self, real_platform):
        self.real = _RealSys(real_platform)

    def find_spec(self, name, path=None, target=None):
        if name not in REAL_PLATFORM_FOR:
            return None
        import importlib.util

        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader, real = spec.loader, self.real

        class Loader:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                simulated, sys.platform = sys.platform, real.platform  # also while the module runs
                try:
                    loader.exec_module(module)
                finally:
                    sys.platform = simulated
                if getattr(module, "sys", None) is sys:
                    module.sys = real

        spec.loader = Loader()
        return spec


def apply_darwin():
    """macOS: POSIX (fork, killpg, pass_fds, resource all there), but RLIMIT_AS is not enforced; here
    setting it fails as on many macOS versions ("current limit exceeds maximum limit")."""
    import resource

    real = resource.setrlimit

    def setrlimit(which, limits):
        if which == resource.RLIMIT_AS:
            raise ValueError("current limit exceeds maximum limit")
        return real(which, limits)

    resource.setrlimit = setrlimit
    sys.meta_path.insert(0, _KeepRealPlatform(sys.platform))
    sys.platform = "darwin"


def apply():
    for name in POSIX_ONLY:
        sys.modules[name] = None  # "import resource" raises ImportError, as on Windows
    for name in OS_MISSING:
        if hasattr(os, name):
            delattr(os, name)
    if hasattr(signal, "SIGKILL"):
        delattr(signal, "SIGKILL")
    sys.meta_path.insert(0, _KeepRealPlatform(sys.platform))
    sys.platform = "win32"


_Popen_init = subprocess.Popen.__init__


def _init(self, args, *a, **kw):
    if PLATFORM == "win32":
        for k in ("pass_fds", "start_new_session", "preexec_fn"):
            if kw.get(k):
                raise AssertionError(f"winsim: subprocess.Popen({k}=...) is not available on Windows")
    if isinstance(args, (list, tuple)) and args and args[0] == sys.executable and "-I" in args:
        script = next((k for k, x in enumerate(args) if k and str(x).endswith(".py")), None)
        if script is not None:  # the child's environment may be cleared: platform and trace go in argv
            args = list(args[:script]) + [os.path.join(HERE, "winsim_run.py"), PLATFORM,
                                          os.environ.get("WINSIM_TRACE", "")] + list(args[script:])
    _Popen_init(self, args, *a, **kw)


def _kill(self):  # Windows: TerminateProcess (a hard kill, no SIGKILL constant needed)
    if self.returncode is None:
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass


PLATFORM = os.environ.get("WINSIM_PLATFORM", "win32")  # win32 or darwin
if PLATFORM not in ("win32", "darwin"):
    raise SystemExit(f"WINSIM_PLATFORM={PLATFORM!r}: expected win32 or darwin")
subprocess.Popen.__init__ = _init
if PLATFORM == "win32":
    subprocess.Popen.kill = _kill
    apply()
else:
    apply_darwin()
