"""The Gradescope zip: setup.sh installs the sandbox and locks the grader's files; run_autograder
grades with isolation (refusing without it unless built --insecure) and always leaves a results.json,
checked by running it on an /autograder-like layout in a temporary folder."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import batch
from autograder.__main__ import build_parser
from autograder.gradescope import build
from autograder.handin import make_handin

from .bugs import REPO

pytestmark = pytest.mark.skipif(not shutil.which("bash"), reason="run_autograder is a bash script")


def _mode():
    try:
        return batch.isolation(insecure=True)[0]
    except batch.BatchError:
        return "none"


def _layout(tmp_path, insecure):
    z = build("hw1", str(tmp_path / "autograder.zip"), insecure=insecure)
    ag = tmp_path / "ag"
    (ag / "source").mkdir(parents=True)
    (ag / "submission").mkdir()
    zipfile.ZipFile(z).extractall(ag / "source")  # what Gradescope does with the zip
    shutil.copy(ag / "source" / "run_autograder", ag / "run_autograder")
    return z, ag


def _run(ag, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python3").exists():
        os.symlink(sys.executable, bin_dir / "python3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(AUTOGRADER_ROOT=str(ag), PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}")
    r = subprocess.run(["bash", str(ag / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with open(ag / "results" / "results.json", encoding="utf-8") as f:
        return json.load(f)


def test_setup_and_run_scripts(tmp_path):
    z = build("hw1", str(tmp_path / "autograder.zip"))
    zf = zipfile.ZipFile(z)
    setup, run = zf.read("setup.sh").decode(), zf.read("run_autograder").decode()
    for script in (setup, run):
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    assert "bubblewrap" in setup and "util-linux" in setup  # bwrap, and setpriv for the fallback
    assert "chmod -R go-rwx /autograder/source" in setup
    assert "--insecure" not in run and "--format gradescope" in run
    assert 'os.replace(out + ".tmp", out)' in run  # the fallback results.json is written atomically too
    info = {i.filename: i for i in zf.infolist()}
    assert (info["run_autograder"].external_attr >> 16) & 0o111


def test_run_autograder_grades_an_uploaded_handin_tar(tmp_path):
    mode = _mode()
    _, ag = _layout(tmp_path, insecure=mode == "none")
    make_handin(REPO, "hw1", str(ag / "submission" / "handin.tar"))
    res = _run(ag, tmp_path)
    assert res["score"] == pytest.approx(100.0), res.get("output")
    assert {t["status"] for t in res["tests"]} == {"passed"}


def test_run_autograder_without_a_package_or_a_sandbox_says_why(tmp_path):
    _, ag = _layout(tmp_path, insecure=True)
    (ag / "submission" / "notes.txt").write_text("forgot the code", encoding="utf-8")
    res = _run(ag, tmp_path)
    assert res["score"] == 0 and "no minitorch/ package" in res["output"]
    if _mode() == "none" and "--insecure" in build_parser()._option_string_actions:
        shutil.rmtree(tmp_path / "ag")
        _, ag = _layout(tmp_path, insecure=False)
        make_handin(REPO, "hw1", str(ag / "submission" / "handin.tar"))
        res = _run(ag, tmp_path)
        assert res["score"] == 0 and "sandbox" in res["output"] and "--insecure" in res["output"]
