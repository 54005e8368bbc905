"""Grading one submission: fixtures -> sandbox -> comparisons -> points. Parent side only."""
import os
import tempfile
import time

import numpy as np

from .compare import UPSTREAM_IGNORED, Check, _close, compare, compare_fd, culprits, hint_from_error
from .fixtures import FixtureSet, default_dir, read_manifest
from .fresh import FreshError, FreshSet, default_reference
from .intake import SubmissionError, take_in  # noqa: F401 - SubmissionError re-exported
from .rubric import available_assignments, load_rubric
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


def _fresh_private(fresh_dir):
    """The fresh instances and the reference that computed them: the sandbox must not read either."""
    if not fresh_dir:
        return []
    ref = read_manifest(fresh_dir).get("reference")
    return [fresh_dir] + ([os.path.join(ref, "minitorch")] if ref else [])


def _visibility(rubric, label):
    return {"public": "visible", "hidden": rubric.hidden_visibility, "fresh": rubric.fresh_visibility}[label]


def grade_assignment(assignment, submission, fixtures_dir=None, hidden_dir=None, timeout=DEFAULT_TIMEOUT_S,
                     memory_mb=DEFAULT_MEMORY_MB, tests=None, violations=None, finite_differences=True,
                     mode=None, budget=DEFAULT_BUDGET_S, fresh_dir=None):
    """Grade one assignment; returns its report dict. Fixture problems raise FixtureError.
    ``finite_differences=False`` skips the gradient checks against finite differences (faster;
    the torch comparisons remain). ``mode``: the sandbox mode (default: detected); ``budget``:
    total wall seconds for the assignment's cases. ``fresh_dir``: fresh instances
    (``fresh.FreshSet.dir``)."""
    return grade_batch(assignment, [(submission, tests)], fixtures_dir, hidden_dir, timeout, memory_mb,
                       finite_differences, [violations], mode=mode, budget=budget, fresh_dir=fresh_dir)[0]


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


def grade_batch(assignment, jobs, fixtures_dir=None, hidden_dir=None, timeout=DEFAULT_TIMEOUT_S,
                memory_mb=DEFAULT_MEMORY_MB, finite_differences=True, violations=None, mode=None,
                budget=DEFAULT_BUDGET_S, fresh_dir=None):
    """Grade several submissions of one assignment in one sandbox run: ``jobs`` is a list of
    (submission folder, tests or None). The child imports one submission after the other (numpy is
    imported once), so this is for trusted code (the planted-bug self-tests); real students are
    graded one process each (``grade``). Returns one report per job."""
    t0 = time.perf_counter()
    rubric = load_rubric(assignment)
    registry = load_registry(assignment)
    unknown = [t for t in registry.tests() if t not in rubric.tests]
    if unknown:
        raise RuntimeError(f"{assignment}: tests {unknown} have cases but no points in the rubric")
    sets = _fixture_sets(fixtures_dir, hidden_dir, assignment, fresh_dir)
    weights = set_weights(rubric, [label for label, _ in sets])
    all_files = set()
    for a in available_assignments():
        all_files |= set(load_rubric(a).files)
    violations = list(violations or [None] * len(jobs))

    items, inputs, meta, groups = [], {}, {}, []
    results, expect = {}, {}
    mode = detect_mode(mode)
    for g, (submission, tests) in enumerate(jobs):
        selected = [t for t in rubric.tests if tests is None or t in tests]
        cases = [c for c in registry if c.test in selected]
        for _, fs in sets:
            fs.check_registry(registry, {c.name for c in cases})
        if violations[g] is None:
            violations[g] = scan_submission(submission)
        bad = affected(violations[g], rubric, all_files)
        groups.append((submission, selected, bad))
        for label, fs in sets:
            for c in cases:
                for inst in c.instance_ids():
                    key = f"{label}:{inst}"
                    arrays = fs.get(inst)
                    dims = fs.dims(inst)
                    fd = (finite_differences and c.fd and c.backward and inst.endswith("[float64]")
                          and bool(c.grad_inputs()))
                    item = {"index": len(items), "group": g, "key": key, "instance": key, "case": c.name,
                            "dtype": inst.rsplit("[", 1)[1].rstrip("]"), "dims": dims,
                            "fd_seed": (c.seed(7) if fd else None)}
                    meta[item["index"]] = (g, label, c, inst, arrays, dims)
                    expect[item["index"]] = _expected_keys(c, arrays)
                    if bad:
                        where = "; ".join(f"{f} line {h[0][0]} imports {h[0][1]}" for f, h in sorted(bad.items()))
                        msg = (f"forbidden import: {where}. Submissions may not use torch, tensorflow or jax: "
                               "zero for this assignment")
                        results[item["index"]] = ({}, {"forward": msg})
                        items.append(None)
                        continue
                    items.append(item)
                    for k, v in arrays.items():
                        if k.startswith(("in/", "dout/")):
                            inputs[f"{key}/{k}"] = v
    runnable = [it for it in items if it is not None]
    if runnable:
        subs = [sub for sub, _, _ in groups]
        results.update(run_cases(subs, assignment, runnable, inputs, timeout=timeout, memory_mb=memory_mb,
                                 required_files=sorted(all_files), expect=expect, mode=mode, budget=budget,
                                 private=[fixtures_dir, hidden_dir] + _fresh_private(fresh_dir)))

    per_test = {}
    for idx, (g, label, c, inst, arrays, dims) in meta.items():
        got, errors = results[idx]
        try:
            checks = evaluate(c, inst, arrays, dims, got, errors, finite_differences)
        except Exception as e:  # noqa: BLE001 - a result the comparator cannot digest fails, never crashes
            checks = [Check(f"{inst} result", False, f"the returned values could not be checked "
                                                     f"({type(e).__name__}: {e})")]
        per_test.setdefault((g, label, c.test), []).extend(checks)

    reports = []
    for g, (_, selected, bad) in enumerate(groups):
        report_tests = []
        for label, _ in sets:
            weight = weights[label]
            for t in selected:
                checks = per_test.get((g, label, t), [])
                pts = rubric.points(t) * weight
                total_w = sum(ch.weight for ch in checks)
                each = pts / total_w if total_w else 0.0
                for ch in checks:
                    ch.max_points = each * ch.weight
                    ch.points = ch.max_points if ch.passed else 0.0
                earned = sum(ch.points for ch in checks)
                report_tests.append({
                    "name": t if label == "public" else f"{t} [{label}]",
                    "test": t, "fixtures": label, "visibility": _visibility(rubric, label),
                    "points": round(earned, 2), "max_points": round(pts, 2),
                    "passed": bool(checks) and all(ch.passed for ch in checks),
                    "description": rubric.tests[t].get("description", ""),
                    "checks": [ch.as_dict() for ch in checks],
                })
        score = sum(t["points"] for t in report_tests)
        max_score = sum(t["max_points"] for t in report_tests)
        reports.append({"assignment": assignment, "title": rubric.title, "score": round(score, 2),
                        "max_score": round(max_score, 2), "tests": report_tests,
                        "forbidden_imports": {f: [list(x) for x in h] for f, h in bad.items()},
                        "sandbox": mode,
                        "seconds": round(time.perf_counter() - t0, 2)})
    return reports


FD_NEEDS_FORWARD = ("the backward agrees with finite differences of your forward, but the forward output of "
                    "this case is wrong, so this check earns no points until the forward is right")


def evaluate(case, inst, arrays, dims, got, errors, finite_differences=True):
    """The checks of one case instance: each output, each gradient, finite differences."""
    checks = []
    scales = _scale_values(case, dims)
    label = inst
    fwd_err = errors.get("forward")
    if case.check is not None:
        try:
            results = case.check(got, arrays, dims, errors)
        except Exception as e:  # noqa: BLE001 - a malformed result is a failed check
            results = [("property check", False, f"could not check the result: {type(e).__name__}: {e}")]
        for name, ok, msg in results:
            checks.append(Check(f"{label} {name}", bool(ok), "" if ok else (fwd_err or msg)))
        return checks
    expected = {k: v for k, v in arrays.items() if k.startswith(("out/", "grad/"))}
    n_alts = len(case.alts)
    # a known-wrong variant explains a wrong gradient only if it also explains the forward the
    # student produced (e.g. "mask ignored in backward" has the right forward, "mask not applied" not)
    outs = [k for k in expected if k.startswith("out/")]
    consistent = {k for k in range(n_alts)
                  if fwd_err is not None or all(f"alt{k}/{o}" in arrays and o in got
                                                and _close(got[o], arrays[f"alt{k}/{o}"], 1e-4) for o in outs)}
    out_checks = []
    labels = {key: (key.split("/", 1)[1] if key.startswith("out/") else "dL/d" + key.split("/", 1)[1])
              for key in expected}
    # a backward that returned a wrongly shaped gradient: name that gradient, by its input's shape
    # (only when no other input or output has that shape: an intermediate of the same shape could be meant)
    taken = [np.shape(v) for k, v in arrays.items() if k.startswith(("in/", "out/"))]
    grad_shapes = {f"dL/d{n}": np.shape(arrays[f"in/{n}"]) for n in case.grad_inputs()
                   if f"in/{n}" in arrays and taken.count(np.shape(arrays[f"in/{n}"])) == 1}
    dims_h = dims.get("H") if isinstance(dims, dict) else None
    for key in sorted(expected, key=lambda k: (not k.startswith("out/"), k)):
        kind, name = key.split("/", 1)
        qty = labels[key]
        err = fwd_err if kind == "out" else (fwd_err or errors.get("backward") or errors.get(key))
        alts = [(case.alts[k][0], arrays[f"alt{k}/{key}"]) for k in range(n_alts)
                if f"alt{k}/{key}" in arrays and (kind == "out" or k in consistent)]
        if f"ones/{key}" in arrays:
            alts.append((UPSTREAM_IGNORED, arrays[f"ones/{key}"]))
        others = [(labels[n], v, got.get(n) if err is None else None)
                  for n, v in expected.items() if n != key and n.split("/")[0] == kind]
        gates = (tuple(case.gates), int(dims_h)) if case.gates and dims_h and kind == "grad" \
            and name.startswith(("weight", "bias")) else None
        g = got.get(key) if err is None else None
        if err is None and g is None and case.arrays:
            err = f"no value came back for {name}: the autograder reads it under exactly this name"
        err, err_hint = _error_for(err, qty, grad_shapes if kind == "grad" else {})
        ch = compare(f"{label} {qty}", g, expected[key], error=err, scales=scales, alts=alts, others=others,
                     gates=gates, error_hint=err_hint)
        if kind == "out" and not case.forward_points:
            ch.weight = 0.0  # the forward is given code: reported, not scored
        if kind == "out":
            out_checks.append(ch)
        checks.append(ch)
    forward_ok = fwd_err is None and all(ch.passed for ch in out_checks)
    if finite_differences and inst.endswith("[float64]") and case.fd and case.backward:
        for name in case.grad_inputs():
            err = fwd_err or errors.get("backward") or errors.get(f"grad/{name}") or errors.get("fd")
            num, ana = got.get(f"fd/{name}/numeric"), got.get(f"fd/{name}/analytic")
            if err is None and (num is None or ana is None):
                g = got.get(f"grad/{name}")
                shape = tuple(np.shape(arrays.get(f"in/{name}", ())))
                err = (f"gradient has shape {list(g.shape)}, input has shape {list(shape)}" if g is not None
                       else "no finite-difference result came back")
            err, err_hint = _error_for(err, f"dL/d{name}", grad_shapes)
            ch = compare_fd(f"{label} gradcheck dL/d{name}", num, ana, error=err, scales=scales, error_hint=err_hint)
            if ch.passed and not forward_ok:
                # finite differences of a wrong forward prove nothing (an all-zeros forward and
                # backward agree: 0 against 0), so this check counts only with a correct forward
                ch = Check(ch.name, False, FD_NEEDS_FORWARD, details=ch.details)
            checks.append(ch)
    return checks


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
          reference=None, seed=None, fresh=None):
    """Grade several assignments of one submission. Returns the full report dict; its ``sandbox``
    line names the isolation used (``mode``: forced, or detected once here).

    ``official``: points from unseen cases only (see ``set_weights``): fresh instances drawn with
    ``seed`` (new when None) and computed by the reference minitorch at ``reference`` (default: this
    grader's repository), plus the hidden fixtures when ``hidden_dir`` is given. ``fresh``: an open
    ``fresh.FreshSet`` to use instead (batch grading draws one for all submissions)."""
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
                                        mode=mode, budget=budget, fresh_dir=fresh.dir if fresh else None)
                       for a in assignments]
    finally:
        if own is not None:
            own.close()
    report = {"submission": submission if submission is not None else intake.source,
              "intake": intake.summary(), "sandbox": describe_mode(mode), "sandbox_mode": mode,
              "assignments": reports,
              "score": round(sum(r["score"] for r in reports), 2),
              "max_score": round(sum(r["max_score"] for r in reports), 2),
              "seconds": round(time.perf_counter() - t0, 2), "official": bool(official)}
    if fresh is not None:
        report["fresh"] = fresh.info()
    return report
