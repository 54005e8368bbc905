"""Report formats: text scorecard, JSON, Gradescope results.json, Autolab."""
import json


def _check_lines(check, indent="      ", same=0):
    more = f" (and {same} more checks with the same error)" if same else ""
    lines = [f"{indent}FAIL {check['name']}{more}: {check['message']}"]
    if check.get("hint"):
        lines.append(f"{indent}     hint: {check['hint']}")
    return lines


def _grouped(failed):
    """Failed checks with identical message and hint collapsed: [(first check, count of the others)].
    Value mismatches differ in their numbers, so only errors (NotImplementedError, crashes) collapse."""
    groups = {}
    for c in failed:
        groups.setdefault((c["message"], c.get("hint", "")), []).append(c)
    return [(cs[0], len(cs) - 1) for cs in groups.values()]


def test_output(test, max_failures=8):
    """The text shown for one test: its failed checks with their diagnostics."""
    failed = [c for c in test["checks"] if not c["passed"]]
    if not test["checks"]:
        return "no checks"
    notes = [f"  {n}" for n in test.get("notes", ())]  # e.g. the training task's measured values
    if not failed:
        return "\n".join([f"all {len(test['checks'])} checks passed"] + notes)
    lines = [f"{len(test['checks']) - len(failed)} of {len(test['checks'])} checks passed"] + notes
    groups = _grouped(failed)
    for c, same in groups[:max_failures]:
        lines += _check_lines(c, indent="  ", same=same)
    if len(groups) > max_failures:
        lines.append(f"  ... and {sum(1 + n for _, n in groups[max_failures:])} more failed checks")
    return "\n".join(lines)


def text(report, verbose=False):
    out = []
    for a in report["assignments"]:
        out.append(f"== {a['assignment']}: {a['title']} ==")
        if a.get("forbidden_imports"):
            for f, hits in a["forbidden_imports"].items():
                out.append(f"  !! {f}: imports {', '.join(h[1] for h in hits)} (forbidden): zero for {a['assignment']}")
        width = max([len(t["name"]) for t in a["tests"]] + [10])
        for t in a["tests"]:
            mark = "ok  " if t["passed"] else "FAIL"
            extra = "   (bonus)" if t.get("bonus") else ""
            out.append(f"  {mark} {t['name']:<{width}} {t['points']:6.2f} / {t['max_points']:6.2f}{extra}")
            out += [f"      {n}" for n in t.get("notes", ())]
            groups = _grouped([c for c in t["checks"] if not c["passed"]])
            shown = groups if verbose else groups[:6]
            for c, same in shown:
                out += _check_lines(c, same=same)
            if len(groups) > len(shown):
                hidden = sum(1 + n for _, n in groups[len(shown):])
                out.append(f"      ... {hidden} more failed checks (--verbose shows all)")
        out.append(f"  {a['assignment']} total: {a['score']:.2f} / {a['max_score']:.2f}{bonus_text(a)}"
                   f"   ({a['seconds']:.1f} s)")
        out.append("")
    if len(report["assignments"]) > 1:
        out.append(f"TOTAL: {report['score']:.2f} / {report['max_score']:.2f}{bonus_text(report)}"
                   f"   ({report['seconds']:.1f} s)")
    notable = (report.get("intake") or {}).get("notable")
    if notable:
        out.append("not taken from the submission (only source files under minitorch/ are graded): "
                   + ", ".join(notable))
    if report.get("sandbox"):
        out.append(report["sandbox"])
    if report.get("official"):
        out.append(official_note(report))
    return "\n".join(out)


def bonus_text(report):
    """'   + bonus 7.50 / 10.00' for a report (or one assignment's) with extra credit on offer, else ''."""
    if not report.get("bonus_max"):
        return ""
    return f"   + bonus {report.get('bonus', 0):.2f} / {report['bonus_max']:.2f}"


def official_note(report):
    """One line saying where the points of an official grade come from."""
    tests = [t for a in report["assignments"] for t in a["tests"]]
    sources = []
    if report.get("fresh"):
        sources.append(f"fresh instances drawn for this run, seed {report['fresh']['seed']}")
    if any(t["fixtures"] == "hidden" for t in tests):
        sources.append("hidden fixtures")
    public = sum(t["max_points"] for t in tests if t["fixtures"] == "public")
    return (f"Official grade: the points come from cases you have not seen ({'; '.join(sources)}). "
            f"The public tests are feedback worth {public:g} of the {report['max_score']:g} points.")


def as_json(report):
    return json.dumps(report, indent=1, sort_keys=False)


def gradescope(report):
    """The results.json Gradescope expects (per-test score, max_score, status, name, output, visibility)."""
    tests = []
    for a in report["assignments"]:
        prefix = f"{a['assignment']} " if len(report["assignments"]) > 1 else ""
        for t in a["tests"]:
            tests.append({
                "name": prefix + t["name"] + (" (bonus)" if t.get("bonus") else ""),
                "score": t["points"], "max_score": t["max_points"],
                "status": "passed" if t["passed"] else "failed", "output": test_output(t),
                "visibility": t["visibility"],
            })
    notes = []
    for a in report["assignments"]:
        for f, hits in a.get("forbidden_imports", {}).items():
            mods = ", ".join(h[1] for h in hits)
            notes.append(f"{f}: imports {mods}, which is not allowed: zero for {a['assignment']}.")
    notable = (report.get("intake") or {}).get("notable")
    if notable:
        notes.append("Not taken from the submission (only source files under minitorch/ are graded): "
                     + ", ".join(notable) + ".")
    if report.get("sandbox"):
        notes.append(report["sandbox"] + ".")
    if report.get("official"):
        notes.append(official_note(report))
    if report.get("bonus_max"):
        notes.append(f"Bonus: {report.get('bonus', 0):g} of {report['bonus_max']:g} extra-credit points, on top of "
                     f"the {report['max_score']:g} (the tests marked (bonus)); the score below includes them.")
    # Gradescope takes this score as given (it may exceed the assignment's total points: extra credit)
    score = round(report["score"] + report.get("bonus", 0), 2)
    out = {"score": score, "output": " ".join(notes) or "Graded by the minitorch autograder.",
           "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
    if report.get("fresh"):
        out["extra_data"] = {"fresh_seed": report["fresh"]["seed"]}
    return json.dumps(out, indent=1)


def autolab(report):
    """A readable scorecard, then (last line) Autolab's {"scores": {...}, "scoreboard": [...]}."""
    scores = {}
    for a in report["assignments"]:
        prefix = f"{a['assignment']}:" if len(report["assignments"]) > 1 else ""
        for t in a["tests"]:
            scores[prefix + t["name"]] = t["points"]
    board = [report["score"]] + [a["score"] for a in report["assignments"]]
    return text(report) + "\n" + json.dumps({"scores": scores, "scoreboard": board})


FORMATS = {"text": text, "json": as_json, "gradescope": gradescope, "autolab": autolab}


def atomic_write(path, write, newline=None, prefix=".report-"):
    """Call ``write(f)`` on a temporary file in ``path``'s folder, then rename it to ``path``: a reader never
    sees a partial file, and a link planted at ``path`` is replaced, not followed."""
    import os  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
