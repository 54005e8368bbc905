"""python -m autograder [hw1|hw2|hw3|hw4|all] [--submission PATH] [--format text|json|gradescope|autolab]
                       [--hidden FIXTURE_DIR] [--official [--reference DIR] [--seed S]]
                       [--timeout S] [--memory MB] [--out FILE] [--test NAME ...]
                       [--sandbox auto|bwrap|setpriv|none] [--insecure] [--budget S]

Grades a minitorch implementation (the installed one by default, or the package inside a
submission folder or handin.tar) and prints a scorecard. Exit status: 0 graded, 2 grader error
(missing/altered fixtures, bad arguments, no sandbox where one is required).

Student code runs in a sandbox (``sandbox.py``): bwrap, else setpriv as root, else none (local
feedback only); every report names the one used. ``--format gradescope|autolab`` grade for the
record and refuse to run without isolation unless ``--insecure`` is given."""
import argparse
import os
import sys

from . import ASSIGNMENTS
from .fixtures import FixtureError
from .fresh import FreshDir
from .grade import SubmissionError, grade
from .report import FORMATS
from .rubric import available_assignments
from .sandbox import MODES, SandboxError, detect_mode, require_isolation
from .tolerances import DEFAULT_BUDGET_S, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

RECORD_FORMATS = ("gradescope", "autolab")
OFFICIAL_FORMATS = RECORD_FORMATS  # these grade officially (see grade.grade)


def build_parser(prog="python -m autograder"):
    p = argparse.ArgumentParser(prog=prog, description="Grade a minitorch implementation.")
    p.add_argument("assignment", nargs="?", default="all", choices=list(ASSIGNMENTS) + ["all"])
    p.add_argument("--submission", default=None, help="a folder holding minitorch/, or a handin.tar")
    p.add_argument("--format", default="text", choices=sorted(FORMATS))
    p.add_argument("--hidden", default=None, metavar="FIXTURE_DIR", help="also grade against hidden fixtures")
    p.add_argument("--official", action="store_true",
                   help="official grading: points from unseen cases only (fresh instances, hidden fixtures); "
                        "implied by --format gradescope|autolab")
    p.add_argument("--reference", default=None, metavar="DIR",
                   help="official: the folder holding the reference minitorch/ that computes the fresh "
                        "instances (default: this grader's repository)")
    p.add_argument("--seed", type=int, default=None,
                   help="official: the seed of the fresh instances (default: a new one, printed in the report)")
    p.add_argument("--fresh-dir", default=None, help=argparse.SUPPRESS)  # batch: fresh instances drawn once
    p.add_argument("--fixtures", default=None, metavar="DIR", help="public fixture folder (default: the package's)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="wall-time limit per test case (s)")
    p.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, help="memory cap of student code (MiB)")
    p.add_argument("--test", action="append", default=None, help="grade only this test (repeatable)")
    p.add_argument("--out", default=None, help="write the report here instead of stdout")
    p.add_argument("--verbose", action="store_true", help="text format: list every failed check")
    p.add_argument("--sandbox", default=None, choices=["auto"] + list(MODES),
                   help="isolation of student code (default: $MINITORCH_SANDBOX, else auto: bwrap, setpriv, none)")
    p.add_argument("--insecure", action="store_true",
                   help="allow --format gradescope/autolab without a sandbox (never for real grades)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S,
                   help="total wall time for the cases of one assignment (s)")
    return p


def write_report(path, text):
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, then rename):
    a reader never sees a partial report, and a link planted at ``path`` is replaced, not followed."""
    import tempfile  # noqa: PLC0415

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".report-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.assignment == "all":
        assignments = available_assignments()
    else:
        assignments = [args.assignment]
        if args.assignment not in available_assignments():
            print(f"autograder: no rubric for {args.assignment} yet", file=sys.stderr)
            return 2
    try:
        mode = detect_mode(None if args.sandbox in (None, "auto") else args.sandbox)
        if args.format in RECORD_FORMATS:
            require_isolation(mode, args.insecure, f"--format {args.format}")
        fresh = FreshDir(args.fresh_dir) if args.fresh_dir else None
        # every sandboxed process is dead when grade() returns: the report is written after that
        report = grade(assignments, args.submission, fixtures_dir=args.fixtures, hidden_dir=args.hidden,
                       timeout=args.timeout, memory_mb=args.memory, tests=args.test, mode=mode,
                       budget=args.budget,
                       official=args.official or args.format in OFFICIAL_FORMATS or fresh is not None,
                       reference=args.reference, seed=args.seed, fresh=fresh)
    except (FixtureError, SubmissionError, SandboxError) as e:
        print(f"autograder: {e}", file=sys.stderr)
        return 2
    fmt = FORMATS[args.format]
    out = fmt(report, verbose=args.verbose) if args.format == "text" else fmt(report)
    if args.out:
        write_report(args.out, out + "\n")
    else:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
