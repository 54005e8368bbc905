"""Train a language model: ``python -m minitorch.train --preset baby-gpt``.

Presets: baby-gpt (nanoGPT's CPU recipe), lstm, gru, rnn, lstm-attention; every field can be
overridden by a flag (``--max-iters 500 --n-layer 2``). Writes to ``--out-dir``:
``last.ckpt`` / ``best.ckpt`` (atomic), ``log.csv``, ``config.json``, ``summary.json``, ``loss.png``.
``--resume`` continues a run exactly (same batches, same dropout masks, same loss curve).
"""
import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

from . import backend
from .autograd import no_grad
from .checkpoint import load_checkpoint, save_checkpoint
from .data import (
    BPETokenizer,
    CharTokenizer,
    CorpusError,
    RandomBatchSampler,
    load_corpus,
    tinyshakespeare_path,
    tokenizer_from_dict,
    train_val_split,
)
from .nn import functional as F
from .optim import AdamW, ReduceLROnPlateau, clip_grad_norm_
from .optim.lr_scheduler import warmup_cosine


@dataclasses.dataclass
class Config:
    """Everything a run depends on; stored in every checkpoint."""

    preset: str = "baby-gpt"
    model: str = "gpt"  # gpt | lstm | gru | rnn | lstm-attention
    corpus: str = "auto"  # auto = tinyshakespeare if present, else python-stdlib
    tokenizer: str = "char"  # char | bpe
    bpe_vocab_size: int = 512
    val_fraction: float = 0.1
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True
    hidden_size: int = 256
    num_layers: int = 1
    bidirectional: bool = False
    # optimisation
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    schedule: str = "cosine"  # cosine | constant | plateau
    plateau_patience: int = 2
    plateau_factor: float = 0.5
    # evaluation and output
    eval_interval: int = 250
    eval_iters: int = 20
    sample_tokens: int = 200
    log_interval: int = 10
    seed: int = 1337
    device: str = "cpu"
    dtype: str = "float32"
    out_dir: str = "runs/baby-gpt"


# Shared by the recurrent presets: char-level, block 64, batch 12, 2000 iterations, no weight decay.
_RECURRENT = dict(n_embd=128, hidden_size=256, num_layers=1, block_size=64, batch_size=12, dropout=0.0, lr=2e-3,
                  min_lr=2e-4, warmup_iters=50, max_iters=2000, weight_decay=0.0, tie_weights=False)

PRESETS = {
    "baby-gpt": dict(model="gpt", n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0,
                     lr=1e-3, min_lr=1e-4, warmup_iters=100, max_iters=2000, beta2=0.99, weight_decay=0.1),
    "lstm": dict(_RECURRENT, model="lstm"),
    "gru": dict(_RECURRENT, model="gru"),
    "rnn": dict(_RECURRENT, model="rnn", lr=1e-3, min_lr=1e-4),
    "lstm-attention": dict(_RECURRENT, model="lstm-attention", hidden_size=128, n_head=4),
}


def build_model(cfg, vocab_size):
    """The model a config describes (imported lazily: models pull in the whole nn stack)."""
    from . import models  # noqa: PLC0415

    if cfg.model == "gpt":
        return models.GPT(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer, n_head=cfg.n_head,
                   n_embd=cfg.n_embd, dropout=cfg.dropout, bias=cfg.bias, tie_weights=cfg.tie_weights)
    if cfg.model in ("lstm", "gru", "rnn"):
        return models.RecurrentLM(vocab_size, embedding_dim=cfg.n_embd, hidden_size=cfg.hidden_size,
                           num_layers=cfg.num_layers, cell=cfg.model, dropout=cfg.dropout,
                           tie_weights=cfg.tie_weights)
    if cfg.model == "lstm-attention":
        return models.LSTMAttentionLM(vocab_size, embedding_dim=cfg.n_embd, hidden_size=cfg.hidden_size,
                               num_heads=cfg.n_head, dropout=cfg.dropout, bidirectional=cfg.bidirectional)
    raise ValueError(f"unknown model {cfg.model!r}: expected gpt, lstm, gru, rnn or lstm-attention")


def resolve_corpus(name):
    """'auto' means TinyShakespeare when it is available offline, else the python-stdlib corpus."""
    if name != "auto":
        return name
    try:
        tinyshakespeare_path(download=False)
        return "tinyshakespeare"
    except CorpusError:
        return "python-stdlib"


def build_tokenizer(kind, text, vocab_size=512):
    """A character tokenizer, or a BPE tokenizer trained on ``text`` to ``vocab_size`` tokens."""
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size=vocab_size)
    raise ValueError(f"unknown tokenizer {kind!r}: expected 'char' or 'bpe'")


def lm_loss(model, x, y):
    """Mean next-token cross-entropy of ``model`` on int64 Tensors x, y (B, T)."""
    logits = model(x)
    v = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, v), y.reshape(-1))


@no_grad()
def estimate_loss(model, data, cfg, seed):
    """Mean loss over ``cfg.eval_iters`` random batches of ``data`` drawn with their own ``seed``
    (so evaluation never disturbs the training batch stream)."""
    was_training = model.training
    model.eval()
    sampler = RandomBatchSampler(data, cfg.block_size, cfg.batch_size, seed=seed, device=cfg.device)
    losses = [lm_loss(model, *sampler()).item() for _ in range(cfg.eval_iters)]
    model.train(was_training)
    return float(np.mean(losses))


def sample_text(model, tok, cfg, n_tokens, seed, prompt="\n"):
    """A sample (temperature 0.8, top-k 40) from the model, for the logs."""
    from .generation import generate_text  # noqa: PLC0415

    return generate_text(model, tok, prompt=prompt, max_new_tokens=n_tokens, strategy="top-k", top_k=40,
                         temperature=0.8, seed=seed, device=cfg.device)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m minitorch.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="baby-gpt")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.ckpt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="save last.ckpt and stop at this step (continue later with --resume)")
    defaults = Config()
    for f in dataclasses.fields(Config):
        if f.name == "preset":
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type is bool or isinstance(getattr(defaults, f.name), bool):
            p.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes", "y"), default=None,
                           metavar="BOOL")
        else:
            p.add_argument(flag, type=type(getattr(defaults, f.name)), default=None)
    args = p.parse_args(argv)
    cfg = Config(**{"preset": args.preset, "out_dir": f"runs/{args.preset}", **PRESETS[args.preset]})
    for f in dataclasses.fields(Config):
        v = getattr(args, f.name, None)
        if v is not None and f.name != "preset":
            setattr(cfg, f.name, v)
    return cfg, args


def _check_config(cfg):
    problems = []
    for name in ("max_iters", "batch_size", "block_size", "eval_iters", "eval_interval"):
        if getattr(cfg, name) <= 0:
            problems.append(f"--{name.replace('_', '-')} must be positive, got {getattr(cfg, name)}")
    if cfg.model == "gpt" and cfg.n_embd % cfg.n_head:
        problems.append(f"--n-embd ({cfg.n_embd}) must be divisible by --n-head ({cfg.n_head})")
    if not 0 <= cfg.dropout < 1:
        problems.append(f"--dropout must be in [0, 1), got {cfg.dropout}")
    if cfg.schedule not in ("cosine", "constant", "plateau"):
        problems.append(f"--schedule must be cosine, constant or plateau, got {cfg.schedule!r}")
    if problems:
        raise SystemExit("minitorch.train: " + "; ".join(problems))
    if cfg.schedule == "cosine" and cfg.warmup_iters > cfg.max_iters:
        short = max(1, cfg.max_iters // 20)
        print(f"minitorch.train: --warmup-iters {cfg.warmup_iters} is longer than --max-iters {cfg.max_iters}; "
              f"warming up for {short} iterations instead", file=sys.stderr)
        cfg.warmup_iters = short


class CsvLog:
    FIELDS = ["step", "lr", "train_loss", "val_loss", "tokens_per_s", "elapsed"]

    def __init__(self, path, resume_step=None):
        self.path = path
        rows = []
        if resume_step is not None and os.path.exists(path):
            with open(path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=self.FIELDS)
            w.writeheader()
            w.writerows(rows)

    def write(self, **row):
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.FIELDS).writerow(row)


def train(cfg, resume=False, quiet=False, stop_at=None):
    """Run training as configured; returns the summary dict. ``stop_at``: save and stop at that
    step (the schedule still runs to ``cfg.max_iters``)."""
    _check_config(cfg)
    if cfg.device == "cuda":
        backend.set_backend("cupy")
    backend.set_default_dtype(np.dtype(cfg.dtype))
    backend.manual_seed(cfg.seed)
    os.makedirs(cfg.out_dir, exist_ok=True)
    last_path = os.path.join(cfg.out_dir, "last.ckpt")
    best_path = os.path.join(cfg.out_dir, "best.ckpt")

    state = None
    if resume:
        if not os.path.exists(last_path):
            raise SystemExit(f"minitorch.train: --resume given but {last_path} does not exist")
        state = load_checkpoint(last_path)
        saved = state["extra"]["config"]
        for k in ("max_iters", "eval_interval", "eval_iters", "log_interval", "device"):
            saved[k] = getattr(cfg, k)  # these may change on resume
        cfg = Config(**saved)

    corpus = resolve_corpus(cfg.corpus)
    text = load_corpus(corpus)
    if state is not None:
        tok = tokenizer_from_dict(state["extra"]["tokenizer"])
    else:
        tok = build_tokenizer(cfg.tokenizer, text, vocab_size=cfg.bpe_vocab_size)
    ids = tok.encode_array(text)
    train_ids, val_ids = train_val_split(ids, cfg.val_fraction)
    chars_per_token = len(text) / max(len(ids), 1)
    sample_prompt = "\n" if "\n" in text else text[0]
    for name, part in (("training", train_ids), ("validation", val_ids)):
        if len(part) <= cfg.block_size + 1:
            raise SystemExit(f"minitorch.train: the {name} split of {corpus!r} has {len(part)} tokens, too few for "
                             f"--block-size {cfg.block_size}; use a larger corpus or a smaller block size")
    batches = RandomBatchSampler(train_ids, cfg.block_size, cfg.batch_size, seed=cfg.seed, device=cfg.device)

    model = build_model(cfg, tok.vocab_size)
    if cfg.device == "cuda":
        model.to("cuda")
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = AdamW([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    if cfg.schedule == "cosine":
        sched = warmup_cosine(opt, warmup_iters=cfg.warmup_iters, max_iters=cfg.max_iters, min_lr=cfg.min_lr)
    elif cfg.schedule == "plateau":
        sched = ReduceLROnPlateau(opt, factor=cfg.plateau_factor, patience=cfg.plateau_patience,
                                  min_lr=cfg.min_lr)
    else:
        sched = None

    step, best_val, elapsed0 = 0, math.inf, 0.0
    if state is not None:
        load_checkpoint(last_path, model=model, optimizer=opt, scheduler=sched)
        step = int(state["step"])
        best_val = float(state["extra"].get("best_val", math.inf))
        elapsed0 = float(state["extra"].get("elapsed", 0.0))
        batches.load_state_dict(state["extra"]["batch_rng"])
    log = CsvLog(os.path.join(cfg.out_dir, "log.csv"), resume_step=step if state is not None else None)
    with open(os.path.join(cfg.out_dir, "config.json"), "w") as fh:
        json.dump(dataclasses.asdict(cfg), fh, indent=2)

    def checkpoint(path, val_loss=None):
        extra = {"config": dataclasses.asdict(cfg), "tokenizer": tok.to_dict(), "best_val": best_val,
                 "elapsed": elapsed0 + time.perf_counter() - t_start, "batch_rng": batches.state_dict(),
                 "val_loss": val_loss, "corpus": corpus}
        save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, step=step, extra=extra)

    def evaluate():
        tr = estimate_loss(model, train_ids, cfg, cfg.seed + 10_000 + step)
        va = estimate_loss(model, val_ids, cfg, cfg.seed + 20_000 + step)
        return tr, va

    bar = None
    if not quiet:
        try:
            from tqdm import tqdm  # noqa: PLC0415

            bar = tqdm(total=cfg.max_iters, initial=step, desc=cfg.preset, dynamic_ncols=True, file=sys.stderr)
        except ImportError:  # pragma: no cover
            bar = None
    print(f"minitorch.train: {cfg.preset} on {corpus} ({len(text):,} chars, vocab {tok.vocab_size}, "
          f"{len(train_ids):,}/{len(val_ids):,} train/val tokens), {model.num_parameters():,} parameters, "
          f"out_dir={cfg.out_dir}", file=sys.stderr)
    t_start = time.perf_counter()
    tokens_per_step = cfg.batch_size * cfg.block_size
    val_loss = None
    interrupted = False
    try:
        while step < min(cfg.max_iters, stop_at or cfg.max_iters):
            t0 = time.perf_counter()
            model.train()
            loss = lm_loss(model, *batches())
            opt.zero_grad()
            loss.backward()
            if cfg.grad_clip > 0:
                clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            lr_now = opt.param_groups[0]["lr"]
            if sched is not None and cfg.schedule != "plateau":
                sched.step()
            step += 1
            loss_v = loss.item()
            if not math.isfinite(loss_v):
                raise FloatingPointError(f"training loss became {loss_v} at step {step}; lower --lr or --grad-clip")
            tps = tokens_per_step / max(time.perf_counter() - t0, 1e-9)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_v:.3f}", lr=f"{lr_now:.2e}", tok_s=f"{tps:,.0f}")
            at_eval = step % cfg.eval_interval == 0 or step == cfg.max_iters
            if at_eval:
                tr, val_loss = evaluate()
                if cfg.schedule == "plateau":
                    sched.step(val_loss)
                bpc = val_loss / math.log(2) / chars_per_token
                msg = (f"step {step}: train {tr:.4f}, val {val_loss:.4f}, val ppl {math.exp(val_loss):.2f}, "
                       f"val bpc {bpc:.3f}")
                if cfg.sample_tokens > 0:
                    sample = sample_text(model, tok, cfg, cfg.sample_tokens, cfg.seed + step, prompt=sample_prompt)
                    msg += "\n--- sample ---\n" + sample + "\n--------------"
                (bar.write if bar is not None else lambda m: print(m, file=sys.stderr))(msg)
                if val_loss < best_val:
                    best_val = val_loss
                    checkpoint(best_path, val_loss)
                checkpoint(last_path, val_loss)
                log.write(step=step, lr=lr_now, train_loss=f"{tr:.6f}", val_loss=f"{val_loss:.6f}",
                          tokens_per_s=f"{tps:.1f}", elapsed=f"{elapsed0 + time.perf_counter() - t_start:.2f}")
            elif step % cfg.log_interval == 0:
                log.write(step=step, lr=lr_now, train_loss=f"{loss_v:.6f}", val_loss="", tokens_per_s=f"{tps:.1f}",
                          elapsed=f"{elapsed0 + time.perf_counter() - t_start:.2f}")
        if step < cfg.max_iters:
            checkpoint(last_path, val_loss)
    except KeyboardInterrupt:
        interrupted = True
        checkpoint(last_path, val_loss)
        print(f"\ninterrupted at step {step}: saved {last_path}; continue with --resume", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    summary = {"preset": cfg.preset, "corpus": corpus, "steps": step, "best_val_loss": best_val,
               "final_val_loss": val_loss, "parameters": model.num_parameters(), "vocab_size": tok.vocab_size,
               "elapsed_s": round(elapsed0 + time.perf_counter() - t_start, 2), "interrupted": interrupted,
               "out_dir": cfg.out_dir}
    with open(os.path.join(cfg.out_dir, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    try:
        from .viz import plot_loss  # noqa: PLC0415

        plot_loss([os.path.join(cfg.out_dir, "log.csv")], os.path.join(cfg.out_dir, "loss.png"))
    except ImportError:
        pass
    if interrupted:
        raise SystemExit(130)
    return summary


def main(argv=None):
    cfg, args = parse_args(argv)
    summary = train(cfg, resume=args.resume, quiet=args.quiet, stop_at=args.stop_at)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
