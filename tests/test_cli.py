"""The command-line tools end to end on a tiny corpus: train, resume, Ctrl-C, generate, evaluate, viz."""
import csv
import json
import os

import numpy as np
import pytest

from minitorch import evaluate as evaluate_cli
from minitorch import generate as generate_cli
from minitorch import train as train_cli
from minitorch import viz

TINY = ["--n-embd", "16", "--hidden-size", "24", "--n-layer", "1", "--n-head", "2", "--block-size", "16",
        "--batch-size", "4", "--eval-iters", "2", "--sample-tokens", "8", "--log-interval", "1", "--warmup-iters", "2"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "is", "thou", "art"]
    lines = [" ".join(rng.choice(words, size=8)) + "." for _ in range(600)]
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run_train(argv):
    cfg, args = train_cli.parse_args(argv)
    return train_cli.train(cfg, resume=args.resume, quiet=True, stop_at=args.stop_at)


def read_log(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


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


def test_resume_continues_exactly(tmp_path, corpus):
    common = ["--preset", "baby-gpt", "--corpus", corpus, "--eval-interval", "5", "--dropout", "0.1", *TINY]
    run_train([*common, "--max-iters", "10", "--out-dir", str(tmp_path / "straight")])
    run_train([*common, "--max-iters", "10", "--stop-at", "5", "--out-dir", str(tmp_path / "split")])
    run_train([*common, "--max-iters", "10", "--out-dir", str(tmp_path / "split"), "--resume"])
    a = read_log(tmp_path / "straight" / "log.csv")
    b = read_log(tmp_path / "split" / "log.csv")
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert [r["val_loss"] for r in a] == [r["val_loss"] for r in b]


def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path, corpus, monkeypatch):
    out = tmp_path / "interrupted"
    calls = {"n": 0}
    real_clip = train_cli.clip_grad_norm_

    def clip_then_interrupt(params, max_norm):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_clip(params, max_norm)

    monkeypatch.setattr(train_cli, "clip_grad_norm_", clip_then_interrupt)
    args = ["--preset", "lstm", "--corpus", corpus, "--eval-interval", "50", "--out-dir", str(out), *TINY]
    with pytest.raises(SystemExit) as exc:
        run_train([*args, "--max-iters", "8"])
    assert exc.value.code == 130
    assert (out / "last.ckpt").exists()
    monkeypatch.setattr(train_cli, "clip_grad_norm_", real_clip)
    summary = run_train([*args, "--max-iters", "8", "--resume"])
    assert summary["steps"] == 8


def test_bad_flags_are_clear(tmp_path, corpus):
    with pytest.raises(SystemExit, match="divisible"):
        run_train(["--preset", "baby-gpt", "--corpus", corpus, "--n-embd", "10", "--n-head", "4",
                   "--out-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="does not exist"):
        run_train(["--preset", "lstm", "--corpus", corpus, "--out-dir", str(tmp_path / "none"), "--resume"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("run")
    run_train(["--preset", "baby-gpt", "--corpus", corpus, "--max-iters", "20", "--eval-interval", "10",
               "--out-dir", str(out), *TINY])
    return out


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


def test_generate_errors(trained, tmp_path):
    ckpt = str(trained / "best.ckpt")
    with pytest.raises(SystemExit, match="empty"):
        generate_cli.main(["--checkpoint", ckpt, "--prompt", ""])
    with pytest.raises(SystemExit, match="prompt"):
        generate_cli.main(["--checkpoint", ckpt, "--prompt", "ZQX@"])
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint at all")
    with pytest.raises(Exception, match="bogus.ckpt"):
        generate_cli.main(["--checkpoint", str(bogus), "--prompt", "the"])


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


def test_short_run_shortens_the_warmup(tmp_path, corpus, capsys):
    i = TINY.index("--warmup-iters")
    args = TINY[:i] + TINY[i + 2:]
    summary = run_train(["--preset", "baby-gpt", "--corpus", corpus, "--max-iters", "4", "--eval-interval", "4",
                         "--out-dir", str(tmp_path), *args])
    assert summary["steps"] == 4
    assert "warming up for 1 iterations instead" in capsys.readouterr().err


def test_viz_attention_png(trained, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "attn.png"
    viz.main(["attention", "--checkpoint", str(trained / "best.ckpt"), "--prompt", "the king", "-o", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
