"""Text corpora by name: ``load_corpus("tinyshakespeare")``, ``load_corpus("python-stdlib")`` or a file path.

- ``"tinyshakespeare"``: ``$MINITORCH_DATA`` when it names the file, else ``$MINITORCH_DATA/tinyshakespeare.txt``,
  else ``~/.cache/minitorch/tinyshakespeare.txt``, else downloaded from its canonical URL into the cache
  (progress bar, sha256 check). Offline, the error says where to put the file.
- ``"python-stdlib"``: the running Python's standard-library sources (ASCII ``.py`` files in sorted order,
  tests excluded, capped at ``STDLIB_MAX_CHARS``): the offline default that always works, and the same text
  every time on the same Python.
"""
import functools
import hashlib
import os
import sys
import sysconfig
import tempfile
from urllib import request

TINYSHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TINYSHAKESPEARE_FILE = "tinyshakespeare.txt"
STDLIB_MAX_CHARS = 1_000_000

_ALIASES = {
    "tinyshakespeare": "tinyshakespeare", "tiny-shakespeare": "tinyshakespeare", "shakespeare": "tinyshakespeare",
    "python-stdlib": "python-stdlib", "stdlib": "python-stdlib",
}
CORPORA = ("tinyshakespeare", "python-stdlib")


class CorpusError(RuntimeError):
    """A corpus that cannot be found, downloaded or verified."""


def cache_dir():
    """``~/.cache/minitorch`` (where downloads go)."""
    return os.path.join(os.path.expanduser("~"), ".cache", "minitorch")


def _search_dirs():
    dirs = []
    env = os.environ.get("MINITORCH_DATA")
    if env and not os.path.isfile(env):
        dirs.append(env)
    dirs.append(cache_dir())
    return dirs


def _candidates():
    """Where TinyShakespeare is looked for, in order: ``$MINITORCH_DATA`` when it names the file itself, else
    ``$MINITORCH_DATA/tinyshakespeare.txt``; then ``~/.cache/minitorch/tinyshakespeare.txt``."""
    env = os.environ.get("MINITORCH_DATA")
    first = [env] if env and os.path.isfile(env) else []
    return first + [os.path.join(d, TINYSHAKESPEARE_FILE) for d in _search_dirs()]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _where_to_put_it():
    places = [os.path.join(d, TINYSHAKESPEARE_FILE) for d in _search_dirs()]
    return (f"download {TINYSHAKESPEARE_URL} yourself and save it as "
            + " or ".join(places)
            + " (or set MINITORCH_DATA to the file, or to the folder holding tinyshakespeare.txt); "
            "load_corpus('python-stdlib') works offline")


def _verify(path):
    digest = sha256_file(path)
    if digest != TINYSHAKESPEARE_SHA256:
        raise CorpusError(
            f"{path}: sha256 {digest} does not match TinyShakespeare's {TINYSHAKESPEARE_SHA256}; the file is "
            f"truncated or a different text. Delete it and {_where_to_put_it()}"
        )


def _download(url, dest, expected_sha256, progress=True):
    """Download ``url`` to ``dest`` atomically, checking its sha256; tqdm progress bar when ``progress``."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=os.path.dirname(dest))
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            response = request.urlopen(url, timeout=30)
            try:
                total = int(response.headers.get("Content-Length") or 0) or None
                bar = None
                if progress:
                    try:
                        from tqdm import tqdm  # noqa: PLC0415 - only needed when downloading
                    except ImportError:  # pragma: no cover - tqdm is a dependency; degrade to a plain message
                        print(f"downloading {url} ...", file=sys.stderr)
                    else:
                        bar = tqdm(total=total, unit="B", unit_scale=True, desc=os.path.basename(dest),
                                   file=sys.stderr)
                try:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        h.update(block)
                        if bar is not None:
                            bar.update(len(block))
                finally:
                    if bar is not None:
                        bar.close()
            finally:
                response.close()
        if h.hexdigest() != expected_sha256:
            raise CorpusError(
                f"the download from {url} has sha256 {h.hexdigest()}, expected {expected_sha256}: it is corrupt or "
                f"the file changed upstream; nothing was saved. To use your own copy, {_where_to_put_it()}"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def tinyshakespeare_path(download=True, progress=True):
    """The path of a verified copy of TinyShakespeare: found in ``$MINITORCH_DATA`` or the cache, else downloaded
    into the cache (``download=False``: raise instead)."""
    for path in _candidates():
        if os.path.isfile(path):
            _verify(path)
            return path
    dest = os.path.join(cache_dir(), TINYSHAKESPEARE_FILE)
    if not download:
        raise CorpusError(f"TinyShakespeare is not available locally; {_where_to_put_it()}")
    try:
        return _download(TINYSHAKESPEARE_URL, dest, TINYSHAKESPEARE_SHA256, progress=progress)
    except OSError as e:  # URLError, socket timeouts, refused connections, a read-only cache ...
        raise CorpusError(f"could not download TinyShakespeare ({e}); to work offline, {_where_to_put_it()}") from e


def _stdlib_files(root):
    """Sorted relative paths of the stdlib's ``.py`` files, without tests, site-packages and IDLE."""
    skip = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__", "idlelib", "lib2to3"}
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        for name in filenames:
            if name.endswith(".py"):
                found.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
    return sorted(found)


@functools.lru_cache(maxsize=4)
def python_stdlib_text(max_chars=STDLIB_MAX_CHARS):
    """The first ``max_chars`` characters of the stdlib's ASCII source files, in sorted path order, separated by
    blank lines (files that are not pure ASCII are skipped, so a character vocabulary stays small)."""
    root = sysconfig.get_paths()["stdlib"]
    parts, size = [], 0
    for rel in _stdlib_files(root):
        with open(os.path.join(root, rel), "rb") as f:
            raw = f.read()
        if not raw.isascii():
            continue
        text = raw.decode("ascii").replace("\r\n", "\n").rstrip("\n") + "\n\n\n"
        parts.append(text)
        size += len(text)
        if size >= max_chars:
            break
    text = "".join(parts)[:max_chars]
    if len(text) < 10_000:
        raise CorpusError(
            f"the Python standard library sources under {root} were not found (only {len(text)} characters of .py "
            "source): this Python ships compiled files only. Use load_corpus('tinyshakespeare') or a text file path"
        )
    return text


def load_corpus(name, download=True, progress=True):
    """The text of corpus ``name``: ``"tinyshakespeare"``, ``"python-stdlib"``, or the path of a UTF-8 text file."""
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"load_corpus: expected a corpus name or a file path, got {type(name).__name__}")
    key = _ALIASES.get(str(name).lower()) if isinstance(name, str) else None
    if key == "tinyshakespeare":
        with open(tinyshakespeare_path(download=download, progress=progress), encoding="utf-8") as f:
            return f.read()
    if key == "python-stdlib":
        return python_stdlib_text()
    path = os.fspath(name)
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except UnicodeDecodeError as e:
            raise CorpusError(f"load_corpus: {path} is not UTF-8 text ({e})") from None
    if os.path.isdir(path):
        raise CorpusError(f"load_corpus: {path} is a directory; give a text file")
    raise CorpusError(
        f"load_corpus: unknown corpus {str(name)!r}: expected one of {list(CORPORA)} or the path of a text file "
        "(no such file exists)"
    )
