"""Running student code in an isolated child process; the parent only ever receives arrays and
messages, and treats them as hostile.

Isolation modes (``detect_mode``; force one with ``MINITORCH_SANDBOX=bwrap|setpriv|none``):

``bwrap``    Linux namespaces through bubblewrap: no network, own PID namespace (everything in it
             dies with it), a read-only filesystem holding only /usr, a private copy of the
             interpreter with the standard library, NumPy and SciPy (no torch or any other
             package), the child-side grader modules, this run's inputs and the submission's
             ``minitorch/``; writable: a small /tmp. Run by a dedicated unprivileged uid when the
             grader is root (so process limits apply and every process can be killed by uid).
``setpriv``  Fallback where namespaces are unavailable, as root: the child runs as a dedicated
             unprivileged uid with process, file-size, memory and CPU limits; fixtures, hidden
             fixtures, the grader and the reference must be unreadable to it (checked: the run
             is refused otherwise); all processes of that uid are killed before results are used.
``none``     A plain child process (a student's own machine): local feedback only.

One child runs the cases of an assignment in order. A case that exceeds its wall time, crashes the
child or breaks the protocol fails with a message saying what happened, and a fresh child continues
with the next case. Each case's deadline is set once by the parent, the assignment has a total
budget, and results are decoded only after every process of the run is dead (``protocol.py``).
"""
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

from .fixtures import write_npz
from .protocol import (
    DONE,
    FATAL,
    FORBIDDEN,
    IMPORTED,
    INPUTS_FILE,
    JOB_FILE,
    RESULT,
    START,
    FrameReader,
    ProtocolError,
    clean_message,
    read_arrays,
    read_errors,
    read_fatal,
)
from .tolerances import DEFAULT_BUDGET_S, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

PACKAGE = os.path.dirname(os.path.abspath(__file__))
GRADER_ROOT = os.path.dirname(PACKAGE)
IMPORT_TIMEOUT_S = 60.0
MODES = ("bwrap", "setpriv", "none")
ENV_MODE = "MINITORCH_SANDBOX"
ENV_UID = "MINITORCH_SANDBOX_UID"       # first uid of the pool used as root (default 63100)
UID_POOL = 64
# the grader modules the child needs (none holds a secret: they ship in every handout)
CHILD_FILES = ("__init__.py", "child.py", "protocol.py", "execute.py", "spec.py", "tolerances.py", "compare.py",
               "lm.py")
CHILD_DIRS = ("cases",)
# what the kernels may import besides the standard library
ALLOWED_PACKAGES = ("numpy", "numpy.libs", "scipy", "scipy.libs")
STDLIB_SKIP = ("site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip",
               "lib2to3", "config-")
MAX_SUBMISSION_BYTES = 50 << 20
MAX_SUBMISSION_FILES = 5000
TMP_BYTES = 64 << 20            # the sandbox's /tmp
FSIZE_BYTES = 64 << 20          # largest file the child may write
NPROC = 32                      # processes (and threads) of the sandbox uid
STDERR_TAIL = 2000
MAX_RUN_BYTES = 256 << 20       # results buffered from one child before it is dead and they are decoded


class SandboxError(RuntimeError):
    """The sandbox cannot run here as requested (a grader problem, not the student's)."""


# --------------------------------------------------------------------------- modes
_probe = {}
_probe_lock = threading.Lock()


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def requested_mode():
    """The mode forced by ``MINITORCH_SANDBOX`` (None: detect)."""
    m = os.environ.get(ENV_MODE, "").strip().lower()
    if not m or m == "auto":
        return None
    if m not in MODES:
        raise SandboxError(f"{ENV_MODE}={m!r}: expected one of {', '.join(MODES)} or auto")
    return m


def detect_mode(force=None):
    """The isolation mode to use: ``force`` or ``MINITORCH_SANDBOX`` if given (checked to work),
    otherwise bwrap if it works here, else setpriv as root, else none."""
    mode = force or requested_mode()
    if mode == "none":
        return "none"
    if mode is not None:
        problem = _mode_problem(mode)
        if problem:
            raise SandboxError(f"sandbox {mode} is not available here: {problem}")
        return mode
    for m in ("bwrap", "setpriv"):
        if not _mode_problem(m):
            return m
    return "none"


def describe_mode(mode):
    """The line every report carries, e.g. ``sandbox: bwrap (namespaces, uid 63100.., no network)``."""
    return {
        "bwrap": "sandbox: bwrap (Linux namespaces: private filesystem view, no network, own PID namespace"
                 + (", dedicated uid" if _is_root() else "") + ")",
        "setpriv": "sandbox: setpriv (dedicated unprivileged uid with process/memory/file limits; no namespaces)",
        "none": "sandbox: none (local feedback only): " + local_protections(),
    }[mode]


def local_protections():
    """What mode ``none`` still enforces on this platform, and what it does not (each report says it).
    Linux: a child process, wall-time limits, an RLIMIT_AS memory cap, its process group killed.
    macOS: the same without the memory cap (macOS does not enforce RLIMIT_AS). Windows: a child
    process and wall-time limits only (no rlimits, no process groups: processes the child starts
    itself are not killed)."""
    active = ["a separate process", "a wall-time limit per test and per assignment"]
    missing = []
    try:
        import resource  # noqa: F401,PLC0415 - POSIX only
        has_rlimit = True
    except ImportError:
        has_rlimit = False
    if has_rlimit and sys.platform.startswith("linux"):
        active.append("a memory cap (RLIMIT_AS)")
    else:
        missing.append("no memory cap" + (" (macOS does not enforce RLIMIT_AS)" if has_rlimit else ""))
    if hasattr(os, "killpg") and sys.platform != "win32":
        active.append("its process group killed after each run")
    else:
        missing.append("processes started by student code are not killed")
    missing.append("no filesystem or network isolation")
    return "active: " + ", ".join(active) + "; not active: " + ", ".join(missing)


def isolated(mode):
    return mode in ("bwrap", "setpriv")


def _mode_problem(mode):
    """None when ``mode`` works here, else why not (probed once per process)."""
    with _probe_lock:
        if mode not in _probe:
            _probe[mode] = _probe_mode(mode)
        return _probe[mode]


def _probe_mode(mode):
    if not sys.platform.startswith("linux"):
        return "it needs Linux"
    if mode == "setpriv":
        if not _is_root():
            return "it needs root (to switch to a dedicated uid)"
        if not shutil.which("setpriv"):
            return "the setpriv command (util-linux) is missing"
        return None
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if _is_root() and not shutil.which("setpriv"):
        return "the setpriv command (util-linux) is missing"
    if _is_root():
        _become_subreaper()
    cmd = (_setpriv_prefix(_uid_base()) if _is_root() else []) + \
        ["bwrap"] + _bwrap_base_args() + ["--", "/bin/true" if os.path.exists("/bin/true") else "/usr/bin/true"]
    problem = None
    for _ in range(3):  # a transient failure (e.g. a process limit reached for a moment) is retried
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"bwrap could not be run ({e})"
        finally:
            if _is_root():
                reap_uid(_uid_base())
        if r.returncode == 0:
            return None
        problem = "bwrap failed: " + r.stdout.decode("utf-8", "replace").strip()[:300]
        time.sleep(0.2)
    return problem


def require_isolation(mode, insecure=False, what="this format"):
    """Raise SandboxError when grading for the record (``what``) would run without isolation."""
    if not isolated(mode) and not insecure:
        raise SandboxError(
            f"{what} grades for the record, but no sandbox is available here ({describe_mode(mode)}): "
            "install bubblewrap (apt-get install bubblewrap) or run as root for the setpriv fallback; "
            "--insecure grades anyway")


# --------------------------------------------------------------------------- uids (root only)
def _uid_base():
    try:
        return int(os.environ.get(ENV_UID, "63100"))
    except ValueError:
        raise SandboxError(f"{ENV_UID} must be a number") from None


_slots_lock = threading.Lock()
_slots_used = set()


class _UidSlot:
    """A uid of the pool held by this run (a lock file in a root-only folder guards it across
    processes), so that killing "every process of the uid" only ever hits this run."""

    def __init__(self):
        import fcntl  # noqa: PLC0415 - POSIX only
        import pwd  # noqa: PLC0415

        lock_dir = "/run/minitorch-sandbox" if os.access("/run", os.W_OK) else \
            os.path.join(tempfile.gettempdir(), "minitorch-sandbox-root")
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        st = os.lstat(lock_dir)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077:
            raise SandboxError(f"{lock_dir} must be a folder owned by root with mode 700")
        base = _uid_base()
        for uid in range(base, base + UID_POOL):
            try:
                pwd.getpwuid(uid)
                continue  # a real account: never used (its processes would be killed)
            except KeyError:
                pass
            with _slots_lock:
                if uid in _slots_used:
                    continue
                _slots_used.add(uid)
            fd = os.open(os.path.join(lock_dir, f"uid-{uid}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                with _slots_lock:
                    _slots_used.discard(uid)
                continue
            kill_uid(uid)  # leftovers of a crashed earlier run
            reap_uid(uid)
            if _uid_pids(uid, zombies=True):  # unreaped zombies count against its process limit
                os.close(fd)
                with _slots_lock:
                    _slots_used.discard(uid)
                continue
            self.uid, self.fd = uid, fd
            return
        raise SandboxError(f"no free sandbox uid in {base}..{base + UID_POOL - 1} (set {ENV_UID})")

    def release(self):
        for _ in range(50):  # until the uid has no process left, zombies included (re-parented ones arrive late)
            kill_uid(self.uid)
            reap_uid(self.uid)
            if not _uid_pids(self.uid, zombies=True):
                break
            time.sleep(0.02)
        _remove_owned(self.uid)
        os.close(self.fd)
        with _slots_lock:
            _slots_used.discard(self.uid)


def _uid_pids(uid, zombies=False):
    """Live (and with ``zombies``, dead but unreaped) processes with ``uid`` as real, effective,
    saved or filesystem uid."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", encoding="ascii", errors="replace") as f:
                state, uids = "", []
                for line in f:
                    if line.startswith("State:"):
                        state = line.split()[1]
                    elif line.startswith("Uid:"):
                        uids = [int(x) for x in line.split()[1:]]
                        break
            if uid in uids and (zombies or state not in ("Z", "X")):
                pids.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def kill_uid(uid, timeout=10.0):
    """SIGKILL every process of ``uid`` (kill(-1) as that uid, repeated until /proc shows none left:
    a fork bomb cannot outrun it). Returns True when none is left."""
    end = time.monotonic() + timeout
    while True:
        pids = _uid_pids(uid)
        if not pids:
            return True
        if time.monotonic() > end:
            return False
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the forked killer
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def _become_subreaper():
    """Orphans of the sandbox (a fork bomb whose parent died) are re-parented to this process,
    which reaps them (``reap_uid``), instead of to a container's pid 1, which may never reap them:
    unreaped zombies would count against the uid's process limit."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # noqa: PLC0415

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap_uid(uid, keep=()):
    """Reap the dead processes of ``uid`` that are this process's children (except ``keep``)."""
    for pid in _uid_pids(uid, zombies=True):
        if pid in keep:
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass


def _remove_owned(uid):
    """Files the sandbox uid left in the world-writable folders (setpriv mode)."""
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock"):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            p = os.path.join(d, n)
            try:
                st = os.lstat(p)
                if st.st_uid != uid:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
            except OSError:
                pass


def _setpriv_prefix(uid):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs"]


JOB_BASE = "/run/minitorch-sandbox-jobs"


def _job_parent():
    """Where a run's job folder goes. As root, a root-owned folder (711) every sandbox uid can pass
    through, whatever TMPDIR is (a private TMPDIR would hide the job from the uid); job folders of
    grader processes that died (killed during a batch) are removed here. Otherwise TMPDIR."""
    if not _is_root() or not os.access("/run", os.W_OK):
        return None
    os.makedirs(JOB_BASE, mode=0o711, exist_ok=True)
    st = os.lstat(JOB_BASE)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077 != 0o011:
        raise SandboxError(f"{JOB_BASE} must be a folder owned by root with mode 711")
    for name in os.listdir(JOB_BASE):
        parts = name.split("-")
        if len(parts) >= 3 and parts[1].isdigit() and not os.path.exists(f"/proc/{parts[1]}"):
            shutil.rmtree(os.path.join(JOB_BASE, name), ignore_errors=True)
    return JOB_BASE


# --------------------------------------------------------------------------- the runtime copy
_runtime_lock = threading.Lock()


def _stdlib_dir():
    import sysconfig  # noqa: PLC0415

    return sysconfig.get_paths()["stdlib"]


def runtime_dir():
    """A root-owned, world-readable copy (hard links where possible) of this interpreter, its
    standard library and the allowed packages, without site-packages: what the sandbox executes.
    Built once per interpreter (under /var/cache/minitorch-sandbox as root, else ~/.cache)."""
    import hashlib  # noqa: PLC0415

    exe, stdlib, pkgs, key = _runtime_sources()
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    if _is_root():
        base = "/var/cache/minitorch-sandbox"
    else:
        base = os.path.join(os.path.expanduser("~"), ".cache", "minitorch-sandbox")
    dest = os.path.join(base, f"py-{digest}")
    with _runtime_lock:
        if os.path.isfile(os.path.join(dest, "runtime.json")):
            return dest
        os.makedirs(base, mode=0o755, exist_ok=True)
        if _is_root():
            os.chmod(base, 0o755)
        tmp = tempfile.mkdtemp(prefix=".build-", dir=base)
        try:
            _build_runtime(tmp, exe, stdlib, pkgs, key)
            try:
                os.rename(tmp, dest)
            except OSError:
                if not os.path.isfile(os.path.join(dest, "runtime.json")):
                    raise
        finally:
            if os.path.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _runtime_sources():
    """(interpreter, standard library, {package: folder}, key): what the runtime copy is made of;
    the key (JSON, with the packages' versions) names the copy."""
    import importlib.metadata as md  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    stdlib = os.path.realpath(_stdlib_dir())
    pkgs, versions = {}, {}
    for name in ("numpy", "scipy"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            loc = os.path.realpath(list(spec.submodule_search_locations)[0])
            pkgs[name] = loc
            if os.path.isdir(loc + ".libs"):
                pkgs[name + ".libs"] = loc + ".libs"
            try:
                versions[name] = md.version(name)
            except Exception:  # noqa: BLE001
                versions[name] = str(os.stat(loc).st_mtime_ns)
    key = json.dumps({"exe": exe, "version": sys.version, "stdlib": stdlib, "pkgs": pkgs, "v": versions,
                      "format": 1}, sort_keys=True)
    return exe, stdlib, pkgs, key


def _build_runtime(tmp, exe, stdlib, pkgs, key):
    """Fill ``tmp`` with the runtime copy: bin/pythonX.Y, lib/ (libpython, the standard library), site/."""
    import sysconfig  # noqa: PLC0415

    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    os.makedirs(os.path.join(tmp, "bin"))
    _place(exe, os.path.join(tmp, "bin", ver))
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    ldlib = sysconfig.get_config_var("INSTSONAME") or ""
    os.makedirs(os.path.join(tmp, "lib"))
    if ldlib and os.path.isfile(os.path.join(libdir, ldlib)):
        _place(os.path.realpath(os.path.join(libdir, ldlib)), os.path.join(tmp, "lib", ldlib))
    _tree(stdlib, os.path.join(tmp, "lib", ver), skip=STDLIB_SKIP)
    os.makedirs(os.path.join(tmp, "site"))
    for name, loc in pkgs.items():
        _tree(loc, os.path.join(tmp, "site", name))
    with open(os.path.join(tmp, "runtime.json"), "w", encoding="utf-8") as f:
        f.write(key)
    for d, _, _ in os.walk(tmp):
        os.chmod(d, 0o755)


def _place(src, dst):
    """A hard link when the file is world-readable already (never changing the original), else a copy."""
    try:
        if not os.stat(src).st_mode & 0o004:
            raise OSError("not world-readable: copy it")
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
        os.chmod(dst, (os.stat(dst).st_mode | 0o444) & 0o755)


def _tree(src, dst, skip=()):
    os.makedirs(dst, exist_ok=True)
    for entry in os.scandir(src):
        if any(entry.name == s or (s.endswith("-") and entry.name.startswith(s)) for s in skip):
            continue
        if entry.name.split(".")[0] in FORBIDDEN:
            continue
        target = os.path.join(dst, entry.name)
        if entry.is_symlink():
            real = os.path.realpath(entry.path)
            if os.path.isfile(real):
                _place(real, target)
            continue
        if entry.is_dir():
            _tree(entry.path, target)
        elif entry.is_file():
            _place(entry.path, target)


# --------------------------------------------------------------------------- private paths
def _other_can_reach(path):
    """Whether a user who is neither owner nor in the group can read ``path`` (mode bits only; for
    ``folder/.``: whether such a user can enter the folder)."""
    if path.endswith(os.sep + "."):
        folder = os.path.abspath(path[:-2])
        return _other_can_reach(folder) and bool(os.stat(folder).st_mode & 0o001)
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    for k in range(1, len(parts)):
        d = os.sep.join(parts[:k]) or os.sep
        try:
            if not os.stat(d).st_mode & 0o001:
                return False
        except OSError:
            return False
    try:
        return bool(os.stat(path).st_mode & 0o004)
    except OSError:
        return False


def check_private(paths):
    """Raise SandboxError naming the first of ``paths`` (fixtures, hidden fixtures, the reference)
    that the setpriv uid could read."""
    import itertools  # noqa: PLC0415

    for p in paths:
        if not p or not os.path.exists(p):
            continue
        if os.path.isdir(p):
            if not _other_can_reach(os.path.join(p, ".")):  # the folder cannot be entered: nothing inside can
                continue
            files = (os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs)
            walk = [p] + list(itertools.islice(files, 500))
        else:
            walk = [p]
        for q in walk:
            if _other_can_reach(q):
                raise SandboxError(
                    f"sandbox setpriv: {q} is readable by other users, so the sandboxed uid could read it; "
                    f"make a folder above it private (chmod 700) or use bwrap")


def secret_paths(fixtures_dirs=()):
    """What the setpriv uid must not read: the fixture folders, the grader's own package (its
    fixtures), a reference ``minitorch`` next to it, and forbidden frameworks."""
    out = [os.path.join(PACKAGE, "fixtures")] + [d for d in fixtures_dirs if d]
    ref = os.path.join(GRADER_ROOT, "minitorch")
    if os.path.isdir(ref):
        out.append(ref)
    return out + framework_paths()


def framework_paths():
    """The folders of the installed frameworks student code must not use (FORBIDDEN)."""
    import importlib.util  # noqa: PLC0415

    out = []
    for name in FORBIDDEN:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            out.append(os.path.dirname(spec.origin))
    return out


# --------------------------------------------------------------------------- job folder
def _copy_submission(src, dst):
    """Copy ``src/minitorch`` to ``dst/minitorch``: regular files and folders only (no links,
    no bytecode), within size and count caps."""
    root = os.path.join(src, "minitorch")
    total = count = 0
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != "__pycache__" and not os.path.islink(os.path.join(d, x))]
        rel = os.path.relpath(d, src)
        os.makedirs(os.path.join(dst, rel), mode=0o755, exist_ok=True)
        for f in files:
            if f.endswith((".pyc", ".pyo")):
                continue
            p = os.path.join(d, f)
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode):
                continue
            total += st.st_size
            count += 1
            if total > MAX_SUBMISSION_BYTES or count > MAX_SUBMISSION_FILES:
                raise SandboxError(f"the submission's minitorch/ is larger than {MAX_SUBMISSION_BYTES >> 20} MB "
                                   f"or {MAX_SUBMISSION_FILES} files")
            shutil.copyfile(p, os.path.join(dst, rel, f), follow_symlinks=False)


def _copy_grader(dst):
    pkg = os.path.join(dst, "autograder")
    os.makedirs(pkg)
    for f in CHILD_FILES:
        shutil.copyfile(os.path.join(PACKAGE, f), os.path.join(pkg, f))
    for d in CHILD_DIRS:
        shutil.copytree(os.path.join(PACKAGE, d), os.path.join(pkg, d),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _open_up(root):
    """Folders 755, files 644 (root-owned): readable, never writable, by the sandbox uid."""
    for d, _, files in os.walk(root):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)


def child_env(extra=None):
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    if sys.platform == "win32":  # pragma: no cover - local feedback on Windows
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINITORCH"))}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.update(extra or {})
    return env


def _system_site_dirs():
    """Package folders of system interpreters under /usr (hidden in the sandbox: its python is the
    runtime copy, and a framework installed there must not be reachable through /usr/bin/python3)."""
    import glob  # noqa: PLC0415

    pats = ("/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages", "/usr/lib/python3*/dist-packages",
            "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
            "/usr/lib64/python3*/site-packages", "/usr/local/lib64/python3*/site-packages")
    return sorted({p for pat in pats for p in glob.glob(pat) if os.path.isdir(p) and not os.path.islink(p)})


def _bwrap_base_args():
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "65534", "--gid", "65534", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "lib32", "bin", "sbin"):
        p = "/" + name
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    for d in _system_site_dirs():
        args += ["--perms", "0555", "--size", "4096", "--tmpfs", d]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(1 << 20), "--tmpfs", "/dev/shm",
             "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    return args


_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}


def _deny_network():
    """Seccomp filter (setpriv mode, which has no network namespace): socket() for anything but
    AF_UNIX, io_uring_setup and x32 system calls fail with EACCES. Returns False where unsupported."""
    import ctypes  # noqa: PLC0415
    import platform  # noqa: PLC0415
    import struct  # noqa: PLC0415

    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None:
        return False
    audit, nr_socket = arch
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    deny, allow = 0x00050000 | 13, 0x7FFF0000
    prog = [(ld, 0, 0, 4),                 # 0 arch
            (jeq, 0, 7, audit),            # 1 another arch: allow (9)
            (ld, 0, 0, 0),                 # 2 system call number
            (jge, 4, 0, 0x40000000),       # 3 x32 ABI: deny (8)
            (jeq, 3, 0, 425),              # 4 io_uring_setup: deny
            (jeq, 0, 3, nr_socket),        # 5 not socket(): allow
            (ld, 0, 0, 16),                # 6 its domain
            (jeq, 1, 0, 1),                # 7 AF_UNIX: allow, else deny
            (ret, 0, 0, deny),             # 8
            (ret, 0, 0, allow)]            # 9
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Prog(len(prog), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


class _Run:
    """One sandboxed run of an assignment: the job folder, the limits, the command line of a child."""

    def __init__(self, mode, job_dir, slot, timeout, import_timeout, memory_mb, budget):
        self.mode, self.job_dir, self.slot = mode, job_dir, slot
        self.timeout, self.import_timeout, self.memory_mb, self.budget = timeout, import_timeout, memory_mb, budget
        self.end = float("inf")  # the assignment's deadline (time.monotonic), set when its cases start
        self.runtime = runtime_dir() if mode != "none" else None

    def command(self, start, info_fd):
        """(argv, env) of a child starting at item ``start``. Its stdout is the frame pipe (the child
        moves it to another descriptor and points fd 1 at stderr before any student code runs)."""
        j = self.job_dir
        ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        if self.mode == "none":
            return [sys.executable, "-I", "-B", os.path.join(j, "grader", "autograder", "child.py"),
                    os.path.join(j, "in"), str(start)], child_env()
        rt = self.runtime
        if self.mode == "setpriv":
            cmd = _setpriv_prefix(self.slot.uid) + [
                os.path.join(rt, "bin", ver), "-I", "-B", "-S",
                os.path.join(j, "grader", "autograder", "child.py"), os.path.join(j, "in"), str(start)]
            return cmd, child_env({"LD_LIBRARY_PATH": os.path.join(rt, "lib"), "HOME": os.path.join(j, "work"),
                                   "TMPDIR": os.path.join(j, "work")})
        args = (_setpriv_prefix(self.slot.uid) if self.slot else []) + ["bwrap"] + _bwrap_base_args() + [
            "--ro-bind", rt, "/mt/py", "--ro-bind", os.path.join(j, "in"), "/mt/in",
            "--ro-bind", os.path.join(j, "grader"), "/mt/grader", "--ro-bind", os.path.join(j, "sub"), "/mt/sub",
            "--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
        for k, v in child_env({"LD_LIBRARY_PATH": "/mt/py/lib", "HOME": "/tmp", "TMPDIR": "/tmp"}).items():
            args += ["--setenv", k, v]
        args += ["--info-fd", str(info_fd), "--", f"/mt/py/bin/{ver}", "-I", "-B", "-S",
                 "/mt/grader/autograder/child.py", "/mt/in", str(start)]
        return args, None

    def paths(self, n_subs):
        """(site paths, submission folders) as the child sees them."""
        j = self.job_dir
        if self.mode == "bwrap":
            return ["/mt/py/site"], [f"/mt/sub/{g}" for g in range(n_subs)]
        site = [os.path.join(self.runtime, "site")] if self.mode == "setpriv" else []
        return site, [os.path.join(j, "sub", str(g)) for g in range(n_subs)]


EXIT_NO_NETWORK_FILTER = 121  # the setpriv child's exit status when its seccomp filter cannot be installed


def _limits(mode, memory_mb, cpu_s):
    """preexec_fn setting the child's resource limits (POSIX)."""
    if mode == "none" or sys.platform == "win32":
        return None
    import resource  # noqa: PLC0415 - POSIX only

    nproc = NPROC
    if mode == "bwrap" and not _is_root():
        nproc = len(_uid_pids(os.getuid())) + 64 + NPROC  # counted over all of this user's processes

    def apply():
        if mode == "setpriv" and not _deny_network():
            os._exit(EXIT_NO_NETWORK_FILTER)  # no network filter: refuse to run student code
        for lim, val in ((resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_FSIZE, FSIZE_BYTES),
                         (resource.RLIMIT_CORE, 0), (resource.RLIMIT_CPU, int(cpu_s) + 1),
                         (resource.RLIMIT_NOFILE, 256), (resource.RLIMIT_AS, int(memory_mb) << 20)):
            if lim == resource.RLIMIT_AS and not memory_mb:
                continue
            try:
                resource.setrlimit(lim, (val, val))
            except (ValueError, OSError):
                pass
    return apply


# --------------------------------------------------------------------------- running cases
def run_cases(submission, assignment, items, inputs, timeout=DEFAULT_TIMEOUT_S, memory_mb=DEFAULT_MEMORY_MB,
              import_timeout=IMPORT_TIMEOUT_S, required_files=(), expect=None, mode=None, budget=DEFAULT_BUDGET_S,
              private=(), lm=False):
    """Run ``items`` (dicts with index, instance, case, dtype, dims, fd_seed and group, an index
    into ``submission``, a folder or a list of folders) in the sandbox.

    ``inputs``: {key: array} for the child (inputs and upstream gradients only — never expected
    values). ``expect``: {index: {result key: max elements}} — keys the parent accepts (others are
    dropped); None accepts any well-formed key within a generic cap. ``mode``: an isolation mode
    (default ``detect_mode()``). ``budget``: total wall seconds for all items. ``private``: extra
    paths (e.g. hidden fixtures) the setpriv uid must not be able to read. ``lm``: hw4's training-task
    items (``autograder.lm.run_item`` on a handed-in checkpoint): the child imports no submission.

    Returns {index: (arrays, errors)}, validated (numeric arrays within their caps, capped messages);
    a case that produced nothing gets an error. Raises SandboxError for a grader-side problem."""
    mode = mode or detect_mode()
    if mode not in MODES:
        raise SandboxError(f"unknown sandbox mode {mode!r}")
    out = {}
    subs = [submission] if isinstance(submission, str) else list(submission)
    if isolated(mode) and _is_root():
        _become_subreaper()
    slot = _UidSlot() if isolated(mode) and _is_root() else None
    try:
        if mode == "setpriv":
            check_private(secret_paths(private))
        parent = _job_parent() if slot is not None else None
        # Windows cannot delete a file a left-behind process still holds: a stray temp folder, not a traceback
        keep = {"ignore_cleanup_errors": True} if sys.platform == "win32" and sys.version_info >= (3, 10) else {}
        with tempfile.TemporaryDirectory(prefix=f"mtgrade-{os.getpid()}-", dir=parent, **keep) as job_dir:
            run = _Run(mode, job_dir, slot, timeout, import_timeout, memory_mb, budget)
            _write_job(run, subs, {"assignment": assignment, "items": items, "memory_mb": memory_mb,
                                   "required_files": list(required_files), "lm": bool(lm)}, inputs)
            _run_items(run, items, out, expect)
    finally:
        if slot is not None:
            slot.release()
    for it in items:
        out.setdefault(it["index"], ({}, {"forward": "no result came back from the sandbox"}))
    return out


def _write_job(run, subs, job, inputs):
    """The job folder: copies of the submissions and of the child-side grader, ``job`` (completed
    with the paths the child sees) and the inputs; as root, readable (never writable) by the
    sandbox uid, with a work folder of its own."""
    j = run.job_dir
    for g, s in enumerate(subs):
        _copy_submission(s, os.path.join(j, "sub", str(g)))
    _copy_grader(os.path.join(j, "grader"))
    os.makedirs(os.path.join(j, "in"))
    site, sub_paths = run.paths(len(subs))
    with open(os.path.join(j, "in", JOB_FILE), "w", encoding="utf-8") as f:
        json.dump(dict(job, submissions=sub_paths, paths=site), f)
    write_npz(os.path.join(j, "in", INPUTS_FILE), inputs)
    if run.slot is not None:
        _open_up(j)
        os.chmod(j, 0o711)
        work = os.path.join(j, "work")
        os.makedirs(work)
        os.chown(work, run.slot.uid, run.slot.uid)
        os.chmod(work, 0o700)


def _run_items(run, items, out, expect):
    """Run children until every item has a result or the budget is used up (the rest then fail with that)."""
    run.end = time.monotonic() + (run.budget if run.budget else float("inf"))
    pos = 0
    while pos < len(items):
        if time.monotonic() >= run.end:
            for it in items[pos:]:
                out.setdefault(it["index"], ({}, {"forward": (
                    f"not run: the assignment's total time budget of {run.budget:g} s was used up")}))
            break
        pos = _run_child(run, items, pos, out, expect)


def _describe_exit(code, mode):
    if code is None:
        return "the process did not exit"
    if mode == "bwrap" and code > 128 and code - 128 < 65:
        code = -(code - 128)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed: out of memory?)",
                 "SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}.get(name, "")
        return f"the process was killed by {name}{extra}"
    if code == EXIT_NO_NETWORK_FILTER and mode == "setpriv":
        return (f"the process exited with status {code}: the sandbox's network filter (seccomp) could not be "
                "installed, so student code was not run")
    return f"the process exited with status {code} (os._exit / sys.exit in student code?)"


def _decode(raw, expect):
    index, npz, js = raw
    allowed = None if expect is None or index not in expect else expect[index]
    try:
        errors = read_errors(js, allowed)
        arrays = read_arrays(npz, allowed)
    except ProtocolError as e:
        return {}, {"forward": f"the result of this test was rejected: {e}"}
    return arrays, errors


class _Pipes:
    """Reading several pipes with a timeout: select on POSIX, a thread per pipe on Windows (where
    select takes sockets only). ``wait`` returns [(fd, bytes)], b"" once at the end of a pipe."""

    def __init__(self, fds):
        self.open = list(fds)
        self.queue = None
        if sys.platform == "win32":  # pragma: no cover - local feedback on Windows
            import queue  # noqa: PLC0415

            self.queue = queue.Queue()
            for fd in fds:
                threading.Thread(target=self._pump, args=(fd,), daemon=True).start()

    def _pump(self, fd):  # pragma: no cover - Windows
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            self.queue.put((fd, chunk))
            if not chunk:
                return

    def wait(self, timeout):
        if self.queue is not None:  # pragma: no cover - Windows
            import queue  # noqa: PLC0415

            got = []
            try:
                got.append(self.queue.get(timeout=timeout))
                while True:
                    got.append(self.queue.get_nowait())
            except queue.Empty:
                pass
            return got
        ready, _, _ = select.select(self.open, [], [], timeout) if self.open else ([], [], [])
        out = []
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self.open.remove(fd)
            out.append((fd, chunk))
        return out


class _Watch:
    """What the parent knows about one running child, from its frames (``protocol``) and the clock.
    ``reason`` says why the parent stopped watching: done, fatal, protocol (a broken protocol,
    ``detail`` says how), exit (the child ended early), timeout or budget."""

    def __init__(self, run, items, start):
        self.run, self.items, self.start = run, items, start
        self.index_of = {it["index"]: k for k, it in enumerate(items)}
        self.pos, self.current = start, None    # the next item; the index of the case that started
        self.started = False                    # a case has started (the child is up)
        self.imported = False                   # the submission of the first case is imported
        self.deadline = min(time.monotonic() + run.import_timeout, run.end)
        self.reason, self.detail, self.fatal = None, "", None
        self.raw, self.raw_bytes = [], 0        # (index, npz, json) of each result, decoded later
        self.stderr_tail, self.info = b"", b""

    def violation(self, detail):
        self.reason, self.detail = "protocol", detail

    def on_frame(self, ev, now):
        kind = ev[0]
        if kind == START:
            self.on_start(ev[1], now)
        elif kind == IMPORTED:
            self.imported = True
        elif kind == RESULT:
            self.on_result(ev[1], ev[2], ev[3], now)
        elif kind == FATAL:
            self.on_fatal(ev[1])
        elif kind == DONE:
            if self.current is not None or self.pos != len(self.items):
                self.violation("an early end of the tests")
            else:
                self.reason = "done"

    def on_start(self, index, now):
        if self.current is not None or self.pos >= len(self.items) or index != self.items[self.pos]["index"]:
            return self.violation(f"an unexpected start of test {index}")
        self.current = index
        if not self.started:
            self.deadline = min(now + self.run.timeout, self.run.end)
        self.started = True

    def on_result(self, index, npz, js, now):
        if index != self.current:
            return self.violation(f"a result for test {index}, which is not running")
        self.raw.append((index, npz, js))
        self.raw_bytes += len(npz) + len(js)
        if self.raw_bytes > MAX_RUN_BYTES:
            self.raw.pop()
            return self.violation(f"more than {MAX_RUN_BYTES >> 20} MiB of results")
        self.pos, self.current = self.index_of[index] + 1, None
        self.deadline = min(now + self.run.timeout, self.run.end)  # the next case's deadline, set once

    def on_fatal(self, js):
        if self.started:
            return self.violation("a start-up error after the tests started")
        try:
            self.fatal = read_fatal(js)
        except ProtocolError as e:
            self.fatal = str(e)
        self.reason = "fatal"

    def victim(self):
        """The index of the case the child was running (or was to run next) when it stopped, or None."""
        if self.current is not None:
            return self.current
        return self.items[self.pos]["index"] if self.pos < len(self.items) else None

    def tail(self, limit):
        return clean_message(self.stderr_tail.decode("utf-8", "replace").strip(), limit)


def _spawn(run, start):
    """Start a child from item ``start``: (process, read ends of its frame, stderr and bwrap info pipes)."""
    r, w = os.pipe()
    er, ew = os.pipe()
    ir, iw = os.pipe()
    cmd, env = run.command(start, iw)
    cpu = max(10.0, min(run.end - time.monotonic(), 3600.0)) if run.end != float("inf") else 3600.0
    kw = {}
    if sys.platform != "win32":
        kw = dict(preexec_fn=_limits(run.mode, run.memory_mb, cpu), start_new_session=True, pass_fds=(iw,))
    try:
        proc = subprocess.Popen(cmd, cwd=os.path.join(run.job_dir, "work") if run.slot else None, env=env,
                                stdin=subprocess.DEVNULL, stdout=w, stderr=ew, close_fds=True, **kw)
    except OSError as e:
        for fd in (r, w, er, ew, ir, iw):
            os.close(fd)
        raise SandboxError(f"could not start the sandbox ({cmd[0]}): {e}") from None
    for fd in (w, ew, iw):
        os.close(fd)
    return proc, (r, er, ir)


def _watch(proc, fds, watch):
    """Read the child's pipes until ``watch.reason`` is set: its frames, the tail of its stderr,
    bwrap's info (the namespace's init pid), the end of its frame pipe, or a deadline."""
    frames, err, info = fds
    reader = FrameReader()
    pipes = _Pipes(fds)
    while watch.reason is None:
        left = watch.deadline - time.monotonic()
        if left <= 0:
            watch.reason = "budget" if watch.deadline >= watch.run.end else "timeout"
            break
        ready = pipes.wait(min(left, 1.0))
        if not ready and proc.poll() is not None:
            watch.reason = "exit"  # (a left-behind process may hold the pipe open: not waited for)
        for fd, chunk in ready:
            if fd == err:
                watch.stderr_tail = (watch.stderr_tail + chunk)[-STDERR_TAIL:]
            elif fd == info:
                watch.info = (watch.info + chunk)[:4096]
            elif not chunk:
                watch.reason = "exit"
            else:
                _on_frames(reader, chunk, watch)
            if watch.reason is not None:
                break


def _on_frames(reader, chunk, watch):
    try:
        events = reader.feed(chunk)
    except ProtocolError as e:
        return watch.violation(str(e))
    for ev in events:
        watch.on_frame(ev, time.monotonic())
        if watch.reason is not None:
            return None
    return None


def _run_child(run, items, start, out, expect):
    """Run one child from item ``start``; returns the position to continue from. Results are
    decoded only after every process of the child is dead."""
    proc, fds = _spawn(run, start)
    watch = _Watch(run, items, start)
    try:
        _watch(proc, fds, watch)
    finally:
        _kill(run, proc, watch.info, grace=2.0 if watch.reason == "exit" else 0.0)
        for fd in fds:
            os.close(fd)
    # every process of this child is dead from here on
    for raw in watch.raw:
        out[raw[0]] = _decode(raw, expect)
    return _after_child(run, proc, watch, out)


def _after_child(run, proc, watch, out):
    """Where to continue after a child stopped (``watch.reason``), with the failure of the case it
    stopped on in ``out``. A child that never started is a grader problem (SandboxError); one that
    crashed or hung importing the submission fails all of that submission's cases."""
    if watch.reason == "done":
        return len(watch.items)
    if watch.reason == "fatal":
        raise SandboxError(f"the sandbox could not start the tests ({run.mode}): {watch.fatal}")
    if not watch.started and watch.reason in ("exit", "timeout"):
        if watch.reason == "timeout":
            raise SandboxError(f"the sandbox did not start within {run.import_timeout:g} s ({run.mode})")
        raise SandboxError(f"the sandbox exited before the first test ({run.mode}): "
                           f"{_describe_exit(proc.returncode, run.mode)}; {watch.tail(600)}")
    victim = watch.victim()
    if victim is None:
        return watch.pos
    first = watch.items[watch.start]
    if not watch.imported and watch.reason in ("exit", "timeout") and victim == first["index"]:
        # importing the submission crashed or hung: every case of this submission would do the same
        msg = _import_failure(run, proc, watch)
        k = watch.start
        while k < len(watch.items) and watch.items[k]["group"] == first["group"]:
            out[watch.items[k]["index"]] = ({}, {"forward": msg})
            k += 1
        return k
    out[victim] = ({}, {"forward": _case_failure(run, proc, watch)})
    return watch.index_of[victim] + 1


def _import_failure(run, proc, watch):
    if watch.reason == "timeout":
        return (f"importing minitorch did not finish within {run.timeout:g} s "
                "(an infinite loop or a long computation at import time?)")
    return _crashed("importing minitorch crashed", run, proc, watch)


def _case_failure(run, proc, watch):
    if watch.reason == "budget":
        return (f"stopped: the assignment's total time budget of {run.budget:g} s was used up "
                "(the remaining tests were not run)")
    if watch.reason == "timeout":
        return (f"timed out: still running after {run.timeout:g} s wall time (an infinite loop, or far too slow); "
                "the test was stopped")
    if watch.reason == "protocol":
        return (f"the sandbox's result channel was misused ({watch.detail}): student code must not write to it; "
                "the test was stopped")
    return _crashed("crashed", run, proc, watch)


def _crashed(what, run, proc, watch):
    """'<what>: <how the child exited>', with the last 300 characters it printed."""
    tail = watch.tail(300)
    return f"{what}: {_describe_exit(proc.returncode, run.mode)}" + (f"; last output: {tail[-300:]}" if tail else "")


def _kill(run, proc, info, grace=0.0):
    """Kill the child and everything it started; return only once all of it is gone. ``grace``:
    seconds to let a child that is exiting by itself finish (so its exit status is its own)."""
    if grace:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if run.slot is not None:
        kill_uid(run.slot.uid)
        reap_uid(run.slot.uid, keep=(proc.pid,))  # its status is Popen's
    ns_init = _namespace_init(info)
    if ns_init and run.mode == "bwrap":
        try:
            os.kill(ns_init, signal.SIGKILL)
        except OSError:
            pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
    if run.slot is not None:
        reap_uid(run.slot.uid)  # e.g. bwrap's namespace init, re-parented to this subreaper
    if ns_init:
        _wait_gone(ns_init)
    if run.mode == "none" and proc.pid:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what the child left in its session
        except (ProcessLookupError, PermissionError, AttributeError):
            pass


def _namespace_init(info):
    """The pid of bwrap's namespace init from its ``--info-fd`` JSON, or None."""
    try:
        return int(json.loads(info.decode() or "{}").get("child-pid", 0)) or None
    except (ValueError, AttributeError):
        return None


def _wait_gone(pid, timeout=10.0):
    """Wait until ``pid`` is gone or a zombie (with it, every process of its PID namespace)."""
    t = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < t:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except (OSError, IndexError):
            break
        time.sleep(0.01)
