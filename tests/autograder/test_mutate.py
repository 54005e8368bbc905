"""The mutation tester (autograder/mutate.py): mutant generation, the equivalence list, and a seeded
sample of real mutants that must all lose points (the full run is documented in autograder/README.md)."""
import json
import os
import shutil
import subprocess
import sys

from autograder import mutate

from .bugs import REPO

SRC = '''def f(a, b, xp):
    """doc + string"""
    out = a + b * 2  # a comment - with * operators
    # BEGIN SOLUTION hw9
    y = a * b - 1.5  # not mutated: comment + text
    if not a >= b and True:
        y = xp.sum(y, axis=-1)
    return y
    # END SOLUTION
'''


def _mutate(tmp_path, src=SRC):
    pkg = tmp_path / "minitorch"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "k.py").write_text(src, encoding="utf-8")
    return mutate.generate_mutants("hw9", root=str(tmp_path))


def test_mutants_only_inside_solution_regions_and_only_code_tokens(tmp_path):
    ms = _mutate(tmp_path)
    got = {(m.line, m.old, m.new) for m in ms}
    assert got == {
        (5, "*", "/"), (5, "-", "+"), (5, "1.5", "2.5"), (5, "1.5", "0.75"),
        (6, "not", ""), (6, ">=", ">"), (6, "and", "or"), (6, "True", "False"),
        (7, "sum", "mean"), (7, "-", "+"), (7, "1", "2"), (7, "1", "0"),
    }, sorted(got)
    by = {(m.line, m.old, m.new): m for m in ms}
    assert by[(6, "not", "")].mutated == "if a >= b and True:"
    assert by[(7, "-", "+")].mutated == "y = xp.sum(y, axis=+1)"
    assert all(m.file == "minitorch/k.py" and m.original in SRC for m in ms)
    for m in ms:  # each mutant differs from the source in exactly that line
        diff = [i for i, (a, b) in enumerate(zip(SRC.splitlines(), m.source.splitlines())) if a != b]
        assert diff == [m.line - 1]


def test_mutants_that_do_not_compile_or_change_nothing_are_skipped(tmp_path):
    src = "def g(*args, **kw):\n    # BEGIN SOLUTION hw9\n    return f(*args, **kw)\n    # END SOLUTION\n"
    ms = _mutate(tmp_path, src)
    assert {(m.old, m.new) for m in ms} == {("**", "*")}  # '/args' does not compile


def test_regions_and_statements():
    regs = mutate.regions(REPO)
    assert {hw for _, hw, _, _ in regs} == {"hw1", "hw2", "hw3", "hw4"}
    assert all(a <= b for _, _, a, b in regs)
    src = "x = 1\nif x:\n    y = (1 +\n         2)\nelse:\n    y = 3\n"
    assert mutate.statements(src, 1, 6) == {1: {1}, 2: {2}, 3: {3, 4}, 6: {6}}


def test_equivalent_list_is_well_formed():
    eq = mutate.equivalent_mutants()
    for (f, line, mutant), reason in eq.items():
        assert os.path.exists(os.path.join(REPO, f)), f
        assert line != mutant and reason.strip(), (f, line)
        with open(os.path.join(REPO, f), encoding="utf-8") as fh:
            assert line in {ln.strip() for ln in fh}, f"{f}: listed line is gone: {line}"


def _run(args, root=REPO, timeout=900):
    env = dict(os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "autograder.mutate", *args, "--root", root], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_seeded_sample_of_mutants_all_lose_points(tmp_path):
    """CI's share of the full run: 12 mutants per assignment, every one killed or listed equivalent."""
    out = tmp_path / "m.json"
    r = _run(["all", "--sample", "12", "--seed", "2026", "--quiet", "--json", str(out)])
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    res = json.loads(out.read_text(encoding="utf-8"))
    assert len(res) == 48 and {m["assignment"] for m in res} == {"hw1", "hw2", "hw3", "hw4"}
    assert all(m["status"] in ("killed", "equivalent") for m in res)
    assert sum(m["status"] == "killed" for m in res) >= 40
    for m in res:
        assert m["cases"] or m["status"] == "equivalent"


def test_a_dead_solution_line_survives_and_fails_the_run(tmp_path):
    """A planted solution line whose value nothing uses: its mutants keep full marks, exit status 1."""
    root = tmp_path / "tree"
    shutil.copytree(os.path.join(REPO, "minitorch"), root / "minitorch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = root / "minitorch" / "kernels" / "reduce.py"
    src = path.read_text(encoding="utf-8")
    marker = "    # BEGIN SOLUTION hw1\n"
    assert marker in src
    path.write_text(src.replace(marker, marker + "    _unused = 3 * 7\n", 1), encoding="utf-8")
    r = _run(["hw1", "--file", "minitorch/kernels/reduce.py", "--quiet"], root=str(root))
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    assert "SURVIVED minitorch/kernels/reduce.py:" in r.stdout and "+ _unused = 3 / 7" in r.stdout
    assert "_unused = 3 * 7" not in [ln.strip() for ln in r.stdout.splitlines() if ln.startswith("SURVIVED")]
    summary = [ln for ln in r.stdout.splitlines() if ln.startswith("hw1: ")][0]
    assert " survived" in summary and " 0 survived" not in summary


def test_handouts_leave_out_the_mutation_tooling(tmp_path):
    """The equivalence and coverage lists quote solution lines: instructor-only, like the tool."""
    from autograder.handout import build

    build("hw1", str(tmp_path / "h"))
    ag = tmp_path / "h" / "autograder"
    assert (ag / "grade.py").exists()
    for name in ("mutate.py", "mutants_equivalent.toml", "coverage_allowlist.toml"):
        assert not (ag / name).exists(), name
