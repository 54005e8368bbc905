"""The hw1-hw4 writeups (handouts/hwN/README.md) agree with the autograder: every section a built
handout's NotImplementedError cites is a heading of the writeup, the writeup's rubric table is the
rubric file, and each built handout grades (in its own folder, as a student runs it) to 0 on its own
assignment, every failed check being one of its NotImplementedErrors rather than a crash."""
import json
import os
import re
import subprocess
import sys

import pytest

from autograder import ASSIGNMENTS
from autograder.handout import build
from autograder.rubric import load_rubric

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADING = re.compile(r"^#{2,4}\s+(\d+\.\d+)\s+(.*)$")
CITED = re.compile(r'raise NotImplementedError\("(hw\d+) §(\d+\.\d+) ([\w.]+): see handouts/(hw\d+)/README\.md"\)')
ROW = re.compile(r"^\|\s*`(\w+)`\s*\|\s*([\d.]+)\s*\|\s*(.*?)\s*\|\s*$")


def writeup(hw):
    with open(os.path.join(REPO, "handouts", hw, "README.md"), encoding="utf-8") as f:
        return f.read()


def headings(text):
    """{section number: heading text} of the numbered headings (### 2.3 ...)."""
    out = {}
    for line in text.splitlines():
        m = HEADING.match(line)
        if m:
            assert m.group(1) not in out, f"section {m.group(1)} appears twice"
            out[m.group(1)] = m.group(2)
    return out


def rubric_table(text):
    """[(test, points, description)] from the table under the 'Rubric' heading."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(r"^#{2,4}\s+Rubric\s*$", ln))
    rows, total = [], None
    for ln in lines[start + 1:]:
        if ln.startswith("#"):
            break
        m = ROW.match(ln)
        if m:
            rows.append((m.group(1), float(m.group(2)), m.group(3).replace("\\|", "|")))
        elif ln.startswith("| **Total**"):
            total = float(re.search(r"^\|\s*\*\*Total\*\*\s*\|\s*\*\*([\d.]+)\*\*", ln).group(1))
    return rows, total


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_writeup_has_the_required_parts(hw):
    text = writeup(hw)
    assert text.startswith(f"# {hw}: {load_rubric(hw).title}\n")
    for needed in ("## Learning objectives", "## Grading", "### Rubric", "## Collaboration policy",
                   f"python -m autograder {hw}", "python -m autograder.handin", "handin.tar", "$"):
        assert needed in text, f"handouts/{hw}/README.md lacks {needed!r}"


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_rubric_table_equals_rubric_file(hw):
    rubric = load_rubric(hw)
    rows, total = rubric_table(writeup(hw))
    expected = [(name, float(t["points"]), t.get("description", "")) for name, t in rubric.tests.items()
                 if not rubric.is_bonus(name)]
    bonus = [(name, float(t["points"]), t.get("description", "")) for name, t in rubric.tests.items()
             if rubric.is_bonus(name)]
    # the regular tests, the Total row (100), then the bonus tests (extra credit on top of the 100)
    assert rows == expected + bonus
    assert total == pytest.approx(sum(p for _, p, _ in expected)) == pytest.approx(100.0)
    if bonus:
        text = writeup(hw)
        assert text.index("| **Total**") < text.index(f"| `{bonus[0][0]}`")
        assert "extra credit" in text.lower()


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_every_rubric_section_is_a_heading_naming_its_functions(hw):
    heads = headings(writeup(hw))
    sections = load_rubric(hw).sections
    assert sections
    for func, sec in sections.items():
        assert sec in heads, f"{hw}: rubric section {sec} ({func}) is not a heading of handouts/{hw}/README.md"
        name = func.split(".")[-1]
        if not name.startswith("_") and name not in ("forward", "backward"):
            assert name in heads[sec], f"{hw}: heading {sec} {heads[sec]!r} does not name {func}"
    # numbered headings of parts that have TODOs are all used by the rubric, nothing is left dangling
    assert set(sections.values()) <= set(heads)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """All four handouts built, and each graded on its own assignment from inside its folder
    (the four graders run in parallel)."""
    root = tmp_path_factory.mktemp("handouts")
    out = {}
    for hw in ASSIGNMENTS:
        d = str(root / hw)
        blocks = build(hw, d)
        out[hw] = {"dir": d, "blocks": blocks}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MINITORCH_TEST_BACKEND")}
    procs = {}
    for hw, info in out.items():
        env_hw = dict(env, PYTHONPATH=info["dir"])
        procs[hw] = subprocess.Popen([sys.executable, "-m", "autograder", hw, "--format", "json"], cwd=info["dir"],
                                     env=env_hw, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for hw, p in procs.items():
        stdout, stderr = p.communicate(timeout=280)
        out[hw].update(returncode=p.returncode, stdout=stdout, stderr=stderr)
    return out


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_built_handout_cites_only_writeup_sections(built, hw):
    info = built[hw]
    heads = headings(writeup(hw))
    with open(os.path.join(info["dir"], "handouts", hw, "README.md"), encoding="utf-8") as f:
        assert f.read() == writeup(hw)  # the real writeup, not the builder's placeholder outline
    cited = []
    for dirpath, _, files in os.walk(os.path.join(info["dir"], "minitorch")):
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    cited += CITED.findall(fh.read())
    own = [c for c in cited if c[0] == hw]
    assert len(own) == sum(1 for b in info["blocks"] if b[0] == hw) > 0
    # the builder removes the solutions of this assignment and of the later ones, never earlier ones
    order = list(ASSIGNMENTS)
    assert all(order.index(c[0]) >= order.index(hw) for c in cited)
    for h, sec, func, h2 in cited:
        assert h2 == h
        assert sec in (heads if h == hw else headings(writeup(h))), \
            f"the {hw} handout cites {h} §{sec} ({func}), which is not a heading of handouts/{h}/README.md"
    assert all(os.path.exists(os.path.join(info["dir"], f)) for f in ("setup.py", "pyproject.toml"))


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_built_handout_grades_to_zero_without_errors(built, hw):
    info = built[hw]
    assert info["returncode"] == 0, info["stderr"][-2000:]
    report = json.loads(info["stdout"])
    (a,) = report["assignments"]
    assert a["assignment"] == hw and a["max_score"] == pytest.approx(100.0)
    assert a["score"] == 0.0
    assert [t["name"] for t in a["tests"]] == list(load_rubric(hw).tests)
    heads = headings(writeup(hw))
    failed = [c for t in a["tests"] for c in t["checks"] if not c["passed"]]
    assert failed
    for c in failed:  # every failure is a TODO of this assignment, never a crash of given code
        if c["name"].endswith(" trained model"):  # hw4's training task: no model handed in yet
            assert c["message"].startswith("no trained model handed in (lm/best.ckpt)"), c["message"]
            continue
        m = re.match(rf"NotImplementedError: {hw} §(\d+\.\d+) [\w.]+: see handouts/{hw}/README\.md", c["message"])
        assert m, f"{hw}: {c['name']} failed with {c['message'][:200]!r}"
        assert m.group(1) in heads
