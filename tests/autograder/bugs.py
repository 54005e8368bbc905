"""Planted bugs: a copy of the reference package with one kernel body changed, graded in the sandbox.

Each bug names the file, the exact text to replace (which must occur exactly once) and its
replacement, the test that must lose points, and the hint it must get (a substring, or the exact
text), and optionally a hint it must not get."""
import os
import shutil
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# hint: a substring of some failed check's hint (or message); with exact=True, the whole hint.
# absent: a substring that no failed check's hint may contain (a hint that would mislead).
Bug = namedtuple("Bug", "name assignment file old new test hint exact absent", defaults=(False, ""))


def make_submission(dest, edits=()):
    """Copy the reference minitorch into ``dest`` and apply ``edits`` [(file, old, new)]."""
    shutil.copytree(os.path.join(REPO, "minitorch"), os.path.join(dest, "minitorch"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel, old, new in edits:
        path = os.path.join(dest, rel)
        with open(path, encoding="utf-8") as f:
            src = f.read()
        n = src.count(old)
        if n != 1:
            raise AssertionError(f"planted edit for {rel}: the text to replace occurs {n} times, expected once:\n{old}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(src.replace(old, new))
    return dest


def hand_in_trained_model(dest):
    """Put a trained model into the submission folder ``dest`` (``lm/best.ckpt``, hw4's training task): the
    oracle itself, a GPT on the task's vocabulary well within its limits that earns the test's full points."""
    from autograder import lm

    os.makedirs(os.path.join(dest, "lm"), exist_ok=True)
    shutil.copyfile(os.path.join(lm.LM_DIR, "oracle.ckpt"), os.path.join(dest, *lm.HANDIN_CKPT.split("/")))
    return dest


def grade_bugs(bugs, tmp_root, workers=2):
    """{bug name: report, or the exception (e.g. an edit that no longer applies) for that bug alone}.

    Up to 6 bugs of one assignment are graded in one sandbox batch (``grade_batch``: one child
    imports the patched packages one after the other), the batches in parallel."""
    from autograder.grade import grade_batch

    out, by_hw = {}, {}
    for bug in bugs:
        dest = os.path.join(tmp_root, bug.name)
        try:
            make_submission(dest, [(bug.file, bug.old, bug.new)])
        except Exception as e:  # noqa: BLE001 - reported by that bug's test
            out[bug.name] = e
            continue
        by_hw.setdefault(bug.assignment, []).append((bug, dest))

    def run(pairs):
        # the torch comparisons carry the hints; finite differences are covered by the reference tests
        reports = grade_batch(pairs[0][0].assignment, [(dest, [bug.test]) for bug, dest in pairs],
                              finite_differences=False)
        return {bug.name: r for (bug, _), r in zip(pairs, reports)}

    batches = [pairs[k:k + 6] for pairs in by_hw.values() for k in range(0, len(pairs), 6)]
    with ThreadPoolExecutor(max_workers=workers) as ex:
        for res in ex.map(run, batches):
            out.update(res)
    return out


def failed_checks(report, test):
    t = next(t for t in report["tests"] if t["test"] == test)
    return t, [c for c in t["checks"] if not c["passed"]]
