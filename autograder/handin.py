"""Package a submission (students, inside a handout):

    python -m autograder.handin [--assignment hwN] [--out handin.tar] [--max-mb 5]

Checks that the assignment's files are present and that the package imports no forbidden
framework, then writes handin.tar holding the Python source of minitorch/ (``*.py``: the grader
imports the whole package) and HANDIN.json. Anything else under minitorch/ (notes, ``*.bak``
copies, data, links) is left out and named in one line; compiled files are skipped silently."""
import argparse
import io
import json
import os
import sys
import tarfile

from .rubric import RUBRIC_DIR, RubricError, handout_assignment, load_rubric
from .scan import scan_submission

DEFAULT_MAX_MB = 5.0


class HandinError(RuntimeError):
    pass


def collect(root):
    """[(relative path, absolute path)] of the files to hand in: the Python source of the package
    (``minitorch/**/*.py``, your new modules included); left out [(path, why)]: anything else under
    minitorch/ (notes, ``*.bak`` copies, data, links, hidden files). Compiled files and ``__pycache__``
    are skipped without mention: Python recreates them."""
    files, left_out = [], []
    base = os.path.join(root, "minitorch")
    for dirpath, dirs, names in os.walk(base):
        for d in sorted(dirs):
            if d == "__pycache__":
                dirs.remove(d)
            elif d.startswith(".") or os.path.islink(os.path.join(dirpath, d)):
                left_out.append((os.path.relpath(os.path.join(dirpath, d), root).replace(os.sep, "/") + "/",
                                 "hidden folder" if d.startswith(".") else "symbolic link"))
                dirs.remove(d)
        dirs.sort()
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(dirpath, n), root).replace(os.sep, "/")
            if n.endswith((".pyc", ".pyo")):
                continue
            if os.path.islink(os.path.join(dirpath, n)):
                left_out.append((rel, "symbolic link"))
            elif n.startswith(".") or not n.endswith(".py"):
                left_out.append((rel, "not a Python source file"))
            else:
                files.append((rel, os.path.join(dirpath, n)))
    return files, left_out


def describe_left_out(left_out, limit=6):
    """One line naming what was left out of the tar, or ''."""
    if not left_out:
        return ""
    names = ", ".join(p for p, _ in left_out[:limit])
    more = f" and {len(left_out) - limit} more" if len(left_out) > limit else ""
    return f"left out of the tar (not Python source of the package): {names}{more}"


def make_handin(root, assignment, out, max_mb=DEFAULT_MAX_MB):
    if not os.path.isdir(os.path.join(root, "minitorch")):
        raise HandinError(f"no minitorch/ folder in {root}: run this from your handout folder")
    rubric = load_rubric(assignment)
    missing = [f for f in rubric.files if not os.path.isfile(os.path.join(root, f))]
    if missing:
        raise HandinError(f"required files are missing: {', '.join(missing)}")
    bad = scan_submission(root)
    if bad:
        desc = "; ".join(f"{f} line {h[0][0]} imports {h[0][1]}" for f, h in sorted(bad.items()))
        raise HandinError(f"forbidden imports (torch/tensorflow/jax are not allowed): {desc}")
    files, skipped = collect(root)
    size = sum(os.path.getsize(p) for _, p in files)
    if size > max_mb * 1024 * 1024:
        big = sorted(files, key=lambda f: -os.path.getsize(f[1]))[:3]
        raise HandinError(f"the submission is {size / 1e6:.1f} MB, over the {max_mb:g} MB limit "
                          f"(largest: {', '.join(r for r, _ in big)})")
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w") as tf:
        for rel, path in files:
            info = tf.gettarinfo(path, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with open(path, "rb") as f:
                tf.addfile(info, f)
        meta = json.dumps({"assignment": assignment, "files": [r for r, _ in files]}).encode()
        info = tarfile.TarInfo("HANDIN.json")
        info.size = len(meta)
        tf.addfile(info, io.BytesIO(meta))
    os.replace(tmp, out)
    return files, skipped


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.handin", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--assignment", default=None, help="default: the assignment of this handout")
    p.add_argument("--root", default=".", help="the handout folder (default: here)")
    p.add_argument("--out", default="handin.tar")
    p.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB)
    args = p.parse_args(argv)
    try:
        hw = args.assignment or handout_assignment()
        if hw is None:
            raise HandinError(f"which assignment? pass --assignment hwN (this autograder has no HANDOUT.json in "
                              f"{os.path.dirname(RUBRIC_DIR)}: it is not a student handout)")
        files, skipped = make_handin(args.root, hw, args.out, args.max_mb)
        rubric = load_rubric(hw)
    except (HandinError, RubricError, ValueError) as e:
        print(f"handin: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"handin: {e.strerror or e}{': ' + str(e.filename) if e.filename else ''}", file=sys.stderr)
        return 2
    line = describe_left_out(skipped)
    if line:
        print(line)
    print(f"wrote {args.out}: {len(files)} files of minitorch/ for {hw} (your {hw} files: "
          f"{', '.join(f.split('/', 1)[1] for f in rubric.files)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
