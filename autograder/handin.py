"""Package a submission (students, inside a handout):

    python -m autograder.handin [--assignment hwN] [--out handin.tar] [--max-mb 5] [--run-dir DIR | --no-model]

Checks that the assignment's files are present and that the package imports no forbidden
framework, then writes handin.tar holding the Python source of minitorch/ (``*.py``: the grader
imports the whole package) and HANDIN.json. Anything else under minitorch/ (notes, ``*.bak``
copies, data, links) is left out and named in one line; compiled files are skipped silently.
hw4 (its training task): ``--run-dir`` (default ``runs/baby-gpt`` when it holds a ``best.ckpt``) adds
``lm/best.ckpt``, a weights-only copy of the run's best checkpoint, and ``lm/summary.json``."""
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


def trained_model(run_dir, assignment):
    """[(tar name, bytes)] of the hw4 training task from a minitorch.train run folder: a weights-only copy of
    its best.ckpt (``lm/best.ckpt``, without the optimizer state) and its ``summary.json``; [] when the
    assignment has no training task or ``run_dir`` is None. A run folder without best.ckpt is an error."""
    from . import lm  # noqa: PLC0415
    from .lmtask import enabled  # noqa: PLC0415

    if run_dir is None or not enabled(load_rubric(assignment)):
        return []
    best = os.path.join(run_dir, "best.ckpt")
    if not os.path.isfile(best):
        raise HandinError(f"{run_dir} holds no best.ckpt: give the folder of your python -m minitorch.train run "
                          "(--run-dir runs/baby-gpt), or --no-model to hand in the code alone")
    with open(best, "rb") as f:
        raw = f.read()
    try:
        ckpt = lm.weights_only(raw)
    except lm.LMError as e:
        raise HandinError(f"{best}: {e}") from None
    if len(ckpt) > lm.MAX_CKPT_BYTES:
        raise HandinError(f"{best}: the model's weights take {len(ckpt) / 2**20:.1f} MiB, over the "
                          f"{lm.MAX_CKPT_BYTES >> 20} MiB limit (the task allows {lm.MAX_PARAMETERS:,} parameters)")
    out = [(lm.HANDIN_CKPT, ckpt)]
    summary = os.path.join(run_dir, "summary.json")
    if os.path.isfile(summary):
        with open(summary, "rb") as f:
            data = f.read(lm.MAX_SUMMARY_BYTES + 1)
        if len(data) > lm.MAX_SUMMARY_BYTES:
            raise HandinError(f"{summary} is over {lm.MAX_SUMMARY_BYTES >> 10} KiB: is it the run's summary.json?")
        out.append((lm.HANDIN_SUMMARY, data))
    return out


def make_handin(root, assignment, out, max_mb=DEFAULT_MAX_MB, run_dir=None):
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
    model = trained_model(run_dir, assignment)
    tmp = out + ".tmp"
    with tarfile.open(tmp, "w") as tf:
        for rel, path in files:
            info = tf.gettarinfo(path, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with open(path, "rb") as f:
                tf.addfile(info, f)
        for rel, data in model:
            info = tarfile.TarInfo(rel)
            info.size, info.mode = len(data), 0o644
            tf.addfile(info, io.BytesIO(data))
        meta = json.dumps({"assignment": assignment, "files": [r for r, _ in files] + [r for r, _ in model]}).encode()
        info = tarfile.TarInfo("HANDIN.json")
        info.size = len(meta)
        tf.addfile(info, io.BytesIO(meta))
    os.replace(tmp, out)
    return files + [(r, None) for r, _ in model], skipped


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.handin", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--assignment", default=None, help="default: the assignment of this handout")
    p.add_argument("--root", default=".", help="the handout folder (default: here)")
    p.add_argument("--out", default="handin.tar")
    p.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB, help="cap on the source files (MB)")
    p.add_argument("--run-dir", default=None,
                   help="hw4: the minitorch.train run whose best.ckpt (weights only) and summary.json go into "
                        "the tar as lm/ (default: runs/baby-gpt when it holds a best.ckpt)")
    p.add_argument("--no-model", action="store_true", help="hw4: hand in the code without a trained model")
    args = p.parse_args(argv)
    try:
        hw = args.assignment or handout_assignment()
        if hw is None:
            raise HandinError(f"which assignment? pass --assignment hwN (this autograder has no HANDOUT.json in "
                              f"{os.path.dirname(RUBRIC_DIR)}: it is not a student handout)")
        run_dir = args.run_dir
        if run_dir is None and not args.no_model:
            default = os.path.join(args.root, "runs", "baby-gpt")
            run_dir = default if os.path.isfile(os.path.join(default, "best.ckpt")) else None
        if args.no_model:
            run_dir = None
        files, skipped = make_handin(args.root, hw, args.out, args.max_mb, run_dir=run_dir)
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
    lm_files = [r for r, _ in files if r.startswith("lm/")]
    print(f"wrote {args.out}: {len(files) - len(lm_files)} files of minitorch/ for {hw} (your {hw} files: "
          f"{', '.join(f.split('/', 1)[1] for f in rubric.files)})"
          + (f"; the trained model from {run_dir}: {', '.join(lm_files)}" if lm_files else ""))
    from .lmtask import enabled  # noqa: PLC0415

    if enabled(rubric) and not lm_files:
        print(f"note: no trained model in the tar ({hw}'s training task): pass --run-dir with your run's folder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
