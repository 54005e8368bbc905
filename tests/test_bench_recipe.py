"""bench/recipe.py end to end on a tiny generated corpus (a few iterations), and its PyTorch side:
the same lr schedule as minitorch's warmup_cosine, the same initial weights and batches as train()."""
import importlib.util
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "bench", "recipe.py")


def load_recipe():
    spec = importlib.util.spec_from_file_location("bench_recipe", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(0)
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "is", "thou", "art", "sword", "night"]
    lines = [" ".join(rng.choice(words, size=8)).capitalize() + rng.choice([".", ",", "!", "?"]) for _ in range(400)]
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run_script(*argv, timeout=120):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, SCRIPT, *argv], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)


def table_row(text, name):
    m = re.search(rf"^{name}" + r"\s+(\S+)" * 7 + "$", text, re.M)
    assert m, f"no table row for {name} in:\n{text}"
    return [float(v) for v in m.groups()]


@pytest.mark.parametrize("model", ["gpt", "lstm"])
def test_recipe_runs_end_to_end_and_both_frameworks_agree(tmp_path, corpus, model):
    pytest.importorskip("torch")
    out = tmp_path / "recipe.txt"
    proc = run_script("--model", model, "--max-iters", "5", "--eval-iters", "1", "--threads", "1",
                      "--corpus", corpus, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    last = text.strip().splitlines()[-1]
    m = re.fullmatch(r"ratio minitorch/torch: (\d+\.\d\d)", last)
    assert m, last
    mt, th = table_row(text, "minitorch"), table_row(text, "torch")
    for row in (mt, th):
        train_loss, val_loss, wall, step_ms, loop, evaluation, mean_ms = row
        assert 0 < train_loss < math.log(40) + 0.5 and 0 < val_loss < math.log(40) + 0.5
        assert wall > 0 and step_ms > 0 and 0 < loop < wall and evaluation > 0
        assert loop + evaluation == pytest.approx(wall, abs=0.011)
        assert mean_ms == pytest.approx(1e3 * loop / 5, abs=1.1)  # loop s is printed to 10 ms
    assert float(m.group(1)) == pytest.approx(mt[2] / th[2], rel=0.05)
    # same initial weights, same batches, same recipe: the runs differ by float32 rounding only
    assert mt[0] == pytest.approx(th[0], abs=2e-3) and mt[1] == pytest.approx(th[1], abs=2e-3)
    first = re.search(r"first-step train loss: minitorch (\S+), torch (\S+),", text)
    assert abs(float(first.group(1)) - float(first.group(2))) < 1e-4
    lr_diff = re.search(r"max \|lr diff\| over 5 steps (\S+) ", text)
    assert float(lr_diff.group(1)) < 1e-12
    own = re.search(r"own final evaluation: train (\S+), val (\S+) \(rescored from its checkpoint: (\S+), (\S+)\)",
                    text)
    assert own.group(1) == own.group(3) and own.group(2) == own.group(4)
    assert ("targets (issue 6)" in text) == (model == "gpt")
    assert out.read_text(encoding="utf-8") == text  # --out holds the same report
    for name in ("minitorch", "torch"):  # threads, GFLOP/s, peak RSS and its growth, each from its own process
        m = re.search(rf"^{name}\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", text, re.M)
        assert m and m.group(1) == "1" and float(m.group(2)) > 0 and float(m.group(3)) >= float(m.group(4)) > 0, text
    assert re.search(r"each in its own process; load average \(1, 5, 15 min\) before torch: ", text)
    assert re.search(r"^eval s ratio minitorch/torch: \d+\.\d\d$", text, re.M)


def test_recipe_rejects_bad_options(capsys):
    recipe = load_recipe()
    for argv, words in ((["--model", "transformer"], ["--model", "'gpt'", "'lstm'"]),
                        (["--max-iters", "0"], ["--max-iters must be positive, got 0"]),
                        (["--eval-iters", "-3"], ["--eval-iters must be positive, got -3"]),
                        (["--threads", "0"], ["--threads must be positive, got 0"])):
        with pytest.raises(SystemExit) as exc:
            recipe.parse_args(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), err
    args = recipe.parse_args([])
    assert (args.model, args.max_iters, args.eval_iters, args.threads, args.init) == (["gpt"], None, 200, None,
                                                                                      "shared")
    with pytest.raises(SystemExit):
        recipe.parse_args(["--model", "gpt", "lstm", "--out", "x.txt"])
    assert "--out takes one --model" in capsys.readouterr().err


def test_recipe_never_overwrites_a_report_silently(tmp_path, capsys):
    recipe = load_recipe()
    (tmp_path / "recipe-lstm-idle.txt").write_text("an earlier run\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        recipe.parse_args(["--model", "gpt", "lstm", "--out-dir", str(tmp_path), "--tag", "idle"])
    assert "recipe-lstm-idle.txt exists: give --force" in capsys.readouterr().err
    args = recipe.parse_args(["--model", "gpt", "lstm", "--out-dir", str(tmp_path), "--tag", "idle", "--force"])
    assert recipe.report_paths(args) == {m: str(tmp_path / f"recipe-{m}-idle.txt") for m in ("gpt", "lstm")}


def test_gemm_flops_of_the_presets():
    recipe = load_recipe()
    gpt = recipe.recipe_config("gpt", out_dir="x")
    assert recipe.gemm_flops(gpt, 65) == 3 * 2 * 768 * (4 * (12 * 128 ** 2 + 2 * 64 * 128) + 128 * 65)  # ~3.96e9
    lstm = recipe.recipe_config("lstm", out_dir="x")
    assert recipe.gemm_flops(lstm, 65) == 3 * 2 * 768 * (4 * 256 * (128 + 256) + 256 * 65)


def test_torch_schedule_is_minitorch_warmup_cosine():
    recipe = load_recipe()
    import minitorch
    from minitorch.optim.lr_scheduler import warmup_cosine

    for max_iters in (2000, 40, 5):
        cfg = recipe.recipe_config("gpt", max_iters=max_iters, out_dir="unused")
        p = minitorch.nn.Parameter(minitorch.zeros(2))
        opt = minitorch.optim.AdamW([p], lr=cfg.lr)
        sched = warmup_cosine(opt, warmup_iters=cfg.warmup_iters, max_iters=cfg.max_iters, min_lr=cfg.min_lr)
        ours = []
        for _ in range(max_iters + 3):
            ours.append(opt.param_groups[0]["lr"])
            opt.step()  # p has no gradient: a no-op, in the order train() calls them
            sched.step()
        theirs = [cfg.lr * recipe.lr_factor(cfg, it) for it in range(max_iters + 3)]
        np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=0)
    assert recipe.recipe_config("gpt", out_dir="x").warmup_iters == 100  # the preset's recipe is unchanged
    assert recipe.recipe_config("lstm", max_iters=500, out_dir="x").warmup_iters == 25


@pytest.mark.parametrize("model", ["gpt", "lstm"])
def test_torch_twin_matches_the_minitorch_model_train_builds(model):
    torch = pytest.importorskip("torch")
    recipe = load_recipe()
    import minitorch
    from minitorch.nn import functional as F

    cfg = recipe.recipe_config(model, max_iters=10, out_dir="unused")
    vocab = 23
    ours = recipe.initial_minitorch_model(cfg, vocab)
    again = recipe.initial_minitorch_model(cfg, vocab)  # deterministic: what train(cfg) starts from
    for (k, a), (_, b) in zip(ours.state_dict().items(), again.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    twin = recipe.torch_model(cfg, vocab, torch)
    assert list(twin.state_dict()) == list(ours.state_dict())
    for (k, a), (_, b) in zip(ours.state_dict().items(), twin.state_dict().items()):
        assert tuple(a.shape) == tuple(b.shape), k
        if k.endswith(".weight") and a.ndim == 2 and model == "gpt":  # nanoGPT's init scheme on both sides
            assert float(b.detach().std()) == pytest.approx(float(a.numpy().std()), rel=0.25), k
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).integers(0, vocab, (3, cfg.block_size))
    y = np.random.default_rng(2).integers(0, vocab, (3, cfg.block_size))
    loss = F.cross_entropy(ours(minitorch.tensor(x)).reshape(-1, vocab), minitorch.tensor(y.reshape(-1)))
    ref = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)).view(-1, vocab), torch.from_numpy(y).view(-1))
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)


def test_median_step_ms_uses_windows_after_warmup():
    recipe = load_recipe()
    times = np.full(200, 0.05)
    times[::7] = 0.5  # a slow step now and then moves the mean, hardly the median of 10-step windows
    ends = np.cumsum(times)
    assert recipe.median_step_ms(ends) == pytest.approx(1e3 * (9 * 0.05 + 0.5) / 10, abs=6.5)
    assert recipe.median_step_ms(ends) < 1e3 * ends[-1] / len(ends)
    np.testing.assert_allclose(recipe.median_step_ms(np.cumsum(np.full(100, 0.02))), 20.0)
    assert recipe.median_step_ms([0.1, 0.3]) == pytest.approx(150.0)  # too short for windows: the mean
