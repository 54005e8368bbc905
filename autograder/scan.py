"""AST scan of a submission for forbidden frameworks (torch, tensorflow, jax).

Catches ``import torch``, ``from jax import numpy``, ``__import__("torch")`` and
``importlib.import_module("tensorflow")``: the friendly early message. The barrier is the sandbox,
where these frameworks do not exist.

The scan runs in the grader's own process on hostile files, so it is bounded: a file over
``SCAN_MAX_BYTES`` or about ``SCAN_MAX_TOKENS`` tokens is not parsed (an AST costs ~500 bytes per
token: a 2 MB list literal would take about a GB) but searched line by line for ``import X`` /
``from X import``; so is every file once the whole scan has used ``SCAN_BUDGET_S`` seconds."""
import ast
import os
import re
import threading
import time

from .protocol import FORBIDDEN

SCAN_MAX_BYTES = 256 * 1024
SCAN_MAX_TOKENS = 40_000
SCAN_BUDGET_S = 5.0
_TOKEN = re.compile(r"\w+|[^\w\s]")
_IMPORT_LINE = re.compile(r"^[ \t]*(?:import|from)[ \t]+(%s)\b[\w.]*" % "|".join(FORBIDDEN), re.MULTILINE)


def _root(name):
    return (name or "").split(".")[0]


def _too_big(source):
    if len(source) > SCAN_MAX_BYTES:
        return True
    n = 0
    for _ in _TOKEN.finditer(source):
        n += 1
        if n > SCAN_MAX_TOKENS:
            return True
    return False


def scan_lines(source):
    """[(line, module)] of lines that start with ``import X`` / ``from X`` for a forbidden X: the
    bounded scan of files too large to parse (constant memory, linear time)."""
    hits = []
    for m in _IMPORT_LINE.finditer(source):
        hits.append((source.count("\n", 0, m.start()) + 1, m.group(0).split()[1]))
        if len(hits) >= 20:
            break
    return hits


_PARSE_LOCK = threading.RLock()  # reentrant: a finalizer run inside a parse may scan too
_PARSE_TRIES = 3


def _parse(source, filename):
    """ast.parse, one thread at a time, tried again after a SystemError. CPython 3.11's AST constructor keeps its
    recursion counter per interpreter, not per call: a parse fails with "AST constructor recursion depth mismatch"
    when another thread parses meanwhile (the batch grader scans submissions on a thread pool, and 3.11 parses
    source lines to underline tracebacks), or when the garbage collector, run by the parse's own allocations, calls
    a finalizer that parses (a ``__del__`` that calls ast.parse reproduces it). The lock keeps our own parses apart;
    a parse that still fails is tried again, and after _PARSE_TRIES failures the caller scans line by line."""
    with _PARSE_LOCK:
        for _ in range(_PARSE_TRIES - 1):
            try:
                return ast.parse(source, filename=filename)
            except SystemError:
                pass
        return ast.parse(source, filename=filename)


def scan_source(source, filename="<student>", bounded=True):
    """[(line, module)] of forbidden imports in ``source`` (a syntax error yields nothing: the
    sandbox reports it when the file is imported). ``bounded``: files too large to parse safely get
    the line scan instead."""
    if bounded and _too_big(source):
        return scan_lines(source)
    try:
        tree = _parse(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError, SystemError):
        return scan_lines(source)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hits += [(node.lineno, a.name) for a in node.names if _root(a.name) in FORBIDDEN]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _root(node.module) in FORBIDDEN:
            hits.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            name = f.id if isinstance(f, ast.Name) else (f.attr if isinstance(f, ast.Attribute) else "")
            arg = node.args[0]
            if name in ("__import__", "import_module") and isinstance(arg, ast.Constant) \
                    and isinstance(arg.value, str) and _root(arg.value) in FORBIDDEN:
                hits.append((node.lineno, arg.value))
    return hits


def student_files(submission):
    """Relative paths of the .py files of the submission's minitorch package."""
    root = os.path.join(submission, "minitorch")
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__")
        for f in sorted(files):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, f), submission).replace(os.sep, "/"))
    return out


def scan_submission(submission):
    """{relative path: [(line, module)]} for every student file with a forbidden import."""
    found = {}
    deadline = time.monotonic() + SCAN_BUDGET_S
    for rel in student_files(submission):
        try:
            with open(os.path.join(submission, rel), encoding="utf-8", errors="replace") as f:
                source = f.read(SCAN_MAX_BYTES * 64)  # intake caps files far below this
            hits = scan_source(source, rel) if time.monotonic() < deadline else scan_lines(source)
        except OSError:
            continue
        if hits:
            found[rel] = hits
    return found


def affected(violations, rubric, all_rubric_files):
    """The violations that zero ``rubric``'s assignment: files of that assignment, and files that
    belong to no assignment (shared code any test may run)."""
    mine = set(rubric.files)
    return {f: h for f, h in violations.items() if f in mine or f not in all_rubric_files}
