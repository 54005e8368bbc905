"""The command-line tools end to end on a tiny corpus: train, resume, Ctrl-C, generate, evaluate, viz; run
folders that are never damaged silently; user errors in one line; help texts; threads."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from minitorch.checkpoint import load as load_tree
from minitorch.checkpoint import load_checkpoint
from minitorch.checkpoint import save as save_tree
from minitorch.cli import common as _cli
from minitorch.cli import evaluate as evaluate_cli
from minitorch.cli import generate as generate_cli
from minitorch.cli import train as train_cli
from minitorch.cli import viz
from minitorch.data import corpora

TINY = ["--n-embd", "16", "--hidden-size", "24", "--n-layer", "1", "--n-head", "2", "--block-size", "16",
        "--batch-size", "4", "--eval-iters", "2", "--sample-tokens", "8", "--log-interval", "1", "--warmup-iters", "2"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _restore_blas_threads():
    """The tools limit BLAS threads for the whole process; give other tests their thread count back."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        yield
        return
    before = max([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] or [0])
    yield
    if before:
        threadpool_limits(limits=before, user_api="blas")


@pytest.fixture(autouse=True)
def _no_tinyshakespeare(tmp_path_factory, monkeypatch):
    """Tests see no TinyShakespeare (whatever this machine has) unless they put one there."""
    home = tmp_path_factory.mktemp("cache")
    monkeypatch.setattr(corpora, "cache_dir", lambda: str(home))
    monkeypatch.setenv("MINITORCH_DATA", str(home / "no-data-here"))


def make_corpus(path, seed=0, lines=600):
    rng = np.random.default_rng(seed)
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "is", "thou", "art"]
    text = "\n".join(" ".join(rng.choice(words, size=8)) + "." for _ in range(lines)) + "\n"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus") / "tiny.txt")


def run_train(argv):
    return train_cli.main([*argv, "--quiet"])


def read_log(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def snapshot(folder):
    """Every file under ``folder``: its bytes and mtime (what 'changes no file' compares)."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = (fh.read(), os.stat(path).st_mtime_ns)
    return out


def user_error(capsys, main, argv):
    """Run a tool's ``main`` expecting a user error: exit status 2, one line ``minitorch.<tool>: error: ...``
    on stderr and no traceback. Returns that line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("minitorch.") and ": error: " in lines[0], lines[0]
    assert "Traceback" not in err and "usage:" not in err
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, corpus):
    """A finished 10-step baby-GPT run (copied by the tests that change runs)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    run_train(["--corpus", corpus, "--max-iters", "10", "--eval-interval", "5", "--out-dir", str(out), *TINY])
    return out


def copy_run(finished, dest):
    shutil.copytree(finished, dest)
    return dest


# ----------------------------------------------------------------------------- training
@pytest.mark.parametrize("preset", ["baby-gpt", "lstm", "gru", "rnn"])
def test_train_writes_checkpoints_logs_and_summary(tmp_path, corpus, preset):
    out = tmp_path / preset
    summary = run_train(["--preset", preset, "--corpus", corpus, "--max-iters", "12", "--eval-interval", "6",
                         "--out-dir", str(out), *TINY])
    for name in ("last.ckpt", "best.ckpt", "log.csv", "config.json", "summary.json"):
        assert (out / name).exists(), name
    rows = read_log(out / "log.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 13))
    assert rows[5]["val_loss"] != "" and rows[11]["val_loss"] != ""
    assert summary["steps"] == 12 and np.isfinite(summary["best_val_loss"])
    first, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
    assert last < first, f"{preset}: loss did not fall ({first} -> {last})"


def test_config_records_the_resolved_corpus_and_tokenizer(finished, corpus):
    saved = json.loads((finished / "config.json").read_text(encoding="utf-8"))
    text = open(corpus, encoding="utf-8").read()
    import hashlib

    assert saved["corpus"] == {"name": corpus, "path": os.path.abspath(corpus), "chars": len(text),
                               "sha256": hashlib.sha256(text.encode()).hexdigest()}
    assert saved["tokenizer"]["kind"] == "char" and saved["tokenizer"]["vocab_size"] == len(set(text))
    assert saved["config"]["max_iters"] == 10
    ckpt = load_tree(finished / "last.ckpt")
    assert ckpt["extra"]["corpus"] == saved["corpus"]
    assert ckpt["extra"]["tokenizer"]["chars"] == sorted(set(text))


def test_resume_continues_exactly(tmp_path, corpus):
    common = ["--preset", "baby-gpt", "--corpus", corpus, "--eval-interval", "5", "--dropout", "0.1", *TINY]
    run_train([*common, "--max-iters", "10", "--out-dir", str(tmp_path / "straight")])
    run_train([*common, "--max-iters", "10", "--stop-at", "5", "--out-dir", str(tmp_path / "split")])
    run_train([*common, "--max-iters", "10", "--out-dir", str(tmp_path / "split"), "--resume"])
    a = read_log(tmp_path / "straight" / "log.csv")
    b = read_log(tmp_path / "split" / "log.csv")
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert [r["val_loss"] for r in a] == [r["val_loss"] for r in b]


@pytest.fixture
def ctrl_c():
    """Python's own Ctrl-C handler, as in a terminal (a test runner may have started with SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _ctrl_c_at_clip(monkeypatch, at, times=1):
    """clip_grad_norm_ that sends this process ``times`` real SIGINTs (what Ctrl-C does) at its call number ``at``:
    in the middle of a step, after its batch was drawn and before the optimizer moved."""
    calls, real_clip = {"n": 0}, train_cli.clip_grad_norm_

    def clip(params, max_norm):
        calls["n"] += 1
        if calls["n"] == at:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
        return real_clip(params, max_norm)

    monkeypatch.setattr(train_cli, "clip_grad_norm_", clip)
    return real_clip


def test_ctrl_c_finishes_the_step_saves_it_and_the_run_resumes_exactly(tmp_path, corpus, monkeypatch, capsys,
                                                                       ctrl_c):
    args = ["--preset", "lstm", "--corpus", corpus, "--eval-interval", "50", *TINY, "--dropout", "0.1",
            "--max-iters", "8"]
    run_train([*args, "--out-dir", str(tmp_path / "straight")])
    out = tmp_path / "interrupted"
    real_clip = _ctrl_c_at_clip(monkeypatch, at=4)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        run_train([*args, "--out-dir", str(out)])
    assert exc.value.code == 130
    err = capsys.readouterr().err
    assert "stopping after step 4 and saving it" in err and "interrupted: saved step 4 in" in err
    assert load_checkpoint(str(out / "last.ckpt"), restore_rng=False)["step"] == 4
    monkeypatch.setattr(train_cli, "clip_grad_norm_", real_clip)
    summary = run_train([*args, "--out-dir", str(out), "--resume"])
    assert summary["steps"] == 8
    straight, resumed = read_log(tmp_path / "straight" / "log.csv"), read_log(out / "log.csv")
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in straight]


def test_ctrl_c_during_an_evaluation_stops_after_it(tmp_path, corpus, monkeypatch, capsys, ctrl_c):
    real, calls = train_cli.estimate_loss, []

    def estimate_then_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # in the first evaluation (step 4), before its validation half
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_cli, "estimate_loss", estimate_then_ctrl_c)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        run_train(["--corpus", corpus, "--eval-interval", "4", *TINY, "--max-iters", "8", "--out-dir", str(out)])
    assert exc.value.code == 130
    err = capsys.readouterr().err
    assert "stopping after step 4 and saving it" in err and "interrupted: saved step 4 in" in err
    assert [int(r["step"]) for r in read_log(out / "log.csv")] == [1, 2, 3, 4]  # the evaluation finished


def test_a_second_ctrl_c_stops_at_once_and_saves_no_torn_step(tmp_path, corpus, monkeypatch, capsys, ctrl_c):
    out = tmp_path / "run"
    _ctrl_c_at_clip(monkeypatch, at=3, times=2)
    with pytest.raises(SystemExit) as exc:
        run_train(["--corpus", corpus, "--eval-interval", "50", *TINY, "--max-iters", "8", "--out-dir", str(out)])
    assert exc.value.code == 130
    assert "interrupted during step 3: not saved" in capsys.readouterr().err
    assert not (out / "last.ckpt").exists()


# ----------------------------------------------------------------------------- run folders
def test_resume_writes_every_file_to_the_folder_named(tmp_path, finished, corpus):
    a = copy_run(finished, tmp_path / "A")
    b = copy_run(finished, tmp_path / "B")
    before_a = snapshot(a)
    summary = run_train(["--resume", "--out-dir", str(b), "--max-iters", "15", "--corpus", corpus, *TINY])
    assert summary["steps"] == 15 and summary["out_dir"] == str(b)
    assert snapshot(a) == before_a  # the run B was copied from is untouched: bytes and mtimes
    rows = read_log(b / "log.csv")
    assert int(rows[-1]["step"]) == 15
    assert float(rows[-1]["lr"]) == pytest.approx(1e-4)  # the schedule kept its length: steps past 10 at --min-lr
    assert json.loads((b / "summary.json").read_text(encoding="utf-8"))["steps"] == 15
    assert json.loads((b / "config.json").read_text(encoding="utf-8"))["config"]["out_dir"] == str(b)
    assert load_tree(b / "last.ckpt")["step"] == 15


def test_resume_from_a_checkpoint_path(tmp_path, finished):
    a = copy_run(finished, tmp_path / "A")
    before = snapshot(a)
    # no --out-dir: the run continues in the checkpoint's folder
    run_train(["--resume", str(a / "last.ckpt"), "--max-iters", "12"])
    assert load_tree(a / "last.ckpt")["step"] == 12
    # --out-dir C: a new folder gets the whole run (earlier log rows, best.ckpt) and the source is left alone
    after_a = snapshot(a)
    assert after_a != before
    c = tmp_path / "C"
    run_train(["--resume", str(a / "last.ckpt"), "--out-dir", str(c), "--max-iters", "14"])
    assert snapshot(a) == after_a
    assert [int(r["step"]) for r in read_log(c / "log.csv")] == list(range(1, 15))
    assert (c / "best.ckpt").exists() and load_tree(c / "last.ckpt")["step"] == 14


def test_resume_from_an_earlier_checkpoint_never_overwrites_later_steps(tmp_path, corpus, capsys):
    out = tmp_path / "run"
    run_train(["--corpus", corpus, "--max-iters", "6", "--eval-interval", "2", "--out-dir", str(out), *TINY])
    early = out / "early.ckpt"
    shutil.copy(out / "last.ckpt", tmp_path / "keep.ckpt")
    run_train(["--resume", "--out-dir", str(out), "--max-iters", "8"])
    shutil.copy(tmp_path / "keep.ckpt", early)  # step 6 of a run now at step 8
    before = snapshot(out)
    line = user_error(capsys, train_cli.main, ["--resume", str(early), "--max-iters", "10"])
    assert "behind" in line and "step 8" in line and "--out-dir" in line
    assert snapshot(out) == before
    branch = tmp_path / "branch"
    run_train(["--resume", str(early), "--out-dir", str(branch), "--max-iters", "10", "--stop-at", "7"])
    assert snapshot(out) == before
    assert load_tree(branch / "best.ckpt")["step"] <= 6  # never the source's later best (step 8)
    assert [int(r["step"]) for r in read_log(branch / "log.csv")] == list(range(1, 8))


def test_resume_with_nothing_to_do_changes_nothing(tmp_path, finished, capsys):
    a = copy_run(finished, tmp_path / "A")
    before = snapshot(a)
    for max_iters in ("5", "10"):
        assert run_train(["--resume", "--out-dir", str(a), "--max-iters", max_iters]) is None
        err = capsys.readouterr().err
        assert "nothing to do" in err and "step 10" in err
    assert snapshot(a) == before


def test_resume_refuses_flags_that_conflict_with_the_run(tmp_path, finished, corpus, capsys):
    a = copy_run(finished, tmp_path / "A")
    before = snapshot(a)
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(a), "--max-iters", "20",
                                               "--preset", "lstm", "--lr", "0.01", "--n-layer", "1"])
    assert "--preset lstm (run: baby-gpt)" in line and "--lr 0.01 (run: 0.001)" in line
    assert "--n-layer" not in line  # the same value as the run's is no conflict
    assert "--max-iters" in line  # named among the flags that may change
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(a), "--tokenizer", "bpe"])
    assert "--tokenizer bpe (run: char)" in line
    assert snapshot(a) == before
    # the run's own command line (and flags that may change) resumes fine
    summary = run_train(["--resume", "--out-dir", str(a), "--corpus", corpus, "--max-iters", "12",
                         "--eval-interval", "6", *TINY])
    assert summary["steps"] == 12


def test_resume_on_other_data_stops(tmp_path, capsys):
    text_path = tmp_path / "data.txt"
    make_corpus(text_path)
    out = tmp_path / "run"
    run_train(["--corpus", str(text_path), "--max-iters", "4", "--eval-interval", "2", "--out-dir", str(out), *TINY])
    before = snapshot(out)
    make_corpus(text_path, seed=1)  # the same words in another order: same vocabulary, other text
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(out), "--max-iters", "8"])
    assert "corpus differs" in line and "sha256" in line and str(text_path) in line
    other = tmp_path / "other.txt"
    make_corpus(other, seed=2)
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(out), "--max-iters", "8",
                                               "--corpus", str(other)])
    assert "corpus differs" in line and str(other) in line
    assert snapshot(out) == before


def test_auto_corpus_is_resolved_once_and_kept_on_resume(tmp_path, monkeypatch, capsys):
    """Train with corpus auto on the python-stdlib fallback; when TinyShakespeare appears later, a resume stays
    on python-stdlib (it says so) and a changed stdlib text stops it."""
    stdlib = open(make_corpus(tmp_path / "stdlib.txt", seed=3), encoding="utf-8").read()
    monkeypatch.setattr(corpora, "python_stdlib_text", lambda max_chars=None: stdlib)
    out = tmp_path / "run"
    run_train(["--corpus", "auto", "--max-iters", "4", "--eval-interval", "2", "--out-dir", str(out), *TINY])
    err = capsys.readouterr().err
    lines = err.splitlines()
    fallback = next(i for i, line in enumerate(lines) if "TinyShakespeare was not found" in line)
    header = next(i for i, line in enumerate(lines) if line.startswith("minitorch.train: baby-gpt (gpt"))
    assert fallback < header and "python-stdlib" in lines[fallback] and "tinyshakespeare_path()" in lines[fallback]
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["corpus"]["name"] == "python-stdlib"

    fake = make_corpus(tmp_path / "tinyshakespeare.txt", seed=4)  # TinyShakespeare "appears"
    monkeypatch.setattr(train_cli, "tinyshakespeare_path", lambda download=True, progress=True: fake)
    monkeypatch.setattr(corpora, "tinyshakespeare_path", lambda download=True, progress=True: fake)
    summary = run_train(["--resume", "--out-dir", str(out), "--max-iters", "6"])
    assert summary["corpus"] == "python-stdlib" and summary["steps"] == 6
    assert "continues on it" in capsys.readouterr().err

    before = snapshot(out)
    monkeypatch.setattr(corpora, "python_stdlib_text", lambda max_chars=None: stdlib[::-1])  # another Python
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(out), "--max-iters", "8"])
    assert "corpus differs" in line and "python-stdlib" in line
    assert snapshot(out) == before


def test_new_run_refuses_a_folder_that_holds_a_run(tmp_path, finished, corpus, capsys):
    a = copy_run(finished, tmp_path / "A")
    (a / "notes.txt").write_text("mine", encoding="utf-8")
    before = snapshot(a)
    line = user_error(capsys, train_cli.main, ["--corpus", corpus, "--max-iters", "4", "--out-dir", str(a), *TINY])
    assert "already holds a run" in line and "--resume" in line and "--force" in line and "--out-dir" in line
    assert snapshot(a) == before
    run_train(["--corpus", corpus, "--max-iters", "4", "--eval-interval", "2", "--out-dir", str(a), "--force",
               *TINY])
    assert load_tree(a / "best.ckpt")["step"] in (2, 4)  # the old run's best.ckpt (step 5 or 10) is gone
    assert [int(r["step"]) for r in read_log(a / "log.csv")] == [1, 2, 3, 4]
    assert (a / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("flags, expect", [
    (["--device", "gpu"], "--device"),
    (["--device", "cuda"], "cuda"),
    (["--dtype", "float16"], "float16 is not supported"),
    (["--lr", "0"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--bias", "ture"], "invalid boolean 'ture'"),
    (["--model", "transformer"], "--model"),
    (["--tokenizer", "words"], "--tokenizer"),
    (["--n-embd", "10", "--n-head", "4"], "divisible"),
    (["--seed", "-3"], "--seed must be 0 or more, got -3"),
    (["--resume", "--force"], "contradict"),
    (["--corpus", "DIR"], "is a directory"),
    (["--corpus", "EMPTY"], "is empty"),
    (["--corpus", "BINARY"], "binary"),
    (["--corpus", "NUL"], "binary"),
    (["--corpus", "no-such-file.txt"], "no such file"),
])
def test_a_failed_start_changes_no_file(tmp_path, finished, corpus, capsys, flags, expect):
    if flags == ["--device", "cuda"] and _cupy_usable():
        pytest.skip("CuPy and a GPU are usable here")
    a = copy_run(finished, tmp_path / "A")
    (tmp_path / "EMPTY").write_text("", encoding="utf-8")
    (tmp_path / "BINARY").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "NUL").write_text("ab\0cd" * 400, encoding="utf-8")
    (tmp_path / "DIR").mkdir()
    flags = [str(tmp_path / f) if f in ("DIR", "EMPTY", "BINARY", "NUL") else f for f in flags]
    before = snapshot(a)
    argv = ["--corpus", corpus, "--max-iters", "4", *TINY, "--out-dir", str(a), "--force", *flags]
    line = user_error(capsys, train_cli.main, argv)
    assert expect in line
    assert snapshot(a) == before
    fresh = tmp_path / "fresh"  # nor does it create a folder
    user_error(capsys, train_cli.main, [*argv, "--out-dir", str(fresh)])
    assert not fresh.exists()


def _cupy_usable():
    from minitorch.backend import cupy_available

    return cupy_available()


def test_resume_errors_are_one_line(tmp_path, finished, capsys):
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(tmp_path / "none")])
    assert "does not exist" in line and "without --resume" in line
    line = user_error(capsys, train_cli.main, ["--resume", str(tmp_path / "missing.ckpt")])
    assert "missing.ckpt does not exist" in line
    a = copy_run(finished, tmp_path / "A")
    data = (a / "last.ckpt").read_bytes()
    (a / "last.ckpt").write_bytes(data[: len(data) // 2])
    line = user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(a)])
    assert "last.ckpt" in line and "corrupt" in line
    (a / "last.ckpt").write_bytes(data[:-40] + bytes(40))
    assert "corrupt" in user_error(capsys, train_cli.main, ["--resume", "--out-dir", str(a)])


def test_warmup_shortened_with_grammar(tmp_path, corpus, capsys):
    i = TINY.index("--warmup-iters")
    args = TINY[:i] + TINY[i + 2:]
    summary = run_train(["--preset", "baby-gpt", "--corpus", corpus, "--max-iters", "4", "--eval-interval", "4",
                         "--out-dir", str(tmp_path), *args])
    assert summary["steps"] == 4
    assert "warming up for 1 iteration instead" in capsys.readouterr().err


def test_header_comes_before_the_progress_bar(tmp_path, corpus, capsys):
    pytest.importorskip("tqdm")
    train_cli.main(["--corpus", corpus, "--max-iters", "3", "--eval-interval", "3", "--out-dir", str(tmp_path),
                    "--threads", "1", *TINY])
    err = capsys.readouterr().err
    header = err.index("minitorch.train: baby-gpt (gpt")
    assert header < err.index("baby-gpt:")  # tqdm's bar starts with its description
    header_line = err[header:].splitlines()[0]
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        assert "BLAS threads not set (pip install threadpoolctl)" in header_line
    else:
        assert "1 BLAS thread" in header_line
    assert "cpu float32" in header_line and "out_dir=" in header_line


def test_threads_flag_limits_blas(tmp_path, corpus):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    run_train(["--corpus", corpus, "--max-iters", "2", "--eval-interval", "2", "--out-dir", str(tmp_path),
               "--threads", "1", *TINY])
    counts = {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}
    assert counts <= {1}
    assert _cli.set_threads("auto", auto=1).startswith("1 BLAS thread (auto)")


# ----------------------------------------------------------------------------- one-line errors
def test_wrong_preset_prints_the_valid_names_not_the_usage(capsys):
    line = user_error(capsys, train_cli.main, ["--preset", "gtp"])
    for name in train_cli.PRESETS:
        assert name in line


def test_a_user_error_from_the_shell_is_one_line_and_debug_shows_the_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    cmd = [sys.executable, "-m", "minitorch.generate", "--checkpoint", str(bad), "--prompt", "a"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("minitorch.generate: error: ")
    assert "bad.ckpt" in r.stderr and "(use another checkpoint" in r.stderr
    r = subprocess.run([*cmd, "--debug"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and "Traceback" in r.stderr and r.stderr.rstrip().splitlines()[-1].startswith(
        "minitorch.generate: error: ")


def test_cuda_without_cupy_names_the_install_command(monkeypatch):
    class Dist:
        def __init__(self, editable):
            self.editable = editable

        def read_text(self, name):
            return json.dumps({"url": "file:///src", "dir_info": {"editable": True}}) if self.editable else None

    monkeypatch.setattr(_cli.importlib.metadata, "distribution", lambda name: Dist(True))
    assert "pip install cupy-cuda12x" in _cli.cupy_install_hint()
    monkeypatch.setattr(_cli.importlib.metadata, "distribution", lambda name: Dist(False))
    assert _cli.cupy_install_hint().startswith("pip install \"minitorch-course[gpu]\"")

    def missing(name):
        raise _cli.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_cli.importlib.metadata, "distribution", missing)
    assert _cli.cupy_install_hint().startswith("pip install cupy-cuda12x")
    monkeypatch.setattr("minitorch.backend.cupy_available", lambda: False)
    monkeypatch.setattr(_cli.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(_cli.UsageError, match="needs CuPy, which is not installed.*pip install cupy-cuda12x"):
        _cli.require_device("cuda")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("run") / "run"
    run_train(["--preset", "baby-gpt", "--corpus", corpus, "--max-iters", "20", "--eval-interval", "10",
               "--out-dir", str(out), *TINY])
    return out


def test_generate_errors(trained, tmp_path, capsys):
    ckpt = str(trained / "best.ckpt")
    assert "empty" in user_error(capsys, generate_cli.main, ["--checkpoint", ckpt, "--prompt", ""])
    line = user_error(capsys, generate_cli.main, ["--checkpoint", ckpt, "--prompt", "ZQX@"])
    assert "'Z'" in line and "not in the vocabulary" in line and "trained on" in line
    line = user_error(capsys, generate_cli.main, ["--checkpoint", str(trained), "--prompt", "the"])
    assert "is a directory" in line and "best.ckpt" in line
    line = user_error(capsys, generate_cli.main, ["--checkpoint", str(tmp_path / "none.ckpt"), "--prompt", "the"])
    assert "no such file" in line
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint at all")
    assert "bogus.ckpt" in user_error(capsys, generate_cli.main, ["--checkpoint", str(bogus), "--prompt", "the"])
    assert "--device" in user_error(capsys, generate_cli.main, ["--checkpoint", ckpt, "--prompt", "a",
                                                                "--device", "gpu"])
    assert "--seed: must be 0 or more, got -1" in user_error(capsys, generate_cli.main, [
        "--checkpoint", ckpt, "--prompt", "a", "--strategy", "sample", "--seed", "-1"])
    assert "--top-p" in user_error(capsys, generate_cli.main, ["--checkpoint", ckpt, "--prompt", "a",
                                                               "--top-p", "1.5"])
    plain = tmp_path / "plain.ckpt"
    save_tree({"weights": np.zeros(3)}, plain)
    assert "not a" in user_error(capsys, generate_cli.main, ["--checkpoint", str(plain), "--prompt", "a"])


def test_evaluate_a_tinyshakespeare_checkpoint_without_the_data(trained, tmp_path, capsys):
    ckpt = load_tree(trained / "best.ckpt")
    ckpt["extra"]["corpus"] = {"name": "tinyshakespeare", "path": "/elsewhere/tinyshakespeare.txt",
                               "sha256": corpora.TINYSHAKESPEARE_SHA256, "chars": 1115394}
    shakespeare = tmp_path / "shakespeare.ckpt"
    save_tree(ckpt, shakespeare)
    line = user_error(capsys, evaluate_cli.main, ["--checkpoint", str(shakespeare)])
    assert "TinyShakespeare" in line and "MINITORCH_DATA" in line and "--corpus" in line


def test_evaluate_errors(trained, tmp_path, capsys):
    ckpt = str(trained / "best.ckpt")
    assert "no such file" in user_error(capsys, evaluate_cli.main, ["--checkpoint", str(tmp_path / "x.ckpt")])
    assert "is a directory" in user_error(capsys, evaluate_cli.main, ["--checkpoint", ckpt, "--corpus",
                                                                      str(tmp_path)])
    other = tmp_path / "other.txt"
    other.write_text("ZZZ unknown characters " * 50, encoding="utf-8")
    assert "cannot encode" in user_error(capsys, evaluate_cli.main, ["--checkpoint", ckpt, "--corpus", str(other)])
    assert "is a directory" in user_error(capsys, evaluate_cli.main, ["--checkpoint", ckpt, "--prediction-set",
                                                                      str(tmp_path)])


def test_viz_errors(trained, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = str(tmp_path / "x.png")
    assert "no such file" in user_error(capsys, viz.main, ["loss", str(tmp_path / "log.csv"), "-o", out])
    assert "log.csv" in user_error(capsys, viz.main, ["loss", str(trained), "-o", out])
    text = tmp_path / "notes.txt"
    text.write_text("hello\n", encoding="utf-8")
    assert "not a minitorch training log" in user_error(capsys, viz.main, ["loss", str(text), "-o", out])
    assert "'Z'" in user_error(capsys, viz.main, ["attention", "--checkpoint", str(trained / "best.ckpt"),
                                                 "--prompt", "Z", "-o", out])
    assert "invalid choice" in user_error(capsys, viz.main, ["atention"])


# ----------------------------------------------------------------------------- help and data lookup
@pytest.mark.parametrize("tool", ["train", "generate", "evaluate", "viz"])
def test_every_flag_has_help_with_its_default(tool):
    import argparse

    parser = {"train": train_cli.build_parser, "generate": generate_cli.build_parser,
              "evaluate": evaluate_cli.build_parser, "viz": viz.build_parser}[tool]()
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers += list(action.choices.values())
    for p in parsers:
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{tool}: {action.option_strings or action.dest} has no help"
            if action.option_strings and not isinstance(action, argparse._StoreTrueAction) and not action.required:
                assert "default" in action.help, f"{tool}: {action.option_strings} does not give its default"
            if action.choices:
                assert all(str(c) in action.help for c in action.choices), f"{tool}: {action.option_strings}"
    if tool == "train":
        corpus_help = next(a.help for a in parser._actions if "--corpus" in a.option_strings)
        for word in ("auto", "tinyshakespeare", "python-stdlib", "path", "MINITORCH_DATA"):
            assert word in corpus_help
        lr_help = next(a.help for a in parser._actions if "--lr" in a.option_strings)
        assert "baby-gpt, rnn: 0.001; lstm, gru, lstm-attention: 0.002" in lr_help


def test_minitorch_data_names_the_file_or_its_folder(tmp_path, monkeypatch):
    text = tmp_path / "data" / "tinyshakespeare.txt"
    text.parent.mkdir()
    make_corpus(text, seed=5)
    monkeypatch.setattr(corpora, "TINYSHAKESPEARE_SHA256", corpora.sha256_file(text))
    for value in (text, text.parent):
        monkeypatch.setenv("MINITORCH_DATA", str(value))
        assert corpora.tinyshakespeare_path(download=False) == str(text)
    renamed = tmp_path / "input.txt"
    shutil.copy(text, renamed)
    monkeypatch.setenv("MINITORCH_DATA", str(renamed))
    assert corpora.tinyshakespeare_path(download=False) == str(renamed)
    monkeypatch.setenv("MINITORCH_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(corpora.CorpusError, match="MINITORCH_DATA to the file"):
        corpora.tinyshakespeare_path(download=False)


# ----------------------------------------------------------------------------- generate, evaluate, viz work
@pytest.mark.parametrize("strategy", ["greedy", "sample", "top-k", "top-p", "beam"])
def test_generate_cli(trained, strategy, capsys):
    result = generate_cli.main(["--checkpoint", str(trained / "best.ckpt"), "--prompt", "the king",
                                "--max-new-tokens", "12", "--strategy", strategy, "--seed", "3",
                                "--beam-width", "3"])
    printed = capsys.readouterr().out
    assert "the king" in printed
    assert len(result["tokens"][0]) == 12
    if strategy == "beam":
        assert len(result["texts"]) == 3
        assert result["logprobs"] == sorted(result["logprobs"], reverse=True)


def test_generate_is_reproducible_with_a_seed(trained):
    argv = ["--checkpoint", str(trained / "best.ckpt"), "--prompt", "the", "--max-new-tokens", "20",
            "--strategy", "sample", "--seed", "7"]
    assert generate_cli.main(argv)["tokens"] == generate_cli.main(argv)["tokens"]


def test_evaluate_cli(trained, tmp_path, capsys):
    pred = tmp_path / "predict.npz"
    report = evaluate_cli.main(["--checkpoint", str(trained / "best.ckpt"), "--prediction-set", str(pred)])
    assert json.loads(capsys.readouterr().out)["val_nll"] == pytest.approx(report["val_nll"])
    assert np.isfinite(report["val_nll"]) and report["val_perplexity"] == pytest.approx(np.exp(report["val_nll"]))
    with np.load(pred) as z:
        assert z["inputs"].shape[1] == 30 and z["targets"].shape[1] == 10 and z["nll"].shape == (128,)
    again = evaluate_cli.main(["--checkpoint", str(trained / "best.ckpt"), "--prediction-set", str(pred)])
    assert again["prediction_nll"] == pytest.approx(report["prediction_nll"])


def test_viz_loss_png(trained, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "cmp.png"
    viz.main(["loss", str(trained / "log.csv"), str(trained / "log.csv"), "-o", str(out),
              "--labels", "a", "b"])
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.path.exists(trained / "loss.png")


def test_viz_attention_png(trained, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "attn.png"
    viz.main(["attention", "--checkpoint", str(trained / "best.ckpt"), "--prompt", "the king", "-o", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    viz.main(["attention", "--checkpoint", str(trained / "best.ckpt"), "--prompt", "the king is " * 3, "-o", str(out)])
    assert "the prompt has 36 tokens and the model's context is 16: plotting the last 16" in capsys.readouterr().err


def test_auto_threads_leaves_busy_cores_alone():
    # every core on an idle machine, one thread when the cores are taken
    assert _cli.auto_threads(cores=2, idle=1.9) == 2
    assert _cli.auto_threads(cores=2, idle=1.3) == 1
    assert _cli.auto_threads(cores=2, idle=0.0) == 1
    assert _cli.auto_threads(cores=16, idle=11.8) == 12
    assert _cli.auto_threads(cores=4, idle=7.5) == 4  # idle counts every CPU, the process may use fewer
    idle = _cli.idle_cores(window=0.05)
    assert idle is None or -64 < idle <= (os.cpu_count() or 1) + 1e-9
    assert 1 <= _cli.auto_threads() <= _cli.usable_cores()


def _cgroup_files(root, files):
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="ascii")


@pytest.mark.parametrize("files, own, quota", [
    ({}, "0::/\n", None),                                                      # no cgroup files: no quota
    ({"cpu.max": "max 100000\n"}, "0::/\n", None),                             # v2, unlimited
    ({"cpu.max": "200000 100000\n"}, "0::/\n", 2.0),                           # v2 in a container: docker --cpus 2
    ({"cpu.max": "max 100000\n", "kubepods/pod1/cpu.max": "150000 100000\n"},  # v2, this process's own cgroup
     "0::/kubepods/pod1\n", 1.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "1:cpu:/\n", None),  # v1, unlimited
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"},                  # v1
     "4:cpu,cpuacct:/\n", 3.0),
    ({"cpu.max": "garbage"}, "not a cgroup line\n", None),                     # malformed: no quota, no error
])
def test_cgroup_cpu_quotas_are_read_from_v1_and_v2_files(tmp_path, files, own, quota):
    _cgroup_files(tmp_path / "cg", files)
    (tmp_path / "self").write_text(own, encoding="ascii")
    assert _cli.cgroup_cpu_quota(root=str(tmp_path / "cg"), own=str(tmp_path / "self")) == quota


def test_usable_cores_are_capped_by_the_cgroup_quota(monkeypatch):
    from minitorch.cli import common

    cores = common.usable_cores()
    monkeypatch.setattr(common, "cgroup_cpu_quota", lambda: 1.5)
    assert common.usable_cores() == 1                       # 1.5 CPUs of quota: one process, one thread
    monkeypatch.setattr(common, "cgroup_cpu_quota", lambda: 1000.0)
    assert common.usable_cores() == cores                   # a quota above the affinity mask changes nothing
    monkeypatch.setattr(common, "cgroup_cpu_quota", lambda: 0.2)
    assert common.usable_cores() == 1                       # at least 1


def test_the_tools_are_written_in_short_functions():
    """Issue 19: a newcomer reads each step of a tool on one screen (train() is a list of named steps)."""
    import ast
    import glob

    long = []
    for path in sorted(glob.glob(os.path.join(ROOT, "minitorch", "cli", "*.py"))):
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        long += [f"{os.path.basename(path)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
                 for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.end_lineno - node.lineno + 1 > 50]
    assert not long, f"functions over 50 lines: {long}"
    with open(os.path.join(ROOT, "minitorch", "cli", "train.py"), encoding="utf-8") as fh:
        train_def = next(n for n in ast.parse(fh.read()).body if isinstance(n, ast.FunctionDef) and n.name == "train")
    inner = [n for n in ast.walk(train_def) if isinstance(n, (ast.FunctionDef, ast.Lambda)) and n is not train_def]
    assert not inner, "train() defines no inner function: its steps are module functions that take the Run"
