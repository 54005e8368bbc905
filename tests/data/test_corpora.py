"""load_corpus: lookup order, checksum, (fake) download with progress, offline error, python-stdlib, paths.
Nothing here touches the network: urlopen is replaced."""
import hashlib
import io
import os
import urllib.error

import pytest

from minitorch.data import CorpusError, corpora, load_corpus, python_stdlib_text

FAKE = "First Citizen:\nA fake, small TinyShakespeare.\n" * 20


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """HOME in a temporary directory, no MINITORCH_DATA, the checksum of FAKE accepted, and a network that fails
    loudly if a test reaches it without saying so."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINITORCH_DATA", raising=False)
    monkeypatch.setattr(corpora, "TINYSHAKESPEARE_SHA256", hashlib.sha256(FAKE.encode()).hexdigest())

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr(corpora.request, "urlopen", no_network)
    return tmp_path


def _cache_file(tmp_path):
    return tmp_path / "home" / ".cache" / "minitorch" / "tinyshakespeare.txt"


def test_found_in_minitorch_data_first(isolated, monkeypatch):
    data_dir = isolated / "data"
    data_dir.mkdir()
    (data_dir / "tinyshakespeare.txt").write_text(FAKE, encoding="utf-8")
    cache = _cache_file(isolated)
    cache.parent.mkdir(parents=True)
    cache.write_text("a different file that would fail the checksum", encoding="utf-8")
    monkeypatch.setenv("MINITORCH_DATA", str(data_dir))
    assert load_corpus("tinyshakespeare") == FAKE
    assert corpora.tinyshakespeare_path() == str(data_dir / "tinyshakespeare.txt")


def test_found_in_cache(isolated):
    cache = _cache_file(isolated)
    cache.parent.mkdir(parents=True)
    cache.write_text(FAKE, encoding="utf-8")
    assert load_corpus("tinyshakespeare") == FAKE
    assert load_corpus("shakespeare") == FAKE  # alias


def test_checksum_mismatch_is_an_error(isolated, monkeypatch):
    data_dir = isolated / "data"
    data_dir.mkdir()
    (data_dir / "tinyshakespeare.txt").write_text(FAKE[:-5], encoding="utf-8")  # truncated
    monkeypatch.setenv("MINITORCH_DATA", str(data_dir))
    with pytest.raises(CorpusError, match="does not match TinyShakespeare's") as info:
        load_corpus("tinyshakespeare")
    assert str(data_dir / "tinyshakespeare.txt") in str(info.value)


def test_offline_error_says_where_to_put_the_file(isolated, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(corpora.request, "urlopen", offline)
    with pytest.raises(CorpusError) as info:
        load_corpus("tinyshakespeare")
    msg = str(info.value)
    assert "could not download TinyShakespeare" in msg and "name resolution" in msg
    assert str(_cache_file(isolated)) in msg and "MINITORCH_DATA" in msg and corpora.TINYSHAKESPEARE_URL in msg
    assert "python-stdlib" in msg
    assert not _cache_file(isolated).exists()
    assert not any(p.name.startswith(".download") for p in _cache_file(isolated).parent.glob("*"))


def test_download_false_never_downloads(isolated):
    with pytest.raises(CorpusError, match="not available locally"):
        load_corpus("tinyshakespeare", download=False)


class _FakeResponse(io.BytesIO):
    def __init__(self, payload):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def test_download_with_progress_and_checksum(isolated, monkeypatch, capsys):
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return _FakeResponse(FAKE.encode())

    monkeypatch.setattr(corpora.request, "urlopen", fake_urlopen)
    assert load_corpus("tinyshakespeare") == FAKE
    assert calls == [corpora.TINYSHAKESPEARE_URL]
    assert _cache_file(isolated).read_text(encoding="utf-8") == FAKE
    assert "tinyshakespeare.txt" in capsys.readouterr().err  # the tqdm bar
    assert load_corpus("tinyshakespeare") == FAKE and len(calls) == 1  # cached now


def test_download_with_wrong_checksum_saves_nothing(isolated, monkeypatch):
    monkeypatch.setattr(corpora.request, "urlopen", lambda url, timeout=None: _FakeResponse(b"<html>captive portal"))
    with pytest.raises(CorpusError, match="corrupt or the file changed upstream"):
        load_corpus("tinyshakespeare", progress=False)
    assert not _cache_file(isolated).exists()
    assert list(_cache_file(isolated).parent.iterdir()) == []


def test_real_tinyshakespeare_checksum(shakespeare):
    assert len(shakespeare) == 1_115_394
    assert hashlib.sha256(shakespeare.encode()).hexdigest() == corpora.TINYSHAKESPEARE_SHA256 == \
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_python_stdlib_is_deterministic_and_offline(isolated):
    text = load_corpus("python-stdlib")
    assert len(text) == corpora.STDLIB_MAX_CHARS
    assert text.isascii() and "def " in text and "import " in text
    assert len(set(text)) < 100  # a small character vocabulary
    python_stdlib_text.cache_clear()
    assert load_corpus("python-stdlib") == text  # rebuilt from the files: the same text
    assert python_stdlib_text(50_000) == text[:50_000]


def test_file_path_and_errors(tmp_path):
    p = tmp_path / "my corpus.txt"
    p.write_text("héllo\nwörld\n", encoding="utf-8")
    assert load_corpus(str(p)) == "héllo\nwörld\n"
    assert load_corpus(p) == "héllo\nwörld\n"
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match="not UTF-8"):
        load_corpus(bad)
    with pytest.raises(CorpusError, match=r"unknown corpus 'wikitext'.*'tinyshakespeare', 'python-stdlib'"):
        load_corpus("wikitext")
    with pytest.raises(CorpusError, match="is a directory"):
        load_corpus(str(tmp_path))
    with pytest.raises(TypeError, match="corpus name or a file path"):
        load_corpus(3)
    assert os.path.basename(corpora.cache_dir()) == "minitorch"
