"""Extra credit (rubric tests with ``bonus = true``, hw4's flash attention): correct regular work scores exactly
100 of 100 with or without the bonus, the bonus is reported beside the score in every format, and Gradescope gets
their sum (a score above the assignment's total is extra credit there)."""
import csv
import json
import os

import pytest

from autograder.batch import write_gradebook
from autograder.grade import grade_assignment
from autograder.handout import strip_solutions
from autograder.report import autolab, gradescope, text
from autograder.rubric import Rubric, RubricError, load_rubric

from .bugs import hand_in_trained_model, make_submission

FLASH = "minitorch/kernels/flash_attention.py"


def test_bonus_points_are_outside_the_100():
    r = load_rubric("hw4")
    assert r.is_bonus("flash_attention") and not r.is_bonus("attention_kernel")
    assert r.bonus_points == pytest.approx(10.0)
    assert sum(r.points(t) for t in r.tests if not r.is_bonus(t)) == pytest.approx(100.0)
    regular = {"a": {"points": 90}}
    with pytest.raises(RubricError, match=r"regular \(non-bonus\) tests add up to 90, not 100"):
        Rubric("hwX", {"tests": dict(regular, b={"points": 10, "bonus": True})})
    with pytest.raises(RubricError, match=r"tests.b.bonus must be true or false, got 'yes'"):
        Rubric("hwX", {"tests": {"a": {"points": 100}, "b": {"points": 5, "bonus": "yes"}}})
    assert Rubric("hwX", {"tests": {"a": {"points": 100}, "b": {"points": 5, "bonus": True}}}).bonus_points == 5


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """hw4 graded (public cases) on the reference, and on the reference with the bonus file as the handout
    gives it (its solution regions replaced by NotImplementedError)."""
    root = tmp_path_factory.mktemp("bonus")
    skipped = make_submission(str(root / "no_bonus"))
    path = os.path.join(skipped, FLASH)
    with open(path, encoding="utf-8") as f:
        stub, blocks, _ = strip_solutions(f.read(), "hw4", {"hw4": load_rubric("hw4")}, path)
    assert [b[2] for b in blocks] == ["3.1", "3.2"]
    with open(path, "w", encoding="utf-8") as f:
        f.write(stub)
    full = hand_in_trained_model(make_submission(str(root / "full")))
    hand_in_trained_model(skipped)  # hw4's training task: a trained model, so that correct work can reach 100
    return {"full": grade_assignment("hw4", full, finite_differences=False),
            "no_bonus": grade_assignment("hw4", skipped, finite_differences=False)}


def test_without_the_bonus_correct_work_scores_100_of_100(graded):
    r = graded["no_bonus"]
    assert r["score"] == pytest.approx(100.0) and r["max_score"] == pytest.approx(100.0)
    assert r["bonus"] == 0 and r["bonus_max"] == pytest.approx(10.0)
    flash = next(t for t in r["tests"] if t["test"] == "flash_attention")
    assert flash["bonus"] and not flash["passed"]
    assert all("NotImplementedError: hw4 §3." in c["message"] for c in flash["checks"] if not c["passed"])
    report = {"assignments": [r], "score": r["score"], "max_score": r["max_score"], "seconds": 1.0}
    assert "hw4 total: 100.00 / 100.00   + bonus 0.00 / 10.00" in text(report)


def test_with_the_bonus_it_is_reported_on_top(graded, tmp_path):
    r = graded["full"]
    assert r["score"] == pytest.approx(100.0) and r["max_score"] == pytest.approx(100.0)
    assert r["bonus"] == pytest.approx(10.0) == r["bonus_max"]
    report = {"assignments": [r], "score": r["score"], "max_score": r["max_score"], "bonus": r["bonus"],
              "bonus_max": r["bonus_max"], "seconds": 1.0}
    out = text(report)
    assert "flash_attention" in out and "(bonus)" in out and "+ bonus 10.00 / 10.00" in out
    gs = json.loads(gradescope(report))
    assert gs["score"] == pytest.approx(110.0)  # Gradescope: extra credit above the assignment's 100
    names = [t["name"] for t in gs["tests"]]
    assert "flash_attention (bonus)" in names and "attention_kernel" in names
    assert sum(t["max_score"] for t in gs["tests"] if not t["name"].endswith("(bonus)")) == pytest.approx(100.0)
    assert "Bonus: 10 of 10 extra-credit points, on top of the 100" in gs["output"]
    last = json.loads(autolab(report).splitlines()[-1])
    assert last["scores"]["flash_attention"] == pytest.approx(10.0)
    book = write_gradebook([("alice", report, "")], ["hw4"], str(tmp_path / "grades.csv"))
    (row,) = csv.DictReader(open(book, encoding="utf-8"))
    assert float(row["hw4:flash_attention"]) == pytest.approx(10.0)
    assert (float(row["score"]), float(row["bonus"]), float(row["total"])) == pytest.approx((100.0, 10.0, 110.0))
