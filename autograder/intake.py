"""Taking in a submission: a folder holding ``minitorch/``, or a plain or gzip tar (``handin.tar``,
``.tar.gz``) of one, copied into a fresh folder that the grader owns.

Only regular files under ``minitorch/`` are taken (and ``HANDIN.json``, written by
``python -m autograder.handin``); everything else is dropped and listed: compiled files (``*.pyc``,
``__pycache__``: their code may differ from the source a reviewer reads), native extensions,
links, devices, FIFOs, absolute paths and ``..``. A tar is read as a stream, and the caps below are
checked while it is read: a tar that expands past them is refused before extraction completes (a
2 MB gzip bomb costs at most ``MAX_TOTAL_BYTES`` of decompression, never its full size).

    intake = take_in(path, dest_parent)    # -> Intake(root, source, files, bytes, dropped)
"""
import errno
import gzip
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass, field

MAX_INPUT_BYTES = 32 * 1024 * 1024     # the tar file itself (compressed), plus the LM files' caps below
MAX_TOTAL_BYTES = 16 * 1024 * 1024     # everything the tar expands to (headers, dropped members included)
MAX_FILE_BYTES = 4 * 1024 * 1024       # one file
MAX_MEMBERS = 2000                     # entries in the tar / files and folders walked in a folder
MAX_DEPTH = 16                         # path components
MAX_NAME = 255                         # bytes in one path component
PACKAGE = "minitorch"
EXTRA_FILES = ("HANDIN.json",)         # taken at the root besides the package
# hw4's trained model and its run summary (autograder/lmtask.py), each with its own cap, not counted in
# the source total; the decompressed stream of a tar may hold them on top of MAX_TOTAL_BYTES
LM_FILES = {"lm/best.ckpt": 24 * 1024 * 1024, "lm/summary.json": 64 * 1024}
MAX_STREAM_BYTES = MAX_TOTAL_BYTES + sum(LM_FILES.values())
MAX_INPUT_BYTES += sum(LM_FILES.values())
SOURCE_SUFFIXES = (".py", ".txt", ".json", ".md", ".toml", ".cfg", ".csv")
CHUNK = 1 << 16
ROUTINE_DROPS = ("compiled cache", "compiled file", "hidden file", "hidden folder")


class SubmissionError(RuntimeError):
    """The submission is unusable (no minitorch package, an unreadable or oversized tar, ...)."""


@dataclass
class Intake:
    root: str                          # folder holding minitorch/ (inside the grader's temp folder)
    source: str                        # what was handed in (the folder or tar path)
    files: int = 0
    bytes: int = 0
    dropped: list = field(default_factory=list)   # [(path, why)]

    def summary(self, limit=20):
        """For the report: counts, what was dropped, and ``notable`` (the drops a student may not
        expect, i.e. not compiled caches or hidden files), each list capped at ``limit``."""
        def capped(items):
            lines = [f"{p} ({why})" for p, why in items[:limit]]
            return lines + ([f"... and {len(items) - limit} more"] if len(items) > limit else [])
        notable = [(p, why) for p, why in self.dropped if why not in ROUTINE_DROPS]
        return {"files": self.files, "bytes": self.bytes, "dropped": capped(self.dropped),
                "notable": capped(notable)}


def _mib(n):
    return f"{n / (1024 * 1024):g} MiB"


def _why_not(rel):
    """None when ``rel`` (a '/'-separated relative path of a regular file) is taken, else why not."""
    parts = rel.split("/")
    if parts[0] != PACKAGE:
        return None if rel in EXTRA_FILES or rel in LM_FILES else f"outside {PACKAGE}/"
    if any(p == "__pycache__" for p in parts):
        return "compiled cache"
    name = parts[-1]
    if name.endswith((".pyc", ".pyo")):
        return "compiled file"
    if any(p.startswith(".") for p in parts):
        return "hidden file"
    if not name.endswith(SOURCE_SUFFIXES):
        return "not a source file (" + (os.path.splitext(name)[1] or "no extension") + ")"
    return None


def _bad_path(rel):
    """Why the member path ``rel`` is unsafe (absolute, '..', too deep or long), or None."""
    if rel.startswith("/") or rel.startswith("\\") or (len(rel) > 1 and rel[1] == ":"):
        return "absolute path"
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        return "'..' in the path"
    if "\\" in rel or "\0" in rel:
        return "backslash or NUL in the path"
    if len(parts) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} folders"
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME for p in parts):
        return "a path component is too long"
    return None


def _normal(rel):
    return "/".join(p for p in rel.split("/") if p not in ("", "."))


def _strip_wrapper(rel, wrappers):
    """'alice/minitorch/x.py' -> 'minitorch/x.py' (one wrapper folder allowed, e.g. a tar of the
    handout folder); records the wrapper's name."""
    parts = rel.split("/")
    if parts[0] != PACKAGE and len(parts) > 1 and parts[1] == PACKAGE:
        wrappers.add(parts[0])
        return "/".join(parts[1:])
    if parts[0] != PACKAGE and len(parts) == 2 and parts[1] in EXTRA_FILES:
        wrappers.add(parts[0])
        return parts[1]
    if parts[0] != PACKAGE and len(parts) == 3 and "/".join(parts[1:]) in LM_FILES:
        wrappers.add(parts[0])
        return "/".join(parts[1:])
    return rel


class _Budget:
    """A reader over the decompressed stream that refuses to deliver more than MAX_STREAM_BYTES."""

    def __init__(self, raw, what):
        self.raw, self.what, self.read_bytes = raw, what, 0

    def read(self, n=-1):
        want = MAX_STREAM_BYTES + 1 - self.read_bytes if n is None or n < 0 else n
        data = self.raw.read(min(want, MAX_STREAM_BYTES + 1 - self.read_bytes))
        self.read_bytes += len(data)
        if self.read_bytes > MAX_STREAM_BYTES:
            raise SubmissionError(f"{self.what} expands to more than {_mib(MAX_STREAM_BYTES)} (the limit): refused "
                                  "before extraction finished (a submission is a few hundred KB of source)")
        return data


def _open_tar_stream(path, what):
    with open(path, "rb") as f:
        magic = f.read(6)
    if _other_compression(path):
        raise SubmissionError(f"{what} is compressed with bzip2/xz: hand in a plain or gzip tar "
                              "(python -m autograder.handin writes one)")
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through .close_all
    inner = gzip.GzipFile(fileobj=raw, mode="rb") if magic[:2] == b"\x1f\x8b" else raw
    return raw, inner, _Budget(inner, what)


def _other_compression(path):
    with open(path, "rb") as f:
        magic = f.read(6)
    return magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00"


def is_tar(path):
    """A tar (plain or gzip) by its content, whatever the file is called."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        head = f.read(512)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as g:
                head = g.read(512)
        except (OSError, EOFError):
            return False
    return len(head) >= 262 and head[257:262] == b"ustar" or tarfile.is_tarfile(path)


def _write_member(stream, dest_path, size, rel):
    try:
        os.makedirs(os.path.dirname(dest_path), exist_ok=True)
        fd = os.open(dest_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as e:  # e.g. 'minitorch/a.py' and then 'minitorch/a.py/b.py'
        raise SubmissionError(f"cannot take in {rel}: {e.strerror} (a file and a folder of the same name?)") from None
    left = size
    with os.fdopen(fd, "wb") as out:
        while left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                raise SubmissionError(f"the tar is truncated inside {rel}")
            out.write(chunk)
            left -= len(chunk)


def _from_tar(path, dest, intake):
    what = os.path.basename(path)
    size = os.path.getsize(path)
    if size > MAX_INPUT_BYTES:
        raise SubmissionError(f"{what} is {_mib(size)}, over the {_mib(MAX_INPUT_BYTES)} limit for a submission")
    raw, inner, budget = _open_tar_stream(path, what)
    try:
        _read_tar(budget, what, dest, intake)
    except SubmissionError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise SubmissionError(f"{what} is damaged or truncated ({type(e).__name__}: {e})") from None
    finally:
        inner.close()
        raw.close()


def _read_tar(stream, what, dest, intake):
    wrappers, seen, members = set(), set(), 0
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        while True:
            m = tf.next()
            if m is None:
                break
            members += 1
            if members > MAX_MEMBERS:
                raise SubmissionError(f"{what} has more than {MAX_MEMBERS} entries (the limit): refused before "
                                      "extraction finished")
            name = m.name
            bad = _bad_path(name)
            rel = _normal(name)
            if bad:
                intake.dropped.append((name, bad))
                continue
            if m.isdir() or not rel:
                continue
            if not m.isreg() or m.issparse():
                kind = ("symbolic link" if m.issym() else "hard link" if m.islnk() else
                        "device" if (m.ischr() or m.isblk()) else "FIFO" if m.isfifo() else "not a regular file")
                intake.dropped.append((rel, kind))
                continue
            rel = _strip_wrapper(rel, wrappers)
            cap = LM_FILES.get(rel, MAX_FILE_BYTES)
            if m.size > cap:
                raise SubmissionError(f"{what}: {rel} is {_mib(m.size)}, over the {_mib(cap)} limit "
                                      "for one file: refused before extraction finished")
            why = _why_not(rel)
            if why:
                intake.dropped.append((rel, why))
                continue
            if rel in seen:
                intake.dropped.append((rel, "duplicate entry (the first one is kept)"))
                continue
            seen.add(rel)
            if rel not in LM_FILES and intake.bytes + m.size > MAX_TOTAL_BYTES:
                raise SubmissionError(f"{what} expands to more than {_mib(MAX_TOTAL_BYTES)} of source files (the "
                                      "limit): refused before extraction finished (a submission is a few hundred "
                                      "KB of source)")
            fobj = tf.extractfile(m)
            _write_member(fobj, os.path.join(dest, *rel.split("/")), m.size, rel)
            intake.files += 1
            if rel not in LM_FILES:
                intake.bytes += m.size
    if len(wrappers) > 1:
        raise SubmissionError(f"{what} holds several minitorch/ packages ({', '.join(sorted(wrappers))}): "
                              "hand in one")


def _open_regular(path):
    """An fd of the regular file ``path`` (never following a link, never blocking on a FIFO), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENXIO, errno.EACCES, errno.ENOENT):
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _from_folder(src, dest, intake):
    pkg = os.path.join(src, PACKAGE)
    if os.path.islink(pkg):
        raise SubmissionError(f"{src}: minitorch/ is a symbolic link; hand in the folder itself")
    if not os.path.isdir(pkg):
        wrapped = [d for d in _listdir(src) if not os.path.islink(os.path.join(src, d))
                   and os.path.isdir(os.path.join(src, d, PACKAGE))]
        if len(wrapped) == 1:  # one wrapper folder (e.g. the handout folder inside the submission)
            return _from_folder(os.path.join(src, wrapped[0]), dest, intake)
        tars = [f for f in _listdir(src) if f.lower().endswith((".tar", ".tar.gz", ".tgz"))
                and os.path.isfile(os.path.join(src, f)) and not os.path.islink(os.path.join(src, f))]
        if not wrapped and len(tars) == 1:  # an upload folder holding the handin.tar (Gradescope)
            return _from_tar(os.path.join(src, tars[0]), dest, intake)
        if not wrapped and len(tars) > 1:
            raise SubmissionError(f"{src}: no minitorch/ folder and several tars ({', '.join(tars[:5])}): "
                                  "hand in one handin.tar")
        raise SubmissionError(f"{src}: no minitorch/ package found in the submission"
                              + (f" (several: {', '.join(wrapped)}; hand in one)" if wrapped else ""))
    entries = 0
    for extra in EXTRA_FILES + tuple(LM_FILES):
        _copy_file(os.path.join(src, *extra.split("/")), extra, dest, intake, missing_ok=True)
    stack = [(pkg, PACKAGE, 1)]
    while stack:
        folder, rel_folder, depth = stack.pop()
        for entry in sorted(_scandir(folder), key=lambda e: e.name):
            entries += 1
            if entries > MAX_MEMBERS:
                raise SubmissionError(f"{src}: more than {MAX_MEMBERS} files and folders in minitorch/ (the limit)")
            rel = f"{rel_folder}/{entry.name}"
            if entry.is_symlink():
                intake.dropped.append((rel, "symbolic link"))
            elif entry.is_dir(follow_symlinks=False):
                if entry.name == "__pycache__" or entry.name.startswith("."):
                    intake.dropped.append((rel + "/", "compiled cache" if entry.name == "__pycache__" else
                                           "hidden folder"))
                elif depth + 1 > MAX_DEPTH:
                    intake.dropped.append((rel + "/", f"nested deeper than {MAX_DEPTH} folders"))
                else:
                    stack.append((entry.path, rel, depth + 1))
            elif not entry.is_file(follow_symlinks=False):
                intake.dropped.append((rel, "not a regular file"))
            elif (why := _why_not(rel)) is not None:
                intake.dropped.append((rel, why))
            else:
                _copy_file(entry.path, rel, dest, intake)


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _scandir(path):
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError as e:
        raise SubmissionError(f"cannot read {path}: {e.strerror}") from None


def _copy_file(path, rel, dest, intake, missing_ok=False):
    fd = _open_regular(path)
    if fd is None:
        if not missing_ok and not os.path.lexists(path):
            intake.dropped.append((rel, "vanished"))
        elif not missing_ok or os.path.lexists(path):
            intake.dropped.append((rel, "not a regular file"))
        return
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        cap = LM_FILES.get(rel, MAX_FILE_BYTES)
        if size > cap:
            raise SubmissionError(f"{rel} is {_mib(size)}, over the {_mib(cap)} limit for one file")
        if rel not in LM_FILES and intake.bytes + size > MAX_TOTAL_BYTES:
            raise SubmissionError(f"the submission is over the {_mib(MAX_TOTAL_BYTES)} limit "
                                  f"(at {rel}; a submission is a few hundred KB of source)")
        _write_member(_Capped(f, size), os.path.join(dest, *rel.split("/")), size, rel)
    intake.files += 1
    if rel not in LM_FILES:
        intake.bytes += size


class _Capped:
    """Reads at most ``size`` bytes (a file growing while it is copied is cut at its stat size)."""

    def __init__(self, f, size):
        self.f, self.left = f, size

    def read(self, n):
        data = self.f.read(min(n, self.left))
        self.left -= len(data)
        return data


def take_in(path, dest_parent):
    """Copy the submission at ``path`` (a folder or a tar) into a new folder under ``dest_parent``
    and return an ``Intake`` whose ``root`` holds ``minitorch/``. Raises SubmissionError."""
    if not os.path.exists(path):
        raise SubmissionError(f"{path}: no such file or folder")
    dest = os.path.join(dest_parent, "submission")
    os.makedirs(dest)
    intake = Intake(root=dest, source=os.path.abspath(path))
    if os.path.isdir(path):
        _from_folder(os.path.abspath(path), dest, intake)
    elif is_tar(path) or _other_compression(path):
        _from_tar(path, dest, intake)
    else:
        raise SubmissionError(f"{path}: not a folder or a tar (hand in the handin.tar made by "
                              "python -m autograder.handin, or a folder holding minitorch/)")
    if not os.path.isdir(os.path.join(dest, PACKAGE)):
        raise SubmissionError(f"{path}: no minitorch/ package found in the submission"
                              + (f" ({len(intake.dropped)} entries dropped: "
                                 + ", ".join(f"{p} ({w})" for p, w in intake.dropped[:3]) + ")"
                                 if intake.dropped else ""))
    return intake
