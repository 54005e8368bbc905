"""What a student sees from the grader's command line (issue 12 §4), exact wording: which assignment
and which minitorch are graded, one-line exits for grader problems, and what handin puts in the tar."""
import os
import subprocess
import sys
import tarfile

import pytest

import autograder.__main__ as cli
from autograder.handout import build

from .bugs import REPO


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cli") / "hw2")
    build("hw2", out)
    return out


def _run(args, cwd, extra_env=None, code=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the handout's own autograder and minitorch
    env.update(extra_env or {})
    cmd = [sys.executable] + (["-c", code] if code else ["-m"]) + args
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_bare_command_in_a_handout_grades_that_assignment_and_names_the_package(handout):
    r = _run(["autograder", "--test", "linear"], cwd=handout)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"graded: the minitorch at {os.path.join(handout, 'minitorch')}"
    assert "== hw2: Layers, losses and optimizers ==" in lines
    assert not any(ln.startswith("== hw1") for ln in lines) and "TOTAL" not in r.stdout
    assert "  hw2 total: 0.00 / 12.00" in r.stdout


def test_an_assignment_the_handout_lacks_says_what_to_do(handout):
    r = _run(["autograder", "hw4"], cwd=handout)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("autograder: this is the hw2 handout: it can grade hw1, hw2, not hw4 (it has no rubric or "
                        "fixtures for hw4). Get the hw4 handout from your course page and run `python -m autograder "
                        "hw4` inside it\n")


def test_outside_a_handout_a_missing_rubric_says_what_to_do():
    with pytest.raises(cli.UsageProblem) as e:
        cli.choose_assignments("hw4", None, ["hw1", "hw2"])
    assert str(e.value) == ("no rubric for hw4: autograder/rubrics/hw4.toml is missing, so hw4 cannot be graded here "
                            "(available: hw1, hw2). Reinstall the autograder, or grade one of those")
    assert cli.choose_assignments(None, None, ["hw1", "hw2"]) == ["hw1", "hw2"]
    assert cli.choose_assignments(None, "hw2", ["hw1", "hw2"]) == ["hw2"]
    assert cli.choose_assignments("all", "hw2", ["hw1", "hw2"]) == ["hw1", "hw2"]


def test_grading_another_minitorch_than_the_handouts_is_announced(monkeypatch, tmp_path):
    import autograder.grade  # noqa: PLC0415

    monkeypatch.setattr(autograder.grade, "installed_submission", lambda: str(tmp_path / "elsewhere"))
    line, warn = cli.graded_package(None)
    assert line == f"graded: the minitorch at {tmp_path / 'elsewhere' / 'minitorch'}"
    own = os.path.join(REPO, "minitorch")
    assert warn == (f"warning: this is not the minitorch next to this autograder ({own}); run the command from that "
                    f"folder, or `pip install -e .` there, or pass --submission {REPO}")


@pytest.mark.parametrize("blocked,expected", [
    (("tomllib", "tomli"), "autograder: reading rubrics needs Python 3.11+ (tomllib) or the tomli package: run "
                           "`pip install -e .` in your handout folder (it installs tomli), or `pip install tomli`\n"),
    (("numpy",), "autograder: the module 'numpy' is missing from this Python ({exe}): run `pip install -e .` in your "
                 "handout folder with this Python\n"),
])
def test_python_without_tomllib_or_numpy_gets_one_line(blocked, expected):
    """Python 3.9/3.10 without tomli (simulated: the modules blocked) and a Python without numpy."""
    code = ("import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked)
            + "from autograder.__main__ import main\nsys.exit(main(['hw1']))\n")
    r = _run([], cwd=REPO, code=code, extra_env={"PYTHONPATH": REPO})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == expected.format(exe=sys.executable)


def test_an_unexpected_grader_error_is_one_line(monkeypatch, capsys):
    import autograder.grade  # noqa: PLC0415

    assert cli.main(["hw1", "--fixtures", "/nonexistent-fixtures"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("autograder: fixture manifest /nonexistent-fixtures/manifest.json")

    def boom(*a, **k):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(autograder.grade, "grade", boom)
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    assert cli.main(["hw1"]) == 2
    err = capsys.readouterr().err
    assert err == ("autograder: internal error: TypeError: unsupported operand (please report it with the command "
                   "you ran; AUTOGRADER_TRACEBACK=1 shows the traceback)\n")


def test_handin_takes_the_package_source_only_and_says_what_it_left_out(handout, tmp_path):
    pkg = os.path.join(handout, "minitorch")
    with open(os.path.join(pkg, "NOTES.txt"), "w", encoding="utf-8") as f:
        f.write("my notes\n")
    with open(os.path.join(pkg, "kernels", "linear.py"), encoding="utf-8") as f, \
            open(os.path.join(pkg, "kernels", "linear.py.bak"), "w", encoding="utf-8") as g:
        g.write(f.read())
    os.makedirs(os.path.join(pkg, "kernels", "__pycache__"), exist_ok=True)
    open(os.path.join(pkg, "kernels", "__pycache__", "linear.cpython-311.pyc"), "wb").close()
    tar = str(tmp_path / "handin.tar")
    r = _run(["autograder.handin", "--out", tar], cwd=handout)
    assert r.returncode == 0, r.stderr
    assert "__pycache__" not in r.stdout and ".pyc" not in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0] == ("left out of the tar (not Python source of the package): minitorch/NOTES.txt, "
                        "minitorch/kernels/linear.py.bak")
    py = sorted(os.path.relpath(os.path.join(d, n), handout).replace(os.sep, "/")
                for d, _, names in os.walk(pkg) for n in names if n.endswith(".py"))
    assert lines[1] == (f"wrote {tar}: {len(py)} files of minitorch/ for hw2 (your hw2 files: kernels/linear.py, "
                        "kernels/embedding.py, kernels/softmax.py, kernels/norm.py, kernels/dropout.py, "
                        "kernels/optim.py, kernels/elementwise.py)")
    with tarfile.open(tar) as tf:
        assert sorted(tf.getnames()) == sorted(py + ["HANDIN.json"])
    r = _run(["autograder.handin", "--out", tar], cwd=str(tmp_path), code=None,
             extra_env={"PYTHONPATH": REPO})
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("handin: which assignment?")
