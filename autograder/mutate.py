"""Mutation testing of the autograder (instructors): is every solution line graded?

    python -m autograder.mutate hw2                      # every mutant of hw2's solution regions
    python -m autograder.mutate all --sample 40 --seed 1 # a seeded sample per assignment (CI)
    python -m autograder.mutate hw4 --file minitorch/kernels/attention.py --jobs 2 --json out.json

A *mutant* is the reference solution with one token changed inside a ``# BEGIN SOLUTION hwN`` /
``# END SOLUTION`` region of assignment hwN: ``+``/``-``, ``*``/``/``, ``**``, comparisons flipped,
``+=``/``-=``, ``*=``/``/=``, ``&``/``|``, a number n -> n+1 and n -> n-1, ``True``/``False``,
``and``/``or``, ``not`` removed, ``sum``/``mean``, ``max``/``min`` (and their ``arg``/``a`` forms,
``maximum``/``minimum``). Mutants that do not compile or leave the syntax tree unchanged are skipped.

Each mutant is graded like a submission, on the public fixtures of its assignment, but only on the
test cases that execute the mutated line in the reference (found once by tracing every case: a case
that never reaches the line computes the same results). The cases run in a forked worker that
imports the mutated package (no files are copied or written); a case that fails a scored check, raises,
crashes or exceeds ``--timeout`` kills the mutant. A mutant that keeps full marks *survives*: either
the fixtures miss a behaviour (add a case) or the change cannot alter any result (list it in
``mutants_equivalent.toml`` with a one-line reason). Exit status: 0 when every survivor is listed,
1 otherwise, 2 for a usage problem.

``solution_coverage`` (used by ``tests/autograder/test_solution_coverage.py``) reports, per
assignment, the statements of its solution regions that no public case executes.
"""
import argparse
import ast
import io
import json
import os
import random
import signal
import sys
import time
import tokenize
from dataclasses import dataclass, field

from . import ASSIGNMENTS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EQUIVALENT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mutants_equivalent.toml")
COVERAGE_ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coverage_allowlist.toml")
DEFAULT_TIMEOUT_S = 60.0

OPS = {"+": ["-"], "-": ["+"], "*": ["/"], "/": ["*"], "//": ["/"], "**": ["*"], "<": ["<=", ">"],
       "<=": ["<"], ">": [">=", "<"], ">=": [">"], "==": ["!="], "!=": ["=="], "+=": ["-="], "-=": ["+="],
       "*=": ["/="], "/=": ["*="], "&": ["|"], "|": ["&"]}
NAMES = {"True": ["False"], "False": ["True"], "and": ["or"], "or": ["and"], "not": [""],
         "sum": ["mean"], "mean": ["sum"], "max": ["min"], "min": ["max"], "amax": ["amin"], "amin": ["amax"],
         "argmax": ["argmin"], "argmin": ["argmax"], "maximum": ["minimum"], "minimum": ["maximum"]}


# --------------------------------------------------------------------------- regions and statements
def regions(root=REPO):
    """[(relative path, hw, first body line, last body line)] of every solution region (1-based)."""
    from .handout import BEGIN, END  # noqa: PLC0415

    out = []
    pkg = os.path.join(root, "minitorch")
    for dirpath, dirs, files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
            start = None
            for i, line in enumerate(lines, 1):
                m = BEGIN.match(line)
                if m:
                    start = (i, m.group(2))
                elif start and END.match(line):
                    out.append((rel, start[1], start[0] + 1, i - 1))
                    start = None
    return out


def statements(source, first, last):
    """{first line of a statement: its lines} for the statements starting in [first, last]: a simple
    statement's lines, or a compound statement's header lines (up to its body)."""
    out = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.stmt) and first <= node.lineno <= last:
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                end = max(node.lineno, body[0].lineno - 1)
            else:
                end = node.end_lineno or node.lineno
            out[node.lineno] = set(range(node.lineno, end + 1))
    return out


# --------------------------------------------------------------------------- running cases in-process
def _import_minitorch(root, mutated=None):
    """Import the ``minitorch`` under ``root`` (forgetting any imported one); ``mutated`` =
    (relative path, source) replaces one module's source."""
    import importlib  # noqa: PLC0415
    import importlib.abc  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    for name in [m for m in sys.modules if m == "minitorch" or m.startswith("minitorch.")]:
        del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _MutantFinder)]
    if root not in sys.path:
        sys.path.insert(0, root)
    if mutated is not None:
        sys.meta_path.insert(0, _MutantFinder(root, *mutated))
    importlib.invalidate_caches()
    import minitorch  # noqa: PLC0415

    where = os.path.realpath(minitorch.__file__)
    if not where.startswith(os.path.realpath(os.path.join(root, "minitorch")) + os.sep):
        raise ImportError(f"imported minitorch from {where}, not from {root}")
    for sub in ("nn", "nn.functional", "nn.utils", "nn.attention", "optim"):
        try:
            importlib.import_module(f"minitorch.{sub}")
        except ImportError:
            pass
    return minitorch


class _MutantFinder:
    """Serves the mutated source of one module of the package."""

    def __init__(self, root, rel, source):
        self.module = rel[:-3].replace("/", ".")
        if self.module.endswith(".__init__"):
            self.module = self.module[: -len(".__init__")]
        self.path = os.path.join(root, rel)
        self.source = source

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.module:
            return None
        import importlib.util  # noqa: PLC0415

        is_pkg = self.path.endswith("__init__.py")
        return importlib.util.spec_from_file_location(
            fullname, self.path, loader=_SourceLoader(fullname, self.path, self.source),
            submodule_search_locations=[os.path.dirname(self.path)] if is_pkg else None)


class _SourceLoader:
    def __init__(self, name, path, source):
        self.name, self.path, self.source = name, path, source

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(compile(self.source, self.path, "exec"), module.__dict__)  # noqa: S102 - the mutant under test


def _fixture_set(assignment, fixtures_dir=None):
    from .fixtures import FixtureSet, default_dir  # noqa: PLC0415

    return FixtureSet(fixtures_dir or default_dir(), assignment)


def run_instance(minitorch, case, inst, fs, finite_differences=True):
    """Run one case instance on ``minitorch`` as the sandbox child does; returns (results, errors)."""
    import numpy as np  # noqa: PLC0415

    from .execute import Adapter, describe, forward_backward  # noqa: PLC0415
    from .execute import finite_differences as fd_run  # noqa: PLC0415

    arrays_all = fs.get(inst)
    dims = fs.dims(inst)
    dtype = inst.rsplit("[", 1)[1].rstrip("]")
    arrays = {n: arrays_all[f"in/{n}"] for n in case.inputs}
    douts = {k[5:]: v.astype(np.float64) for k, v in arrays_all.items() if k.startswith("dout/")}
    adapter = Adapter(minitorch, "minitorch")
    if hasattr(minitorch, "manual_seed"):
        minitorch.manual_seed(0)
    if hasattr(minitorch, "set_default_dtype"):
        minitorch.set_default_dtype(np.float32)
    results, errors = {}, {}
    try:
        opts = case.options(dims)
        results, _, errors = forward_backward(adapter, case, case.fn, arrays, dtype, opts, douts=douts)
        fd = (finite_differences and case.fd and case.backward and dtype == "float64" and bool(case.grad_inputs()))
        if fd and "forward" not in errors and "backward" not in errors:
            grads = {k[5:]: v for k, v in results.items() if k.startswith("grad/")}
            try:
                results.update(fd_run(adapter, case, case.fn, arrays, opts, douts, grads, case.seed(7)))
            except BaseException as e:  # noqa: BLE001
                errors["fd"] = describe(e)
    except BaseException as e:  # noqa: BLE001
        errors["forward"] = describe(e)
    return results, errors


def failed_checks(case, inst, fs, results, errors):
    """The scored checks this instance fails: [(check name, message)]."""
    from .grade import evaluate  # noqa: PLC0415

    checks = evaluate(case, inst, fs.get(inst), fs.dims(inst), results, errors)
    return [(c.name, c.message) for c in checks if not c.passed and c.weight > 0]


# --------------------------------------------------------------------------- coverage
def trace_cases(assignment, root=REPO, fixtures_dir=None):
    """Run every public case instance of ``assignment`` on the minitorch under ``root`` with a line
    tracer. Returns ({(path, line): set of case names}, {case name: failed checks})."""
    from .spec import load_registry  # noqa: PLC0415

    fs = _fixture_set(assignment, fixtures_dir)
    registry = load_registry(assignment)
    fs.check_registry(registry)
    minitorch = _import_minitorch(root)
    pkg = os.path.realpath(os.path.join(root, "minitorch")) + os.sep
    hits = {}
    current = [None]
    files = {}

    def rel_of(filename):
        r = files.get(filename)
        if r is None:
            real = os.path.realpath(filename)
            r = os.path.relpath(real, root).replace(os.sep, "/") if real.startswith(pkg) else ""
            files[filename] = r
        return r

    def local(frame, event, arg):
        if event == "line":
            hits.setdefault((rel_of(frame.f_code.co_filename), frame.f_lineno), set()).add(current[0])
        return local

    def glob(frame, event, arg):
        return local if rel_of(frame.f_code.co_filename) else None

    failures = {}
    for case in registry:
        for inst in case.instance_ids():
            current[0] = case.name
            sys.settrace(glob)
            try:
                results, errors = run_instance(minitorch, case, inst, fs)
            finally:
                sys.settrace(None)
            bad = failed_checks(case, inst, fs, results, errors)
            if bad:
                failures.setdefault(case.name, []).extend(bad)
    return hits, failures


def solution_coverage(assignment, root=REPO, fixtures_dir=None, hits=None, counts=None):
    """[(path, line, statement text)] of the statements in ``assignment``'s solution regions that no
    public case of the assignment executes. ``counts`` (a dict), if given, gets 'statements'."""
    if hits is None:
        hits, _ = trace_cases(assignment, root, fixtures_dir)
    covered = {k for k in hits}
    missing = []
    total = 0
    sources = {}
    for rel, hw, first, last in regions(root):
        if hw != assignment:
            continue
        if rel not in sources:
            with open(os.path.join(root, rel), encoding="utf-8") as fh:
                sources[rel] = fh.read()
        lines = sources[rel].splitlines()
        for start, span in sorted(statements(sources[rel], first, last).items()):
            total += 1
            if not any((rel, ln) in covered for ln in span):
                missing.append((rel, start, lines[start - 1].strip()))
    if counts is not None:
        counts["statements"] = total
    return missing


def coverage_report(assignments, root=REPO, fixtures_dir=None, allowlist=None):
    """Per assignment: statements, the uncovered ones, which of them are allowlisted, and stale
    allowlist entries. Returns (lines of text, ok)."""
    allowlist = coverage_allowlist() if allowlist is None else allowlist
    out, ok, seen = [], True, set()
    for a in assignments:
        hits, failures = trace_cases(a, root, fixtures_dir)
        if failures:
            ok = False
            out.append(f"{a}: the reference fails {len(failures)} case(s): {', '.join(sorted(failures))}")
        counts = {}
        missing = solution_coverage(a, root, fixtures_dir, hits, counts)
        listed = [m for m in missing if (m[0], m[2]) in allowlist]
        seen |= {(m[0], m[2]) for m in listed}
        bad = [m for m in missing if (m[0], m[2]) not in allowlist]
        n = counts["statements"]
        out.append(f"{a}: {n - len(missing)} of {n} solution statements executed by the public cases"
                   f" ({len(listed)} uncovered and allowlisted)")
        for rel, line, text in bad:
            out.append(f"  UNCOVERED {rel}:{line}: {text}")
        ok = ok and not bad
    files = {r[0] for r in regions(root) if r[1] in assignments}
    for f, text in sorted(k for k in allowlist if k[0] in files and k not in seen):
        out.append(f"  stale allowlist entry (now covered, or gone): {f}: {text}")
        ok = False
    return out, ok


def _load_toml(path, key):
    from .rubric import tomllib  # noqa: PLC0415

    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return list(tomllib.load(f).get(key, []))


def coverage_allowlist(path=COVERAGE_ALLOWLIST):
    """{(file, statement text): reason} of solution statements allowed to stay unexecuted."""
    return {(e["file"], e["line"].strip()): e["reason"] for e in _load_toml(path, "uncovered")}


# --------------------------------------------------------------------------- mutants
@dataclass
class Mutant:
    file: str
    line: int
    col: int
    old: str
    new: str
    original: str           # the original line (stripped)
    mutated: str            # the mutated line (stripped)
    source: str = field(repr=False, default="")
    cases: tuple = ()
    status: str = ""        # killed / survived / equivalent / uncovered
    detail: str = ""

    @property
    def key(self):
        return (self.file, self.original, self.mutated)

    def where(self):
        return f"{self.file}:{self.line}"


def _replacements(tok):
    if tok.type == tokenize.OP:
        return OPS.get(tok.string, [])
    if tok.type == tokenize.NAME:
        return NAMES.get(tok.string, [])
    if tok.type == tokenize.NUMBER:
        s = tok.string.replace("_", "")
        if s.lower().startswith(("0x", "0o", "0b")) or s[-1:] in "jJ":
            return []
        try:
            v = int(s)
            return [str(v + 1)] + ([str(v - 1)] if v >= 1 else [])
        except ValueError:
            v = float(s)
            return [repr(v + 1.0)] + ([repr(v / 2)] if v != 0 else [])
    return []


def _normalised_ast(source):
    try:
        return ast.dump(ast.parse(source))
    except SyntaxError:
        return None


def generate_mutants(assignment, root=REPO, files=None):
    """Every single-token mutant of ``assignment``'s solution regions (in file order)."""
    by_file = {}
    for rel, hw, first, last in regions(root):
        if hw == assignment and (not files or rel in files):
            by_file.setdefault(rel, []).append((first, last))
    out = []
    for rel, spans in by_file.items():
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            source = fh.read()
        original_ast = _normalised_ast(source)
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for ln in lines:
            offsets.append(offsets[-1] + len(ln))
        seen = set()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            (r, c), (r2, c2) = tok.start, tok.end
            if r != r2 or not any(a <= r <= b for a, b in spans):
                continue
            for new in _replacements(tok):
                a, b = offsets[r - 1] + c, offsets[r - 1] + c2
                if new == "" and source[b:b + 1] == " ":
                    b += 1  # 'not x' -> 'x'
                mutated = source[:a] + new + source[b:]
                tree = _normalised_ast(mutated)
                if tree is None or tree == original_ast or mutated in seen:
                    continue
                seen.add(mutated)
                new_line = mutated.splitlines()[r - 1]
                out.append(Mutant(rel, r, c, tok.string, new, lines[r - 1].strip(), new_line.strip(), mutated))
    return out


def equivalent_mutants(path=EQUIVALENT_FILE):
    """{(file, original line, mutated line): reason} of mutants judged equivalent."""
    return {(e["file"], e["line"].strip(), e["mutant"].strip()): e["reason"] for e in _load_toml(path, "mutant")}


# --------------------------------------------------------------------------- grading mutants (forked workers)
def _grade_in_child(mutant, assignment, root, fixtures_dir, out_path):
    from .spec import load_registry  # noqa: PLC0415

    detail = ""
    try:
        minitorch = _import_minitorch(root, (mutant.file, mutant.source))
        fs = _fixture_set(assignment, fixtures_dir)
        registry = load_registry(assignment)
        for name in mutant.cases:
            case = registry[name]
            for inst in case.instance_ids():
                results, errors = run_instance(minitorch, case, inst, fs)
                bad = failed_checks(case, inst, fs, results, errors)
                if bad:
                    detail = f"{bad[0][0]}: {bad[0][1]}"
                    break
            if detail:
                break
    except BaseException as e:  # noqa: BLE001 - an import error kills the mutant
        detail = f"{type(e).__name__}: {e}"
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"killed": bool(detail), "detail": detail.splitlines()[0][:300] if detail else ""}, f)


def grade_mutants(mutants, assignment, root=REPO, fixtures_dir=None, jobs=1, timeout=DEFAULT_TIMEOUT_S,
                  progress=None):
    """Grade each mutant (with ``cases`` set) in a forked worker; sets ``status`` and ``detail``."""
    import tempfile  # noqa: PLC0415

    from .spec import load_registry  # noqa: PLC0415

    load_registry(assignment)           # imported before forking: every worker shares it
    _fixture_set(assignment, fixtures_dir)
    todo = [m for m in mutants if m.cases]
    running = {}
    with tempfile.TemporaryDirectory(prefix="mtmutate-") as tmp:
        pos = 0
        done = 0
        while pos < len(todo) or running:
            while pos < len(todo) and len(running) < max(1, jobs):
                m = todo[pos]
                out_path = os.path.join(tmp, f"{pos}.json")
                pid = os.fork()
                if pid == 0:  # the worker
                    code = 0
                    try:
                        signal.signal(signal.SIGINT, signal.SIG_DFL)
                        sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
                        _grade_in_child(m, assignment, root, fixtures_dir, out_path)
                    except BaseException:  # noqa: BLE001
                        code = 1
                    os._exit(code)
                running[pid] = (m, out_path, time.monotonic())
                pos += 1
            time.sleep(0.005)
            for pid, (m, out_path, t0) in list(running.items()):
                got, status = os.waitpid(pid, os.WNOHANG)
                if got == 0:
                    if time.monotonic() - t0 > timeout:
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        m.status, m.detail = "killed", f"timed out after {timeout:g} s"
                    else:
                        continue
                else:
                    try:
                        with open(out_path, encoding="utf-8") as f:
                            r = json.load(f)
                        m.status = "killed" if r["killed"] else "survived"
                        m.detail = r["detail"]
                    except (OSError, ValueError, KeyError):
                        m.status, m.detail = "killed", f"the worker died (status {status})"
                del running[pid]
                done += 1
                if progress:
                    progress(done, len(todo))
    return mutants


def run(assignment, root=REPO, fixtures_dir=None, sample=None, seed=0, files=None, jobs=1,
        timeout=DEFAULT_TIMEOUT_S, equivalents=None, progress=None):
    """Generate, select (``sample``), trace and grade the mutants of one assignment."""
    equivalents = equivalent_mutants() if equivalents is None else equivalents
    mutants = generate_mutants(assignment, root, files)
    total = len(mutants)
    if sample is not None and sample < len(mutants):
        mutants = sorted(random.Random(seed).sample(mutants, sample), key=lambda m: (m.file, m.line, m.col))
    hits, failures = trace_cases(assignment, root, fixtures_dir)
    if failures:
        first = next(iter(failures.items()))
        raise RuntimeError(f"{assignment}: the unmutated code fails {len(failures)} case(s) "
                           f"(e.g. {first[0]}: {first[1][0][1][:200]}); mutation testing needs a passing reference")
    for m in mutants:
        m.cases = tuple(sorted(hits.get((m.file, m.line), ())))
    grade_mutants(mutants, assignment, root, fixtures_dir, jobs, timeout, progress)
    for m in mutants:
        if not m.cases:
            m.status, m.detail = "survived", "no public case executes this line"
        if m.status == "survived" and m.key in equivalents:
            m.status, m.detail = "equivalent", equivalents[m.key]
    return mutants, total


def _summary(assignment, mutants, total):
    n = {s: sum(m.status == s for m in mutants) for s in ("killed", "survived", "equivalent")}
    sampled = f" (a sample of {len(mutants)} of {total})" if len(mutants) < total else ""
    return (f"{assignment}: {len(mutants)} mutants{sampled}: {n['killed']} killed, {n['equivalent']} equivalent "
            f"(listed), {n['survived']} survived")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.mutate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignments", nargs="+", help="hw1 .. hw4, or all")
    p.add_argument("--sample", type=int, default=None, help="grade a random sample of N mutants per assignment")
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    p.add_argument("--all", action="store_true", help="grade every mutant (the default without --sample)")
    p.add_argument("--file", action="append", default=None, help="only mutants of this file (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="mutants graded at once (default 1)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help=f"seconds per mutant before it counts as killed (default {DEFAULT_TIMEOUT_S:g})")
    p.add_argument("--root", default=REPO, help="the tree whose minitorch is mutated (default: this repository)")
    p.add_argument("--fixtures", default=None, help="fixture folder (default: the public fixtures)")
    p.add_argument("--json", default=None, help="write every mutant's result to this file")
    p.add_argument("--quiet", action="store_true", help="print only survivors and the summary")
    p.add_argument("--coverage", action="store_true",
                   help="only report the solution statements no public case executes (exit 1 if any is not "
                        "in coverage_allowlist.toml)")
    args = p.parse_args(argv)
    wanted = list(ASSIGNMENTS) if args.assignments == ["all"] else args.assignments
    for a in wanted:
        if a not in ASSIGNMENTS:
            p.error(f"unknown assignment {a!r} (choose from {', '.join(ASSIGNMENTS)} or all)")
    if args.sample is not None and args.sample < 1:
        p.error("--sample must be at least 1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    root = os.path.abspath(args.root)
    if not os.path.isfile(os.path.join(root, "minitorch", "__init__.py")):
        p.error(f"{root}: no minitorch package there (--root must hold minitorch/)")
    for f in args.file or ():
        if not os.path.isfile(os.path.join(root, f)):
            p.error(f"--file {f}: no such file under {root}")
    try:
        return _main(args, wanted, root)
    except RuntimeError as e:  # the reference itself fails, or the fixtures do not match
        print(f"error: {e}", file=sys.stderr)
        return 2


def _main(args, wanted, root):
    sample = None if args.all else args.sample
    if args.coverage:
        lines, ok = coverage_report(wanted, root, args.fixtures)
        print("\n".join(lines))
        return 0 if ok else 1
    equivalents = equivalent_mutants()
    report, bad, seen_keys = [], 0, set()
    for a in wanted:
        t0 = time.perf_counter()

        def progress(done, n, a=a):
            if not args.quiet and sys.stderr.isatty():
                print(f"\r{a}: {done}/{n} mutants graded", end="", file=sys.stderr, flush=True)

        mutants, total = run(a, root, args.fixtures, sample, args.seed, args.file, args.jobs, args.timeout,
                             equivalents, progress)
        if not args.quiet and sys.stderr.isatty():
            print(file=sys.stderr)
        for m in mutants:
            seen_keys.add(m.key)
            if m.status == "survived":
                bad += 1
                print(f"SURVIVED {m.where()}: `{m.old}` -> `{m.new}`\n    - {m.original}\n    + {m.mutated}\n"
                      f"    ({m.detail or 'full marks on ' + ', '.join(m.cases)})")
            elif not args.quiet and m.status == "equivalent":
                print(f"equivalent {m.where()}: {m.mutated}  ({m.detail})")
        print(f"{_summary(a, mutants, total)}  [{time.perf_counter() - t0:.0f} s]", flush=True)
        report += [{"assignment": a, "file": m.file, "line": m.line, "old": m.old, "new": m.new,
                    "original": m.original, "mutated": m.mutated, "status": m.status, "detail": m.detail,
                    "cases": list(m.cases)} for m in mutants]
    if sample is None and not args.file:
        regs = regions(root)
        whole = {r[0] for r in regs} - {r[0] for r in regs if r[1] not in wanted}  # every region of it was run
        stale = [k for k in equivalents if k[0] in whole and k not in seen_keys]
        for f, _orig, mut in stale:
            print(f"note: listed equivalent mutant no longer generated: {f}: {mut}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    if bad:
        print(f"{bad} mutant(s) survived that are not listed in {os.path.relpath(EQUIVALENT_FILE, REPO)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
