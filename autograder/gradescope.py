"""Build a Gradescope autograder zip (instructors):

    python -m autograder.gradescope build hwN [--hidden DIR] --out autograder.zip

The zip holds setup.sh, run_autograder and source/ (this grader with its public fixtures and
rubrics, and the hidden fixtures under source/hidden). run_autograder grades
/autograder/submission (a folder with minitorch/, or a handin.tar in it) and writes
/autograder/results/results.json; hidden tests are visible after the due date."""
import argparse
import os
import shutil
import stat
import sys
import tempfile
import zipfile

from . import ASSIGNMENTS
from .fixtures import FixtureSet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETUP = """#!/usr/bin/env bash
set -e
apt-get update -qq && apt-get install -y -qq python3 python3-pip > /dev/null || true
python3 -m pip install --quiet "numpy>=1.24" scipy tomli
"""

RUN = """#!/usr/bin/env bash
# Gradescope entry point: grade the submission, write results.json (the grader always writes it).
cd /autograder/source
SUB=/autograder/submission
if [ ! -d "$SUB/minitorch" ]; then
  TAR=$(find "$SUB" -maxdepth 2 -name 'handin.tar' | head -n 1)
  if [ -n "$TAR" ]; then SUB="$TAR"; else
    SUB=$(find "$SUB" -maxdepth 3 -type d -name minitorch -printf '%h\\n' | head -n 1); fi
fi
mkdir -p /autograder/results
python3 -m autograder {hw} --submission "${{SUB:-/autograder/submission}}" {hidden} --format gradescope \\
  --out /autograder/results/results.json || cat > /autograder/results/results.json <<'JSON'
{{"score": 0, "tests": [],
 "output": "The autograder could not grade this submission: no minitorch/ package (or handin.tar) was found."}}
JSON
"""


def build(hw, out, hidden=None):
    if hidden:
        FixtureSet(hidden, hw)  # fails early on a missing/altered hidden set
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "source")
        shutil.copytree(os.path.join(ROOT, "autograder"), os.path.join(src, "autograder"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "generate.py"))
        if hidden:
            shutil.copytree(hidden, os.path.join(src, "hidden"), ignore=shutil.ignore_patterns("__pycache__"))
        files = {"setup.sh": SETUP,
                 "run_autograder": RUN.format(hw=hw, hidden="--hidden /autograder/source/hidden" if hidden else "")}
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o755) << 16
                zf.writestr(info, text)
            for dirpath, _, names in os.walk(src):
                for n in sorted(names):
                    path = os.path.join(dirpath, n)
                    zf.write(path, os.path.relpath(path, tmp))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("assignment", choices=list(ASSIGNMENTS))
    b.add_argument("--hidden", default=None)
    b.add_argument("--out", default="autograder.zip")
    args = p.parse_args(argv)
    print(build(args.assignment, args.out, args.hidden))
    return 0


if __name__ == "__main__":
    sys.exit(main())
