"""bench/step_ab.py on one step per side: it runs all three comparisons and reports each with the load average."""
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "bench", "step_ab.py")


def _run(*args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env, timeout=300)


def test_runs_the_three_comparisons_and_writes_the_report(tmp_path):
    out = tmp_path / "ab.txt"
    r = _run("--steps", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for line in ("projected  lstm,  6 rows", "projected  lstm, 12 rows", "sharded    lstm, batch 12",
                 "sharded    baby-gpt, batch 12", "tiled      lstm_forward", "load average (1, 5, 15 min) before",
                 "load average after"):
        assert line in r.stdout
    assert out.read_text(encoding="utf-8").splitlines()[-1].startswith("load average after")
    again = _run("--steps", "1", "--only", "tiled", "--out", str(out))
    assert again.returncode == 2 and "exists" in again.stderr       # a report is never overwritten


def test_bad_steps_are_refused():
    r = _run("--steps", "0")
    assert r.returncode == 2 and "--steps must be at least 1" in r.stderr
