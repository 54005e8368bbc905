"""python -m autograder [hw1|hw2|hw3|hw4|all] [--submission PATH] [--format text|json|gradescope|autolab]
                       [--hidden FIXTURE_DIR] [--official [--reference DIR] [--seed S]]
                       [--timeout S] [--memory MB] [--out FILE] [--test NAME ...]
                       [--sandbox auto|bwrap|setpriv|none] [--insecure] [--budget S]

Grades a minitorch implementation (the installed one by default, or the package inside a
submission folder or handin.tar) and prints a scorecard. Without an assignment: inside a student
handout, that handout's assignment; elsewhere, every assignment. Exit status: 0 graded, 2 grader
problem (missing/altered fixtures, bad arguments, unusable submission, no sandbox where one is
required), always as one line on stderr.

Student code runs in a sandbox (``sandbox.py``): bwrap, else setpriv as root, else none (local
feedback only); every report names the one used. ``--format gradescope|autolab`` grade for the
record and refuse to run without isolation unless ``--insecure`` is given."""
import argparse
import os
import sys

from . import ASSIGNMENTS
from .report import FORMATS, atomic_write

TRACEBACK_ENV = "AUTOGRADER_TRACEBACK"  # set to 1 to see the traceback of an unexpected grader error

RECORD_FORMATS = ("gradescope", "autolab")
OFFICIAL_FORMATS = RECORD_FORMATS  # these grade officially (see grade.grade)


def build_parser(prog="python -m autograder"):
    # imported here, not at the top: a Python without numpy gets a one-line message from main()
    from .sandbox import MODES  # noqa: PLC0415
    from .tolerances import DEFAULT_BUDGET_S, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S  # noqa: PLC0415

    p = argparse.ArgumentParser(prog=prog, description="Grade a minitorch implementation.")
    p.add_argument("assignment", nargs="?", default=None, choices=list(ASSIGNMENTS) + ["all"],
                   help="default: this handout's assignment (elsewhere: all)")
    p.add_argument("--submission", default=None, help="a folder holding minitorch/, or a handin.tar")
    p.add_argument("--model", default=None, metavar="PATH",
                   help="hw4: grade this trained model (a best.ckpt, or the run folder holding it) instead of the "
                        "hand-in's lm/best.ckpt; local feedback only (default: the hand-in's)")
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
    atomic_write(path, lambda f: f.write(text))


class UsageProblem(RuntimeError):
    """A problem with what was asked (an assignment this grader cannot grade, ...): exit 2."""


def _handout_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def choose_assignments(requested, handout, available):
    """The assignments to grade. ``handout``: the assignment this handout was built for (None outside
    a handout); ``available``: the assignments with a rubric here."""
    if requested is None:
        return [handout] if handout in available else list(available)
    if requested == "all":
        return list(available)
    if requested in available:
        return [requested]
    if handout:
        raise UsageProblem(
            f"this is the {handout} handout: it can grade {', '.join(available)}, not {requested} (it has no "
            f"rubric or fixtures for {requested}). Get the {requested} handout from your course page and run "
            f"`python -m autograder {requested}` inside it")
    raise UsageProblem(
        f"no rubric for {requested}: autograder/rubrics/{requested}.toml is missing, so {requested} cannot be graded "
        f"here (available: {', '.join(available) or 'none'}). Reinstall the autograder, or grade one of those")


def trained_model(path, official):
    """``--model``: the checkpoint file it names (a file, or a run folder holding best.ckpt), or None."""
    if path is None:
        return None
    if official:
        raise UsageProblem("--model is for local feedback: official grading takes the model from the hand-in "
                           "(python -m autograder.handin --run-dir RUN puts it there)")
    ckpt = os.path.join(path, "best.ckpt") if os.path.isdir(path) else path
    if not os.path.isfile(ckpt):
        raise UsageProblem(f"--model {path}: no checkpoint there ({ckpt} is not a file); give the best.ckpt of a "
                           "python -m minitorch.train run, or its run folder")
    return os.path.abspath(ckpt)


def graded_package(submission):
    """A one-line description of the minitorch that gets graded, and a warning or ''."""
    from .grade import installed_submission  # noqa: PLC0415

    if submission is not None:
        return f"graded: {os.path.abspath(submission)}", ""
    folder = installed_submission()
    pkg = os.path.join(folder, "minitorch")
    line = f"graded: the minitorch at {pkg}"
    own = os.path.join(_handout_root(), "minitorch")
    warn = ""
    if os.path.isdir(own) and os.path.realpath(pkg) != os.path.realpath(own):
        warn = (f"warning: this is not the minitorch next to this autograder ({own}); run the command from that "
                f"folder, or `pip install -e .` there, or pass --submission {os.path.dirname(own)}")
    return line, warn


def run(args):
    from .rubric import available_assignments, handout_assignment  # noqa: PLC0415

    assignments = choose_assignments(args.assignment, handout_assignment(), available_assignments())
    if not assignments:
        raise UsageProblem("no assignment has a rubric here: reinstall the autograder")
    from .fresh import FreshDir  # noqa: PLC0415
    from .grade import grade  # noqa: PLC0415
    from .sandbox import detect_mode, require_isolation  # noqa: PLC0415

    mode = detect_mode(None if args.sandbox in (None, "auto") else args.sandbox)
    if args.format in RECORD_FORMATS:
        require_isolation(mode, args.insecure, f"--format {args.format}")
    fresh = FreshDir(args.fresh_dir) if args.fresh_dir else None
    official = args.official or args.format in OFFICIAL_FORMATS or fresh is not None
    model = trained_model(args.model, official)
    line, warn = graded_package(args.submission)
    # every sandboxed process is dead when grade() returns: the report is written after that
    report = grade(assignments, args.submission, fixtures_dir=args.fixtures, hidden_dir=args.hidden,
                   timeout=args.timeout, memory_mb=args.memory, tests=args.test, mode=mode,
                   budget=args.budget, official=official, reference=args.reference, seed=args.seed, fresh=fresh,
                   model=model)
    fmt = FORMATS[args.format]
    out = fmt(report, verbose=args.verbose) if args.format == "text" else fmt(report)
    if args.format == "text":
        out = "\n".join([line] + ([warn] if warn else []) + [""]) + out
    elif warn:
        print(f"autograder: {warn}", file=sys.stderr)
    if args.out:
        write_report(args.out, out + "\n")
    else:
        print(out)
    return 0


def _problem_types():
    from .fixtures import FixtureError  # noqa: PLC0415
    from .grade import SubmissionError  # noqa: PLC0415
    from .rubric import RubricError  # noqa: PLC0415
    from .sandbox import SandboxError  # noqa: PLC0415

    return (UsageProblem, FixtureError, SubmissionError, RubricError, SandboxError)


def _missing_module(e):
    return (f"autograder: the module {e.name!r} is missing from this Python ({sys.executable}): run "
            "`pip install -e .` in your handout folder with this Python")


def main(argv=None):
    try:
        parser = build_parser()
    except ModuleNotFoundError as e:
        print(_missing_module(e), file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as e:
        print(_missing_module(e), file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - every grader problem is one line and exit 2
        try:
            known = isinstance(e, _problem_types())
        except Exception:  # noqa: BLE001
            known = False
        if known:
            print(f"autograder: {e}", file=sys.stderr)
        elif isinstance(e, OSError):
            print(f"autograder: {e.strerror or e}{': ' + str(e.filename) if e.filename else ''}", file=sys.stderr)
        else:
            if os.environ.get(TRACEBACK_ENV):
                raise
            print(f"autograder: internal error: {type(e).__name__}: {e} (please report it with the command you ran; "
                  f"{TRACEBACK_ENV}=1 shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
