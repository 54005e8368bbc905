"""Issue 20: text files are opened with an explicit encoding. Without one, Python uses the locale's
(cp1252 on most Windows machines), so a log, report or writeup with a non-ASCII character written
on one machine fails or garbles on another."""
import ast
import json
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
FOLDERS = ("minitorch", "autograder", "bench", "tests", "handouts")


def _mode(call):
    for kw in call.keywords:
        if kw.arg == "mode":
            return kw.value.value if isinstance(kw.value, ast.Constant) else "?"
    if len(call.args) >= 2:
        return call.args[1].value if isinstance(call.args[1], ast.Constant) else "?"
    return "r"


def text_io_without_encoding(source, name="<src>"):
    """(line, what) of each open(...) in text mode, .read_text() and .write_text(s) lacking encoding=."""
    bad = []
    for n in ast.walk(ast.parse(source, name)):
        if not isinstance(n, ast.Call) or "encoding" in {k.arg for k in n.keywords}:
            continue
        f = n.func
        if isinstance(f, ast.Name) and f.id == "open" and "b" not in str(_mode(n)):
            bad.append((n.lineno, f"open(..., {_mode(n)!r})"))
        elif isinstance(f, ast.Attribute) and f.attr == "read_text" and not n.args:
            bad.append((n.lineno, ".read_text()"))
        elif isinstance(f, ast.Attribute) and f.attr == "write_text" and len(n.args) < 2:
            bad.append((n.lineno, ".write_text(...)"))
    return bad


def test_the_scan_finds_text_io_without_encoding():
    src = ('open(p)\nopen(p, "w")\nopen(p, "rb")\nopen(p, encoding="utf-8")\np.read_text()\n'
           'p.read_text(encoding="utf-8")\np.write_text("x")\np.write_bytes(b"")\nopen(p, mode="a")\n')
    assert [ln for ln, _ in text_io_without_encoding(src)] == [1, 2, 5, 7, 9]


def test_text_files_are_opened_with_an_explicit_encoding():
    bad = []
    files = [p for d in FOLDERS for p in (REPO / d).rglob("*.py")]
    assert len(files) > 50
    for path in files:
        for line, what in text_io_without_encoding(path.read_text(encoding="utf-8"), str(path)):
            bad.append(f"{path.relative_to(REPO)}:{line}: {what} without encoding=")
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for k, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
            src = "".join(cell["source"])
            try:
                found = text_io_without_encoding("\n".join(ln for ln in src.splitlines()
                                                           if not ln.lstrip().startswith(("%", "!"))))
            except SyntaxError:
                continue
            bad += [f"{nb.relative_to(REPO)} code cell {k}: {what} without encoding=" for _, what in found]
    assert not bad, "\n".join(bad)
