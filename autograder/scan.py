"""AST scan of a submission for forbidden frameworks (torch, tensorflow, jax).

Catches ``import torch``, ``from jax import numpy``, ``__import__("torch")`` and
``importlib.import_module("tensorflow")``; the sandbox also blocks such imports at run time."""
import ast
import os

FORBIDDEN = ("torch", "tensorflow", "jax", "jaxlib")


def _root(name):
    return (name or "").split(".")[0]


def scan_source(source, filename="<student>"):
    """[(line, module)] of forbidden imports in ``source`` (a syntax error yields nothing: the
    sandbox reports it when the file is imported)."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError):
        return []
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
    for rel in student_files(submission):
        try:
            with open(os.path.join(submission, rel), encoding="utf-8", errors="replace") as f:
                hits = scan_source(f.read(), rel)
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
