"""Every statement of every solution region is executed by the public cases of its assignment
(or allowlisted with a reason in autograder/coverage_allowlist.toml)."""
import os
import subprocess
import sys

from .bugs import REPO


def test_public_cases_execute_every_solution_statement():
    env = dict(os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "autograder.mutate", "all", "--coverage"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    lines = r.stdout.splitlines()
    for hw in ("hw1", "hw2", "hw3", "hw4"):
        assert any(ln.startswith(f"{hw}: ") and "solution statements executed" in ln for ln in lines), r.stdout
    assert "UNCOVERED" not in r.stdout and "stale" not in r.stdout
