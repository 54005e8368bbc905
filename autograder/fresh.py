"""Fresh instances: cases drawn at grading time and computed with the reference minitorch.

Official grading (``--official``, ``--format gradescope|autolab``, ``autograder.batch``) does not
take its points from the public fixtures, whose every input and expected output the students have:
a submission could return the stored answers without computing anything. Besides any fixed hidden
set (``--hidden DIR``) it grades *fresh instances*: for every case, new dims (the case's rules for
hidden sets: every free dim grows by 1 or 2, ``fixed`` dims and ``hidden_dims`` kept), new inputs
and new upstream gradients drawn from a seed chosen per grading run, with the expected outputs and
gradients computed by the reference minitorch (the instructors' package, solutions included) in a
trusted process of the grader, outside the sandbox. The submission's float64 gradients are also
checked against central differences of its own forward on the same fresh inputs. A table of the
public answers is useless there by construction; a correct kernel passes.

The reference runs in its own process (``python -I fresh.py ...``) so that it is imported from
exactly the folder given, with the library state the sandbox child starts each case from, and never
shares a process with the grader's bookkeeping or with student code. It needs NumPy only (no torch).
The values go to a private temporary folder (mode 0700) in the fixture format, with a manifest
marked ``hidden`` and ``fresh``; the sandbox never sees it, and it is deleted after grading.

Where the reference comes from: ``--reference DIR`` (a folder holding ``minitorch/``; the Gradescope
build passes its private copy), else this grader's own repository checkout. A student handout is
never a reference: its solutions are gone, and so are the ``# BEGIN SOLUTION`` markers this checks.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a script by FreshSet: load this grader as the package
    _ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "autograder", os.path.join(_ROOT, "autograder", "__init__.py"),
        submodule_search_locations=[os.path.join(_ROOT, "autograder")])
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["autograder"] = _mod
    _spec.loader.exec_module(_mod)
    __package__ = "autograder"  # noqa: A001

from .fixtures import FORMAT, FixtureError, sha256_file, write_npz  # noqa: E402

GRADER_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.abspath(__file__)
SEED_LIMIT = 2 ** 31
GENERATE_TIMEOUT_S = 600.0
_MARKER = re.compile(r"^\s*# BEGIN SOLUTION hw\d+\s*$", re.M)
_STUB = re.compile(r'raise NotImplementedError\("hw\d+[^"]*: see handouts/hw\d+/README\.md"\)')


class FreshError(FixtureError):
    """No usable reference, or the reference failed to compute a fresh instance (a grader problem)."""


def default_reference(grader_root=GRADER_ROOT):
    """The reference next to this grader: its repository checkout's ``minitorch/`` (None in a student
    handout, or where there is none, e.g. a Gradescope build, which passes ``--reference``)."""
    if os.path.exists(os.path.join(grader_root, "autograder", "HANDOUT.json")):
        return None
    if not os.path.isfile(os.path.join(grader_root, "minitorch", "__init__.py")):
        return None
    return grader_root


def check_reference(root):
    """``root`` as an absolute path, if it holds the instructors' minitorch; else FreshError."""
    root = os.path.abspath(root)
    pkg = os.path.join(root, "minitorch")
    if not os.path.isfile(os.path.join(pkg, "__init__.py")):
        raise FreshError(f"reference {root}: no minitorch/ package there (pass the folder that holds it)")
    if os.path.exists(os.path.join(root, "autograder", "HANDOUT.json")):
        raise FreshError(f"reference {root} is a student handout: its solutions are stubs")
    marked = False
    for dirpath, dirs, files in os.walk(pkg):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in sorted(files):
            if f.endswith(".py"):
                with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                stub = _STUB.search(text)
                if stub:
                    where = os.path.relpath(os.path.join(dirpath, f), root)
                    raise FreshError(f"reference {root}/minitorch has stubbed solutions ({where}: "
                                     f"{stub.group(0)[:60]}...): a student handout cannot serve as the reference")
                marked = marked or bool(_MARKER.search(text))
    if not marked:
        raise FreshError(f"reference {root}/minitorch has no solution blocks (# BEGIN SOLUTION): "
                         "a student handout or submission cannot serve as the reference")
    return root


def draw_seed():
    """A new base seed for one grading run (or one batch)."""
    return secrets.randbelow(SEED_LIMIT)


def generate_fresh(assignments, out_dir, seed, tests=None, reference=None):
    """Compute fresh instances with the ``minitorch`` importable here (it must be the reference at
    ``reference`` when given) into ``out_dir``: ``<hw>.npz`` + ``manifest.json``. Returns the manifest."""
    import numpy as np  # noqa: PLC0415

    import minitorch  # noqa: PLC0415

    from .execute import Adapter  # noqa: PLC0415
    from .fixtures.generate import generate_case  # noqa: PLC0415
    from .spec import load_registry  # noqa: PLC0415

    where = os.path.realpath(getattr(minitorch, "__file__", "") or "")
    if reference is not None and not where.startswith(os.path.join(os.path.realpath(reference), "minitorch") + os.sep):
        raise FreshError(f"the reference should be imported from {reference}, got {where or 'a namespace package'}")
    adapter = Adapter(minitorch, "minitorch")
    manifest = {"format": FORMAT, "files": {}, "hidden": True, "fresh": True, "seed": int(seed),
                "numpy_version": np.__version__, "torch_version": None,
                "reference": os.path.dirname(os.path.dirname(where))}
    for hw in assignments:
        arrays, cases = {}, {}
        for case in load_registry(hw):
            if tests is not None and case.test not in tests:
                continue
            try:
                a, m = generate_case(adapter, case, int(seed), hidden=True)
            except Exception as e:  # noqa: BLE001 - names the case; the grader reports it as its own problem
                raise FreshError(f"the reference failed on a fresh instance of {hw} {case.name} (seed {seed}): "
                                 f"{type(e).__name__}: {e}") from e
            arrays.update(a)
            cases.update(m)
        path = os.path.join(out_dir, f"{hw}.npz")
        write_npz(path, arrays)
        manifest["files"][f"{hw}.npz"] = {"sha256": sha256_file(path), "cases": cases}
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return manifest


class FreshSet:
    """Fresh instances of ``assignments`` (only the cases of ``tests`` when given), drawn with
    ``seed`` (a new one when None) and computed by the reference in a trusted subprocess, in a
    private temporary folder that ``close()`` removes. ``dir`` is a fixture folder for FixtureSet."""

    def __init__(self, assignments, reference=None, seed=None, tests=None, timeout=GENERATE_TIMEOUT_S):
        if reference is None:
            reference = default_reference()
            if reference is None:
                raise FreshError("fresh instances need the reference minitorch: pass --reference DIR "
                                 "(the folder holding the instructors' minitorch/)")
        self.reference = check_reference(reference)
        if seed is not None and (isinstance(seed, bool) or not 0 <= int(seed) < SEED_LIMIT):
            raise FreshError(f"the fresh-instance seed must be an integer in [0, {SEED_LIMIT}), got {seed!r}")
        self.seed = draw_seed() if seed is None else int(seed)
        self.assignments = list(assignments)
        self.tests = None if tests is None else list(tests)
        self.dir = tempfile.mkdtemp(prefix="mtfresh-")  # mode 0700: only the grader's user can read it
        t0 = time.perf_counter()
        try:
            self._run(timeout)
        except BaseException:
            self.close()
            raise
        self.seconds = round(time.perf_counter() - t0, 2)

    def _run(self, timeout):
        from .sandbox import child_env  # noqa: PLC0415

        # -B: no bytecode written into the grader or the reference (they may be read-only, or checked)
        cmd = [sys.executable, "-I", "-B", HERE, "--reference", self.reference, "--seed", str(self.seed),
               "--out", self.dir]
        for t in self.tests or ():
            cmd += ["--test", t]
        cmd += self.assignments
        try:
            r = subprocess.run(cmd, cwd=self.dir, env=child_env({"PYTHONDONTWRITEBYTECODE": "1"}),
                               stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise FreshError(f"computing the fresh instances with the reference took over {timeout:g} s") from e
        if r.returncode != 0:
            lines = [ln for ln in (r.stderr or "").strip().splitlines() if ln.strip()]
            last = lines[-1] if lines else f"exit status {r.returncode}"
            if last.startswith("autograder: "):  # the generator's own one-line message
                raise FreshError(last[len("autograder: "):])
            raise FreshError(f"computing the fresh instances with the reference failed: {last}")

    def info(self):
        return {"seed": self.seed, "reference": self.reference, "seconds": self.seconds}

    def close(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FreshDir:
    """Fresh instances computed earlier into ``path`` (batch grading draws them once for all
    students); used like a FreshSet, but never removed here."""

    def __init__(self, path):
        from .fixtures import read_manifest  # noqa: PLC0415

        manifest = read_manifest(path)
        if not manifest.get("fresh"):
            raise FreshError(f"{path} holds no fresh instances")
        self.dir, self.seed, self.reference = path, manifest.get("seed"), manifest.get("reference")
        self.seconds = 0.0

    def info(self):
        return {"seed": self.seed, "reference": self.reference, "seconds": self.seconds}

    def close(self):
        pass


def main(argv=None):
    import argparse  # noqa: PLC0415

    p = argparse.ArgumentParser(prog="autograder/fresh.py", description="(run by the grader) compute fresh "
                                "instances with the reference minitorch")
    p.add_argument("assignments", nargs="+")
    p.add_argument("--reference", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--test", action="append", default=None)
    args = p.parse_args(argv)
    try:
        reference = check_reference(args.reference)
        sys.path.insert(0, reference)
        try:
            from .fixtures import generate  # noqa: F401, PLC0415
        except ImportError:
            raise FreshError("this grader has no autograder/fixtures/generate.py (a student handout?): "
                             "fresh instances need the instructors' grader") from None
        generate_fresh(args.assignments, args.out, args.seed, args.test, reference)
    except FreshError as e:
        print(f"autograder: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
