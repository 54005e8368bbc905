"""The reference implementation scores 100/100 on every assignment, public and hidden fixtures.

Each rubric test is a pytest item with markers ``<hw>`` and ``<hw>_<test>`` so the developers'
suite can run one task's tests through the autograder, e.g. ``pytest -m hw4_attention_kernel``.
The grading itself happens once per assignment (lazily), with a freshly generated hidden set."""
import pytest

from autograder.rubric import available_assignments, load_rubric

from .bugs import REPO

PARAMS = [pytest.param(hw, t, marks=[getattr(pytest.mark, hw), getattr(pytest.mark, f"{hw}_{t}")], id=f"{hw}-{t}")
          for hw in available_assignments() for t in load_rubric(hw).tests]
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


def graded(hw, hidden):
    if hw not in _cache:
        from autograder.grade import grade_assignment

        _cache[hw] = grade_assignment(hw, REPO, hidden_dir=hidden)
    return _cache[hw]


@pytest.mark.parametrize("hw,test", PARAMS)
def test_reference_full_marks(hw, test, hidden_dir):
    report = graded(hw, hidden_dir)
    for label in (test, f"{test} [hidden]") if hidden_dir else (test,):
        t = next(x for x in report["tests"] if x["name"] == label)
        failed = [f"{c['name']}: {c['message']} {c['hint']}" for c in t["checks"] if not c["passed"]]
        assert not failed, f"reference loses points on {hw} {label}:\n" + "\n".join(failed[:5])
        assert t["points"] == pytest.approx(t["max_points"]) and t["checks"]


def test_reference_totals(hidden_dir):
    for hw in available_assignments():
        report = graded(hw, hidden_dir)
        assert report["score"] == pytest.approx(100.0) and report["max_score"] == pytest.approx(100.0), hw
        hidden = [t for t in report["tests"] if t["fixtures"] == "hidden"]
        assert bool(hidden) == bool(hidden_dir) and all(t["visibility"] == "after_due_date" for t in hidden)
