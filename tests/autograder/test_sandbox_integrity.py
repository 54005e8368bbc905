"""Integrity: forbidden frameworks, fake results, patched NumPy, syntax errors and missing files
are contained; the grader always finishes and writes its own report."""
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.__main__ import main as autograder_main
from autograder.grade import SubmissionError, grade

from .bugs import make_submission

E = "minitorch/kernels/elementwise.py"


def test_torch_import_zero_for_the_assignment_and_blocked_at_run_time(tmp_path):
    static = make_submission(str(tmp_path / "static"), [
        ("minitorch/kernels/reduce.py", '"""Reductions', 'import torch  # noqa\n"""Reductions')])
    dynamic = make_submission(str(tmp_path / "dynamic"), [
        ("minitorch/kernels/matmul.py", "    # BEGIN SOLUTION hw1\n    a2 =",
         "    # BEGIN SOLUTION hw1\n    __import__('to' + 'rch')\n    a2 =")])
    with ThreadPoolExecutor(2) as ex:
        r1, r2 = ex.map(lambda s: grade(["hw1"], s, tests=["matmul"])["assignments"][0], [static, dynamic])
    assert r1["score"] == 0 and "minitorch/kernels/reduce.py" in r1["forbidden_imports"]
    assert "forbidden import" in r1["tests"][0]["checks"][0]["message"]
    msgs = [c["message"] for c in r2["tests"][0]["checks"] if not c["passed"]]
    assert msgs and all("not allowed" in m for m in msgs)


def test_fake_results_and_patched_numpy_cannot_change_the_score(tmp_path):
    out = tmp_path / "results.json"
    patch = (
        "import numpy as _np\n"
        "_np.allclose = lambda *a, **k: True\n"
        "_np.array_equal = lambda *a, **k: True\n"
        "_np.testing.assert_allclose = lambda *a, **k: None\n"
        "try:\n"
        f"    open({str(out)!r}, 'w').write('{{\"score\": 100, \"tests\": []}}')\n"
        "except OSError:\n"
        "    pass  # in a sandbox the report's folder does not exist\n"
    )
    sub = make_submission(str(tmp_path / "sub"), [
        ("minitorch/__init__.py", "__version__ = ", patch + "__version__ = "),
        (E, "return unbroadcast(dout * b, a.shape), unbroadcast(dout * a, b.shape)",
         "xp = get_array_module(dout)\n"
         "    return xp.zeros(a.shape, dtype=dout.dtype), xp.zeros(b.shape, dtype=dout.dtype)")])
    rc = autograder_main(["hw1", "--submission", sub, "--test", "elementwise_arith", "--format", "gradescope",
                          "--out", str(out)])
    assert rc == 0
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["tests"], "the report was not written over the fake one"
    assert 0 < res["score"] < 12
    t = res["tests"][0]
    assert t["status"] == "failed" and "all zeros" in t["output"]


def test_syntax_error_and_missing_file_fail_only_what_they_touch(tmp_path):
    syn = make_submission(str(tmp_path / "syntax"), [
        ("minitorch/kernels/recurrent.py", "def rnn_cell_forward(", "def rnn_cell_forward((")])
    gone = make_submission(str(tmp_path / "missing"))
    os.remove(os.path.join(gone, "minitorch/kernels/norm.py"))
    with ThreadPoolExecutor(2) as ex:
        r_syn = ex.submit(grade, ["hw1", "hw3"], syn, tests=["broadcasting", "rnn_cell"])
        r_gone = ex.submit(grade, ["hw2"], gone, tests=["layer_norm", "gelu"])
        r_syn, r_gone = r_syn.result(), r_gone.result()
    hw1, hw3 = r_syn["assignments"]
    assert hw1["score"] == pytest.approx(10.0)
    assert hw3["score"] == 0
    assert "recurrent.py cannot be imported: SyntaxError" in hw3["tests"][0]["checks"][0]["message"]
    ln, gelu = r_gone["assignments"][0]["tests"][0], r_gone["assignments"][0]["tests"][1]
    assert (ln["test"], gelu["test"]) == ("layer_norm", "gelu")
    assert ln["points"] == 0 and gelu["points"] == pytest.approx(gelu["max_points"])
    assert all("minitorch/kernels/norm.py is missing" in c["message"] for c in ln["checks"])


def test_a_folder_without_minitorch_is_a_clear_error(tmp_path):
    with pytest.raises(SubmissionError, match="no minitorch"):
        grade(["hw1"], str(tmp_path))
