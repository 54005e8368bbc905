"""Scoring holes: finite differences earn points only with a correct forward, and dropout is graded
value by value from the grader's random numbers (a mask or scale that ignores p loses points)."""
import os

import numpy as np
import pytest

from autograder.compare import Check
from autograder.grade import FD_NEEDS_FORWARD, evaluate, grade_batch
from autograder.spec import Registry, X

from .bugs import make_submission

E, D = "minitorch/kernels/elementwise.py", "minitorch/kernels/dropout.py"


def _evaluate(got_out, got_grad, fd_num, fd_ana):
    reg = Registry("t")
    case = reg.case("double", test="t", fn=lambda lib, x: 2 * x, inputs=dict(x=X(3)))
    arrays = {"in/x": np.array([1.0, 2.0, 3.0]), "out/out": np.array([2.0, 4.0, 6.0]),
              "grad/x": np.array([2.0, 2.0, 2.0]), "dout/out": np.ones(3)}
    got = {"out/out": got_out, "grad/x": got_grad, "fd/x/numeric": fd_num, "fd/x/analytic": fd_ana}
    return {c.name.split(" ", 1)[1]: c for c in evaluate(case, "double[float64]", arrays, {}, got, {})}


def test_finite_differences_count_only_with_a_correct_forward():
    zeros = np.zeros(3)
    checks = _evaluate(zeros, zeros, zeros, zeros)  # all zeros: 0 against 0 agrees
    fd = checks["gradcheck dL/dx"]
    assert isinstance(fd, Check) and not fd.passed and fd.message == FD_NEEDS_FORWARD
    assert fd.details["relative_error"] == 0.0  # it did agree; it just earns nothing
    twos = np.full(3, 2.0)
    ok = _evaluate(np.array([2.0, 4.0, 6.0]), twos, twos, twos)
    assert all(c.passed for c in ok.values())


ZERO_EVERY_KERNEL = """

def _zero_like(v):
    return v * 0 if getattr(getattr(v, "dtype", None), "kind", "") == "f" else v


def _zeroed(f, forward):
    def g(*args, **kwargs):
        r = f(*args, **kwargs)
        if forward:
            return (_zero_like(r[0]),) + tuple(r[1:])
        return tuple(_zero_like(x) for x in r) if isinstance(r, tuple) else _zero_like(r)
    return g


for _name in [n for n in list(globals()) if n.endswith(("_forward", "_backward"))]:
    globals()[_name] = _zeroed(globals()[_name], _name.endswith("_forward"))
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One sandbox run: gelu returning zeros (forward and backward), and three dropout variants."""
    root = tmp_path_factory.mktemp("scoring")
    subs = {
        "gelu_zeros": ([], ["gelu"]),  # elementwise.py with every kernel zeroed (gelu among them)
        "fixed_mask": ([(D, "    mask = (u >= p).astype(x.dtype)\n    mask *= 1.0 / (1.0 - p)",
                         "    mask = (u >= 0.5).astype(x.dtype)\n    mask *= 2.0")], ["dropout"]),
        "ignores_p_in_mask": ([(D, "    mask = (u >= p).astype(x.dtype)", "    mask = (u >= 0.5).astype(x.dtype)")],
                              ["dropout"]),
        "reference": ([], ["dropout"]),
    }
    jobs = [(make_submission(str(root / name), edits), tests) for name, (edits, tests) in subs.items()]
    with open(os.path.join(jobs[0][0], E), "a", encoding="utf-8") as f:
        f.write(ZERO_EVERY_KERNEL)
    reports = grade_batch("hw2", jobs)
    return {name: r["tests"][0] for name, r in zip(subs, reports)}


def test_all_zeros_gelu_earns_nothing(graded):
    t = graded["gelu_zeros"]
    assert t["test"] == "gelu" and t["points"] == 0
    fd = [c for c in t["checks"] if "gradcheck" in c["name"]]
    assert fd and all(c["message"] == FD_NEEDS_FORWARD for c in fd)




def test_all_zeros_kernels_earn_no_finite_difference_points(tmp_path):
    """Every hw2 kernel returns zeros (forward and backward): the finite-difference checks agree
    (0 against 0) but must earn nothing."""
    from autograder.rubric import load_rubric

    sub = make_submission(str(tmp_path / "zeros"))
    for rel in load_rubric("hw2").files:
        with open(os.path.join(sub, rel), "a", encoding="utf-8") as f:
            f.write(ZERO_EVERY_KERNEL)
    (report,) = grade_batch("hw2", [(sub, None)])
    fd = [c for t in report["tests"] for c in t["checks"] if "gradcheck" in c["name"]]
    agreed = [c for c in fd if c["message"] == FD_NEEDS_FORWARD]
    assert len(agreed) >= 10 and sum(c["max_points"] for c in agreed) > 10  # ~14 points before the fix
    assert sum(c["points"] for c in fd) == 0
    assert report["score"] < 25, report["score"]  # what is left: given code and optimizers (not kernels)


def test_dropout_that_ignores_p_loses_points(graded):
    ref = graded["reference"]
    assert ref["points"] == pytest.approx(ref["max_points"]) and ref["max_points"] > 0
    for name in ("fixed_mask", "ignores_p_in_mask"):
        t = graded[name]
        # only p = 0.5 matches (one output of three, per dtype), and nn.Dropout(p=0.3) fails
        assert t["points"] <= 0.35 * t["max_points"], (name, t["points"])
        hints = {c["hint"] for c in t["checks"] if not c["passed"]}
        assert any("the mask ignores p" in h for h in hints), (name, hints)
