"""The reference implementation scores 100/100 on every assignment, on the public fixtures (local
grading) and in official grading: a freshly generated hidden set and fresh instances computed by
the reference itself (a fixed seed here; every official grading run draws a new one).

Each rubric test is a pytest item with markers ``<hw>`` and ``<hw>_<test>`` so the developers'
suite can run one task's tests through the autograder, e.g. ``pytest -m hw4_attention_kernel``.
The grading itself happens once per assignment (lazily); every public check must pass too, so the
official run also stands for the local one (where the public checks carry the points)."""
import pytest

from autograder.lmtask import TEST as LM
from autograder.rubric import available_assignments, load_rubric

from .bugs import REPO

# hw4's training task (language_model) grades a trained model, which this repository does not hand in: its
# reference run is recorded in bench/results/lm-task-thresholds.md and tests/autograder/test_lm.py grades hand-ins
PARAMS = [pytest.param(hw, t, marks=[getattr(pytest.mark, hw), getattr(pytest.mark, f"{hw}_{t}")], id=f"{hw}-{t}")
          for hw in available_assignments() for t in load_rubric(hw).tests if t != LM]
_cache = {}


@pytest.fixture(scope="session")
def hidden_dir(tmp_path_factory):
    """A fresh hidden set (needs torch); without torch only the public fixtures are graded."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    from autograder.fixtures.generate import generate

    out = tmp_path_factory.mktemp("hidden")
    generate(available_assignments(), str(out), seed=4242, hidden=True, quiet=True)
    return str(out)


@pytest.fixture(scope="session")
def fresh_set():
    from autograder.fresh import FreshSet

    with FreshSet(available_assignments(), seed=4243) as fs:
        yield fs


def graded(hw, hidden, fresh):
    if hw not in _cache:
        from autograder.grade import grade_assignment

        _cache[hw] = grade_assignment(hw, REPO, hidden_dir=hidden, fresh_dir=fresh.dir)
    return _cache[hw]


@pytest.mark.parametrize("hw,test", PARAMS)
def test_reference_full_marks(hw, test, hidden_dir, fresh_set):
    report = graded(hw, hidden_dir, fresh_set)
    for label in (test, f"{test} [fresh]") + ((f"{test} [hidden]",) if hidden_dir else ()):
        t = next(x for x in report["tests"] if x["name"] == label)
        failed = [f"{c['name']}: {c['message']} {c['hint']}" for c in t["checks"] if not c["passed"]]
        assert not failed, f"reference loses points on {hw} {label}:\n" + "\n".join(failed[:5])
        assert t["points"] == pytest.approx(t["max_points"]) and t["checks"]


def test_reference_totals(hidden_dir, fresh_set):
    for hw in available_assignments():
        report = graded(hw, hidden_dir, fresh_set)
        rubric = load_rubric(hw)
        no_model = rubric.points(LM) if LM in rubric.tests else 0.0  # no trained model handed in here
        assert report["score"] == pytest.approx(100.0 - no_model) and report["max_score"] == pytest.approx(100.0), hw
        # extra credit (hw4's flash attention): all of it, reported beside the 100
        assert report["bonus"] == pytest.approx(report["bonus_max"]) == pytest.approx(load_rubric(hw).bonus_points)
        kernels = [t for t in report["tests"] if t["test"] != LM]
        hidden = [t for t in kernels if t["fixtures"] == "hidden"]
        assert bool(hidden) == bool(hidden_dir) and all(t["visibility"] == "after_due_date" for t in hidden)
        fresh = [t for t in kernels if t["fixtures"] == "fresh"]
        assert len(fresh) == len(rubric.tests) - (LM in rubric.tests) and all(t["visibility"] == "visible"
                                                                               for t in fresh)
        assert sum(t["max_points"] for t in kernels if t["fixtures"] == "public") == 0.0
        lm_tests = [t for t in report["tests"] if t["test"] == LM]
        assert all("no trained model handed in" in t["checks"][0]["message"] for t in lm_tests)
