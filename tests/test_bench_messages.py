"""bench/messages.py on a few rounds: both ways of handing a worker a request report a send time and a round trip."""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "bench", "messages.py")


def _run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=300)


def test_measures_the_pipe_and_the_mailbox_and_writes_the_report(tmp_path):
    out = tmp_path / "messages.txt"
    r = _run("--rounds", "20", "--gap", "0.05", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for name in ("pipe", "mailbox"):
        m = re.search(rf"^{name} +send +([0-9.]+) us +round trip +([0-9.]+) us", r.stdout, re.M)
        assert m and 0 < float(m.group(1)) <= float(m.group(2)), r.stdout
    assert out.read_text(encoding="utf-8") == r.stdout
    again = _run("--rounds", "1", "--out", str(out))
    assert again.returncode == 2 and "exists" in again.stderr      # a report is never overwritten


def test_bad_arguments_are_refused():
    assert "--rounds must be at least 1" in _run("--rounds", "0").stderr
    assert "--gap must not be negative" in _run("--gap", "-1").stderr
