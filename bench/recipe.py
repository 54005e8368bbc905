"""Benchmark: the whole training recipe, end to end, in minitorch and in PyTorch (CPU), in one run.

    python bench/recipe.py                          # baby-gpt preset, 2000 iterations, TinyShakespeare
    python bench/recipe.py --model lstm             # the lstm preset
    python bench/recipe.py --model gpt lstm --out-dir bench/results --tag 2core   # both: the headline run,
                                                    # written to bench/results/recipe-{gpt,lstm}-2core.txt
    python bench/recipe.py --max-iters 500 --out bench/results/recipe-gpt-500-2core.txt
    bash bench/run_recipes.sh idle                  # the run of record: both presets, default threads, then 2

What is compared. minitorch trains with ``minitorch.cli.train.train`` itself, the code users run with
``python -m minitorch.train --preset baby-gpt``: only options are changed (evaluation and logging
once at the end, no text samples, a temporary output directory; its two checkpoint writes at the
end stay inside the timed span). PyTorch trains the same architecture (nanoGPT's GPT with
``scaled_dot_product_attention``, or Embedding -> nn.LSTM -> Linear, with the same parameter names)
with the same recipe: AdamW with the same decay (matrices) / no-decay (vectors) groups, betas, eps
and weight decay, nanoGPT's warmup + cosine schedule as a LambdaLR, gradient clipping to norm 1.0,
the same seed. Both see the same batches: each draws them from its own ``RandomBatchSampler`` over
the same token ids with the same seed (the sampler ``train`` builds), so batch i is identical.
With ``--init shared`` (default) PyTorch also starts from minitorch's initial weights (built with
the seed exactly as ``train`` builds them), so the two runs differ only by floating-point rounding
and the loss curves can be compared step by step; ``--init own`` lets PyTorch draw its own weights
with the same init scheme (nanoGPT's N(0, 0.02) and scaled residual projections; torch's defaults
for the LSTM model), which shows seed-to-seed spread instead. Short runs (``--max-iters`` below 20x
the preset's warmup) shorten the warmup to 5% of the iterations, as the header says.

What is reported. Final train and validation loss: the mean over ``--eval-iters`` batches drawn with
fixed seeds (those of ``train``'s own final evaluation), in eval mode; for minitorch they are
recomputed from the final checkpoint with the same samplers as for PyTorch (and checked against what
``train`` logged), so both frameworks are scored on identical batches. Wall s: the training loop
plus that final evaluation (for minitorch ``train``'s own ``elapsed_s``, which also holds two small
checkpoint writes), split into loop s (the training steps; for minitorch its last step, logged
together with the evaluation, is counted at the median) and eval s (the rest). ms/step: the median
time of a training step (forward, loss, backward, clipping, AdamW, schedule) over windows of 10
steps after 5 warm-up steps (minitorch's from the per-step ``elapsed`` column of ``train``'s log.csv,
whose resolution is 10 ms); mean ms/step: loop s / iterations. Then the agreement of
the two runs (first-step loss, lr schedule, running-mean loss gap), the targets of issue 6, and the
final line ``ratio minitorch/torch: X``, the ratio of the wall times.

Run order and threads. Each framework trains in its own fresh process (``--child``), one after the
other, never interleaved: PyTorch first, then minitorch (``--order`` swaps them), model after model. So
neither framework's thread pool competes with the other's, and each process's peak memory is its own: the
report gives the peak resident set size of each training process (imports included) and its growth
after the imports and the data (the model, optimizer, activations and gradients). The load average is
printed before and after every phase: quote results only from an idle machine. Threads: by default each
framework runs as a user would run it, minitorch with ``python -m minitorch.train``'s default
(``--threads auto``: one BLAS thread per idle core) and PyTorch with its own default (one
thread per core); ``--threads N`` gives both N threads. Processes: minitorch trains with ``--procs auto``,
``python -m minitorch.train``'s default (data-parallel in one process per core, up to 3 for the presets' batches
of 12 rows, one BLAS thread each; one process when ``--threads N`` is given); ``--procs N`` sets the count. With
more than one its peak RSS counts the workers too.
GFLOP/s: the matrix-product work of one training step (forward and backward: 3x the forward's 2 M K N per
product, attention's two batched products included) divided by the median step time.
"""
import argparse
import csv
import math
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  (bench/_common.py: --threads must act before NumPy is imported)

if __name__ == "__main__":
    _common.set_threads_from_argv(sys.argv)  # only with --threads N; otherwise each framework's default

import numpy as np  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from minitorch import backend  # noqa: E402
from minitorch.checkpoint import load_checkpoint  # noqa: E402
from minitorch.cli.common import parse_procs, resolve_corpus  # noqa: E402
from minitorch.cli.train import build_tokenizer, estimate_loss, train  # noqa: E402
from minitorch.data import RandomBatchSampler, load_corpus, train_val_split  # noqa: E402
from minitorch.models.registry import PRESETS, Config, build_model  # noqa: E402

MODELS = {"gpt": "baby-gpt", "lstm": "lstm"}
WARMUP_STEPS = 5  # steps left out of the ms/step median
WINDOW = 10  # steps per timing window
TARGET_VAL_LOSS = 1.90  # issue 6, baby-gpt after 2000 iterations
TARGET_RATIO = 1.3


# ----------------------------------------------------------------------------- the recipe
def recipe_config(model, max_iters=None, eval_iters=200, corpus="tinyshakespeare", seed=None, out_dir=""):
    """The preset's Config, changed only where a benchmark needs it: evaluate and log at the end only
    (eval_interval = max_iters), a loss row per step in log.csv, no samples."""
    cfg = Config(**{"preset": MODELS[model], **PRESETS[MODELS[model]]})
    if max_iters is not None:
        cfg.max_iters = max_iters
    if cfg.max_iters <= 0 or eval_iters <= 0:
        raise SystemExit(f"bench/recipe.py: --max-iters and --eval-iters must be positive, "
                         f"got {cfg.max_iters} and {eval_iters}")
    cfg.warmup_iters = min(cfg.warmup_iters, cfg.max_iters // 20)
    cfg.eval_iters = eval_iters
    cfg.eval_interval = cfg.max_iters
    cfg.log_interval = 1
    cfg.sample_tokens = 0
    cfg.corpus = corpus
    if seed is not None:
        cfg.seed = seed
    cfg.out_dir = out_dir
    return cfg


def lr_factor(cfg, it):
    """nanoGPT's get_lr(it) / lr: linear warmup, cosine decay to min_lr at max_iters, then min_lr."""
    if it < cfg.warmup_iters:
        return (it + 1) / (cfg.warmup_iters + 1)
    if it > cfg.max_iters:
        return cfg.min_lr / cfg.lr
    decay = (it - cfg.warmup_iters) / max(cfg.max_iters - cfg.warmup_iters, 1)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay))
    return (cfg.min_lr + coeff * (cfg.lr - cfg.min_lr)) / cfg.lr


def load_data(cfg):
    """(vocab_size, train ids, val ids) exactly as ``train`` builds them."""
    text = load_corpus(resolve_corpus(cfg.corpus))
    tok = build_tokenizer(cfg.tokenizer, text, vocab_size=cfg.bpe_vocab_size)
    train_ids, val_ids = train_val_split(tok.encode_array(text), cfg.val_fraction)
    for name, part in (("training", train_ids), ("validation", val_ids)):
        if len(part) <= cfg.block_size + 1:
            raise SystemExit(f"bench/recipe.py: the {name} split of {cfg.corpus!r} has {len(part)} tokens, too few "
                             f"for block size {cfg.block_size}")
    return tok.vocab_size, train_ids, val_ids


def initial_minitorch_model(cfg, vocab_size):
    """The model ``train(cfg)`` starts from: same dtype, same seed, nothing drawn in between."""
    backend.set_default_dtype(np.dtype(cfg.dtype))
    backend.manual_seed(cfg.seed)
    return build_model(cfg, vocab_size)


def eval_seeds(cfg):
    """The seeds of ``train``'s final evaluation (train split, validation split)."""
    return cfg.seed + 10_000 + cfg.max_iters, cfg.seed + 20_000 + cfg.max_iters


def median_step_ms(ends):
    """``ends[i]``: seconds from the start of the loop to the end of step i + 1. The median over windows of
    WINDOW steps after the warm-up steps, in ms per step (windows, because log.csv's ``elapsed`` has a
    resolution of 10 ms); runs too short for two windows give the mean."""
    ends = np.asarray(ends, dtype=np.float64)
    if len(ends) == 0:
        return float("nan")
    bounds = np.arange(WARMUP_STEPS - 1, len(ends), WINDOW)
    if len(bounds) < 3:
        return 1e3 * float(ends[-1]) / len(ends)
    return 1e3 * statistics.median(np.diff(ends[bounds]) / WINDOW)


# ----------------------------------------------------------------------------- PyTorch
def torch_model(cfg, vocab_size, torch):
    """The same architecture in PyTorch, with the state_dict keys of minitorch's model."""
    from torch import nn  # noqa: PLC0415

    if cfg.model == "gpt":
        return _common.torch_gpt(vocab_size, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.dropout,
                                 cfg.bias, cfg.tie_weights)
    if cfg.model == "lstm":
        class RecurrentLM(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(vocab_size, cfg.n_embd)
                self.drop = nn.Dropout(cfg.dropout)
                self.rnn = nn.LSTM(cfg.n_embd, cfg.hidden_size, num_layers=cfg.num_layers, batch_first=True,
                                   dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
                self.head = nn.Linear(cfg.hidden_size, vocab_size)
                if cfg.tie_weights:
                    self.head.weight = self.embedding.weight

            def forward(self, idx):
                out, _ = self.rnn(self.drop(self.embedding(idx)))
                return self.head(self.drop(out))

        return RecurrentLM()
    raise ValueError(f"bench/recipe.py: no PyTorch model for {cfg.model!r}")


def run_torch(cfg, vocab_size, train_ids, val_ids, init_state=None):
    """Train the PyTorch twin with the recipe; returns a result dict (losses, times, lrs)."""
    import torch  # noqa: PLC0415
    from torch.nn import functional as F  # noqa: PLC0415

    torch.manual_seed(cfg.seed)
    model = torch_model(cfg, vocab_size, torch)
    if init_state is not None:
        model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in init_state.items()})
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: lr_factor(cfg, it))
    batches = RandomBatchSampler(train_ids, cfg.block_size, cfg.batch_size, seed=cfg.seed)

    def lm_loss(x, y):
        logits = model(torch.from_numpy(x.data))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), torch.from_numpy(y.data).view(-1))

    @torch.no_grad()
    def estimate(data, seed):
        model.eval()
        sampler = RandomBatchSampler(data, cfg.block_size, cfg.batch_size, seed=seed)
        losses = [lm_loss(*sampler()).item() for _ in range(cfg.eval_iters)]
        model.train()
        return float(np.mean(losses))

    losses, lrs, ends = [], [], []
    t_start = time.perf_counter()
    for _ in range(cfg.max_iters):
        model.train()
        loss = lm_loss(*batches())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
        losses.append(loss.item())
        ends.append(time.perf_counter() - t_start)
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"PyTorch: training loss became {losses[-1]} at step {len(losses)}")
    loop = time.perf_counter() - t_start
    seed_train, seed_val = eval_seeds(cfg)
    train_loss, val_loss = estimate(train_ids, seed_train), estimate(val_ids, seed_val)
    wall = time.perf_counter() - t_start
    return dict(train_loss=train_loss, val_loss=val_loss, wall=wall, loop=loop, step_ms=median_step_ms(ends),
                losses=losses, lrs=lrs, threads=torch.get_num_threads(), version=torch.__version__)


# ----------------------------------------------------------------------------- minitorch
def run_minitorch(cfg, vocab_size, train_ids, val_ids, threads="auto", procs="auto"):
    """Train with ``minitorch.cli.train.train(cfg)`` (``threads``, ``procs`` as the CLI's --threads, --procs); read
    its log, rescore its final checkpoint."""
    summary = train(cfg, quiet=True, threads=threads, procs=procs)
    with open(os.path.join(cfg.out_dir, "log.csv"), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    steps = [int(r["step"]) for r in rows]
    if steps != list(range(1, cfg.max_iters + 1)):
        raise RuntimeError(f"bench/recipe.py: expected one log.csv row per step 1..{cfg.max_iters} from "
                           f"minitorch.train, got {len(rows)} rows")
    elapsed = [float(r["elapsed"]) for r in rows]
    ends = elapsed[:-1]  # the last row also holds the evaluation
    model = build_model(cfg, vocab_size)
    load_checkpoint(os.path.join(cfg.out_dir, "last.ckpt"), model=model, restore_rng=False)
    seed_train, seed_val = eval_seeds(cfg)
    train_loss = estimate_loss(model, train_ids, cfg, seed_train)
    val_loss = estimate_loss(model, val_ids, cfg, seed_val)
    logged = (float(rows[-1]["train_loss"]), float(rows[-1]["val_loss"]))
    # the loop: every step up to the last, whose row also holds the evaluation: that one counts at the median
    loop = elapsed[-2] + median_step_ms(ends) / 1e3 if len(elapsed) > 1 else float("nan")
    return dict(train_loss=train_loss, val_loss=val_loss, wall=float(summary["elapsed_s"]), loop=loop,
                step_ms=median_step_ms(ends), losses=[float(r["train_loss"]) for r in rows[:-1]],
                lrs=[float(r["lr"]) for r in rows], logged=logged, parameters=summary["parameters"],
                corpus=summary["corpus"], threads=_blas_threads(), version=np.__version__, procs=summary["procs"],
                malloc=backend.malloc_status())


def _blas_threads():
    """The BLAS thread count NumPy runs with now (threadpoolctl), or the environment's setting."""
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415

        counts = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        if counts:
            return ",".join(map(str, counts))
    except ImportError:
        pass
    return os.environ.get("OPENBLAS_NUM_THREADS", "default")


def gemm_flops(cfg, vocab_size):
    """FLOPs of the matrix products of one training step: 3x the forward's (the backward does two products per
    forward product), 2 M K N each. GPT: per token and layer the four linears (12 E^2 multiply-adds) and
    attention's q k^T and weights @ v (2 T E: the full T x T scores), plus the head (E V). LSTM: per token and
    layer the input and recurrent products (4H (I + H)), plus the head (H V)."""
    tokens = cfg.batch_size * cfg.block_size
    if cfg.model == "gpt":
        e = cfg.n_embd
        per_token = cfg.n_layer * (12 * e * e + 2 * cfg.block_size * e) + e * vocab_size
    elif cfg.model in ("lstm", "gru", "rnn"):
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[cfg.model]
        h, per_token, width = cfg.hidden_size, 0, cfg.n_embd
        for _ in range(cfg.num_layers):
            per_token += gates * h * (width + h)
            width = h
        per_token += h * vocab_size
    else:
        return float("nan")
    return 3 * 2 * tokens * per_token


# ----------------------------------------------------------------------------- report
def _cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "unknown CPU"


def _running_mean(xs, n=50):
    xs = np.asarray(xs, dtype=np.float64)
    return float(xs[-n:].mean()) if len(xs) else float("nan")


def agreement_lines(cfg, mt, th, shared_init):
    """How closely the two runs agree: first-step loss, lr schedule, mean loss over the last 50 steps."""
    n = min(len(mt["losses"]), len(th["losses"]))
    lines = []
    if n:
        d0 = abs(mt["losses"][0] - th["losses"][0])
        lines.append(f"first-step train loss: minitorch {mt['losses'][0]:.6f}, torch {th['losses'][0]:.6f}, "
                     f"|diff| {d0:.2e}" + (" (same weights, same batch)" if shared_init else " (own init each)"))
        k = min(n, 10)
        lines.append(f"mean |train loss diff| over steps 1-{k}: "
                     f"{np.mean(np.abs(np.subtract(mt['losses'][:k], th['losses'][:k]))):.2e}; "
                     f"mean train loss of the last {min(n, 50)} steps: "
                     f"minitorch {_running_mean(mt['losses'][:n]):.4f}, "
                     f"torch {_running_mean(th['losses'][:n]):.4f}")
    lr_diff = max(abs(a - b) for a, b in zip(mt["lrs"], th["lrs"]))
    lines.append(f"lr schedule: max |lr diff| over {len(mt['lrs'])} steps {lr_diff:.2e} "
                 f"(first {mt['lrs'][0]:.3e}, last {mt['lrs'][-1]:.3e})")
    lines.append(f"minitorch.train's own final evaluation: train {mt['logged'][0]:.4f}, val {mt['logged'][1]:.4f} "
                 f"(rescored from its checkpoint: {mt['train_loss']:.4f}, {mt['val_loss']:.4f})")
    return lines


def report(cfg, args, mt, th, loads, vocab_size, code=""):
    ratio = mt["wall"] / th["wall"]
    lines = [
        f"bench/recipe.py --model {cfg.model}: preset {cfg.preset} on {mt['corpus']} (vocab {vocab_size}), "
        f"{mt['parameters']:,} parameters",
        f"recipe: {cfg.max_iters} iterations, batch {cfg.batch_size} x block {cfg.block_size}, AdamW lr {cfg.lr:g} "
        f"betas ({cfg.beta1}, {cfg.beta2}) weight decay {cfg.weight_decay:g} on matrices, warmup {cfg.warmup_iters} "
        f"then cosine to {cfg.min_lr:g}, grad clip {cfg.grad_clip:g}, dropout {cfg.dropout:g}, seed {cfg.seed}, "
        f"init {args.init}; eval {cfg.eval_iters} batches per split",
        f"machine: {_cpu_name()}, {os.cpu_count()} CPUs; torch {th['version']} ({th['threads']} threads), "
        f"numpy {mt['version']} (BLAS threads: {mt['threads']}; "
        f"{'--threads ' + str(args.threads) if args.threads else 'each framework its default'}; "
        f"minitorch's malloc: {mt.get('malloc', 'not recorded')}; "
        f"minitorch processes: {mt.get('procs', 1)} (--procs {args.procs})), "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"code: {code}",
        "order: " + " then ".join(k.split()[1] for k in loads if k.startswith("before ")) + ", each in its own "
        "process; load average (1, 5, 15 min) " + "; ".join(f"{k}: {v}" for k, v in loads.items()),
        "",
        f"{'framework':<10} {'train loss':>10} {'val loss':>9} {'wall s':>8} {'ms/step':>8} {'loop s':>8} "
        f"{'eval s':>7} {'mean ms/step':>13}",
    ]
    for name, r in (("minitorch", mt), ("torch", th)):
        lines.append(f"{name:<10} {r['train_loss']:10.4f} {r['val_loss']:9.4f} {r['wall']:8.2f} {r['step_ms']:8.1f} "
                     f"{r['loop']:8.2f} {r['wall'] - r['loop']:7.2f} {1e3 * r['loop'] / cfg.max_iters:13.1f}")
    flops = gemm_flops(cfg, vocab_size)
    lines.append("")
    lines.append(f"{'framework':<10} {'threads':>7} {'GFLOP/s':>8} {'peak RSS MiB':>13} {'growth MiB':>11}   "
                 f"(GEMM work {flops / 1e9:.2f} GFLOP per step; RSS: whole training process, growth after "
                 f"imports and data" + ("; minitorch: its processes together, threads per process)"
                                        if mt.get("procs", 1) > 1 else ")"))
    for name, r in (("minitorch", mt), ("torch", th)):
        threads = f"{r.get('procs', 1)}x{r['threads']}" if r.get("procs", 1) > 1 else r["threads"]
        lines.append(f"{name:<10} {threads:>7} {flops / r['step_ms'] / 1e6:8.1f} {r['peak_rss']:13.1f} "
                     f"{r['peak_rss'] - r['base_rss']:11.1f}")
    lines.append("")
    lines.extend(agreement_lines(cfg, mt, th, args.init == "shared"))
    lines.append(f"eval s ratio minitorch/torch: {(mt['wall'] - mt['loop']) / (th['wall'] - th['loop']):.2f}")
    lines.append(f"ms/step ratio minitorch/torch: {mt['step_ms'] / th['step_ms']:.2f}")
    if cfg.model == "gpt":
        full = cfg.max_iters == PRESETS["baby-gpt"]["max_iters"]
        note = "" if full else f" (the targets are for {PRESETS['baby-gpt']['max_iters']} iterations; this run has " \
                               f"{cfg.max_iters})"
        lines.append(f"targets (issue 6): minitorch val loss {mt['val_loss']:.4f} <= {TARGET_VAL_LOSS}: "
                     f"{'yes' if mt['val_loss'] <= TARGET_VAL_LOSS else 'no'}; time ratio {ratio:.2f} <= "
                     f"{TARGET_RATIO}: {'yes' if ratio <= TARGET_RATIO else 'no'}{note}")
    lines.append(f"ratio minitorch/torch: {ratio:.2f}")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="bench/recipe.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), nargs="+", default=["gpt"],
                   help="gpt: the baby-gpt preset; lstm: the lstm preset; several run one after the other")
    p.add_argument("--max-iters", type=int, default=None, help="training iterations (default: the preset's, 2000)")
    p.add_argument("--eval-iters", type=int, default=200, help="batches per split in the final evaluation")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for both frameworks (BLAS and torch.set_num_threads); default: minitorch.train's "
                        "--threads auto and PyTorch's own default")
    p.add_argument("--procs", type=parse_procs, default="auto",
                   help="minitorch trains data-parallel in this many processes (minitorch.train --procs; default "
                        "auto, as minitorch.train); its peak RSS then adds the workers' (main + (procs - 1) x the "
                        "largest worker)")
    p.add_argument("--corpus", default="tinyshakespeare",
                   help="corpus name or text file path (default tinyshakespeare; set MINITORCH_DATA to its folder)")
    p.add_argument("--seed", type=int, default=None, help="default: the preset's (1337)")
    p.add_argument("--init", choices=("shared", "own"), default="shared",
                   help="shared: PyTorch starts from minitorch's initial weights; own: its own draw, same scheme")
    p.add_argument("--order", choices=("torch-first", "minitorch-first"), default="torch-first")
    p.add_argument("--out", default=None, help="also write the report to this file (one --model only)")
    p.add_argument("--out-dir", default=None,
                   help="also write each model's report to OUT_DIR/recipe-<model>-<tag>.txt")
    p.add_argument("--tag", default="2core", help="the <tag> of --out-dir's file names (default 2core)")
    p.add_argument("--force", action="store_true", help="overwrite report files that exist")
    p.add_argument("--child", choices=("torch", "minitorch"), help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("max_iters", "eval_iters", "threads"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, got {value}")
    args.model = list(dict.fromkeys(args.model))
    if args.out and len(args.model) > 1:
        p.error("--out takes one --model; with several, use --out-dir")
    if not args.force:
        for path in report_paths(args).values():
            if os.path.exists(path):
                p.error(f"{path} exists: give --force to overwrite it, or another --out/--tag")
    return args


def report_paths(args):
    """{model: report file} from --out / --out-dir."""
    paths = {}
    for model in args.model:
        if args.out:
            paths[model] = args.out
        elif args.out_dir:
            paths[model] = os.path.join(args.out_dir, f"recipe-{model}-{args.tag}.txt")
    return paths


def child(args):
    """One framework's phase, in its own process: train, evaluate, write the result (JSON) to --result."""
    import json  # noqa: PLC0415

    model = args.model[0]
    if args.child == "torch":
        import torch  # noqa: PLC0415, F401  (imported before the memory baseline, as minitorch's imports are)

        if args.threads:
            torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="recipe-") as tmp:
        cfg = recipe_config(model, args.max_iters, args.eval_iters, args.corpus, args.seed,
                            out_dir=os.path.join(tmp, "run"))
        vocab_size, train_ids, val_ids = load_data(cfg)
        init_state = None
        if args.child == "torch" and args.init == "shared":
            init_state = {k: backend.to_numpy(v.data)
                          for k, v in initial_minitorch_model(cfg, vocab_size).state_dict().items()}
        _common.reset_peak_rss()
        base = _common.current_rss_mib()
        if args.child == "torch":
            result = run_torch(cfg, vocab_size, train_ids, val_ids, init_state)
        else:
            result = run_minitorch(cfg, vocab_size, train_ids, val_ids, threads=args.threads or "auto",
                                   procs=args.procs)
    procs = result.get("procs", 1)
    workers = 0.0
    if procs > 1:  # the workers have ended: the largest one's peak RSS
        import resource  # noqa: PLC0415

        workers = (procs - 1) * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    result.update(peak_rss=_common.peak_rss_mib() + workers, base_rss=base, vocab_size=vocab_size, procs=procs)
    with open(args.result, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


def run_phase(args, model, name, loads):
    """Run ``name``'s phase of ``model`` in a child process; returns its result dict."""
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    loads[f"before {name}"] = _common.load_average()
    print(f"bench/recipe.py: {model}: training in {name}, own process ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="recipe-result-") as tmp:
        path = os.path.join(tmp, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--child", name, "--result", path, "--model", model,
               "--eval-iters", str(args.eval_iters), "--corpus", args.corpus, "--init", args.init]
        for flag, value in (("--max-iters", args.max_iters), ("--threads", args.threads), ("--seed", args.seed),
                            ("--procs", args.procs if name == "minitorch" else None)):
            if value is not None:
                cmd += [flag, str(value)]
        proc = subprocess.run(cmd)
        if proc.returncode:
            raise SystemExit(f"bench/recipe.py: the {name} run of --model {model} failed (exit {proc.returncode})")
        with open(path, encoding="utf-8") as fh:
            r = json.load(fh)
    print(f"bench/recipe.py: {model}: {name}: val loss {r['val_loss']:.4f}, {r['wall']:.1f} s, "
          f"{r['step_ms']:.1f} ms/step", file=sys.stderr, flush=True)
    return r


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args)
    code = _common.code_version()
    paths = report_paths(args)
    names = ("torch", "minitorch") if args.order == "torch-first" else ("minitorch", "torch")
    for model in args.model:
        cfg = recipe_config(model, args.max_iters, args.eval_iters, args.corpus, args.seed, out_dir="")
        loads, results = {}, {}
        for name in names:
            results[name] = run_phase(args, model, name, loads)
        loads["after"] = _common.load_average()
        text = report(cfg, args, results["minitorch"], results["torch"], loads, results["minitorch"]["vocab_size"],
                      code)
        print(text + ("\n" if len(args.model) > 1 else ""), flush=True)
        if model in paths:
            os.makedirs(os.path.dirname(os.path.abspath(paths[model])), exist_ok=True)
            with open(paths[model], "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
