"""Issue 20: commands and messages that work in bash, zsh, PowerShell and cmd.exe alike."""
import pathlib
import re

import pytest

from minitorch.cli.viz import _expand_wildcards
from minitorch.errors import UsageError

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_viz_expands_wildcards_the_shell_left_alone(tmp_path):
    for run in ("b", "a"):
        (tmp_path / "runs" / run).mkdir(parents=True)
        (tmp_path / "runs" / run / "log.csv").write_text("step\n", encoding="utf-8")
    pattern = str(tmp_path / "runs" / "*" / "log.csv")  # as PowerShell passes runs/*/log.csv
    assert _expand_wildcards([pattern]) == [str(tmp_path / "runs" / r / "log.csv") for r in ("a", "b")]
    plain = str(tmp_path / "runs" / "a" / "log.csv")
    assert _expand_wildcards([plain]) == [plain]
    with pytest.raises(UsageError, match="no file matches this pattern"):
        _expand_wildcards([str(tmp_path / "nothing" / "*" / "log.csv")])


def test_pip_extras_are_double_quoted_everywhere():
    """pip install 'x[gpu]' fails in cmd.exe, an unquoted x[gpu] in zsh (macOS' shell): "x[gpu]" works in all."""
    bad = []
    files = [p for d in ("minitorch", "autograder", "handouts", "notebooks") for p in (REPO / d).rglob("*")
             if p.suffix in (".py", ".md", ".ipynb")] + [REPO / "README.md", REPO / "CONTRIBUTING.md"]
    for path in files:
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r"pip install (-e )?(\S+)", line):
                arg = m.group(2).strip("`")
                if "[" in arg and not re.match(r'\\?"', arg):
                    bad.append(f"{path.relative_to(REPO)}:{k}: {m.group(0)}")
    assert not bad, "\n".join(bad)


def test_handin_member_names_use_forward_slashes_with_windows_separators(tmp_path, monkeypatch):
    """On Windows os.path.relpath gives minitorch\\kernels\\x.py: the tar must still hold minitorch/kernels/x.py."""
    import os
    import shutil
    import tarfile

    from autograder import handin

    root = tmp_path / "handout"
    shutil.copytree(REPO / "minitorch", root / "minitorch", ignore=shutil.ignore_patterns("*.pyc"))
    (root / "minitorch" / "kernels" / ".notes").mkdir()  # left out, and named with forward slashes
    real_relpath = os.path.relpath
    monkeypatch.setattr(os, "sep", "\\")
    monkeypatch.setattr(os.path, "relpath", lambda p, start=os.curdir: real_relpath(p, start).replace("/", "\\"))
    files, skipped = handin.make_handin(str(root), "hw1", str(tmp_path / "handin.tar"))
    assert any(r == "minitorch/kernels/matmul.py" for r, _ in files)
    assert all("\\" not in r for r, _ in files)
    assert ("minitorch/kernels/.notes/", "hidden folder") in skipped
    monkeypatch.undo()
    with tarfile.open(tmp_path / "handin.tar") as tf:
        names = tf.getnames()
    assert "minitorch/kernels/matmul.py" in names and not [n for n in names if "\\" in n]
