"""Batch grading with hostile students: a crash, a kill of the grader, a hang and a tar bomb fail
only their own row; a classmate's folder cannot be read or changed and the batch cannot be killed
(isolating sandbox modes); temporary folders are always removed; the gradebook is written last."""
import csv
import gzip
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading

import pytest

from autograder import batch
from autograder.batch import BatchError, grade_all, write_gradebook

from .bugs import REPO, make_submission

INIT = "minitorch/__init__.py"
ANCHOR = "__version__ = "
MATMUL = 13.0  # the points of hw1's matmul test


def _mode():
    try:
        return batch.isolation(insecure=True)[0]
    except BatchError:
        return "none"


def _hostile(dest, code):
    return make_submission(dest, [(INIT, ANCHOR, code + ANCHOR)])


def _leftovers(marker):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(name))
            except OSError:
                pass
    return found


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Temporary folders of the batch go here, so the test can see that they are all removed."""
    t = tmp_path / "batch-tmp"
    t.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(t))
    return t


def test_crash_kill_hang_and_bomb_fail_only_their_own_row(tmp_path, private_tmp):
    subs = tmp_path / "subs"
    make_submission(str(subs / "alice"))
    _hostile(str(subs / "crasher"), "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(3)\n")
    _hostile(str(subs / "hanger"), "import time\nwhile True:\n    time.sleep(1)\n")
    bomb = subs / "bomber.tar.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tf:
        info = tarfile.TarInfo("minitorch/__init__.py")
        info.size = 1 << 31
        tf.addfile(info)  # the header alone: refused on its declared size
    results = grade_all(str(subs), ["hw1"], tests=["matmul"], insecure=True, student_timeout=6)
    rows = {s: (r, e) for s, r, e in results}
    assert list(rows) == ["alice", "bomber", "crasher", "hanger"]
    assert rows["alice"][0]["score"] == pytest.approx(MATMUL) and rows["alice"][1] == ""
    assert rows["bomber"][0] is None and "over the 4 MiB limit for one file" in rows["bomber"][1]
    crasher, why = rows["crasher"]
    assert crasher is None and "SIGKILL" in why or crasher["score"] == 0
    hanger, why = rows["hanger"]
    # the sandbox's import timeout or the batch's student timeout, whichever comes first
    assert hanger is None and "did not finish within 6 s" in why or hanger["score"] == 0
    assert os.listdir(private_tmp) == [], "temporary folders left behind"
    assert _leftovers(str(private_tmp)) == [], "processes left behind"
    out = write_gradebook(results, ["hw1"], str(tmp_path / "grades.csv"))
    rows = {r["student"]: r for r in csv.DictReader(open(out))}
    assert float(rows["alice"]["total"]) == pytest.approx(MATMUL) and float(rows["hanger"]["total"]) == 0
    with pytest.raises(BatchError, match="exists: pass --overwrite"):
        write_gradebook(results, ["hw1"], out, overwrite=False)


def test_ctrl_c_removes_temporary_folders_and_processes(tmp_path, private_tmp):
    subs = tmp_path / "subs"
    _hostile(str(subs / "slow"), "import time\ntime.sleep(600)\n")
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGINT))  # a real Ctrl-C
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            grade_all(str(subs), ["hw1"], tests=["matmul"], insecure=True)
    finally:
        timer.cancel()
    assert os.listdir(private_tmp) == []
    assert _leftovers(str(private_tmp)) == []


def test_refuses_without_isolation_unless_insecure(tmp_path, monkeypatch, capsys):
    (tmp_path / "subs").mkdir()
    monkeypatch.setenv("MINITORCH_SANDBOX", "none")
    assert batch.main([str(tmp_path / "subs"), "--assignment", "hw1", "--out", str(tmp_path / "g.csv")]) == 2
    assert "--insecure" in capsys.readouterr().err and not (tmp_path / "g.csv").exists()
    (tmp_path / "g.csv").write_text("old gradebook\n")
    assert batch.main([str(tmp_path / "subs"), "--assignment", "hw1", "--out", str(tmp_path / "g.csv"),
                       "--insecure"]) == 2
    assert "exists" in capsys.readouterr().err and (tmp_path / "g.csv").read_text() == "old gradebook\n"


PEER_ATTACK = """import os, signal, shutil
_bob, _alice = {bob!r}, {alice!r}
try:  # lower a classmate's grade
    with open(os.path.join(_bob, "minitorch/kernels/matmul.py"), "a") as _f:
        _f.write("\\nraise RuntimeError('sabotaged')\\n")
except OSError:
    pass
try:  # copy a classmate's solution over my own
    shutil.copy(os.path.join(_alice, "minitorch/kernels/matmul.py"), os.path.join(os.path.dirname(__file__), "kernels"))
except OSError:
    pass
_chain, _p = [], os.getppid()
for _ in range(2):  # my grader and the batch above it (never further up: that is the test runner)
    _chain.append(_p)
    try:
        _p = int([l for l in open(f"/proc/{{_p}}/status") if l.startswith("PPid:")][0].split()[1])
    except (OSError, IndexError, ValueError):
        break
for _p in _chain:
    if _p > 1:
        try:
            os.kill(_p, signal.SIGKILL)
        except OSError:
            pass
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")
def test_peer_tampering_and_killing_the_batch_fail_in_a_sandbox(tmp_path):
    mode = _mode()
    if mode not in ("bwrap", "setpriv"):
        pytest.skip(f"needs an isolating sandbox (bwrap or setpriv); this machine has {mode}")
    subs = tmp_path / "subs"
    subs.mkdir(mode=0o700)  # submissions are private to the grader
    alice, bob = make_submission(str(subs / "alice")), make_submission(str(subs / "bob"))
    # mallory starts with a wrong matmul kernel and tries to take alice's
    make_submission(str(subs / "mallory"), [
        (INIT, ANCHOR, PEER_ATTACK.format(bob=bob, alice=alice) + ANCHOR),
        ("minitorch/kernels/matmul.py", "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(a, 1, 2) @ dout",
         "return dout @ xp.swapaxes(b, 1, 2), -(xp.swapaxes(a, 1, 2) @ dout)")])
    before = open(os.path.join(bob, "minitorch/kernels/matmul.py")).read()
    out = tmp_path / "grades.csv"
    r = subprocess.run([sys.executable, "-m", "autograder.batch", str(subs), "--assignment", "hw1", "--test",
                        "matmul", "--out", str(out), "--workers", "1"], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": REPO}, timeout=600)
    assert r.returncode in (0, 1), r.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out))}
    assert float(rows["alice"]["total"]) == pytest.approx(MATMUL)
    assert float(rows["bob"]["total"]) == pytest.approx(MATMUL)
    assert float(rows["mallory"]["total"]) < MATMUL
    assert open(os.path.join(bob, "minitorch/kernels/matmul.py")).read() == before
