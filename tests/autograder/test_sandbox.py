"""Hostile and broken submissions are contained: each fails only the tests it touches, with a
message saying what happened, and the grader always finishes and writes its report."""
import pytest

from autograder.grade import grade_assignment

from .bugs import make_submission

E = "minitorch/kernels/elementwise.py"
HOSTILE = [
    # an infinite loop in neg_backward (used by one case only)
    (E, "    # BEGIN SOLUTION hw1\n    return (-dout,)", "    # BEGIN SOLUTION hw1\n    while True:\n        pass"),
    # os._exit in log_backward
    (E, "    # BEGIN SOLUTION hw1\n    return (dout / a,)",
     "    # BEGIN SOLUTION hw1\n    import os\n    os._exit(7)"),
    # a segfault in sqrt_backward
    (E, "    # BEGIN SOLUTION hw1\n    return (dout / (2 * out),)",
     "    # BEGIN SOLUTION hw1\n    import ctypes\n    ctypes.string_at(0)"),
    # a memory bomb in relu_backward
    (E, "    # BEGIN SOLUTION hw1\n    return (dout * mask,)",
     "    # BEGIN SOLUTION hw1\n    xp = get_array_module(dout)\n    big = xp.ones((1 << 36,))\n    return (big,)"),
]


def _checks(report, prefix):
    return [c for t in report["tests"] for c in t["checks"] if c["name"].startswith(prefix)]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    sub = make_submission(str(tmp_path_factory.mktemp("hostile")), HOSTILE)
    return grade_assignment("hw1", sub, tests=["elementwise_arith", "elementwise_unary", "elementwise_piecewise"],
                            timeout=5.0, memory_mb=2048)  # generous: CI machines may be loaded


def test_infinite_loop_times_out_only_its_case(hostile_report):
    for c in _checks(hostile_report, "elementwise/neg_pow"):
        if c["name"].endswith("dL/da") or "gradcheck" in c["name"]:
            assert not c["passed"] and "timed out" in c["message"], c
    assert all(c["passed"] for c in _checks(hostile_report, "elementwise/mul"))


def test_os_exit_and_segfault_are_crashes_of_their_case(hostile_report):
    exits = [c for c in _checks(hostile_report, "elementwise/exp_log") if not c["passed"]]
    assert exits and all("exited with status 7" in c["message"] for c in exits)
    segv = [c for c in _checks(hostile_report, "elementwise/sqrt_tanh") if not c["passed"]]
    assert segv and all("SIGSEGV" in c["message"] for c in segv)
    assert all(c["passed"] for c in _checks(hostile_report, "elementwise/sigmoid["))


def test_memory_bomb_is_a_memory_error(hostile_report):
    bad = [c for c in _checks(hostile_report, "elementwise/relu_abs") if not c["passed"]]
    assert bad and all("MemoryError" in c["message"] for c in bad)
    assert all(c["passed"] for c in _checks(hostile_report, "elementwise/clamp"))
    assert 0 < hostile_report["score"] < 32
