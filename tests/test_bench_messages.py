"""bench/messages.py on a few rounds: both ways of handing a worker a request report a send time and a round trip."""
import re

from tests.helpers import run_bench


def _run(*args):
    return run_bench("messages", *args)


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
