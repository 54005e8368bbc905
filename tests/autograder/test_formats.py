"""Report formats (Gradescope, Autolab, JSON, text), the CLI and batch grading."""
import csv
import json
import os
import shutil

import pytest

from autograder.__main__ import main
from autograder.batch import grade_all, write_gradebook
from autograder.gradescope import build as build_gradescope
from autograder.report import autolab, gradescope, text

from .bugs import make_submission


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    subs = root / "subs"
    make_submission(str(subs / "alice"))
    make_submission(str(subs / "bob"), [("minitorch/kernels/matmul.py",
                                         "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(a, 1, 2) @ dout",
                                         "return dout @ xp.swapaxes(b, 1, 2), -(xp.swapaxes(a, 1, 2) @ dout)")])
    (subs / "carol").mkdir()
    results = grade_all(str(subs), ["hw1"], workers=2, tests=["matmul"], insecure=True)
    out = write_gradebook(results, ["hw1"], str(root / "grades.csv"))
    return results, out


def test_batch_gradebook(batch):
    results, out = batch
    rows = {r["student"]: r for r in csv.DictReader(open(out, encoding="utf-8"))}
    assert set(rows) == {"alice", "bob", "carol"}
    assert float(rows["alice"]["hw1:matmul"]) == pytest.approx(13.0)
    assert 0 < float(rows["bob"]["hw1:matmul"]) < 13.0
    assert rows["carol"]["error"] and float(rows["carol"]["total"]) == 0
    assert os.path.exists(os.path.join(os.path.splitext(out)[0] + "-reports", "bob.json"))


def test_gradescope_autolab_and_text_formats(batch):
    results, _ = batch
    report = next(r for s, r, _ in results if s == "bob")
    gs = json.loads(gradescope(report))
    assert set(gs) >= {"score", "tests"} and gs["score"] == report["score"]
    t = gs["tests"][0]
    assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
    assert t["status"] == "failed" and "wrong sign" in t["output"]
    last = json.loads(autolab(report).splitlines()[-1])
    assert last["scores"]["matmul"] == pytest.approx(t["score"]) and last["scoreboard"][0] == report["score"]
    assert "matmul" in text(report) and "hint: wrong sign" in text(report)


def test_cli_json_and_bad_fixture_dir_exit_code(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["hw1", "--test", "broadcasting", "--format", "json", "--out", str(out)]) == 0
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["assignments"][0]["score"] == pytest.approx(10.0)
    assert main(["hw1", "--fixtures", str(tmp_path), "--test", "broadcasting"]) == 2
    assert "manifest" in capsys.readouterr().err


def test_gradescope_zip(tmp_path):
    import zipfile

    from autograder.fixtures import HERE

    hidden = tmp_path / "hidden"
    shutil.copytree(HERE, hidden, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    z = build_gradescope("hw1", str(tmp_path / "autograder.zip"), str(hidden))
    names = zipfile.ZipFile(z).namelist()
    assert {"setup.sh", "run_autograder"} <= set(names)
    # Gradescope unzips into /autograder/source: the grader sits at the zip's root
    assert "autograder/__main__.py" in names and "hidden/hw1.npz" in names
    assert not any(n.startswith("minitorch") for n in names)  # the reference lives under reference/ only
    assert "reference/minitorch/kernels/matmul.py" in names
    run = zipfile.ZipFile(z).read("run_autograder").decode()
    assert "--format gradescope" in run and "$AG/results/results.json" in run
