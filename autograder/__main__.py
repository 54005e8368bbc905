"""python -m autograder [hw1|hw2|hw3|hw4|all] [--submission PATH] [--format text|json|gradescope|autolab]
                       [--hidden FIXTURE_DIR] [--timeout S] [--memory MB] [--out FILE] [--test NAME ...]

Grades a minitorch implementation (the installed one by default, or the package inside a
submission folder or handin.tar) and prints a scorecard. Exit status: 0 graded, 2 grader error
(missing/altered fixtures, bad arguments)."""
import argparse
import os
import sys

from . import ASSIGNMENTS
from .fixtures import FixtureError
from .grade import SubmissionError, grade
from .report import FORMATS
from .rubric import available_assignments
from .tolerances import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S


def build_parser(prog="python -m autograder"):
    p = argparse.ArgumentParser(prog=prog, description="Grade a minitorch implementation.")
    p.add_argument("assignment", nargs="?", default="all", choices=list(ASSIGNMENTS) + ["all"])
    p.add_argument("--submission", default=None, help="a folder holding minitorch/, or a handin.tar")
    p.add_argument("--format", default="text", choices=sorted(FORMATS))
    p.add_argument("--hidden", default=None, metavar="FIXTURE_DIR", help="also grade against hidden fixtures")
    p.add_argument("--fixtures", default=None, metavar="DIR", help="public fixture folder (default: the package's)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="wall-time limit per test case (s)")
    p.add_argument("--memory", type=int, default=DEFAULT_MEMORY_MB, help="memory cap of student code (MiB)")
    p.add_argument("--test", action="append", default=None, help="grade only this test (repeatable)")
    p.add_argument("--out", default=None, help="write the report here instead of stdout")
    p.add_argument("--verbose", action="store_true", help="text format: list every failed check")
    return p


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
        report = grade(assignments, args.submission, fixtures_dir=args.fixtures, hidden_dir=args.hidden,
                       timeout=args.timeout, memory_mb=args.memory, tests=args.test)
    except (FixtureError, SubmissionError) as e:
        print(f"autograder: {e}", file=sys.stderr)
        return 2
    fmt = FORMATS[args.format]
    out = fmt(report, verbose=args.verbose) if args.format == "text" else fmt(report)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(out + "\n")
    else:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
