"""Batch grading with hostile students: a crash, a kill of the grader, a hang and a tar bomb fail
only their own row; a classmate's folder cannot be read or changed and the batch cannot be killed
(isolating sandbox modes); temporary folders are always removed; the gradebook is written last."""
import csv
import gzip
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

import pytest

from autograder import batch
from autograder.batch import BatchError, grade_all, write_gradebook
from autograder.handin import make_handin

from .bugs import REPO, make_submission
from .sandbox_modes import require_mode

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="the leftover-process checks read /proc (Linux)")

INIT = "minitorch/__init__.py"
ANCHOR = "__version__ = "
MATMUL = 13.0  # the points of hw1's matmul test


def _hostile(dest, code):
    return make_submission(dest, [(INIT, ANCHOR, code + ANCHOR)])


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")[:300]
    except OSError:
        return "(gone)"


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
def private_tmp(monkeypatch):
    monkeypatch.delenv("MINITORCH_SANDBOX", raising=False)
    if batch.isolation(insecure=True)[0] == "setpriv":  # needs a private grader: see the peer test
        monkeypatch.setenv("MINITORCH_SANDBOX", "none")
    """Temporary folders of the batch go here, so the test can see that they are all removed (in the
    system's temporary folder: a sandbox uid must be able to pass through its parents)."""
    t = tempfile.mkdtemp(prefix="mt-batch-test-")
    os.chmod(t, 0o711)
    monkeypatch.setattr(tempfile, "tempdir", t)
    yield pathlib.Path(t)
    shutil.rmtree(t, ignore_errors=True)


def test_crash_kill_and_bomb_fail_only_their_own_row(tmp_path, private_tmp):
    subs = tmp_path / "subs"
    make_submission(str(subs / "alice"))
    _hostile(str(subs / "crasher"), "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos._exit(3)\n")
    bomb = subs / "bomber.tar.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tf:
        info = tarfile.TarInfo("minitorch/__init__.py")
        info.size = 1 << 31
        tf.addfile(info)  # the header alone: refused on its declared size
    make_handin(REPO, "hw1", str(subs / "dave.tar"))  # a student handing in the tar handin writes
    results = grade_all(str(subs), ["hw1"], tests=["matmul"], insecure=True, workers=3)
    rows = {s: (r, e) for s, r, e in results}
    assert list(rows) == ["alice", "bomber", "crasher", "dave"]
    for ok in ("alice", "dave"):
        assert rows[ok][0]["score"] == pytest.approx(MATMUL) and rows[ok][1] == ""
    assert rows["bomber"][0] is None and "over the 4 MiB limit for one file" in rows["bomber"][1]
    crasher, why = rows["crasher"]
    # no sandbox: its grader process is killed; in a sandbox the kill misses and the cases fail
    assert (crasher is None and "SIGKILL" in why) or crasher["score"] == 0
    assert os.listdir(private_tmp) == [], "temporary folders left behind"
    assert _leftovers(str(private_tmp)) == [], "processes left behind"
    out = write_gradebook(results, ["hw1"], str(tmp_path / "grades.csv"))
    rows = {r["student"]: r for r in csv.DictReader(open(out, encoding="utf-8"))}
    assert float(rows["alice"]["total"]) == pytest.approx(MATMUL) and float(rows["crasher"]["total"]) == 0
    assert rows["bomber"]["error"] and float(rows["bomber"]["total"]) == 0
    evil = write_gradebook([("=HYPERLINK(\"x\")", None, "-1+1")], ["hw1"], str(tmp_path / "evil.csv"))
    (row,) = csv.DictReader(open(evil, encoding="utf-8"))
    assert row["student"] == "'=HYPERLINK(\"x\")" and row["error"] == "'-1+1"  # never a formula
    with pytest.raises(BatchError, match="exists: pass --overwrite"):
        write_gradebook(results, ["hw1"], out, overwrite=False)


def test_a_hanging_student_is_stopped_at_the_student_timeout(tmp_path, private_tmp):
    subs = tmp_path / "subs"
    _hostile(str(subs / "hanger"), "import time\nwhile True:\n    time.sleep(1)\n")
    (results,) = grade_all(str(subs), ["hw1"], tests=["matmul"], insecure=True, student_timeout=4)
    assert results[1] is None and "did not finish within 4 s" in results[2]
    assert os.listdir(private_tmp) == [] and _leftovers(str(private_tmp)) == []


def test_ctrl_c_removes_temporary_folders_and_processes(tmp_path, private_tmp):
    subs = tmp_path / "subs"
    _hostile(str(subs / "slow"), "import time\ntime.sleep(600)\n")
    started, stop = threading.Event(), threading.Event()

    def ctrl_c_once_grading_runs():  # a real Ctrl-C, sent while the student's grader is running (not on a timer:
        deadline = time.monotonic() + 120  # on a loaded machine a fixed delay can come before or after the work)
        while not stop.is_set() and time.monotonic() < deadline:
            if _leftovers(str(private_tmp)):
                started.set()
                time.sleep(0.5)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    # Python raises KeyboardInterrupt only if SIGINT was not ignored when it started, and a shell ignores SIGINT
    # for commands it starts in the background (`pytest &`, some CI runners): install the handler for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = threading.Thread(target=ctrl_c_once_grading_runs, daemon=True)
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            rows = grade_all(str(subs), ["hw1"], tests=["matmul"], insecure=True)
            pytest.fail(f"the batch ended before Ctrl-C (grader seen running: {started.is_set()}): {rows}")
    finally:
        stop.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)
    assert os.listdir(private_tmp) == []
    left = {p: _cmdline(p) for p in _leftovers(str(private_tmp))}
    assert left == {}


def test_refuses_without_isolation_unless_insecure(tmp_path, monkeypatch, capsys):
    (tmp_path / "subs").mkdir()
    monkeypatch.setenv("MINITORCH_SANDBOX", "none")
    assert batch.main([str(tmp_path / "subs"), "--assignment", "hw1", "--out", str(tmp_path / "g.csv")]) == 2
    assert "--insecure" in capsys.readouterr().err and not (tmp_path / "g.csv").exists()
    (tmp_path / "g.csv").write_text("old gradebook\n", encoding="utf-8")
    assert batch.main([str(tmp_path / "subs"), "--assignment", "hw1", "--out", str(tmp_path / "g.csv"),
                       "--insecure"]) == 2
    assert "exists" in capsys.readouterr().err and (tmp_path / "g.csv").read_text(encoding="utf-8") == "old gradebook\n"


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
@pytest.mark.parametrize("mode", ["bwrap", "setpriv"])
def test_peer_tampering_and_killing_the_batch_fail_in_a_sandbox(tmp_path, mode):
    require_mode(mode)
    grader = tmp_path / "grader"  # a private copy of the grader, as an instructor's setpriv setup needs,
    grader.mkdir(mode=0o700)      # with the reference minitorch next to it (batch grading is official)
    for part in ("autograder", "minitorch"):
        shutil.copytree(os.path.join(REPO, part), grader / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subs = tmp_path / "subs"
    subs.mkdir(mode=0o700)  # submissions are private to the grader
    alice, bob = make_submission(str(subs / "alice")), make_submission(str(subs / "bob"))
    # mallory starts with a wrong matmul kernel and tries to take alice's
    make_submission(str(subs / "mallory"), [
        (INIT, ANCHOR, PEER_ATTACK.format(bob=bob, alice=alice) + ANCHOR),
        ("minitorch/kernels/matmul.py", "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(a, 1, 2) @ dout",
         "return dout @ xp.swapaxes(b, 1, 2), -(xp.swapaxes(a, 1, 2) @ dout)")])
    before = open(os.path.join(bob, "minitorch/kernels/matmul.py"), encoding="utf-8").read()
    out = tmp_path / "grades.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINITORCH"))}
    env["PYTHONPATH"] = str(grader)
    r = subprocess.run([sys.executable, "-m", "autograder.batch", str(subs), "--assignment", "hw1", "--test",
                        "matmul", "--out", str(out), "--workers", "1", "--sandbox", mode], cwd=grader,
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out, encoding="utf-8"))}
    assert float(rows["alice"]["total"]) == pytest.approx(MATMUL)
    assert float(rows["bob"]["total"]) == pytest.approx(MATMUL)
    assert float(rows["mallory"]["total"]) < MATMUL
    assert open(os.path.join(bob, "minitorch/kernels/matmul.py"), encoding="utf-8").read() == before


def test_setpriv_batch_refuses_submissions_other_users_can_read(tmp_path):
    require_mode("setpriv")
    grader = tmp_path / "grader"
    grader.mkdir(mode=0o700)
    shutil.copytree(os.path.join(REPO, "autograder"), grader / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    public = pathlib.Path(tempfile.mkdtemp(prefix="mt-public-subs-"))  # reachable by every user
    try:
        os.chmod(public, 0o755)
        make_submission(str(public / "alice"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINITORCH"))}
        env["PYTHONPATH"] = str(grader)
        r = subprocess.run([sys.executable, "-m", "autograder.batch", str(public), "--assignment", "hw1",
                            "--out", str(tmp_path / "g.csv"), "--sandbox", "setpriv"], cwd=grader,
                           capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 2 and str(public) in r.stderr and "submissions folder must be private" in r.stderr
        assert not (tmp_path / "g.csv").exists()
    finally:
        shutil.rmtree(public, ignore_errors=True)
