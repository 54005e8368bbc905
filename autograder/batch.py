"""Grade many submissions (instructors):

    python -m autograder.batch SUBMISSIONS_DIR [--assignment hwN|all] [--hidden DIR] [--workers N]
                               [--out grades.csv] [--timeout S] [--student-timeout S] [--insecure]
                               [--overwrite] [--reference DIR] [--seed S]

Batch grading is official (see autograder/README.md, "Public, hidden and fresh cases"): the points
come from fresh instances, drawn once for the whole batch (one seed, printed and kept in every
report) and computed once by the reference minitorch, and from the hidden fixtures when given; the
public cases are feedback.

Every entry of SUBMISSIONS_DIR is one student: a folder holding minitorch/, or a tar of one
(handin.tar, .tar.gz, .tgz; the student is the name without the extension). Each student is graded
by a grader process of its own, from its own copy of the submission (``intake.py``), with student
code in the sandbox (``sandbox.py``), which sees only that copy: one submission's crash, hang or
kill of its grader fails that student alone (the gradebook says why) and the batch continues.

Writes a JSON report per student to <out>-reports/<student>.json, then the gradebook <out> (one row
per student: points per test, score, bonus (extra credit), total, error) last and atomically.
Temporary folders are removed whatever happens (also on Ctrl-C). Refuses to run without isolation
(bwrap or setpriv) unless --insecure is given, and refuses to overwrite an existing gradebook unless
--overwrite is given.
Exit status: 0 when every student was graded, 1 when some could not be, 2 for a grader error."""
import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from .fixtures import FixtureError
from .report import atomic_write, bonus_text
from .rubric import available_assignments, load_rubric
from .tolerances import DEFAULT_TIMEOUT_S

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
DEFAULT_STUDENT_TIMEOUT_S = 1800.0
MAX_REPORT_BYTES = 32 << 20


class BatchError(RuntimeError):
    pass


# --------------------------------------------------------------------------- isolation
def isolation(insecure=False, force=None):
    """(mode, description) of the sandbox every student will be graded in; raises BatchError when
    it is not an isolating one and ``insecure`` is not set. Uses ``sandbox.detect_mode`` /
    ``require_isolation`` (a sandbox module without them counts as mode none)."""
    from . import sandbox  # noqa: PLC0415

    detect = getattr(sandbox, "detect_mode", None)
    try:
        mode = detect(force) if detect else (force or "none")
        describe = getattr(sandbox, "describe_mode", lambda m: f"sandbox: {m}")
        require = getattr(sandbox, "require_isolation", None)
        if require is not None:
            require(mode, insecure, "batch grading")
        elif mode not in ("bwrap", "setpriv") and not insecure:
            raise BatchError("batch grading needs a sandbox (bwrap or setpriv), and none is available here; "
                             "--insecure grades anyway (students could read and change each other's work)")
    except BatchError:
        raise
    except Exception as e:  # noqa: BLE001 - SandboxError and friends: one clear line
        raise BatchError(str(e)) from None
    return mode, describe(mode)


# --------------------------------------------------------------------------- students
def _student_name(entry):
    for suffix in TAR_SUFFIXES:
        if entry.lower().endswith(suffix) and len(entry) > len(suffix):
            return entry[:-len(suffix)]
    return entry


def _safe(name):
    """A file name for ``name`` (reports are written under the gradebook's folder)."""
    s = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip(".")
    return s[:100] or "_"


def students(directory):
    """[(student, path)] for every folder or tar in ``directory`` (dot files skipped). Two entries
    naming the same student (alice/ and alice.tar) both keep their full entry name."""
    if not os.path.isdir(directory):
        raise BatchError(f"{directory}: not a folder of submissions")
    entries = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path) or (os.path.isfile(path) and name.lower().endswith(TAR_SUFFIXES)):
            entries.append((name, path))
    stems = [_student_name(n) for n, _ in entries]
    return [(_student_name(n) if stems.count(_student_name(n)) == 1 else n, p) for n, p in entries]


def _file_names(names):
    """{student: unique safe file name} for the per-student reports."""
    out, used = {}, set()
    for name in names:
        base = candidate = _safe(name)
        k = 1
        while candidate in used:
            k += 1
            candidate = f"{base}~{k}"
        used.add(candidate)
        out[name] = candidate
    return out


# --------------------------------------------------------------------------- one student
_CHILD = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from autograder.__main__ import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def _assignment_arg(assignments):
    """The grader's positional argument for ``assignments``: one of them, or all."""
    if len(assignments) == 1:
        return assignments[0]
    if sorted(assignments) == sorted(available_assignments()):
        return "all"
    raise BatchError(f"grade one assignment or all of them, not {', '.join(assignments)}")


class _Runner:
    """Runs one grader process per student and can kill all of them at once (Ctrl-C)."""

    def __init__(self, tmp_root, timeout, student_timeout, hidden, mode, tests, memory_mb=None, insecure=False,
                 fresh_dir=None):
        self.tmp_root, self.timeout, self.student_timeout = tmp_root, timeout, student_timeout
        self.hidden, self.mode, self.tests, self.memory_mb = hidden, mode, tests, memory_mb
        self.insecure, self.fresh_dir = insecure, fresh_dir
        self.procs, self.lock, self.stopping = {}, threading.Lock(), False

    def argv(self, assignments, path, out):
        from .__main__ import build_parser  # noqa: PLC0415

        known = build_parser()._option_string_actions  # noqa: SLF001 - which options this grader has
        args = [_assignment_arg(assignments)]
        args += ["--submission", os.path.abspath(path), "--format", "json", "--out", out,
                 "--timeout", str(self.timeout)]
        args += ["--official"]
        if self.fresh_dir:
            args += ["--fresh-dir", self.fresh_dir]
        if self.hidden:
            args += ["--hidden", os.path.abspath(self.hidden)]
        if self.memory_mb:
            args += ["--memory", str(self.memory_mb)]
        for t in self.tests or ():
            args += ["--test", t]
        if "--sandbox" in known and self.mode:
            args += ["--sandbox", self.mode]
        if "--insecure" in known and self.insecure:
            args += ["--insecure"]
        return args

    def grade(self, student, path, assignments):
        """(report or None, error message)."""
        if self.stopping:
            return None, "not graded: the batch was interrupted"
        tmp = tempfile.mkdtemp(prefix="student-", dir=self.tmp_root)
        os.chmod(tmp, 0o711)  # a sandbox uid may need to pass through (never to list it)
        out = os.path.join(tmp, "report.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["TMPDIR"] = tmp  # every temporary folder of this student's grading lies under tmp
        cmd = [sys.executable, "-I", "-c", _CHILD, ROOT] + self.argv(assignments, path, out)
        t0 = time.monotonic()
        with open(os.path.join(tmp, "stderr.txt"), "wb") as err:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True)
        with self.lock:
            self.procs[student] = proc
        if self.stopping:
            _kill_group(proc)
        try:
            try:
                rc = proc.wait(timeout=self.student_timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return None, f"grading did not finish within {self.student_timeout:g} s (stopped)"
        finally:
            with self.lock:
                self.procs.pop(student, None)
            _kill_group(proc)
            _kill_leftovers(tmp)
        if self.stopping:
            return None, "not graded: the batch was interrupted"
        if rc == 2 and _tail(os.path.join(tmp, "stderr.txt")).startswith("autograder: "):
            # the grader's own one-line refusal (an unusable submission: no minitorch/, a tar bomb, ...)
            return None, _tail(os.path.join(tmp, "stderr.txt"))[len("autograder: "):]
        if rc != 0:
            why = (f"killed by {_signal_name(-rc)}" if rc < 0 else f"exit status {rc}")
            tail = _tail(os.path.join(tmp, "stderr.txt"))
            return None, f"the grader process for this student failed ({why}" + \
                (f"; {tail}" if tail else "") + f"; after {time.monotonic() - t0:.0f} s)"
        try:
            if os.path.getsize(out) > MAX_REPORT_BYTES:
                return None, "the report is too large"
            with open(out, encoding="utf-8") as f:
                report = json.load(f)
            float(report["score"])
            if not isinstance(report.get("assignments"), list):
                raise ValueError("no assignments")
        except (OSError, ValueError, KeyError, TypeError) as e:
            return None, f"the grader wrote no usable report ({type(e).__name__})"
        return report, ""

    def stop(self):
        self.stopping = True
        with self.lock:
            procs = list(self.procs.values())
        for p in procs:
            _kill_group(p)


def _signal_name(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _tail(path, n=300):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - n))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:n] if lines else ""
    except OSError:
        return ""


def _kill_group(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def _kill_leftovers(folder):
    """Kill processes still running from this student's temporary folder (a sandboxed child whose
    grader was killed; in the isolating modes the sandbox already guarantees this). Linux only."""
    if not os.path.isdir("/proc"):
        return
    needle = os.fsencode(folder) + b"/"
    deadline = time.monotonic() + 10.0
    while True:  # SIGKILL is asynchronous: check again until none is left (a loaded machine needs a moment)
        found = _processes_under(needle)
        if not found or time.monotonic() > deadline:
            return
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


def _processes_under(needle):
    """pids (not ours) whose command line or working directory names the folder ``needle`` (bytes, ending in /);
    zombies have an empty command line and no cwd, so they are not counted."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            cwd = os.readlink(f"/proc/{name}/cwd").encode() + b"/"
        except OSError:
            continue
        if needle in cmdline or cwd.startswith(needle):
            found.append(int(name))
    return found


# --------------------------------------------------------------------------- batch
def _shutdown_workers(ex, runner):
    """Wait until no worker thread runs (a worker may be starting a student's grader right now: it sees
    ``runner.stopping`` and kills it), even through further Ctrl-Cs, so nothing is left once we return."""
    while True:
        try:
            ex.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            runner.stop()


def _as_completed_interruptibly(futures, poll_s=0.2):
    """The futures as they finish, waking every ``poll_s`` seconds: a Ctrl-C may be delivered to a worker
    thread, and the main thread (the only one that raises KeyboardInterrupt) must not sleep until a student
    finishes before it notices."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
        yield from done


def grade_all(directory, assignments, hidden=None, workers=2, timeout=DEFAULT_TIMEOUT_S, tests=None,
              insecure=False, student_timeout=DEFAULT_STUDENT_TIMEOUT_S, sandbox=None, memory_mb=None,
              progress=None, reference=None, seed=None):
    """[(student, report or None, error)] in student order. Every temporary folder is removed before
    this returns or raises (KeyboardInterrupt included). ``progress(student, report, error, done,
    total)`` is called as each student finishes. Official grading: the fresh instances (``seed``, or
    a new one; the reference at ``reference``, or this grader's repository) are computed once here
    and graded by every student's grader process."""
    from .grade import official_fresh  # noqa: PLC0415

    mode, _ = isolation(insecure, sandbox)
    _assignment_arg(assignments)
    entries = students(directory)
    if mode == "setpriv":
        _check_private_for_setpriv(directory, hidden)
    if mode in ("bwrap", "setpriv") and hasattr(os, "geteuid") and os.geteuid() == 0:
        _check_reachable(tempfile.gettempdir())
    fresh = official_fresh(assignments, hidden, reference, seed, tests)
    tmp_root = tempfile.mkdtemp(prefix="mtbatch-")
    os.chmod(tmp_root, 0o711)
    runner = _Runner(tmp_root, timeout, student_timeout, hidden, mode, tests, memory_mb, insecure,
                     fresh.dir if fresh is not None else None)
    results = {}
    ex = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = {ex.submit(runner.grade, s, p, assignments): s for s, p in entries}
        for fut in _as_completed_interruptibly(futures):
            student = futures[fut]
            try:
                results[student] = fut.result()
            except Exception as e:  # noqa: BLE001 - one student's failure is that student's row
                results[student] = (None, f"grading failed: {type(e).__name__}: {e}")
            if progress is not None:
                progress(student, *results[student], len(results), len(entries))
    finally:
        runner.stop()
        _shutdown_workers(ex, runner)
        _kill_leftovers(tmp_root)
        shutil.rmtree(tmp_root, ignore_errors=True)
        if fresh is not None:
            fresh.close()
    return [(s, *results[s]) for s, _ in entries]


def _check_private_for_setpriv(directory, hidden):
    """The setpriv uid reads whatever other users may: refuse before any student starts when the
    submissions (classmates' work), the fixtures or the hidden fixtures are readable to it."""
    from . import sandbox as sb  # noqa: PLC0415

    check, secrets = getattr(sb, "check_private", None), getattr(sb, "secret_paths", None)
    if check is None or secrets is None:
        return
    try:
        check(secrets([hidden] if hidden else []) + [os.path.abspath(directory)])
    except Exception as e:  # noqa: BLE001 - SandboxError: one clear line
        raise BatchError(f"{e} (the submissions folder must be private too: students could read each "
                         "other's work)") from None


def _check_reachable(folder):
    """As root the sandbox runs student code as another uid, which must pass through every folder
    above the run's temporary folders."""
    path = os.path.abspath(folder)
    while True:
        if not os.stat(path).st_mode & 0o001:
            raise BatchError(f"the temporary folder {folder} lies under {path}, which other users cannot enter "
                             "(the sandbox uid must): set TMPDIR to a folder such as /tmp")
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def _atomic_write(path, write):
    atomic_write(path, write, newline="", prefix=".tmp-")  # newline="": the csv module writes its own line ends


def _cell(text):
    """A text cell a spreadsheet will not run as a formula (names and messages may come from students)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_gradebook(results, assignments, out, overwrite=True):
    """Per-student JSON reports in <out>-reports/, then the gradebook ``out`` (atomically, last)."""
    if not overwrite and os.path.exists(out):
        raise BatchError(f"{out} exists: pass --overwrite to replace it, or choose another --out")
    columns = [f"{a}:{t}" for a in assignments for t in load_rubric(a).tests]
    report_dir = os.path.splitext(out)[0] + "-reports"
    os.makedirs(report_dir, exist_ok=True)
    names = _file_names([s for s, _, _ in results])
    rows = []
    for student, report, error in results:
        row = {c: "" for c in columns}
        score = bonus = 0.0
        if report is not None:
            for a in report["assignments"]:
                for t in a.get("tests", []):
                    key = f"{a.get('assignment')}:{t.get('test')}"
                    if key in row:
                        row[key] = round((row[key] or 0) + float(t.get("points", 0)), 2)
            score, bonus = float(report["score"]), float(report.get("bonus", 0))
            _atomic_write(os.path.join(report_dir, f"{names[student]}.json"),
                          lambda f, r=report: json.dump(r, f, indent=1))
        rows.append([_cell(student)] + [row[c] for c in columns]
                    + [round(score, 2), round(bonus, 2), round(score + bonus, 2), _cell((error or "")[:500])])

    def write(f):
        w = csv.writer(f)
        # score: of the regular points (100 per assignment); bonus: extra credit on top; total: their sum
        w.writerow(["student"] + columns + ["score", "bonus", "total", "error"])
        w.writerows(rows)
    _atomic_write(out, write)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.batch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions")
    p.add_argument("--assignment", default="all")
    p.add_argument("--hidden", default=None, help="a hidden fixture set (graded with the fresh instances)")
    p.add_argument("--reference", default=None, metavar="DIR",
                   help="the folder holding the reference minitorch/ (default: this grader's repository)")
    p.add_argument("--seed", type=int, default=None, help="seed of the fresh instances (default: a new one)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="wall-time limit per test case (s)")
    p.add_argument("--student-timeout", type=float, default=DEFAULT_STUDENT_TIMEOUT_S,
                   help="wall-time limit for grading one student (s)")
    p.add_argument("--memory", type=int, default=None, help="memory cap of student code (MiB)")
    p.add_argument("--test", action="append", default=None, help="grade only this test (repeatable)")
    p.add_argument("--out", default="grades.csv")
    p.add_argument("--overwrite", action="store_true", help="replace an existing gradebook")
    p.add_argument("--sandbox", default=None, choices=["bwrap", "setpriv", "none"],
                   help="force an isolation mode (default: the best available)")
    p.add_argument("--insecure", action="store_true",
                   help="grade even without isolation (students could read and change each other's work)")
    args = p.parse_args(argv)
    if args.assignment != "all" and args.assignment not in available_assignments():
        p.error(f"no rubric for {args.assignment}; choose from {', '.join(available_assignments())} or all")
    assignments = available_assignments() if args.assignment == "all" else [args.assignment]
    try:
        if not args.overwrite and os.path.exists(args.out):
            raise BatchError(f"{args.out} exists: pass --overwrite to replace it, or choose another --out")
        mode, described = isolation(args.insecure, args.sandbox)
        print(f"batch: {described}", file=sys.stderr)
        if args.hidden and not os.path.isdir(args.hidden):
            raise BatchError(f"--hidden {args.hidden}: no such folder")
        def progress(student, report, error, done, total):
            what = (f"{report['score']:.2f} / {report['max_score']:.2f}{bonus_text(report)}" if report
                    else f"not graded: {error[:200]}")
            print(f"[{done}/{total}] {student}: {what}", file=sys.stderr, flush=True)

        results = grade_all(args.submissions, assignments, args.hidden, args.workers, args.timeout, args.test,
                            args.insecure, args.student_timeout, mode, args.memory, progress, args.reference,
                            args.seed)
        write_gradebook(results, assignments, args.out, overwrite=True)
    except (BatchError, FixtureError) as e:
        print(f"batch: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("batch: interrupted; no gradebook written (temporary folders removed)", file=sys.stderr)
        return 130
    failed = [s for s, r, _ in results if r is None]
    seeds = sorted({r["fresh"]["seed"] for _, r, _ in results if r is not None and r.get("fresh")})
    print(f"wrote {args.out}: {len(results)} students" + (f", {len(failed)} not graded: {', '.join(failed[:10])}"
                                                          if failed else "")
          + (f"; fresh instances: seed {seeds[0]}" if seeds else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
