"""What the command-line tools (train, generate, evaluate, viz, flops) share: one-line errors, strict flag
parsing, checks of corpus paths, the CuPy install hint and the BLAS thread setting.

Every user error ends a tool with one line on stderr and exit status 2::

    minitorch.train: error: <what went wrong> (<how to fix it>)

and no traceback (``--debug`` shows it). Library functions raise ``UsageError`` (``minitorch.errors``);
``run_main`` turns it, and the library's own errors (corrupt checkpoints, missing corpora, tokenizer errors, an
unusable GPU), into that line.
"""
import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
import traceback

from .. import backend
from ..backend import BackendUnavailableError
from ..checkpoint import CheckpointError
from ..data import CorpusError, TokenizerError, corpora, load_corpus, tinyshakespeare_path
from ..errors import UsageError
from ..generation import GenerationError
from ..models.registry import checkpoint_file  # noqa: F401 - the tools import it from here with the rest

# Errors that are the user's to fix (a file, a flag, the machine), reported in one line.
USER_ERRORS = (UsageError, CheckpointError, CorpusError, TokenizerError, BackendUnavailableError, GenerationError)


def one_line(message):
    """``message`` on one line (newlines inside library messages become '; ')."""
    return "; ".join(part.strip() for part in str(message).strip().splitlines() if part.strip())


def fail(tool, message):
    """Print ``minitorch.<tool>: error: <message>`` and exit with status 2."""
    print(f"minitorch.{tool}: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(2)


def run_main(tool, body, argv=None):
    """Run ``body(argv)``; a user error becomes one line on stderr and exit status 2 (a traceback only with
    ``--debug``). Returns what ``body`` returns."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        return body(argv)
    except USER_ERRORS as err:
        if debug:
            traceback.print_exc()
        if isinstance(err, CheckpointError):
            fail(tool, f"{err} (use another checkpoint, e.g. the run's best.ckpt or last.ckpt, or train again)")
        fail(tool, err)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"minitorch.{tool}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        raise SystemExit(0) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        if debug:
            traceback.print_exc()
        name = err.filename or ""
        fail(tool, f"{err.strerror}: {name}" if name else str(err))


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``minitorch.<tool>: error: ... (see --help)``, exit 2,
    instead of the whole usage."""

    def __init__(self, tool, **kwargs):
        self.tool = tool
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs["prog"] = kwargs.get("prog") or f"python -m minitorch.{tool}"
        super().__init__(**kwargs)

    def error(self, message):
        print(f"minitorch.{self.tool}: error: {one_line(message)} (see python -m minitorch.{self.tool} --help)",
              file=sys.stderr)
        raise SystemExit(2)

    def add_debug(self):
        self.add_argument("--debug", action="store_true", help="show the full traceback of an error")

    def add_threads(self, when=""):
        """``--threads N|auto`` (default auto, see ``auto_threads``); ``when``: a prefix for its help."""
        self.add_argument("--threads", type=parse_threads, default="auto", metavar="N", help=when + THREADS_HELP)


_TRUE, _FALSE = ("1", "true", "yes", "y", "on"), ("0", "false", "no", "n", "off")


def parse_bool(text):
    """'true'/'false' (also yes/no, on/off, 1/0); anything else is an error, never a silent False."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}: use true or false")


def positive_float(text):
    """A finite float > 0 (learning rates and the like)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


# ----------------------------------------------------------------------------- paths
def check_text(text, where):
    """Refuse a corpus that is empty or binary (NUL bytes or mostly control characters)."""
    if not text.strip():
        raise UsageError(f"the corpus {where} is empty", "give a UTF-8 text file with some text in it")
    sample = text[:100_000]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f\v")
    if "\x00" in sample or controls > 0.01 * len(sample):
        raise UsageError(f"the corpus {where} looks binary ({controls} control characters in its first "
                         f"{len(sample):,})", "give a UTF-8 text file")


# ----------------------------------------------------------------------------- corpora
def resolve_corpus(name):
    """'auto' means TinyShakespeare when it is available offline, else the python-stdlib corpus."""
    if name != "auto":
        return name
    try:
        tinyshakespeare_path(download=False)
        return "tinyshakespeare"
    except CorpusError:
        return "python-stdlib"


def sha256_text(text):
    """The sha256 of ``text`` encoded as UTF-8 (what run configs record)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_run_corpus(spec, say=None):
    """(text, info) for corpus ``spec`` ('auto', a name or a path). ``info`` records what was resolved:
    name, path (None for python-stdlib), sha256 of the text, characters; ``say`` gets a message when
    'auto' falls back to python-stdlib."""
    name = resolve_corpus(spec)
    if spec == "auto" and name == "python-stdlib" and say is not None:
        say(f"TinyShakespeare was not found ({_tinyshakespeare_places()}), so this run trains on python-stdlib, "
            "this Python's standard-library sources, instead. To get TinyShakespeare (1.1 MB): python -c "
            "\"from minitorch.data import tinyshakespeare_path; print(tinyshakespeare_path())\", or set "
            "MINITORCH_DATA to your copy (the file or its folder)")
    key = str(name).lower()
    if key in _CORPUS_NAMES["tinyshakespeare"]:
        name, path = "tinyshakespeare", tinyshakespeare_path()
    elif key in _CORPUS_NAMES["python-stdlib"]:
        name, path = "python-stdlib", None
    else:
        path = os.path.abspath(os.fspath(name))
        if os.path.isdir(path):
            raise UsageError(f"--corpus {name} is a directory",
                             "give a UTF-8 text file, or auto, tinyshakespeare or python-stdlib")
        if not os.path.exists(path):
            raise UsageError(f"--corpus {name}: no such file, and not a corpus name",
                             "use auto, tinyshakespeare, python-stdlib or the path of a UTF-8 text file")
    try:
        text = load_corpus(name)
    except CorpusError as err:
        if path is None or name == "tinyshakespeare" or "UTF-8" not in str(err):
            raise
        raise UsageError(f"the corpus {path} is not UTF-8 text, it looks binary", "give a UTF-8 text file") from None
    check_text(text, repr(name) if path is None or name == "tinyshakespeare" else path)
    info = {"name": name, "path": path, "sha256": sha256_text(text), "chars": len(text)}
    return text, info


_CORPUS_NAMES = {"tinyshakespeare": ("tinyshakespeare", "tiny-shakespeare", "shakespeare"),
                 "python-stdlib": ("python-stdlib", "stdlib")}


def _tinyshakespeare_places():
    env = os.environ.get("MINITORCH_DATA")
    where = [f"MINITORCH_DATA={env}" + ("" if os.path.exists(env) else " does not exist")] if env else \
        ["MINITORCH_DATA is not set"]
    where.append(f"nor in {corpora.cache_dir()}")
    return ", ".join(where)


def describe_corpus(info):
    path = info.get("path")
    where = f" at {path}" if path and info["name"] != "python-stdlib" and path != info["name"] else ""
    return f"{info['name']}{where} ({info['chars']:,} chars, sha256 {info['sha256'][:12]})"



# ----------------------------------------------------------------------------- GPU
def cupy_install_hint():
    """The command that adds CuPy to this installation of minitorch."""
    try:
        dist = importlib.metadata.distribution("minitorch-course")
    except importlib.metadata.PackageNotFoundError:
        return "pip install cupy-cuda12x (cupy-cuda11x for CUDA 11)"
    editable = False
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        editable = bool(direct.get("dir_info", {}).get("editable"))
    except ValueError:
        pass
    if editable:  # reinstalling from PyPI would replace the checkout: add CuPy alone
        return "pip install cupy-cuda12x (cupy-cuda11x for CUDA 11), or pip install -e \".[gpu]\" in the checkout"
    return "pip install \"minitorch-course[gpu]\" (CuPy for CUDA 12)"


def require_device(device):
    """Raise a UsageError unless ``device`` ('cpu' or 'cuda') can be used here."""
    if device != "cuda":
        return
    if backend.cupy_available():
        return
    if importlib.util.find_spec("cupy") is None:
        raise UsageError("--device cuda needs CuPy, which is not installed",
                         f"{cupy_install_hint()}; or use --device cpu")
    raise UsageError("--device cuda: CuPy is installed but no CUDA GPU is usable here",
                     "check nvidia-smi and that the CuPy package matches your CUDA version; or use --device cpu")


# ----------------------------------------------------------------------------- threads
def _int_from(text, minimum, expected):
    """int(text) if it is at least ``minimum``, else an argparse error; ``expected`` names the value wanted."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use {expected}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {'at least 1' if minimum == 1 else f'{minimum} or more'}, "
                                         f"got {value}")
    return value


def positive_int(text, what="integer"):
    """An int >= 1 (sizes, counts); ``what`` names the expected value in the error."""
    return _int_from(text, 1, f"a positive {what}")


def seed_int(text):
    """A random seed: an int >= 0 (NumPy's generators take no negative seeds)."""
    return _int_from(text, 0, "an integer 0 or more")


def parse_threads(text):
    """``--threads`` and ``--procs``: 'auto' or a positive integer."""
    return text if text == "auto" else positive_int(text, "integer or 'auto'")


parse_procs = parse_threads  # --procs takes the same values


def usable_cores():
    """CPU cores this process may run on: its affinity mask where the OS has one (else the machine's count),
    capped by its cgroup's CPU quota where it has one (a container started with ``docker run --cpus 2``, a
    Kubernetes CPU limit: the affinity mask still shows every core of the host), rounded down, at least 1."""
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return cores if quota is None else max(1, min(cores, int(quota)))


def cgroup_cpu_quota(root="/sys/fs/cgroup", own="/proc/self/cgroup"):
    """The CPUs (quota / period) that a cgroup CPU quota allows this process, or None where there is none.

    Reads cgroup v2's ``cpu.max`` ("max 100000": no quota) and v1's ``cpu/cpu.cfs_quota_us`` (-1: none) with
    ``cpu.cfs_period_us``, at the root as a container sees it and at this process's own cgroup path (from
    ``own``); the smallest quota found counts. Unreadable or malformed files count as no quota."""
    paths = [""]
    try:
        with open(own, encoding="utf-8") as fh:
            for line in fh:  # "0::/path" (v2), "4:cpu,cpuacct:/path" (v1)
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if path not in ("", "/") and (controllers == "" or "cpu" in controllers.split(",")):
                    paths.append(path)
    except (OSError, ValueError):
        pass
    quotas = []
    for path in dict.fromkeys(paths):
        quotas += [q for q in (_v2_quota(f"{root}{path}/cpu.max"), _v1_quota(f"{root}/cpu{path}")) if q]
    return min(quotas) if quotas else None


def _v2_quota(path):
    try:
        with open(path, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(folder):
    try:
        with open(f"{folder}/cpu.cfs_quota_us", encoding="ascii") as fq, \
                open(f"{folder}/cpu.cfs_period_us", encoding="ascii") as fp:
            quota, period = int(fq.read()), int(fp.read())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError, ZeroDivisionError):
        return None


def idle_cores(window=0.25):
    """How many cores sat idle over the last ``window`` seconds (Linux: two reads of /proc/stat), else
    ``cores - 1-minute load average``, else None. A short sample sees the machine as it is now; the load
    average still remembers a job that ended a minute ago."""
    try:
        def sample():
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
            return fields[3] + fields[4], sum(fields[:8])  # idle + iowait, all but guest time
        idle0, total0 = sample()
        time.sleep(window)
        idle1, total1 = sample()
        if total1 > total0:
            return (os.cpu_count() or 1) * (idle1 - idle0) / (total1 - total0)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return (os.cpu_count() or 1) - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        return None


THREADS_HELP = ("BLAS threads: a number, or auto = one per core that is idle when the tool starts (every core "
                "on an idle machine, 1 on a busy one, where more threads slow small matrix products down) "
                "(default: auto)")


def auto_threads(model=None, cores=None, idle=None):
    """The thread count ``--threads auto`` means: one per core that is idle now (at least 1).

    Every core on an idle machine, one thread on a busy one. OpenBLAS threads that wait for a busy core cost
    far more than they gain (a 2-core machine under load 2-3 ran the baby-GPT step 4x slower with 2 threads,
    bench/results/cli-threads-2core.txt), while on an idle machine 2 threads beat 1 (baby-GPT 52 against 70
    ms/step, bench/results/recipe-gpt-idle-2threads.txt). ``model`` is accepted for the callers' sake; the
    rule does not depend on its size. Where idleness cannot be measured, every core.
    """
    cores = usable_cores() if cores is None else cores
    if idle is None:
        idle = idle_cores()
    if idle is None:
        return cores
    return max(1, min(cores, int(idle + 0.5)))


def set_threads(threads, auto=1):
    """Limit the BLAS thread pool to ``threads`` ('auto' means ``auto``); returns a phrase for the header,
    e.g. '1 BLAS thread'. Uses threadpoolctl (NumPy has loaded its BLAS by now, so environment variables
    would come too late)."""
    n = auto if threads == "auto" else int(threads)
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:
        return "BLAS threads not set (pip install threadpoolctl)"
    threadpool_limits(limits=n, user_api="blas")
    how = " (auto)" if threads == "auto" else ""
    return f"{n} BLAS thread{'s' if n != 1 else ''}{how}"
