"""Intake of hostile submissions: tar bombs (size, members), traversal, links, devices, compiled files
whose code differs from the source, and a scan that a huge file cannot blow up."""
import gzip
import importlib._bootstrap_external as bx
import io
import os
import tarfile
import time
import tracemalloc

import pytest

from autograder import intake
from autograder.grade import SubmissionError, grade
from autograder.intake import MAX_FILE_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES, take_in
from autograder.scan import scan_submission

from .bugs import REPO, make_submission


def _tar(path, members, gz=False):
    """Write a tar of [(TarInfo, bytes or None)]."""
    with (gzip.open(path, "wb", compresslevel=1) if gz else open(path, "wb")) as raw, \
            tarfile.open(fileobj=raw, mode="w") as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return str(path)


def _file(name, data=b"x = 1\n"):
    return tarfile.TarInfo(name), data


class _Zeros(io.RawIOBase):
    """n zero bytes, produced lazily (a member's data without holding it in memory)."""

    def __init__(self, n):
        self.left = n

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def test_gzip_bomb_is_refused_before_extraction_completes(tmp_path):
    # members under the per-file cap whose total is far over the total cap: compresses ~1000:1
    n_files, each = 40, 3 * 1024 * 1024
    bomb = tmp_path / "handin.tar.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tf:
        for k in range(n_files):
            info = tarfile.TarInfo(f"minitorch/blob{k}.txt")
            info.size = each
            tf.addfile(info, _Zeros(each))
    assert os.path.getsize(bomb) < 1024 * 1024 < n_files * each
    t0 = time.perf_counter()
    with pytest.raises(SubmissionError, match="expands to more than .* refused before extraction finished"):
        take_in(str(bomb), str(tmp_path / "a"))
    assert time.perf_counter() - t0 < 10
    written = sum(f.stat().st_size for f in (tmp_path / "a").rglob("*") if f.is_file())
    assert written <= MAX_TOTAL_BYTES


def test_huge_member_is_refused_from_its_header(tmp_path):
    # a header claiming 2 GiB (data never follows): refused without reading any of it
    info = tarfile.TarInfo("minitorch/big.py")
    info.size = 2 * 1024 ** 3
    bomb = tmp_path / "big.tar.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(info.tobuf(format=tarfile.GNU_FORMAT))
    with pytest.raises(SubmissionError, match=r"minitorch/big.py is 2048 MiB, over the .* limit for one file"):
        take_in(str(bomb), str(tmp_path / "a"))
    assert MAX_FILE_BYTES < info.size


def test_too_many_members_is_refused(tmp_path):
    tar = _tar(tmp_path / "many.tar", [_file(f"minitorch/f{k}.py", b"") for k in range(MAX_MEMBERS + 5)], gz=True)
    with pytest.raises(SubmissionError, match=f"more than {MAX_MEMBERS} entries"):
        take_in(tar, str(tmp_path / "a"))


def test_traversal_links_devices_and_compiled_files_are_dropped(tmp_path):
    def special(name, kind, target=""):
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        return info, None

    members = [
        _file("minitorch/__init__.py"),
        _file("minitorch/kernels/ok.py", b"y = 2\n"),
        _file("../escape.py"), _file("/tmp/absolute-intake-test.py"), _file("minitorch/../../up.py"),
        special("minitorch/link.py", tarfile.SYMTYPE, "/etc/passwd"),
        special("minitorch/hard.py", tarfile.LNKTYPE, "minitorch/__init__.py"),
        special("minitorch/dev", tarfile.CHRTYPE), special("minitorch/fifo", tarfile.FIFOTYPE),
        _file("minitorch/__pycache__/ok.cpython-311.pyc", b"\0" * 16),
        _file("minitorch/kernels/fast.cpython-311-x86_64-linux-gnu.so", b"\x7fELF"),
        _file("notes/elsewhere.py"),
    ]
    tar = _tar(tmp_path / "handin.tar", members)
    got = take_in(tar, str(tmp_path / "a"))
    files = sorted(str(p.relative_to(got.root)) for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == ["minitorch/__init__.py", "minitorch/kernels/ok.py"]
    why = dict(got.dropped)
    assert why["../escape.py"] == "'..' in the path" and why["/tmp/absolute-intake-test.py"] == "absolute path"
    assert why["minitorch/../../up.py"] == "'..' in the path"
    assert why["minitorch/link.py"] == "symbolic link" and why["minitorch/hard.py"] == "hard link"
    assert why["minitorch/dev"] == "device" and why["minitorch/fifo"] == "FIFO"
    assert why["minitorch/__pycache__/ok.cpython-311.pyc"] == "compiled cache"
    assert why["minitorch/kernels/fast.cpython-311-x86_64-linux-gnu.so"].startswith("not a source file")
    assert not os.path.exists("/tmp/absolute-intake-test.py") and not (tmp_path / "escape.py").exists()


def test_folder_intake_copies_only_regular_source_files(tmp_path):
    src = tmp_path / "sub"
    (src / "minitorch" / "__pycache__").mkdir(parents=True)
    (src / "minitorch" / "__init__.py").write_text("x = 1\n", encoding="utf-8")
    (src / "minitorch" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0" * 16)
    secret = tmp_path / "secret.txt"
    secret.write_text("other student's work", encoding="utf-8")
    os.symlink(secret, src / "minitorch" / "peer.txt")
    os.mkfifo(src / "minitorch" / "pipe.py")  # opening it would block: it must never be opened
    got = take_in(str(src), str(tmp_path / "a"))
    assert sorted(os.listdir(os.path.join(got.root, "minitorch"))) == ["__init__.py"]
    why = dict(got.dropped)
    assert why["minitorch/peer.txt"] == "symbolic link" and why["minitorch/pipe.py"] == "not a regular file"
    assert why["minitorch/__pycache__/"] == "compiled cache"
    # the report names the drops a student may not expect, not the routine caches
    assert got.summary()["notable"] == ["minitorch/peer.txt (symbolic link)", "minitorch/pipe.py (not a regular file)"]
    big = src / "minitorch" / "big.py"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SubmissionError, match="big.py is .* over the .* limit for one file"):
        take_in(str(src), str(tmp_path / "b"))


def test_unusable_inputs_have_clear_messages(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(SubmissionError, match="not a folder or a tar"):
        take_in(str(tmp_path / "notes.txt"), str(tmp_path / "a"))
    with pytest.raises(SubmissionError, match="no such file"):
        take_in(str(tmp_path / "missing.tar"), str(tmp_path / "b"))
    tar = _tar(tmp_path / "empty.tar", [_file("README.md")])
    with pytest.raises(SubmissionError, match=r"no minitorch/ package .*README.md \(outside minitorch/\)"):
        take_in(tar, str(tmp_path / "c"))
    with open(tmp_path / "x.tar.bz2", "wb") as f:
        f.write(b"BZh91AY&SY" + bytes(600))
    with pytest.raises(SubmissionError, match="bzip2/xz"):
        take_in(str(tmp_path / "x.tar.bz2"), str(tmp_path / "d"))


def test_pyc_carrying_other_code_than_the_source_is_ignored(tmp_path):
    """The .py files are the stub; __pycache__ holds the reference compiled with the stub's mtime and
    size in its header, so Python would load it. Intake drops it: the stub scores 0."""
    sub = make_submission(str(tmp_path / "sub"))
    rel = "minitorch/kernels/elementwise.py"
    path = os.path.join(sub, rel)
    with open(path, encoding="utf-8") as f:
        good = f.read()
    start = good.index("def gelu_forward(")
    stub = good[:start] + good[start:].replace("    # BEGIN SOLUTION hw2\n",
                                               "    # BEGIN SOLUTION hw2\n    raise NotImplementedError('stub')\n", 2)
    with open(path, "w", encoding="utf-8") as f:
        f.write(stub)
    st = os.stat(path)
    pyc = bx._code_to_timestamp_pyc(compile(good, path, "exec"), int(st.st_mtime), len(stub.encode()))
    cache = os.path.join(os.path.dirname(path), "__pycache__")
    os.makedirs(cache)
    with open(os.path.join(cache, bx.cache_from_source(path).rsplit(os.sep, 1)[1]), "wb") as f:
        f.write(pyc)
    tar = str(tmp_path / "handin.tar")
    with tarfile.open(tar, "w") as tf:
        tf.add(os.path.join(sub, "minitorch"), arcname="minitorch")
    report = grade(["hw2"], tar, tests=["gelu"])
    assert report["assignments"][0]["score"] == 0
    assert any("__pycache__" in d for d in report["intake"]["dropped"])


def test_ast_scan_is_bounded_on_a_huge_file(tmp_path):
    sub = tmp_path / "sub" / "minitorch"
    sub.mkdir(parents=True)
    (sub / "__init__.py").write_text("x = [" + "1," * 1_000_000 + "]\nimport torch\n", encoding="utf-8")  # 2 MB
    (sub / "nested.py").write_text("y = " + "(" * 400 + ")" * 400 + "\nfrom jax import numpy\n", encoding="utf-8")
    tracemalloc.start()
    t0 = time.perf_counter()
    found = scan_submission(str(tmp_path / "sub"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found == {"minitorch/__init__.py": [(2, "torch")], "minitorch/nested.py": [(2, "jax")]}
    assert peak < 64 * 1024 * 1024 and time.perf_counter() - t0 < 5


def test_handin_tar_of_the_reference_is_taken_whole(tmp_path):
    from autograder.handin import make_handin

    make_handin(REPO, "hw1", str(tmp_path / "handin.tar"))
    got = take_in(str(tmp_path / "handin.tar"), str(tmp_path / "a"))
    n_py = sum(1 for _, _, fs in os.walk(os.path.join(REPO, "minitorch")) for f in fs if f.endswith(".py"))
    assert got.dropped == [] and got.files == n_py + 1  # + HANDIN.json
    assert intake.is_tar(str(tmp_path / "handin.tar"))


def test_a_file_where_a_folder_is_needed_is_a_clear_error(tmp_path):
    tar = _tar(tmp_path / "clash.tar", [_file("minitorch/a.py"), _file("minitorch/a.py/b.py")])
    with pytest.raises(SubmissionError, match="cannot take in minitorch/a.py/b.py"):
        take_in(tar, str(tmp_path / "a"))


def test_damaged_archives_are_clear_errors(tmp_path):
    good = _tar(tmp_path / "good.tar.gz", [_file("minitorch/__init__.py", os.urandom(30000))], gz=True)
    data = open(good, "rb").read()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SubmissionError, match=r"cut.tar.gz is damaged or truncated \(EOFError"):
        take_in(str(tmp_path / "cut.tar.gz"), str(tmp_path / "a"))
    (tmp_path / "fake.tar.gz").write_bytes(b"\x1f\x8b" + bytes(600))
    with pytest.raises(SubmissionError, match="not a folder or a tar"):
        take_in(str(tmp_path / "fake.tar.gz"), str(tmp_path / "b"))


def test_the_scan_survives_a_finalizer_that_parses_during_its_parse():
    """CPython 3.11 fails a parse with SystemError when a finalizer run by the garbage collector in the middle of it
    parses too (see scan._parse); the scan parses once more and still finds the forbidden import."""
    import ast
    import gc

    from autograder.scan import scan_source

    class ParsesWhenFreed:
        def __del__(self):
            ast.parse("x = (1, [2, {3: 4}])")

    source = "import numpy as np\n" + "y = [(i, {'k': [i]}) for i in range(3)]\n" * 400 + "import torch\n"
    gc.collect()
    gc.disable()
    try:
        for _ in range(100):
            held = ParsesWhenFreed()
            held.cycle = held       # freed only by the collector
        del held
    finally:
        gc.enable()
    assert scan_source(source) == [(402, "torch")]


def test_the_scan_parses_correctly_on_many_threads_at_once():
    """The batch grader scans submissions on a thread pool. CPython 3.11's AST constructor shares one recursion
    counter between threads: when a finalizer that lets go of the GIL (closing a file or a shared-memory block
    does) runs inside a parse, another thread's parse meanwhile made it fail with SystemError (see scan._parse)."""
    import gc
    import time
    from concurrent.futures import ThreadPoolExecutor

    from autograder.scan import scan_source

    class LetsGoOfTheGil:
        def __del__(self):
            time.sleep(0)

    def scan(_):
        gc.disable()
        try:
            for _ in range(50):
                held = LetsGoOfTheGil()
                held.cycle = held       # freed by the collector, in the middle of the parse below
        finally:
            gc.enable()
        return scan_source(source)

    source = "import numpy as np\n" + "y = [(i, {'k': [i, (i, [i])]}) for i in range(3)]\n" * 600 + "import jax\n"
    with ThreadPoolExecutor(max_workers=4) as ex:
        found = list(ex.map(scan, range(40)))
    assert found == [[(602, "jax")]] * 40
