"""Running student code in a child process: wall time per test case, a memory cap, crashes
contained. The parent only ever receives arrays (.npz without pickle) and error strings.

One child runs the cases of an assignment in order (importing numpy and minitorch once). If a
case exceeds its wall time, or the child dies (segfault, ``os._exit``, out of memory), that case
is failed with a message saying what happened and a fresh child continues with the next case.
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from .fixtures import write_npz
from .tolerances import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

GRADER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
IMPORT_TIMEOUT_S = 60.0


def child_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINITORCH"))}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0",
               PYTHONDONTWRITEBYTECODE="1", PYTHONFAULTHANDLER="0")
    return env


def _describe_exit(code):
    if code is None:
        return "the process did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed: out of memory?)"}.get(name, "")
        return f"the process was killed by {name}{extra}"
    return f"the process exited with status {code} (os._exit / sys.exit in student code?)"


def _tail(path, n=600):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def run_cases(submission, assignment, items, inputs, timeout=DEFAULT_TIMEOUT_S, memory_mb=DEFAULT_MEMORY_MB,
              import_timeout=IMPORT_TIMEOUT_S, required_files=()):
    """Run ``items`` (dicts with index, instance, case, dtype, dims, fd_seed and optionally group,
    an index into ``submission`` when it is a list of folders) in the sandbox.

    ``inputs``: {key: array} for the child (inputs and upstream gradients only — never expected
    values). Returns {index: (arrays, errors)}; a case that produced nothing gets an error."""
    out = {}
    subs = [submission] if isinstance(submission, str) else list(submission)
    with tempfile.TemporaryDirectory(prefix="mtgrade-") as job_dir:
        res_dir = os.path.join(job_dir, "results")
        os.makedirs(res_dir)
        job = {"submissions": [os.path.abspath(s) for s in subs], "grader_root": GRADER_ROOT, "assignment": assignment,
               "items": items, "memory_mb": memory_mb, "required_files": list(required_files)}
        with open(os.path.join(job_dir, "job.json"), "w", encoding="utf-8") as f:
            json.dump(job, f)
        write_npz(os.path.join(job_dir, "inputs.npz"), inputs)
        work = os.path.join(job_dir, "cwd")
        os.makedirs(work)
        pos = 0
        while pos < len(items):
            pos = _run_child(job_dir, work, items, pos, timeout, import_timeout, out)
        for it in items:
            out.setdefault(it["index"], ({}, {"forward": "no result came back from the sandbox"}))
    return out


def _collect(res_dir, index):
    arrays, errors = {}, {}
    try:
        with np.load(os.path.join(res_dir, f"{index}.npz"), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        with open(os.path.join(res_dir, f"{index}.json"), encoding="utf-8") as f:
            errors = json.load(f).get("errors", {})
        if not isinstance(errors, dict):
            errors = {"forward": "malformed result"}
        errors = {str(k): str(v) for k, v in errors.items()}
    except Exception as e:  # noqa: BLE001 - tampered or truncated results
        return {}, {"forward": f"the result of this test could not be read back ({type(e).__name__})"}
    return arrays, errors


def _run_child(job_dir, work, items, start, timeout, import_timeout, out):
    """Run one child from item ``start``; returns the position to continue from."""
    res_dir = os.path.join(job_dir, "results")
    r, w = os.pipe()
    err_path = os.path.join(job_dir, f"stderr-{start}.txt")
    with open(err_path, "wb") as err, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            [sys.executable, "-I", CHILD, job_dir, str(w), str(start)], cwd=work, env=child_env(),
            stdin=devnull, stdout=subprocess.DEVNULL, stderr=err, pass_fds=(w,), start_new_session=True)
    os.close(w)
    index_of = {it["index"]: k for k, it in enumerate(items)}
    current = None
    deadline = time.monotonic() + import_timeout
    buf = b""
    pos = start
    reason = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = "timeout"
                break
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if not ready:
                if proc.poll() is not None and not _pipe_has_data(r):
                    reason = "exit"
                    break
                continue
            chunk = os.read(r, 65536)
            if not chunk:
                reason = "exit"
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                parts = line.decode("ascii", "replace").split()
                if not parts:
                    continue
                if parts[0] == "S" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) in index_of:
                    current = int(parts[1])
                    deadline = time.monotonic() + timeout
                elif parts[0] == "E" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) == current:
                    out[current] = _collect(res_dir, current)
                    pos = index_of[current] + 1
                    current = None
                    deadline = time.monotonic() + timeout
                elif parts[0] == "D":
                    reason = "done"
                elif parts[0] == "F":
                    reason = "fatal"
            if reason in ("done", "fatal"):
                break
    finally:
        os.close(r)
        _kill(proc)
    if reason == "done":
        return len(items)
    if reason == "fatal" or (current is None and reason in ("exit", "timeout") and pos == start):
        # the child never started a case: importing minitorch failed or hung
        try:
            with open(os.path.join(job_dir, "fatal.json"), encoding="utf-8") as f:
                msg = json.load(f)["error"]
        except Exception:  # noqa: BLE001
            if reason == "timeout":
                msg = (f"importing minitorch did not finish within {import_timeout:g} s "
                       "(an infinite loop at import time?)")
            else:
                msg = f"importing minitorch failed: {_describe_exit(proc.returncode)}; stderr: {_tail(err_path)}"
        group = items[start].get("group", 0)
        pos = start
        while pos < len(items) and items[pos].get("group", 0) == group:
            out[items[pos]["index"]] = ({}, {"forward": msg})
            pos += 1
        try:
            os.remove(os.path.join(job_dir, "fatal.json"))
        except OSError:
            pass
        return pos
    if current is None:
        # died between cases: continue after the last finished one
        return pos if pos > start else pos + 1
    if reason == "timeout":
        msg = (f"timed out: still running after {timeout:g} s wall time (an infinite loop, or far too slow); "
               "the test was stopped")
    else:
        msg = f"crashed: {_describe_exit(proc.returncode)}"
        tail = _tail(err_path, 300)
        if tail:
            msg += f"; last output: {tail}"
    out[current] = ({}, {"forward": msg})
    return index_of[current] + 1


def _pipe_has_data(fd):
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _kill(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
