"""Issue 19: the grader reads as short named steps, and the sandbox protocol is defined once.

``grade.py`` and the sandbox (``sandbox.py``, ``child.py``, ``execute.py``, ``protocol.py``) keep
every function under 50 lines; the parent and the child share ``protocol.py`` (job file names, frame
kinds and their encoders, the forbidden frameworks) instead of spelling them out on each side."""
import ast
import os

import pytest

from autograder import protocol

PACKAGE = os.path.dirname(os.path.abspath(protocol.__file__))
SHORT = ("grade.py", "sandbox.py", "child.py", "execute.py", "protocol.py")


def _tree(name):
    with open(os.path.join(PACKAGE, name), encoding="utf-8") as fh:
        return ast.parse(fh.read())


@pytest.mark.parametrize("name", SHORT)
def test_functions_are_short(name):
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(_tree(name))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 50]
    assert not long, f"{name}: functions over 50 lines: {long}"


def test_the_protocol_is_defined_once():
    shared = {protocol.JOB_FILE, protocol.INPUTS_FILE, *protocol.FORBIDDEN}
    frames = {protocol.START, protocol.IMPORTED, protocol.RESULT, protocol.FATAL, protocol.DONE}
    for name in ("sandbox.py", "child.py", "scan.py", "grade.py"):
        tree = _tree(name)
        literals = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)}
        assert not literals & shared, f"{name} spells out {literals & shared}: use protocol's names"
        frame_bytes = [v for v in literals if isinstance(v, bytes) and v[:1].decode("latin-1") in frames]
        assert not frame_bytes, f"{name} writes frames by hand: {frame_bytes}"
        assigned = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
        assert "FORBIDDEN" not in assigned, f"{name} defines its own FORBIDDEN"
