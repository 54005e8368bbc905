"""Gradient flow (train --log-grads, viz grads) and TensorBoard logs (SummaryWriter, train --tensorboard), read
back with TensorBoard's own event reader."""
import csv
import os

import numpy as np
import pytest

import minitorch as mt
from minitorch import plots
from minitorch.cli import viz
from minitorch.models.registry import load_model

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def accumulate(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                                          "tensors": 0, "images": 0})
    acc.Reload()
    return acc


def scalars_runs(folder, main_tag):
    """{tag: accumulator} of the sub-runs add_scalars(main_tag, {tag: ...}) wrote (a folder per tag)."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        if rel != "." and any(f.startswith("events.out") for f in files) and rel.startswith(main_tag):
            out[rel[len(main_tag) + 1:]] = accumulate(dirpath)
    return out


def test_summary_writer_writes_what_tensorboard_reads(tmp_path):
    from minitorch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "tb"))
    for step in range(3):
        w.add_scalar("loss", 2.0 - 0.5 * step, step)
    w.add_scalar("tensor_value", mt.tensor(0.25), 7)
    values = mt.tensor(np.linspace(-1, 1, 101).astype(np.float32))
    w.add_histogram("weights", values, 1)
    w.add_text("note", "hello tensorboard", 2)
    w.add_scalars("pair", {"a": 1.5, "b": -2.0}, 4)
    plt = plots._pyplot()
    fig = plt.figure(figsize=(2, 2))
    plt.plot([0, 1], [1, 0])
    w.add_figure("fig", fig, 5)
    with pytest.raises(ValueError, match="expected one number"):
        w.add_scalar("bad", mt.tensor([1.0, 2.0]), 0)
    w.close()
    acc = accumulate(tmp_path / "tb")
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 2.0), (1, 1.5), (2, 1.0)]
    assert acc.Scalars("tensor_value")[0].value == 0.25
    h = acc.Histograms("weights")[0]
    assert h.step == 1 and h.histogram_value.num == 101
    assert h.histogram_value.min == -1.0 and h.histogram_value.max == 1.0
    assert abs(h.histogram_value.sum) < 1e-6
    text = acc.Tensors("note/text_summary")[0]
    assert text.step == 2 and b"hello tensorboard" in text.tensor_proto.string_val[0]
    img = acc.Images("fig")[0]
    assert img.step == 5 and img.encoded_image_string[:4] == b"\x89PNG"
    sub = scalars_runs(tmp_path / "tb", "pair")
    assert sorted(sub) == ["a", "b"]
    assert sub["a"].Scalars("pair")[0].value == 1.5 and sub["b"].Scalars("pair")[0].value == -2.0


def test_train_log_grads_and_tensorboard_then_plot(tmp_path, capsys):
    from tests.test_cli import TINY, make_corpus, read_log, run_train

    corpus = make_corpus(tmp_path / "c.txt")
    out = tmp_path / "run"
    run_train(["--preset", "baby-gpt", "--corpus", corpus, *TINY, "--max-iters", "10", "--eval-interval", "5",
               "--out-dir", str(out), "--log-grads", "2", "--tensorboard", "--grad-clip", "0"])
    with open(out / "grads.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    params = [n for n, _ in load_model(str(out / "last.ckpt"))[0]
              .named_parameters()]
    assert sorted({int(r["step"]) for r in rows}) == [2, 4, 6, 8, 10]
    assert [r["param"] for r in rows if r["step"] == "2"] == params
    for r in rows:
        g, wn, ratio = float(r["grad_norm"]), float(r["weight_norm"]), float(r["update_ratio"])
        assert g >= 0 and wn > 0 and 0 < ratio < 10
    # the update ratio is what the weights moved: check it against the checkpointed weights at the last step
    log = read_log(out / "log.csv")
    assert log[-1]["step"] == "10"
    acc = accumulate(out / "tensorboard")
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "train/grad_norm"} <= set(tags)
    losses = {e.step: e.value for e in acc.Scalars("train/loss")}
    assert sorted(losses) == list(range(1, 11))
    lrs = {e.step: e.value for e in acc.Scalars("train/lr")}
    for row in log:
        if row["val_loss"] == "":  # a step row: its train loss and lr are the step's
            step = int(row["step"])
            assert losses[step] == pytest.approx(float(row["train_loss"]), rel=1e-5)
            assert lrs[step] == pytest.approx(float(row["lr"]), rel=1e-5)
    total = {e.step: e.value for e in acc.Scalars("train/grad_norm")}
    by_step = {}
    for r in rows:
        by_step.setdefault(int(r["step"]), []).append(float(r["grad_norm"]))
    for step, norms in by_step.items():
        assert total[step] == pytest.approx(np.sqrt(np.sum(np.square(norms))), rel=1e-4)
    assert acc.Scalars(f"grad_norm/{params[0]}")[0].value == pytest.approx(by_step[2][0], rel=1e-4)
    assert "weights/" + params[0] in acc.Tags()["histograms"]
    samples = acc.Tensors("sample/text_summary")
    assert [s.step for s in samples] == [5, 10]
    evals = scalars_runs(out / "tensorboard", "eval_loss")["val"].Scalars("eval_loss")
    assert [e.step for e in evals] == [5, 10]
    assert evals[-1].value == pytest.approx(float(log[-1]["val_loss"]), rel=1e-5)

    png = tmp_path / "grads.png"
    viz.main(["grads", str(out / "grads.csv"), "-o", str(png)])
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    two = tmp_path / "two.png"
    viz.main(["grads", str(out / "grads.csv"), str(out / "grads.csv"), "--labels", "a", "b", "-o", str(two)])
    from PIL import Image

    assert Image.open(two).size[0] > 1.8 * Image.open(png).size[0]  # one column per run
    capsys.readouterr()
    with pytest.raises(SystemExit):
        viz.main(["grads", str(out / "log.csv"), "-o", str(png)])
    assert "not a minitorch grads.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_train(["--preset", "baby-gpt", "--corpus", corpus, *TINY, "--out-dir", str(tmp_path / "r2"),
                   "--log-grads", "-1"])
    assert "--log-grads must be 0" in capsys.readouterr().err


def test_tensorboard_resume_and_force(tmp_path, capsys):
    from tests.test_cli import TINY, make_corpus, run_train

    corpus = make_corpus(tmp_path / "c.txt")
    out = tmp_path / "run"
    base = ["--preset", "rnn", "--corpus", corpus, *TINY, "--max-iters", "6", "--eval-interval", "3",
            "--out-dir", str(out), "--tensorboard", "--log-grads", "3"]
    run_train([*base, "--stop-at", "3"])
    run_train([*base, "--resume"])
    losses = [e.step for e in accumulate(out / "tensorboard").Scalars("train/loss")]
    assert losses == [1, 2, 3, 4, 5, 6]
    with open(out / "grads.csv", newline="", encoding="utf-8") as fh:
        assert sorted({int(r["step"]) for r in csv.DictReader(fh)}) == [3, 6]
    capsys.readouterr()
    run_train([*base, "--force", "--max-iters", "2", "--stop-at", "2"])
    assert "deleted the previous run's" in capsys.readouterr().err
    assert [e.step for e in accumulate(out / "tensorboard").Scalars("train/loss")] == [1, 2]
