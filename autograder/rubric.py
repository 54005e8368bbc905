"""Rubrics: ``autograder/rubrics/<assignment>.toml`` maps each test to its points (total 100),
lists the student files of the assignment, and maps solution functions to writeup sections.

A test with ``bonus = true`` is extra credit: its points are not part of the 100 (the regular tests add
up to 100 without it), so correct regular work scores 100 of 100 whether or not the bonus is attempted,
and the bonus test's points are reported on top of them, separately (``bonus`` / ``bonus_max`` in the
reports; Gradescope gets the sum as its score, which may exceed the assignment's total).

``hidden_weight`` (default 1.0, any value in [0, 1]) is the share of each test's points that comes
from cases the student has never seen (hidden fixtures and fresh instances) whenever the grading
has any: official grading always does, and then the public cases count ``1 - hidden_weight``
(0 by default: shown as feedback, worth nothing). ``hidden_visibility`` / ``fresh_visibility`` are
the Gradescope visibilities of the hidden-fixture and fresh-instance tests."""
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    try:
        import tomli as tomllib
    except ModuleNotFoundError:  # pragma: no cover
        tomllib = None

RUBRIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rubrics")
TOTAL = 100
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")  # Gradescope's


class RubricError(RuntimeError):
    pass


class Rubric:
    def __init__(self, assignment, data):
        self.assignment = assignment
        self.title = data.get("title", assignment)
        self.hidden_weight = data.get("hidden_weight", 1.0)
        self.hidden_visibility = data.get("hidden_visibility", "after_due_date")
        self.fresh_visibility = data.get("fresh_visibility", "visible")
        self.files = list(data.get("files", []))
        self.tests = {name: dict(t) for name, t in data.get("tests", {}).items()}
        self.sections = dict(data.get("sections", {}))
        for name, t in self.tests.items():
            if not isinstance(t.get("bonus", False), bool):
                raise RubricError(f"rubric {assignment}: tests.{name}.bonus must be true or false, "
                                  f"got {t['bonus']!r}")
        total = sum(float(t["points"]) for name, t in self.tests.items() if not self.is_bonus(name))
        if abs(total - TOTAL) > 1e-9:
            raise RubricError(f"rubric {assignment}: the points of the regular (non-bonus) tests add up to "
                              f"{total:g}, not {TOTAL}")
        if isinstance(self.hidden_weight, bool) or not isinstance(self.hidden_weight, (int, float)) \
                or not 0.0 <= self.hidden_weight <= 1.0:
            raise RubricError(f"rubric {assignment}: hidden_weight must be a number in [0, 1], "
                              f"got {self.hidden_weight!r}")
        self.hidden_weight = float(self.hidden_weight)
        for key in ("hidden_visibility", "fresh_visibility"):
            if getattr(self, key) not in VISIBILITIES:
                raise RubricError(f"rubric {assignment}: {key} must be one of {', '.join(VISIBILITIES)}, "
                                  f"got {getattr(self, key)!r}")

    def points(self, test):
        return float(self.tests[test]["points"])

    def is_bonus(self, test):
        """True for an extra-credit test (``bonus = true``): its points come on top of the 100."""
        return bool(self.tests[test].get("bonus", False))

    @property
    def bonus_points(self):
        """The extra credit on offer: the points of the bonus tests (0 without any)."""
        return sum(self.points(t) for t in self.tests if self.is_bonus(t))

    def section(self, function, qualname=None):
        for key in (qualname, function):
            if key and key in self.sections:
                return str(self.sections[key])
        return None


def set_weights(rubric, labels):
    """{fixture set label: share of each test's points}. Without unseen cases (hidden fixtures,
    fresh instances) the public cases carry everything; with them, the unseen sets share
    ``hidden_weight`` equally and the public cases keep the rest (0 by default: feedback only)."""
    unseen = [lb for lb in labels if lb != "public"]
    if not unseen:
        return {"public": 1.0}
    out = {lb: rubric.hidden_weight / len(unseen) for lb in unseen}
    out["public"] = 1.0 - rubric.hidden_weight
    return out


def visibility(rubric, label):
    """The Gradescope visibility of a test graded on the fixture set ``label``."""
    return {"public": "visible", "hidden": rubric.hidden_visibility, "fresh": rubric.fresh_visibility}[label]


def load_rubric(assignment):
    path = os.path.join(RUBRIC_DIR, f"{assignment}.toml")
    if not os.path.exists(path):
        raise RubricError(f"no rubric for {assignment!r} ({path})")
    if tomllib is None:  # pragma: no cover
        raise RubricError("reading rubrics needs Python 3.11+ (tomllib) or the tomli package: run "
                          "`pip install -e .` in your handout folder (it installs tomli), or `pip install tomli`")
    with open(path, "rb") as f:
        return Rubric(assignment, tomllib.load(f))


def handout_assignment():
    """In a student handout: the assignment it was built for (else None)."""
    import json  # noqa: PLC0415

    path = os.path.join(os.path.dirname(RUBRIC_DIR), "HANDOUT.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("assignment")


def available_assignments():
    """Assignments with a rubric (in a handout: up to the one it was built for)."""
    from . import ASSIGNMENTS  # noqa: PLC0415

    out = [a for a in ASSIGNMENTS if os.path.exists(os.path.join(RUBRIC_DIR, f"{a}.toml"))]
    last = handout_assignment()
    if last in ASSIGNMENTS:
        out = [a for a in out if ASSIGNMENTS.index(a) <= ASSIGNMENTS.index(last)]
    return out
