"""Grade many submissions in parallel (instructors):

    python -m autograder.batch SUBMISSIONS_DIR [--assignment hwN|all] [--hidden DIR] [--workers N]
                               [--out grades.csv] [--timeout S]

Every entry of SUBMISSIONS_DIR is one student: a folder holding minitorch/ or a .tar (handin.tar).
Writes a gradebook (one row per student: points per test, total, error) and a JSON report per
student next to it (<out>-reports/<student>.json)."""
import argparse
import csv
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from .fixtures import FixtureError
from .grade import SubmissionError, grade
from .rubric import available_assignments
from .tolerances import DEFAULT_TIMEOUT_S


def students(directory):
    out = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isdir(path) or name.endswith(".tar"):
            out.append((name[:-4] if name.endswith(".tar") else name, path))
    return out


def grade_all(directory, assignments, hidden=None, workers=2, timeout=DEFAULT_TIMEOUT_S, tests=None):
    def one(entry):
        student, path = entry
        try:
            return student, grade(assignments, path, hidden_dir=hidden, timeout=timeout, tests=tests), ""
        except (SubmissionError, OSError) as e:
            return student, None, str(e)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        return list(ex.map(one, students(directory)))


def write_gradebook(results, assignments, out):
    from .rubric import load_rubric  # noqa: PLC0415

    columns = []
    for a in assignments:
        for t in load_rubric(a).tests:
            columns.append(f"{a}:{t}")
    report_dir = os.path.splitext(out)[0] + "-reports"
    os.makedirs(report_dir, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student"] + columns + ["total", "error"])
        for student, report, error in results:
            row = {c: "" for c in columns}
            total = 0.0
            if report is not None:
                for a in report["assignments"]:
                    for t in a["tests"]:
                        key = f"{a['assignment']}:{t['test']}"
                        row[key] = round((row[key] or 0) + t["points"], 2)
                total = report["score"]
                with open(os.path.join(report_dir, f"{student}.json"), "w", encoding="utf-8") as jf:
                    json.dump(report, jf, indent=1)
            w.writerow([student] + [row[c] for c in columns] + [round(total, 2), error])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.batch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions")
    p.add_argument("--assignment", default="all")
    p.add_argument("--hidden", default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    p.add_argument("--out", default="grades.csv")
    args = p.parse_args(argv)
    assignments = available_assignments() if args.assignment == "all" else [args.assignment]
    try:
        results = grade_all(args.submissions, assignments, args.hidden, args.workers, args.timeout)
    except FixtureError as e:
        print(f"batch: {e}", file=sys.stderr)
        return 2
    write_gradebook(results, assignments, args.out)
    print(f"wrote {args.out}: {len(results)} students")
    return 0


if __name__ == "__main__":
    sys.exit(main())
