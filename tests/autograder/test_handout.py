"""Handouts: a fresh hw2 handout scores 0 on hw2 and full marks on hw1, contains no hw2+ solution
text, hands in a tar the grader accepts; the builder refuses to leak; sections match the rubrics."""
import json
import os
import subprocess
import sys
import tarfile

import pytest

from autograder import ASSIGNMENTS
from autograder.grade import grade
from autograder.handout import LeakError, build, check_tree, solution_lines, strip_solutions
from autograder.rubric import available_assignments, load_rubric

from .bugs import REPO


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("handout") / "hw2")
    blocks = build("hw2", out)
    return out, blocks


def test_handout_scores_zero_on_its_assignment_and_full_on_earlier(handout):
    out, _ = handout
    report = grade(["hw1", "hw2"], out)
    hw1, hw2 = report["assignments"]
    assert hw1["score"] == pytest.approx(100.0)
    assert hw2["score"] == 0.0
    msgs = {c["message"] for t in hw2["tests"] for c in t["checks"]}
    assert any("NotImplementedError: hw2 §" in m and "handouts/hw2/README.md" in m for m in msgs)


def test_handout_has_no_solution_text_and_only_public_fixtures(handout):
    out, blocks = handout
    sol = solution_lines("hw2")
    assert len(sol) > 50
    check_tree(out, "hw2")  # raises on a leak
    fixtures = sorted(os.listdir(os.path.join(out, "autograder", "fixtures")))
    assert "generate.py" not in fixtures and "hw3.npz" not in fixtures and "hw1.npz" in fixtures
    with open(os.path.join(out, "autograder", "fixtures", "manifest.json"), encoding="utf-8") as f:
        assert not json.load(f)["hidden"]
    with open(os.path.join(out, "minitorch", "kernels", "norm.py"), encoding="utf-8") as f:
        src = f.read()
    assert "dx -= c1" not in src and 'raise NotImplementedError("hw2 §4.1 layer_norm_backward' in src
    assert os.path.exists(os.path.join(out, "handouts", "hw2", "README.md"))
    assert all(b[2] for b in blocks), f"solution blocks without a writeup section: {[b for b in blocks if not b[2]]}"


def test_handin_tar_is_valid_and_gradable(handout, tmp_path):
    out, _ = handout
    os.makedirs(os.path.join(out, "minitorch", "__pycache__"), exist_ok=True)
    open(os.path.join(out, "minitorch", "__pycache__", "x.pyc"), "wb").close()
    tar = str(tmp_path / "handin.tar")
    r = subprocess.run([sys.executable, "-m", "autograder.handin", "--out", tar], cwd=out, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    names = tarfile.open(tar).getnames()
    assert "minitorch/kernels/norm.py" in names and not any("__pycache__" in n for n in names)
    report = grade(["hw1"], tar, tests=["broadcasting"])
    assert report["score"] == pytest.approx(10.0)
    os.remove(os.path.join(out, "minitorch", "kernels", "norm.py"))
    r = subprocess.run([sys.executable, "-m", "autograder.handin", "--out", tar], cwd=out, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "missing" in r.stderr


def test_a_handout_cannot_grade_officially(handout):
    """A handout has no unseen cases and is no reference: official grading there is a one-line refusal."""
    out, _ = handout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINITORCH"))}
    for extra, says in (([], "cases students have not seen"), (["--reference", out], "is a student handout")):
        r = subprocess.run([sys.executable, "-m", "autograder", "hw1", "--official", "--test", "broadcasting",
                            "--sandbox", "none"] + extra, cwd=out, capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_builder_refuses_leaks(tmp_path):
    tree = tmp_path / "tree"
    (tree / "minitorch").mkdir(parents=True)
    line = sorted(solution_lines("hw2"))[0]
    (tree / "minitorch" / "x.py").write_text(f"def f():\n    {line}\n", encoding="utf-8")
    with pytest.raises(LeakError, match="solution text"):
        check_tree(str(tree), "hw2")
    (tree / "minitorch" / "x.py").write_text("pass\n", encoding="utf-8")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "hw1.npz").write_bytes(b"secret fixture bytes")
    (tree / "copy.npz").write_bytes(b"secret fixture bytes")
    with pytest.raises(LeakError, match="hidden fixture"):
        check_tree(str(tree), "hw2", [str(hidden)])


def test_strip_solutions_keeps_indentation_and_hints():
    src = ("class A:\n    def f(self, x):\n        y = 1\n        # BEGIN SOLUTION hw3\n        # HINT: use x\n"
           "        return x + y\n        # END SOLUTION\n\n\ndef g():\n    # BEGIN SOLUTION hw1\n    return 2\n"
           "    # END SOLUTION\n")
    out, blocks, removed = strip_solutions(src, "hw2", {"hw3": load_rubric("hw3")} if "hw3" in ASSIGNMENTS else {})
    assert '        # HINT: use x\n        raise NotImplementedError("hw3 A.f: see handouts/hw3/README.md")' in out
    assert "return 2" in out and "return x + y" not in out
    assert blocks == [("hw3", "f", None)] and removed == ["        return x + y\n"]
    with pytest.raises(ValueError, match="without END"):
        strip_solutions("# BEGIN SOLUTION hw1\nx = 1\n", "hw1", {})


def test_every_solution_block_has_a_rubric_section():
    missing = []
    for dirpath, dirs, files in os.walk(os.path.join(REPO, "minitorch")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    rubrics = {a: load_rubric(a) for a in available_assignments()}
                    _, blocks, _ = strip_solutions(fh.read(), "hw1", rubrics, f)
                missing += [(f, b) for b in blocks if b[2] is None]
    assert not missing, f"solution blocks without a §section in their rubric: {missing}"


def test_writeup_sections_match_the_rubric():
    """When a writeup exists, every §section named in its rubric is one of its headings."""
    checked = 0
    for hw in available_assignments():
        path = os.path.join(REPO, "handouts", hw, "README.md")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            headings = [ln for ln in f if ln.lstrip().startswith("#")]
        for func, sec in load_rubric(hw).sections.items():
            assert any(f"§{sec}" in h or f" {sec} " in h or f" {sec}." in h for h in headings), \
                f"{hw}: section {sec} ({func}) is not a heading of handouts/{hw}/README.md"
        checked += 1
    if not checked:
        pytest.skip("no writeups yet (handouts/hwN/README.md)")
