"""Build a student handout from this repository (instructors).

    python -m autograder.handout build hw4 --out dist/hw4 [--hidden DIR ...] [--force]

Copies the minitorch package with every ``# BEGIN SOLUTION hwK ... # END SOLUTION`` region of the
built assignment and of later ones replaced by
``raise NotImplementedError("hwK §x.y function: see handouts/hwK/README.md")`` (same indentation,
``# HINT:`` lines kept; the section comes from the rubric's [sections] table), adds the writeup
(handouts/hwN/README.md, or a generated outline), the public fixtures of hw1..hwN, the rubrics and
the local autograder (without the fixture generator). Before finishing it checks the output tree
and refuses (deleting it) if solution text or hidden fixtures would leak.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys

from . import ASSIGNMENTS
from .fixtures import HERE as FIXTURE_DIR
from .fixtures import read_manifest, sha256_file
from .rubric import load_rubric

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION (hw\d+)\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
HINT = re.compile(r"^\s*# HINT:")
DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)")
MIN_LEAK_LEN = 16
# instructor tooling left out of handouts (the fixture generator; the mutation tester and its lists,
# which quote solution lines)
INSTRUCTOR_ONLY = ("generate.py", "mutate.py", "mutants_equivalent.toml", "coverage_allowlist.toml", "oracle.py")


class LeakError(RuntimeError):
    """The built handout would contain solution text or hidden fixtures."""


def _number(hw):
    return int(hw[2:])


def _enclosing(lines, i, indent):
    """(function name, 'Class.function' or None) enclosing line i."""
    name, qual = None, None
    cur = len(indent)
    for j in range(i - 1, -1, -1):
        m = DEF.match(lines[j])
        if m and len(m.group(1)) < cur:
            if name is None:
                name = m.group(3)
                cur = len(m.group(1))
                if m.group(2) == "class":
                    break
            else:
                if m.group(2) == "class":
                    qual = f"{m.group(3)}.{name}"
                break
    return name or "solution", qual


def strip_solutions(source, first_hw, rubrics, path="<file>"):
    """``source`` with the solution regions of assignments >= first_hw replaced. Returns
    (new source, [(hw, function, section)], [removed solution lines])."""
    lines = source.splitlines(keepends=True)
    out, blocks, removed = [], [], []
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if "# END SOLUTION" in lines[i] and END.match(lines[i]):
                raise ValueError(f"{path}:{i + 1}: END SOLUTION without BEGIN")
            out.append(lines[i])
            i += 1
            continue
        indent, hw = m.group(1), m.group(2)
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise ValueError(f"{path}:{j + 1}: nested BEGIN SOLUTION")
            j += 1
        if j == len(lines):
            raise ValueError(f"{path}:{i + 1}: BEGIN SOLUTION {hw} without END SOLUTION")
        body = lines[i + 1:j]
        if _number(hw) < _number(first_hw):
            out.extend(lines[i:j + 1])
        else:
            func, qual = _enclosing(lines, i, indent)
            rubric = rubrics.get(hw)
            section = rubric.section(func, qual) if rubric else None
            sec = f" §{section}" if section else ""
            out.extend(b for b in body if HINT.match(b))
            out.append(f'{indent}raise NotImplementedError("{hw}{sec} {qual or func}: see handouts/{hw}/README.md")\n')
            blocks.append((hw, func, section))
            removed.extend(b for b in body if not HINT.match(b))
        i = j + 1
    return "".join(out), blocks, removed


def _ignore(_dir, names):
    return [n for n in names if n == "__pycache__" or n.endswith((".pyc", ".pyo"))]


def _placeholder_writeup(hw, rubric, blocks):
    lines = [f"# {hw}: {rubric.title}", "",
             "(The full writeup is not written yet; this outline lists what to implement.)",
             "", "## Tests and points", ""]
    for name, t in rubric.tests.items():
        lines.append(f"- `{name}` ({t['points']:g} points): {t.get('description', '')}")
    lines += ["", "## Functions to implement", ""]
    by_section = {}
    for bhw, func, section in blocks:
        if bhw == hw:
            by_section.setdefault(section or "?", []).append(func)
    for section in sorted(by_section, key=lambda s: [int(p) if p.isdigit() else 0 for p in s.split(".")]):
        lines.append(f"### §{section} {', '.join(sorted(set(by_section[section])))}")
        lines.append("")
    lines += ["## Grading", "", f"Run `python -m autograder {hw}` for your score; `python -m autograder.handin` "
              "writes handin.tar to upload.", ""]
    return "\n".join(lines)


def solution_lines(first_hw, root=REPO):
    """Distinctive solution lines of assignments >= first_hw: long enough, and not also present
    outside solution blocks anywhere in the package (so finding one in a handout is a leak)."""
    sol, other = set(), set()
    rubrics = {}
    for dirpath, dirs, files in os.walk(os.path.join(root, "minitorch")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if not f.endswith(".py"):
                continue
            with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                src = fh.read()
            outside, _, removed = strip_solutions(src, first_hw, rubrics, f)  # what the handout keeps
            sol |= {r.strip() for r in removed}
            other |= {ln.strip() for ln in outside.splitlines()}
    # lines that the grader's own code happens to share with a solution are not distinctive
    for dirpath, dirs, files in os.walk(os.path.join(root, "autograder")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    other |= {ln.strip() for ln in fh}
    return {s for s in sol - other if len(s) >= MIN_LEAK_LEN and not s.startswith("#")}


def array_digests(npz_path):
    """{digest: key} of the distinctive arrays of an .npz: floating, at least 8 entries, not constant
    (arrays like all-zero gradients or all-True masks occur in any fixture set)."""
    import numpy as np  # noqa: PLC0415

    out = {}
    try:
        with np.load(npz_path, allow_pickle=False) as z:
            for key in z.files:
                a = z[key]
                if a.dtype.kind != "f" or a.size < 8 or not np.all(np.isfinite(a)) or a.min() == a.max():
                    continue
                h = hashlib.sha256(f"{a.dtype.str} {a.shape}".encode())
                h.update(np.ascontiguousarray(a).tobytes())
                out[h.hexdigest()] = key
    except (OSError, ValueError):
        pass
    return out


def _has_lm_task(rubrics, hw):
    """hw4's training task (fixtures/lm: public windows, vocabulary, oracle) ships with its handout only."""
    from .lmtask import TEST  # noqa: PLC0415

    return hw in rubrics and TEST in rubrics[hw].tests


def check_tree(out_dir, first_hw, hidden_dirs=()):
    """Raise LeakError if ``out_dir`` holds solution lines of assignments >= first_hw or hidden fixtures
    (a hidden file, or any distinctive hidden array inside another .npz)."""
    sol = solution_lines(first_hw)
    hidden_hashes, hidden_arrays = set(), {}
    for top in hidden_dirs:
        for d in (top, os.path.join(top, "lm")):  # lm/: hw4's hidden windows and prompts (autograder.oracle)
            for f in (os.listdir(d) if os.path.isdir(d) else []):
                if f.endswith((".npz", ".json")):
                    hidden_hashes.add(sha256_file(os.path.join(d, f)))
                if f.endswith(".npz"):
                    hidden_arrays.update(array_digests(os.path.join(d, f)))
    problems = []
    for dirpath, _, files in os.walk(out_dir):
        for f in files:
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, out_dir)
            if sha256_file(path) in hidden_hashes:
                problems.append(f"{rel} is a hidden fixture file")
            elif f.endswith(".npz") and hidden_arrays:
                shared = [k for d, k in array_digests(path).items() if d in hidden_arrays]
                if shared:
                    problems.append(f"{rel} holds {len(shared)} hidden fixture array(s) ({shared[0]})")
            if f == "manifest.json":
                try:
                    with open(path, encoding="utf-8") as fh:
                        if json.load(fh).get("hidden"):
                            problems.append(f"{rel} is a hidden fixture manifest")
                except ValueError:
                    problems.append(f"{rel} is not valid JSON")
            if f.endswith(".npz") and not rel.replace(os.sep, "/").startswith("autograder/fixtures/"):
                problems.append(f"{rel}: fixture file outside autograder/fixtures")
            if f.endswith((".py", ".md", ".txt", ".toml", ".json", ".ipynb")):
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        if line.strip() in sol:
                            problems.append(f"{rel}:{n}: solution text: {line.strip()[:60]}")
                            break
    if problems:
        raise LeakError("refusing to build the handout: " + "; ".join(problems[:10])
                        + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""))


def build(hw, out_dir, hidden_dirs=(), force=False, root=REPO):
    if hw not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {hw!r}")
    if os.path.exists(out_dir) and os.listdir(out_dir):
        if not force:
            raise FileExistsError(f"{out_dir} exists and is not empty (use --force to replace it)")
        shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    rubrics = {}
    for a in ASSIGNMENTS:
        try:
            rubrics[a] = load_rubric(a)
        except Exception:  # noqa: BLE001 - an assignment without a rubric yet
            pass
    try:
        blocks = []
        src_pkg = os.path.join(root, "minitorch")
        for dirpath, dirs, files in os.walk(src_pkg):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            rel_dir = os.path.relpath(dirpath, root)
            os.makedirs(os.path.join(out_dir, rel_dir), exist_ok=True)
            for f in sorted(files):
                src = os.path.join(dirpath, f)
                dst = os.path.join(out_dir, rel_dir, f)
                if f.endswith(".py"):
                    with open(src, encoding="utf-8") as fh:
                        text, b, _ = strip_solutions(fh.read(), hw, rubrics, os.path.join(rel_dir, f))
                    blocks += b
                    with open(dst, "w", encoding="utf-8") as fh:
                        fh.write(text)
                elif not f.endswith((".pyc", ".pyo")):
                    shutil.copy2(src, dst)
        # the local autograder: code, rubrics, public fixtures of hw1..hw (no generator)
        ag_out = os.path.join(out_dir, "autograder")
        shutil.copytree(os.path.join(root, "autograder"), ag_out,
                        ignore=lambda d, names: _ignore(d, names) + [n for n in names if n in INSTRUCTOR_ONLY
                                                                    or (n.endswith(".npz") and d == FIXTURE_DIR)
                                                                    or (n == "manifest.json" and d == FIXTURE_DIR)
                                                                    or (n == "lm" and d == FIXTURE_DIR
                                                                        and not _has_lm_task(rubrics, hw))])
        manifest = read_manifest(FIXTURE_DIR)
        files = {}
        for a in ASSIGNMENTS[: ASSIGNMENTS.index(hw) + 1]:
            name = f"{a}.npz"
            if name in manifest.get("files", {}):
                shutil.copy2(os.path.join(FIXTURE_DIR, name), os.path.join(ag_out, "fixtures", name))
                files[name] = manifest["files"][name]
        manifest["files"] = files
        with open(os.path.join(ag_out, "fixtures", "manifest.json"), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True)
            fh.write("\n")
        with open(os.path.join(ag_out, "HANDOUT.json"), "w", encoding="utf-8") as fh:
            json.dump({"assignment": hw, "required_files": rubrics[hw].files if hw in rubrics else []}, fh)
        # the writeup
        for a in ASSIGNMENTS[: ASSIGNMENTS.index(hw) + 1]:
            wdir = os.path.join(out_dir, "handouts", a)
            os.makedirs(wdir, exist_ok=True)
            src = os.path.join(root, "handouts", a, "README.md")
            if os.path.exists(src):
                shutil.copy2(src, os.path.join(wdir, "README.md"))
            elif a in rubrics:
                with open(os.path.join(wdir, "README.md"), "w", encoding="utf-8") as fh:
                    fh.write(_placeholder_writeup(a, rubrics[a], blocks))
        for f in ("setup.py", "pyproject.toml"):
            if os.path.exists(os.path.join(root, f)):
                shutil.copy2(os.path.join(root, f), os.path.join(out_dir, f))
        with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as fh:
            fh.write(f"# minitorch {hw}\n\nRead handouts/{hw}/README.md. Fill in every `raise NotImplementedError` "
                     f"marked {hw}; check your work with `python -m autograder {hw}` and hand in with "
                     "`python -m autograder.handin` (writes handin.tar).\n")
        check_tree(out_dir, hw, hidden_dirs)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return blocks


def digest_tree(path):
    h = hashlib.sha256()
    for dirpath, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            h.update(os.path.relpath(p, path).encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.handout", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a student handout")
    b.add_argument("assignment", choices=list(ASSIGNMENTS))
    b.add_argument("--out", required=True)
    b.add_argument("--hidden", action="append", default=[], help="hidden fixture folder(s) that must not leak")
    b.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    args = p.parse_args(argv)
    try:
        blocks = build(args.assignment, args.out, args.hidden, args.force)
    except (LeakError, FileExistsError, ValueError) as e:
        print(f"handout: {e}", file=sys.stderr)
        return 2
    n = sum(1 for b_ in blocks if b_[0] == args.assignment)
    print(f"built {args.out}: {n} {args.assignment} solution blocks removed ({len(blocks)} in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
