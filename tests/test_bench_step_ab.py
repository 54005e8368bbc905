"""bench/step_ab.py on one step per side: it runs all four comparisons and reports each with the load average."""
from tests.helpers import run_bench


def _run(*args):
    return run_bench("step_ab", *args)


def test_runs_the_four_comparisons_and_writes_the_report(tmp_path):
    out = tmp_path / "ab.txt"
    r = _run("--steps", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for line in ("projected  lstm,  6 rows", "projected  lstm, 12 rows", "sharded    lstm, batch 12",
                 "sharded    baby-gpt, batch 12", "tiled      lstm_forward",
                 "blocks     lstm kernels,  6 rows, T 64, W_hh aligned",
                 "blocks     lstm kernels, 12 rows, T 64, W_hh 16 bytes off", "blocks     gru kernels,  1 rows, T  1",
                 "load average (1, 5, 15 min) before", "load average after"):
        assert line in r.stdout
    assert out.read_text(encoding="utf-8").splitlines()[-1].startswith("load average after")
    again = _run("--steps", "1", "--only", "tiled", "--out", str(out))
    assert again.returncode == 2 and "exists" in again.stderr       # a report is never overwritten


def test_bad_steps_are_refused():
    r = _run("--steps", "0")
    assert r.returncode == 2 and "--steps must be at least 1" in r.stderr
