"""Build a Gradescope autograder zip (instructors):

    python -m autograder.gradescope build hwN [--hidden DIR] [--no-reference] --out autograder.zip

The zip holds setup.sh, run_autograder and what Gradescope unpacks into /autograder/source: this
grader with its public fixtures and rubrics, the reference minitorch under reference/minitorch (it
computes the fresh instances that every grading run draws; leave it out with --no-reference) and
the hidden fixtures under hidden/. Grading is official: the points come from the fresh instances and
the hidden fixtures, the public tests are feedback. The reference and the hidden fixtures are the
grader's alone: owner-only in the zip, root-only after setup.sh and run_autograder, and never in the
sandbox's view. setup.sh installs bubblewrap (the sandbox)
and util-linux (setpriv, the fallback) and makes the grader's files readable by root only.
run_autograder grades /autograder/submission (a folder with minitorch/, or the uploaded handin.tar)
with student code in the sandbox; the grader refuses to grade without one (score 0 with the reason)
unless the zip was built with --insecure. results.json is written last, atomically; hidden tests
are visible after the due date."""
import argparse
import os
import shutil
import stat
import sys
import tempfile
import zipfile

from . import ASSIGNMENTS
from .fixtures import FixtureError, FixtureSet
from .fresh import FreshError, check_reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETUP = """#!/usr/bin/env bash
# Gradescope image setup: runs once, as root, in /autograder/source when the autograder is built.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the sandbox (namespaces); util-linux: setpriv, the fallback (a dedicated unprivileged uid)
apt-get install -y -qq --no-install-recommends python3 python3-pip bubblewrap util-linux > /dev/null
python3 -m pip install --quiet "numpy>=1.24" scipy tomli
# The fallback runs student code as uids {uid_first}..{uid_last}: unprivileged and belonging to no
# account (the sandbox kills every process of its uid, so it never uses an account's uid).
# Make sure no account holds one of them.
if getent passwd | awk -F: '$3 >= {uid_first} && $3 <= {uid_last} {{found = 1}} END {{exit !found}}'; then
  echo "setup.sh: an account uses a uid in {uid_first}..{uid_last}; set MINITORCH_SANDBOX_UID in run_autograder" >&2
  exit 1
fi
# Grader, fixtures and hidden fixtures: readable by root only (the fallback checks this).
chown -R root:root /autograder/source
chmod -R go-rwx /autograder/source
chmod 755 /autograder /autograder/source
echo "setup.sh: done; the sandbox in this image:"
cd /autograder/source && python3 -c "from autograder.sandbox import detect_mode, describe_mode; \\
print(describe_mode(detect_mode()))" || echo "(no sandbox probe: namespaces may only work at grading time)"
"""

RUN = """#!/usr/bin/env bash
# Gradescope entry point (root). Grades /autograder/submission (a folder holding minitorch/, or the
# uploaded handin.tar) with student code in the sandbox, and writes results.json last, atomically.
set -u
AG="${{AUTOGRADER_ROOT:-/autograder}}"
OUT="$AG/results/results.json"
mkdir -p "$AG/results"
chmod 755 "$AG/results"
chmod -R go-rwx "$AG/source" "$AG/submission" 2>/dev/null || true
rm -f "$OUT"
cd "$AG/source" || exit 1
ERR=$(mktemp)
python3 -m autograder {hw} --submission "$AG/submission" {hidden} --format gradescope {insecure}\\
  --official {reference} --out "$OUT" 2> "$ERR"
RC=$?
if [ "$RC" -ne 0 ] || [ ! -s "$OUT" ]; then
  # the grader could not grade (no minitorch/, a refused tar, no sandbox): say why, score 0
  python3 - "$OUT" "$ERR" "$RC" <<'PY'
import json, os, sys
out, err, rc = sys.argv[1], sys.argv[2], sys.argv[3]
with open(err, encoding="utf-8", errors="replace") as f:
    lines = [l.strip() for l in f.read()[-4000:].splitlines() if l.strip()]
why = lines[-1] if lines else f"the grader stopped with status {{rc}}"
if why.startswith("autograder: "):
    why = why[len("autograder: "):]
with open(out + ".tmp", "w", encoding="utf-8") as f:
    json.dump({{"score": 0, "tests": [], "output": "The autograder could not grade this submission: " + why}}, f)
os.replace(out + ".tmp", out)
PY
fi
rm -f "$ERR"
exit 0
"""


PRIVATE = ("reference", "hidden")  # the grader's alone: owner-only, never in the sandbox's view


def build(hw, out, hidden=None, insecure=False, reference=True):
    """Write the autograder zip for assignment ``hw`` to ``out``. Gradescope unzips it into
    /autograder/source, so the zip's root holds setup.sh, run_autograder, autograder/, reference/
    and hidden/. ``insecure``: run_autograder grades even where no sandbox works (never for real
    grades). ``reference``: ship this repository's minitorch as the reference of the fresh instances
    (False: the hidden fixtures alone, which then are required)."""
    if hidden:
        FixtureSet(hidden, hw)  # fails early on a missing/altered hidden set
    if reference:
        check_reference(ROOT)  # this repository holds the instructors' minitorch (solutions included)
    elif not hidden:
        raise FreshError("a Gradescope build needs cases students have not seen: keep the reference "
                         "(fresh instances) or pass --hidden DIR")
    from .__main__ import build_parser  # noqa: PLC0415

    if insecure and "--insecure" not in build_parser()._option_string_actions:  # noqa: SLF001
        insecure = False  # a grader without the flag never refuses
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "source")
        shutil.copytree(os.path.join(ROOT, "autograder"), os.path.join(src, "autograder"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if hidden:
            shutil.copytree(hidden, os.path.join(src, "hidden"), ignore=shutil.ignore_patterns("__pycache__"))
        if reference:
            shutil.copytree(os.path.join(ROOT, "minitorch"), os.path.join(src, "reference", "minitorch"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        base = sandbox_uid_base()
        files = {"setup.sh": SETUP.format(uid_first=base, uid_last=base + sandbox_uid_pool() - 1),
                 "run_autograder": RUN.format(hw=hw, hidden='--hidden "$AG/source/hidden"' if hidden else "",
                                              insecure="--insecure " if insecure else "",
                                              reference='--reference "$AG/source/reference"' if reference else "")}
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        tmp_out = out + ".tmp"
        with zipfile.ZipFile(tmp_out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files.items():
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | 0o755) << 16
                zf.writestr(info, text)
            for dirpath, dirs, names in os.walk(src):
                dirs.sort()
                rel_dir = os.path.relpath(dirpath, src).replace(os.sep, "/")
                private = rel_dir.split("/")[0] in PRIVATE
                if private:  # owner-only folder entries (unzip would otherwise make them 0755)
                    info = zipfile.ZipInfo(rel_dir + "/", date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = (stat.S_IFDIR | 0o700) << 16 | 0x10
                    zf.writestr(info, b"")
                for n in sorted(names):
                    path = os.path.join(dirpath, n)
                    if not private:
                        zf.write(path, os.path.relpath(path, src))
                        continue
                    info = zipfile.ZipInfo(f"{rel_dir}/{n}", date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (stat.S_IFREG | 0o600) << 16
                    with open(path, "rb") as f:
                        zf.writestr(info, f.read())
        os.replace(tmp_out, out)
    return out


def sandbox_uid_base():
    from . import sandbox  # noqa: PLC0415

    return int(getattr(sandbox, "_uid_base", lambda: 63100)())


def sandbox_uid_pool():
    from . import sandbox  # noqa: PLC0415

    return int(getattr(sandbox, "UID_POOL", 64))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("assignment", choices=list(ASSIGNMENTS))
    b.add_argument("--hidden", default=None, help="a hidden fixture set to grade with")
    b.add_argument("--no-reference", action="store_true",
                   help="leave out the reference minitorch (no fresh instances: the hidden fixtures alone)")
    b.add_argument("--out", default="autograder.zip")
    b.add_argument("--insecure", action="store_true",
                   help="grade even where no sandbox works (testing only: students could forge results)")
    args = p.parse_args(argv)
    try:
        print(build(args.assignment, args.out, args.hidden, args.insecure, reference=not args.no_reference))
    except FixtureError as e:
        print(f"gradescope: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
