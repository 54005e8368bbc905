"""Grading one submission: fixtures -> sandbox -> comparisons -> points. Parent side only."""
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from . import lmtask
from .compare import UPSTREAM_IGNORED, Check, _close, compare, compare_fd, culprits, hint_from_error
from .fixtures import FixtureSet, default_dir, read_manifest
from .fresh import FreshError, FreshSet, default_reference
from .intake import SubmissionError, take_in  # noqa: F401 - SubmissionError re-exported
from .rubric import available_assignments, load_rubric, set_weights  # noqa: F401 - set_weights re-exported
from .rubric import visibility as _visibility
from .sandbox import describe_mode, detect_mode, run_cases
from .scan import affected, scan_submission
from .spec import load_registry, resolve_shape  # noqa: F401 - resolve_shape re-exported for cases
from .tolerances import DEFAULT_BUDGET_S, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S


def installed_submission():
    """The folder holding the installed ``minitorch`` (found without importing it)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("minitorch")
    if spec is None or not spec.origin:
        raise SubmissionError("no minitorch is installed; pass --submission PATH")
    return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin)))


def resolve_submission(path, tmp):
    """Take in the submission at ``path`` (a folder holding ``minitorch/`` or a tar of one; None: the
    installed minitorch) as a copy under ``tmp`` (``intake.take_in``: caps, no compiled files, no
    links). Returns the ``Intake`` (``.root`` is the folder to grade)."""
    return take_in(installed_submission() if path is None else path, tmp)


def _scale_values(case, dims):
    out = []
    for name, v in case.scales.items():
        val = v(dims) if callable(v) else (dims[v] if isinstance(v, str) else v)
        out.append((name, float(val)))
    return out


def _fixture_sets(fixtures_dir, hidden_dir, assignment, fresh_dir=None):
    sets = [("public", FixtureSet(fixtures_dir or default_dir(), assignment))]
    if hidden_dir:
        sets.append(("hidden", FixtureSet(hidden_dir, assignment)))
    if fresh_dir:
        sets.append(("fresh", FixtureSet(fresh_dir, assignment)))
    return sets


def _fresh_private(fresh_dir):
    """The fresh instances and the reference that computed them: the sandbox must not read either."""
    if not fresh_dir:
        return []
    ref = read_manifest(fresh_dir).get("reference")
    return [fresh_dir] + ([os.path.join(ref, "minitorch")] if ref else [])


def grade_assignment(assignment, submission, fixtures_dir=None, hidden_dir=None, timeout=DEFAULT_TIMEOUT_S,
                     memory_mb=DEFAULT_MEMORY_MB, tests=None, violations=None, finite_differences=True,
                     mode=None, budget=DEFAULT_BUDGET_S, fresh_dir=None, model=None):
    """Grade one assignment; returns its report dict. Fixture problems raise FixtureError.
    ``finite_differences=False`` skips the gradient checks against finite differences (faster;
    the torch comparisons remain). ``mode``: the sandbox mode (default: detected); ``budget``:
    total wall seconds for the assignment's cases. ``fresh_dir``: fresh instances
    (``fresh.FreshSet.dir``). ``model``: hw4's trained checkpoint, instead of the hand-in's."""
    return grade_batch(assignment, [(submission, tests)], fixtures_dir, hidden_dir, timeout, memory_mb,
                       finite_differences, [violations], mode=mode, budget=budget, fresh_dir=fresh_dir,
                       model=model)[0]


def _expected_keys(case, arrays):
    """{result key: max elements} the parent accepts back from the sandbox for one case instance."""
    exp = {}
    for k, v in arrays.items():
        kind, _, name = k.partition("/")
        if kind in ("out", "grad"):
            exp[k] = max(4 * int(np.size(v)), 4096)
        elif kind == "dout":
            exp.setdefault(f"out/{name}", max(4 * int(np.size(v)), 4096))
    for n in case.grad_inputs():
        ref = arrays.get(f"in/{n}", arrays.get(f"grad/{n}"))
        size = int(np.size(ref)) if ref is not None else 1 << 20
        exp.setdefault(f"grad/{n}", max(4 * size, 4096))
        exp[f"fd/{n}/numeric"] = exp[f"fd/{n}/analytic"] = size + 64
    return exp


# --------------------------------------------------------------------------- grading a batch, step by step
@dataclass
class Assignment:
    """What grading one assignment needs besides the submissions: its rubric, its cases, the
    fixture sets with the share of points each carries, and every assignment's student files."""
    name: str
    rubric: object
    registry: object
    sets: list            # [(label, FixtureSet)]: public, then hidden and fresh when given
    weights: dict         # {label: share of each test's points}
    all_files: set        # the student files of every assignment (forbidden-import rule, required files)


@dataclass
class Job:
    """One submission of the batch: its folder, the rubric tests graded, its forbidden imports."""
    submission: str
    tests: list
    forbidden: dict       # {file: [(line, module), ...]} that affect this assignment
    trained_model: bool = False  # hw4's training task (lmtask.TEST) is graded for this job


@dataclass
class Instance:
    """One case instance of one job and fixture set: what the sandbox runs and what it is compared with."""
    index: int
    job: int
    label: str
    case: object
    inst: str
    arrays: dict
    dims: dict
    fd: bool              # checked against finite differences (float64, a backward with gradient inputs)

    @property
    def key(self):
        return f"{self.label}:{self.inst}"

    def sandbox_item(self):
        """The item the sandbox child runs (``job.json``): inputs are looked up under ``instance``."""
        return {"index": self.index, "group": self.job, "instance": self.key,
                "case": self.case.name, "dtype": self.inst.rsplit("[", 1)[1].rstrip("]"), "dims": self.dims,
                "fd_seed": (self.case.seed(7) if self.fd else None)}

    def sandbox_inputs(self):
        """{input key: array} the child receives for this instance: inputs and upstream gradients only."""
        return {f"{self.key}/{k}": v for k, v in self.arrays.items() if k.startswith(("in/", "dout/"))}


@dataclass
class SandboxOptions:
    """How the sandbox runs a batch: its mode and limits, and the paths it must never read."""
    mode: str
    timeout: float
    memory_mb: int
    budget: float
    fixture_dirs: tuple   # (fixtures, hidden fixtures, fresh instances), each may be None
    model: str = None     # hw4's trained model to grade instead of the hand-in's lm/best.ckpt (local grading)

    def private_paths(self):
        fixtures_dir, hidden_dir, fresh_dir = self.fixture_dirs
        return [fixtures_dir, hidden_dir] + _fresh_private(fresh_dir)


def load_assignment(assignment, fixtures_dir=None, hidden_dir=None, fresh_dir=None):
    """The rubric, cases and fixture sets of ``assignment`` (every case test must carry points)."""
    rubric = load_rubric(assignment)
    registry = load_registry(assignment)
    unknown = [t for t in registry.tests() if t not in rubric.tests]
    if unknown:
        raise RuntimeError(f"{assignment}: tests {unknown} have cases but no points in the rubric")
    sets = _fixture_sets(fixtures_dir, hidden_dir, assignment, fresh_dir)
    all_files = set()
    for a in available_assignments():
        all_files |= set(load_rubric(a).files)
    return Assignment(assignment, rubric, registry, sets, set_weights(rubric, [label for label, _ in sets]),
                      all_files)


def plan_jobs(hw, jobs, violations):
    """A ``Job`` per (submission, tests or None); a submission without given ``violations`` is scanned."""
    out = []
    for (submission, tests), found in zip(jobs, violations or [None] * len(jobs)):
        selected = [t for t in hw.rubric.tests if (tests is None or t in tests) and t != lmtask.TEST]
        if found is None:
            found = scan_submission(submission)
        out.append(Job(submission, selected, affected(found, hw.rubric, hw.all_files),
                       lmtask.enabled(hw.rubric) and (tests is None or lmtask.TEST in tests)))
    return out


def plan_instances(hw, jobs, finite_differences):
    """Every case instance to grade, job by job, fixture set by fixture set, numbered in that order."""
    out = []
    for g, job in enumerate(jobs):
        cases = [c for c in hw.registry if c.test in job.tests]
        for _, fs in hw.sets:
            fs.check_registry(hw.registry, {c.name for c in cases})
        for label, fs in hw.sets:
            for c in cases:
                for inst in c.instance_ids():
                    fd = (finite_differences and c.fd and c.backward and inst.endswith("[float64]")
                          and bool(c.grad_inputs()))
                    out.append(Instance(len(out), g, label, c, inst, fs.get(inst), fs.dims(inst), fd))
    return out


def forbidden_import_message(forbidden):
    """Why a submission with a forbidden import gets no points (every case of it fails with this)."""
    where = "; ".join(f"{f} line {h[0][0]} imports {h[0][1]}" for f, h in sorted(forbidden.items()))
    return f"forbidden import: {where}. Submissions may not use torch, tensorflow or jax: zero for this assignment"


def run_instances(hw, jobs, instances, opts):
    """{instance index: (arrays, errors)}: the sandbox's validated results, and for the jobs with a
    forbidden import (never run) the reason as the forward error of each of their instances."""
    results, runnable = {}, []
    for it in instances:
        if jobs[it.job].forbidden:
            results[it.index] = ({}, {"forward": forbidden_import_message(jobs[it.job].forbidden)})
        else:
            runnable.append(it)
    if not runnable:
        return results
    inputs = {}
    for it in runnable:
        inputs.update(it.sandbox_inputs())
    results.update(run_cases(
        [job.submission for job in jobs], hw.name, [it.sandbox_item() for it in runnable], inputs,
        timeout=opts.timeout, memory_mb=opts.memory_mb, required_files=sorted(hw.all_files),
        expect={it.index: _expected_keys(it.case, it.arrays) for it in runnable}, mode=opts.mode,
        budget=opts.budget, private=opts.private_paths()))
    return results


def check_instances(instances, results, finite_differences):
    """{(job, fixture set, rubric test): [Check]} from the results; a result the comparator cannot
    digest fails its instance, it never crashes the grader."""
    per_test = {}
    for it in instances:
        got, errors = results[it.index]
        try:
            checks = evaluate(it.case, it.inst, it.arrays, it.dims, got, errors, finite_differences)
        except Exception as e:  # noqa: BLE001 - a result the comparator cannot digest fails, never crashes
            checks = [Check(f"{it.inst} result", False, f"the returned values could not be checked "
                                                        f"({type(e).__name__}: {e})")]
        per_test.setdefault((it.job, it.label, it.case.test), []).extend(checks)
    return per_test


def score_test(hw, test, label, checks):
    """The report entry of one rubric test on one fixture set: its points split over its checks by weight."""
    pts = hw.rubric.points(test) * hw.weights[label]
    total_w = sum(ch.weight for ch in checks)
    each = pts / total_w if total_w else 0.0
    for ch in checks:
        ch.max_points = each * ch.weight
        ch.points = ch.max_points if ch.passed else 0.0
    earned = sum(ch.points for ch in checks)
    return {
        "name": test if label == "public" else f"{test} [{label}]",
        "test": test, "fixtures": label, "visibility": _visibility(hw.rubric, label),
        "points": round(earned, 2), "max_points": round(pts, 2), "bonus": hw.rubric.is_bonus(test),
        "passed": bool(checks) and all(ch.passed for ch in checks),
        "description": hw.rubric.tests[test].get("description", ""),
        "checks": [ch.as_dict() for ch in checks],
    }


def job_report(hw, g, job, per_test, mode, t0):
    """The report of one job: every selected test on every fixture set, the score, the forbidden imports."""
    tests = [score_test(hw, t, label, per_test.get((g, label, t), [])) for label, _ in hw.sets for t in job.tests]
    regular = [t for t in tests if not t["bonus"]]  # extra credit (bonus = true) is reported beside the score
    bonus = [t for t in tests if t["bonus"]]
    return {"assignment": hw.name, "title": hw.rubric.title,
            "score": round(sum(t["points"] for t in regular), 2),
            "max_score": round(sum(t["max_points"] for t in regular), 2),
            "bonus": round(sum(t["points"] for t in bonus), 2),
            "bonus_max": round(sum(t["max_points"] for t in bonus), 2), "tests": tests,
            "forbidden_imports": {f: [list(x) for x in h] for f, h in job.forbidden.items()},
            "sandbox": mode, "seconds": round(time.perf_counter() - t0, 2)}


def grade_batch(assignment, jobs, fixtures_dir=None, hidden_dir=None, timeout=DEFAULT_TIMEOUT_S,
                memory_mb=DEFAULT_MEMORY_MB, finite_differences=True, violations=None, mode=None,
                budget=DEFAULT_BUDGET_S, fresh_dir=None, model=None):
    """Grade several submissions of one assignment in one sandbox run: ``jobs`` is a list of
    (submission folder, tests or None). The child imports one submission after the other (numpy is
    imported once), so this is for trusted code (the planted-bug self-tests); real students are
    graded one process each (``grade``). Returns one report per job."""
    t0 = time.perf_counter()
    hw = load_assignment(assignment, fixtures_dir, hidden_dir, fresh_dir)
    opts = SandboxOptions(detect_mode(mode), timeout, memory_mb, budget, (fixtures_dir, hidden_dir, fresh_dir), model)
    planned = plan_jobs(hw, jobs, violations)
    instances = plan_instances(hw, planned, finite_differences)
    results = run_instances(hw, planned, instances, opts)
    per_test = check_instances(instances, results, finite_differences)
    reports = [job_report(hw, g, job, per_test, opts.mode, t0) for g, job in enumerate(planned)]
    for job, report in zip(planned, reports):
        if job.trained_model:  # the training task: the handed-in model, run by the grader's own code
            lmtask.add_to_report(report, hw.rubric, job, opts, t0)
    return reports


FD_NEEDS_FORWARD = ("the backward agrees with finite differences of your forward, but the forward output of "
                    "this case is wrong, so this check earns no points until the forward is right")


def evaluate(case, inst, arrays, dims, got, errors, finite_differences=True):
    """The checks of one case instance: each output, each gradient, finite differences."""
    if case.check is not None:
        return _property_checks(case, inst, arrays, dims, got, errors)
    r = InstanceResult(case, inst, arrays, dims, got, errors)
    keys = sorted(r.expected, key=lambda k: (not k.startswith("out/"), k))  # outputs first
    checks = [_value_check(r, key) for key in keys]
    if finite_differences and inst.endswith("[float64]") and case.fd and case.backward:
        out_checks = [ch for key, ch in zip(keys, checks) if key.startswith("out/")]
        forward_ok = r.fwd_err is None and all(ch.passed for ch in out_checks)
        checks += [_fd_check(r, name, forward_ok) for name in case.grad_inputs()]
    return checks


def _property_checks(case, inst, arrays, dims, got, errors):
    """A case graded by its own ``check`` (e.g. dropout's mask statistics) instead of expected values."""
    fwd_err = errors.get("forward")
    try:
        results = case.check(got, arrays, dims, errors)
    except Exception as e:  # noqa: BLE001 - a malformed result is a failed check
        results = [("property check", False, f"could not check the result: {type(e).__name__}: {e}")]
    return [Check(f"{inst} {name}", bool(ok), "" if ok else (fwd_err or msg)) for name, ok, msg in results]


class InstanceResult:
    """One case instance and what came back for it (``got`` arrays, ``errors`` messages), with what
    its checks share: expected values, quantity labels, named scales, and which known-wrong variants
    and gradient shapes can explain a failure."""

    def __init__(self, case, inst, arrays, dims, got, errors):
        self.case, self.inst, self.arrays, self.got, self.errors = case, inst, arrays, got, errors
        self.fwd_err = errors.get("forward")
        self.scales = _scale_values(case, dims)
        self.expected = {k: v for k, v in arrays.items() if k.startswith(("out/", "grad/"))}
        self.labels = {key: (key.split("/", 1)[1] if key.startswith("out/") else "dL/d" + key.split("/", 1)[1])
                       for key in self.expected}
        # a known-wrong variant explains a wrong gradient only if it also explains the forward the
        # student produced (e.g. "mask ignored in backward" has the right forward, "mask not applied" not)
        outs = [k for k in self.expected if k.startswith("out/")]
        self.consistent = {k for k in range(len(case.alts))
                           if self.fwd_err is not None or all(f"alt{k}/{o}" in arrays and o in got
                                                              and _close(got[o], arrays[f"alt{k}/{o}"], 1e-4)
                                                              for o in outs)}
        # a backward that returned a wrongly shaped gradient: name that gradient, by its input's shape
        # (only when no other input or output has that shape: an intermediate of the same shape could be meant)
        taken = [np.shape(v) for k, v in arrays.items() if k.startswith(("in/", "out/"))]
        self.grad_shapes = {f"dL/d{n}": np.shape(arrays[f"in/{n}"]) for n in case.grad_inputs()
                            if f"in/{n}" in arrays and taken.count(np.shape(arrays[f"in/{n}"])) == 1}
        self.hidden_size = dims.get("H") if isinstance(dims, dict) else None

    def alts(self, key):
        """(hint, value) of the known-wrong variants that can explain ``key``, and of an ignored upstream gradient."""
        kind = key.split("/", 1)[0]
        out = [(self.case.alts[k][0], self.arrays[f"alt{k}/{key}"]) for k in range(len(self.case.alts))
               if f"alt{k}/{key}" in self.arrays and (kind == "out" or k in self.consistent)]
        if f"ones/{key}" in self.arrays:
            out.append((UPSTREAM_IGNORED, self.arrays[f"ones/{key}"]))
        return out

    def gates(self, key):
        """(gate names, hidden size) for a recurrent weight or bias gradient, else None."""
        kind, name = key.split("/", 1)
        if self.case.gates and self.hidden_size and kind == "grad" and name.startswith(("weight", "bias")):
            return tuple(self.case.gates), int(self.hidden_size)
        return None


def _value_check(r, key):
    """The check of one output or gradient against its expected value."""
    kind, name = key.split("/", 1)
    qty = r.labels[key]
    err = r.fwd_err if kind == "out" else (r.fwd_err or r.errors.get("backward") or r.errors.get(key))
    others = [(r.labels[n], v, r.got.get(n) if err is None else None)
              for n, v in r.expected.items() if n != key and n.split("/")[0] == kind]
    g = r.got.get(key) if err is None else None
    if err is None and g is None and r.case.arrays:
        err = f"no value came back for {name}: the autograder reads it under exactly this name"
    err, err_hint = _error_for(err, qty, r.grad_shapes if kind == "grad" else {})
    ch = compare(f"{r.inst} {qty}", g, r.expected[key], error=err, scales=r.scales, alts=r.alts(key),
                 others=others, gates=r.gates(key), error_hint=err_hint)
    if kind == "out" and not r.case.forward_points:
        ch.weight = 0.0  # the forward is given code: reported, not scored
    return ch


def _fd_check(r, name, forward_ok):
    """The float64 gradient of input ``name`` against central differences of the forward."""
    err = r.fwd_err or r.errors.get("backward") or r.errors.get(f"grad/{name}") or r.errors.get("fd")
    num, ana = r.got.get(f"fd/{name}/numeric"), r.got.get(f"fd/{name}/analytic")
    if err is None and (num is None or ana is None):
        g = r.got.get(f"grad/{name}")
        shape = tuple(np.shape(r.arrays.get(f"in/{name}", ())))
        err = (f"gradient has shape {list(g.shape)}, input has shape {list(shape)}" if g is not None
               else "no finite-difference result came back")
    err, err_hint = _error_for(err, f"dL/d{name}", r.grad_shapes)
    ch = compare_fd(f"{r.inst} gradcheck dL/d{name}", num, ana, error=err, scales=r.scales, error_hint=err_hint)
    if ch.passed and not forward_ok:
        # finite differences of a wrong forward prove nothing (an all-zeros forward and
        # backward agree: 0 against 0), so this check counts only with a correct forward
        ch = Check(ch.name, False, FD_NEEDS_FORWARD, details=ch.details)
    return ch


def _error_for(err, qty, grad_shapes):
    """(message, hint or None) for a check that got no value because of ``err``. A backward shape
    error is about one gradient: that check gets the hint, the others say where the failure was."""
    if not err or not grad_shapes:
        return err, None
    who = culprits(err, grad_shapes)
    if len(who) != 1:
        return err, hint_from_error(err, grad_shapes)
    if who[0] == qty:
        return err, hint_from_error(err, grad_shapes)
    return f"not checked: the backward failed on {who[0]} ({err})", ""


def official_fresh(assignments, hidden_dir=None, reference=None, seed=None, tests=None):
    """The fresh instances of an official grading (a ``FreshSet``; None when there is no reference
    here but a hidden fixture set). Raises FreshError when there would be no unseen cases at all."""
    if reference is None and default_reference() is None:
        if hidden_dir:
            return None  # a grader without the reference: the hidden fixtures alone
        raise FreshError("official grading takes its points from cases students have not seen: pass "
                         "--reference DIR (the folder holding the instructors' minitorch/, for fresh "
                         "instances) and/or --hidden DIR (a hidden fixture set)")
    return FreshSet(assignments, reference=reference, seed=seed, tests=tests)


def grade(assignments, submission=None, fixtures_dir=None, hidden_dir=None, timeout=DEFAULT_TIMEOUT_S,
          memory_mb=DEFAULT_MEMORY_MB, tests=None, mode=None, budget=DEFAULT_BUDGET_S, official=False,
          reference=None, seed=None, fresh=None, model=None):
    """Grade several assignments of one submission. Returns the full report dict; its ``sandbox``
    line names the isolation used (``mode``: forced, or detected once here).

    ``official``: points from unseen cases only (see ``set_weights``): fresh instances drawn with
    ``seed`` (new when None) and computed by the reference minitorch at ``reference`` (default: this
    grader's repository), plus the hidden fixtures when ``hidden_dir`` is given. ``fresh``: an open
    ``fresh.FreshSet`` to use instead (batch grading draws one for all submissions). ``model``: hw4's
    trained checkpoint to grade instead of the hand-in's ``lm/best.ckpt`` (local feedback only)."""
    t0 = time.perf_counter()
    mode = detect_mode(mode)
    own = None
    if official and fresh is None:
        fresh = own = official_fresh(assignments, hidden_dir, reference, seed, tests)
    elif not official and (reference is not None or seed is not None):
        raise FreshError("--reference and --seed choose the fresh instances of official grading: add --official")
    try:
        with tempfile.TemporaryDirectory(prefix="mtsub-") as tmp:
            intake = resolve_submission(submission, tmp)
            sub = intake.root
            violations = scan_submission(sub)
            reports = [grade_assignment(a, sub, fixtures_dir, hidden_dir, timeout, memory_mb, tests, violations,
                                        mode=mode, budget=budget, fresh_dir=fresh.dir if fresh else None,
                                        model=model)
                       for a in assignments]
    finally:
        if own is not None:
            own.close()
    report = {"submission": submission if submission is not None else intake.source,
              "intake": intake.summary(), "sandbox": describe_mode(mode), "sandbox_mode": mode,
              "assignments": reports,
              "score": round(sum(r["score"] for r in reports), 2),
              "max_score": round(sum(r["max_score"] for r in reports), 2),
              "bonus": round(sum(r["bonus"] for r in reports), 2),
              "bonus_max": round(sum(r["bonus_max"] for r in reports), 2),
              "seconds": round(time.perf_counter() - t0, 2), "official": bool(official)}
    if fresh is not None:
        report["fresh"] = fresh.info()
    return report
