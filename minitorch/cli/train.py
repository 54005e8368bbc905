"""Train a language model: ``python -m minitorch.train --preset baby-gpt``.

Presets: baby-gpt (nanoGPT's CPU recipe), lstm, gru, rnn, lstm-attention; every field can be
overridden by a flag (``--max-iters 500 --n-layer 2``). A run lives in its folder, ``--out-dir``
(default runs/<preset>): ``last.ckpt`` / ``best.ckpt`` (atomic), ``log.csv``, ``config.json`` (the config,
the resolved corpus with its sha256, the tokenizer), ``summary.json``, ``loss.png``.

- A new run refuses a folder that already holds a run: continue it with ``--resume``, start over with
  ``--force`` (deletes that run's files), or choose another ``--out-dir``.
- ``--resume [CHECKPOINT]`` continues a run exactly (same batches, same dropout masks, same loss curve) on
  the same corpus (checked by sha256) with the saved tokenizer. Every file goes to ``--out-dir`` when it is
  given, else to the checkpoint's folder. Only --max-iters, --eval-interval, --eval-iters, --log-interval,
  --sample-tokens, --device (and --out-dir, --threads, --procs, --quiet, --stop-at) may differ from the run's config;
  other flags must match it; with ``--procs auto`` a resumed run keeps the process count it began with.
- On the CPU, large enough models train data-parallel in one process per core (``--procs auto``, see
  ``auto_procs``); ``--procs 1`` trains in this process alone.
- Everything is checked before any file is written: a start that fails changes nothing.
"""
import csv
import dataclasses
import hashlib
import json
import math
import os
import shutil
import signal
import sys
import threading
import time

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..checkpoint import CheckpointError, load_checkpoint, restore_checkpoint, save_checkpoint
from ..data import (
    CORPORA,
    BPETokenizer,
    CharTokenizer,
    CorpusError,
    RandomBatchSampler,
    tinyshakespeare_path,
    tokenizer_from_dict,
    train_val_split,
)
from ..generation import generate_text
from ..gradflow import TrainingMonitor
from ..models.registry import (
    MODELS,
    PRESETS,
    Config,
    build_model,
    config_from_dict,
    configure_optimizer,
    lm_loss,
)
from ..optim import ReduceLROnPlateau, clip_grad_norm_
from ..optim.lr_scheduler import warmup_cosine
from ..plots import plot_loss
from ..utils.tensorboard import INSTALL_HINT
from .common import (
    Parser,
    UsageError,
    auto_threads,
    checkpoint_file,
    describe_corpus,
    idle_cores,
    load_run_corpus,
    parse_bool,
    parse_procs,
    positive_float,
    require_device,
    resolve_corpus,  # noqa: F401 - part of this module's API (bench/recipe.py)
    run_main,
    set_threads,
    usable_cores,
)
from .parallel import DataParallel, WorkerStopped


def build_tokenizer(kind, text, vocab_size=512):
    """A character tokenizer, or a BPE tokenizer trained on ``text`` to ``vocab_size`` tokens."""
    if kind == "char":
        return CharTokenizer.from_text(text)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size=vocab_size)
    raise ValueError(f"unknown tokenizer {kind!r}: expected 'char' or 'bpe'")


@no_grad()
def estimate_loss(model, data, cfg, seed, parallel=None):
    """Mean loss over ``cfg.eval_iters`` random batches of ``data`` drawn with their own ``seed``
    (so evaluation never disturbs the training batch stream). ``parallel``: a ``DataParallel`` over ``model``
    that shares the batches out between its processes (the same batches, the same mean)."""
    was_training = model.training
    model.eval()
    sampler = RandomBatchSampler(data, cfg.block_size, cfg.batch_size, seed=seed, device=cfg.device)
    if parallel is None:
        losses = [lm_loss(model, *sampler()).item() for _ in range(cfg.eval_iters)]
    else:
        losses = parallel.losses([tuple(t.data for t in sampler()) for _ in range(cfg.eval_iters)])
    model.train(was_training)
    return float(np.mean(losses))


def sample_text(model, tok, cfg, n_tokens, seed, prompt="\n"):
    """A sample (temperature 0.8, top-k 40) from the model, for the logs."""
    return generate_text(model, tok, prompt=prompt, max_new_tokens=n_tokens, strategy="top-k", top_k=40,
                         temperature=0.8, seed=seed, device=cfg.device)


# ----------------------------------------------------------------------------- the command line
TOKENIZERS = ("char", "bpe")
SCHEDULES = ("cosine", "constant", "plateau")
DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "float64")
# --procs auto trains data-parallel where a step is large enough: parameters x tokens per batch of at least this
# (a step of about 60 MFLOP; below it the exchange between processes costs what it saves; bench/results/
# procs-auto-idle.txt), with at least _AUTO_PROCS_ROWS rows of each batch per process and at most _AUTO_PROCS_MAX
# processes (each holds a replica of the model).
_AUTO_PROCS_WORK = 10_000_000
_AUTO_PROCS_ROWS = 4
_AUTO_PROCS_MAX = 8
# How a run's process count was chosen, and what the header says of it.
_PROCS_CHOSEN = {"given": "", "auto": " (auto)", "resumed": " (as the run began)"}
# Flags that may differ from the checkpoint's config on --resume (with --out-dir, --threads, --procs, --quiet and
# --stop-at).
RESUMABLE = ("max_iters", "eval_interval", "eval_iters", "log_interval", "sample_tokens", "device")
# The files a run writes into its folder: a folder holding any of them holds a run.
RUN_FILES = ("last.ckpt", "best.ckpt", "log.csv", "config.json", "summary.json", "loss.png", "grads.csv")

FIELD_HELP = {
    "model": f"architecture: {', '.join(MODELS)}",
    "corpus": "auto (TinyShakespeare when found, else python-stdlib), tinyshakespeare (looked up in "
              "$MINITORCH_DATA, which may name the file or its folder, then ~/.cache/minitorch; downloaded if "
              "missing), python-stdlib (this Python's standard-library sources, offline), or the path of a UTF-8 "
              "text file",
    "tokenizer": f"{' or '.join(TOKENIZERS)} (BPE is trained on the corpus, see --bpe-vocab-size)",
    "bpe_vocab_size": "vocabulary size of the BPE tokenizer",
    "val_fraction": "the last fraction of the corpus kept for validation",
    "n_layer": "transformer blocks (gpt)",
    "n_head": "attention heads (gpt, lstm-attention)",
    "n_embd": "embedding width",
    "block_size": "context length in tokens",
    "dropout": "dropout probability in [0, 1)",
    "bias": "biases in Linear and LayerNorm layers (gpt): true or false",
    "tie_weights": "share the embedding and output weights: true or false",
    "hidden_size": "hidden state size (recurrent models)",
    "num_layers": "stacked recurrent layers",
    "bidirectional": "bidirectional encoder (lstm-attention): true or false",
    "batch_size": "sequences per step",
    "max_iters": "training steps in all (may change on --resume: the schedule keeps its length, further steps run "
                 "at --min-lr)",
    "lr": "peak learning rate (> 0)",
    "min_lr": "final learning rate of the cosine schedule, floor of plateau",
    "warmup_iters": "linear warm-up steps of the cosine schedule",
    "weight_decay": "AdamW weight decay of matrices",
    "beta1": "AdamW beta1",
    "beta2": "AdamW beta2",
    "grad_clip": "clip the gradient norm to this (0 = off)",
    "schedule": f"learning-rate schedule: {', '.join(SCHEDULES)}",
    "plateau_patience": "evaluations without improvement before plateau lowers the rate",
    "plateau_factor": "factor plateau multiplies the rate by",
    "eval_interval": "evaluate, sample and checkpoint every this many steps (may change on --resume)",
    "eval_iters": "batches per loss estimate (may change on --resume)",
    "sample_tokens": "tokens of sample text printed at each evaluation, 0 for none (may change on --resume)",
    "log_interval": "write a log.csv row every this many steps (may change on --resume)",
    "seed": "random seed (initial weights, batches, dropout)",
    "device": f"{' or '.join(DEVICES)} (cuda needs CuPy; may change on --resume)",
    "dtype": f"{' or '.join(DTYPES)} (float16 training is not supported)",
    "out_dir": "the run folder",
}


def _fmt(value):
    return "true" if value is True else "false" if value is False else str(value)


def _default_text(name):
    """'4' when every preset agrees, else 'baby-gpt: 0.001; lstm, gru, lstm-attention: 0.002; ...'."""
    if name == "out_dir":
        return "runs/<preset>"
    by_value = {}
    for preset, fields in PRESETS.items():
        value = fields.get(name, getattr(Config, name))
        by_value.setdefault(_fmt(value), []).append(preset)
    if len(by_value) == 1:
        return next(iter(by_value))
    return "; ".join(f"{', '.join(presets)}: {value}" for value, presets in by_value.items())


def build_parser():
    p = Parser("train", description=__doc__)
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help=f"starting values of every field below: {', '.join(sorted(PRESETS))} (default: baby-gpt)")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="CHECKPOINT",
                   help="continue a run: from OUT_DIR/last.ckpt, or from CHECKPOINT (a .ckpt file or a run folder); "
                        "without --out-dir the run continues in the checkpoint's folder. Flags other than "
                        f"{', '.join('--' + f.replace('_', '-') for f in RESUMABLE)}, --out-dir, --threads, --procs, "
                        "--quiet and --stop-at must match the run's config (default: start a new run)")
    p.add_argument("--force", action="store_true",
                   help="start a new run in an --out-dir that holds one, deleting that run's files "
                        f"({', '.join(RUN_FILES)}); other files are left alone")
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="save last.ckpt and stop at this step, continue later with --resume "
                        "(default: run to --max-iters)")
    p.add_threads("(with several training processes, see --procs, 'auto' means 1 each) ")
    p.add_argument("--procs", type=parse_procs, default="auto", metavar="N",
                   help="train data-parallel in N processes on the CPU (each batch split by rows, gradients "
                        "averaged, one BLAS thread per process unless --threads is a number): uses every core for "
                        "the elementwise work too, which one NumPy process cannot. auto = one per core this process "
                        f"may use, at most {_AUTO_PROCS_MAX} and at least {_AUTO_PROCS_ROWS} batch rows each, for "
                        "CPU models whose parameters x batch tokens reach 10 million; 1 when --threads is a number; "
                        "a resumed run keeps the count it began with (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--log-grads", type=int, default=0, metavar="N",
                   help="every N steps, write each parameter's gradient norm and update-to-weight ratio to "
                        "OUT_DIR/grads.csv (plot: python -m minitorch.viz grads); 0 = off (default: 0)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also log losses, learning rate, gradient norms, weight histograms and samples to "
                        "OUT_DIR/tensorboard (needs tensorboardX; view: tensorboard --logdir OUT_DIR); a new run with "
                        "--force deletes the event files of the run before")
    p.add_debug()
    _add_config_flags(p)
    return p


def _add_config_flags(p):
    """One flag per Config field (--n-layer for n_layer), default None: the preset's value unless given."""
    defaults = Config()
    for f in dataclasses.fields(Config):
        if f.name == "preset":
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = type(getattr(defaults, f.name))
        kwargs = {"default": None, "help": f"{FIELD_HELP[f.name]} (default: {_default_text(f.name)})"}
        if kind is bool:
            kwargs.update(type=parse_bool, metavar="BOOL")
        elif f.name == "lr":
            kwargs.update(type=positive_float)
        elif f.name in ("model", "tokenizer", "schedule"):
            kwargs.update(choices={"model": MODELS, "tokenizer": TOKENIZERS, "schedule": SCHEDULES}[f.name])
        else:
            kwargs.update(type=kind, metavar={int: "N", float: "X"}.get(kind, "NAME"))
        if f.name == "corpus":
            kwargs["metavar"] = "NAME|PATH"
        elif f.name == "out_dir":
            kwargs["metavar"] = "DIR"
        if f.name in ("device", "dtype"):
            kwargs["metavar"] = "{" + ",".join(DEVICES if f.name == "device" else DTYPES) + "}"
        p.add_argument(flag, **kwargs)


def parse_args(argv=None):
    """(Config, argparse namespace); ``args.given`` is the set of config fields named on the command line."""
    args = build_parser().parse_args(argv)
    preset = args.preset or "baby-gpt"
    cfg = Config(**{"preset": preset, "out_dir": f"runs/{preset}", **PRESETS[preset]})
    args.given = {"preset"} if args.preset else set()
    for f in dataclasses.fields(Config):
        v = getattr(args, f.name, None)
        if v is not None and f.name != "preset":
            setattr(cfg, f.name, v)
            args.given.add(f.name)
    return cfg, args


def _flag(name):
    return "--" + name.replace("_", "-")


def _check_config(cfg):
    """Every problem with ``cfg`` at once, as a UsageError; shortens a warm-up longer than the run (the notes
    returned say so)."""
    problems = _config_problems(cfg)
    if problems:
        raise UsageError("; ".join(problems), "see python -m minitorch.train --help")
    notes = []
    if cfg.schedule == "cosine" and cfg.warmup_iters > cfg.max_iters:
        short = max(1, cfg.max_iters // 20)
        notes.append(f"--warmup-iters {cfg.warmup_iters} is longer than --max-iters {cfg.max_iters}; warming up for "
                     f"{short} iteration{'s' if short != 1 else ''} instead")
        cfg.warmup_iters = short
    return notes


def _config_problems(cfg):
    """What is wrong with ``cfg``, one phrase per problem."""
    problems = []
    for name in ("max_iters", "batch_size", "block_size", "eval_iters", "eval_interval", "log_interval", "n_layer",
                 "n_head", "n_embd", "hidden_size", "num_layers", "bpe_vocab_size"):
        if getattr(cfg, name) <= 0:
            problems.append(f"{_flag(name)} must be positive, got {getattr(cfg, name)}")
    for name in ("warmup_iters", "sample_tokens", "plateau_patience", "seed"):
        if getattr(cfg, name) < 0:
            problems.append(f"{_flag(name)} must be 0 or more, got {getattr(cfg, name)}")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        problems.append(f"--lr must be a positive number, got {cfg.lr}")
    for name in ("min_lr", "weight_decay", "grad_clip"):
        v = getattr(cfg, name)
        if not (v >= 0 and math.isfinite(v)):
            problems.append(f"{_flag(name)} must be 0 or more, got {v}")
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(cfg, name) < 1:
            problems.append(f"{_flag(name)} must be in [0, 1), got {getattr(cfg, name)}")
    if not 0 < cfg.plateau_factor < 1:
        problems.append(f"--plateau-factor must be in (0, 1), got {cfg.plateau_factor}")
    if not 0 < cfg.val_fraction < 1:
        problems.append(f"--val-fraction must be in (0, 1), got {cfg.val_fraction}")
    if cfg.model == "gpt" and cfg.n_head > 0 and cfg.n_embd % cfg.n_head:
        problems.append(f"--n-embd ({cfg.n_embd}) must be divisible by --n-head ({cfg.n_head})")
    width = cfg.hidden_size * (2 if cfg.bidirectional else 1)
    if cfg.model == "lstm-attention" and cfg.n_head > 0 and width % cfg.n_head:
        problems.append(f"--hidden-size ({cfg.hidden_size}{' x 2, bidirectional' if cfg.bidirectional else ''}) must "
                        f"be divisible by --n-head ({cfg.n_head})")
    if not 0 <= cfg.dropout < 1:
        problems.append(f"--dropout must be in [0, 1), got {cfg.dropout}")
    for name, allowed in (("model", MODELS), ("tokenizer", TOKENIZERS), ("schedule", SCHEDULES)):
        if getattr(cfg, name) not in allowed:
            problems.append(f"{_flag(name)} {getattr(cfg, name)!r} is unknown: use {', '.join(allowed)}")
    if cfg.preset not in PRESETS:
        problems.append(f"--preset {cfg.preset!r} is unknown: use {', '.join(sorted(PRESETS))}")
    if cfg.device not in DEVICES:
        problems.append(f"--device {cfg.device!r} is unknown: use cpu or cuda")
    if cfg.dtype in ("float16", "half"):
        problems.append(f"--dtype {cfg.dtype}: training in float16 is not supported, the loss over- and underflows "
                        "without mixed precision and loss scaling, which minitorch does not have: use float32 "
                        "(default) or float64")
    elif cfg.dtype not in DTYPES:
        problems.append(f"--dtype {cfg.dtype!r} is unknown: use float32 or float64")
    return problems


# ----------------------------------------------------------------------------- run folders
def run_files(out_dir):
    """The run files (``RUN_FILES``) present in ``out_dir``."""
    return [n for n in RUN_FILES if os.path.isfile(os.path.join(out_dir, n))]


def _read_train_checkpoint(path):
    """(checkpoint dict, saved Config) of a minitorch.train checkpoint, or a UsageError saying why not."""
    checkpoint_file(path, flag="--resume")
    state = load_checkpoint(path, restore_rng=False)
    extra = state.get("extra") or {}
    if not isinstance(extra, dict) or "config" not in extra or "tokenizer" not in extra:
        raise UsageError(f"{path} is not a minitorch.train checkpoint (no config or tokenizer inside)",
                         "resume from the last.ckpt of a python -m minitorch.train run")
    return state, config_from_dict(extra["config"])


def _conflicts(cfg, saved, given):
    """'--flag value (run: saved)' for each flag given on the command line that differs from the run's config."""
    out = []
    for name in sorted(given):
        if name in RESUMABLE or name in ("out_dir", "corpus"):
            continue
        mine, theirs = getattr(cfg, name), getattr(saved, name)
        if isinstance(mine, float) or isinstance(theirs, float):
            same = math.isclose(float(mine), float(theirs), rel_tol=1e-12, abs_tol=0.0)
        else:
            same = mine == theirs
        if not same:
            out.append(f"{_flag(name)} {_fmt(mine)} (run: {_fmt(theirs)})")
    return out


class CsvLog:
    FIELDS = ["step", "lr", "train_loss", "val_loss", "tokens_per_s", "elapsed"]

    def __init__(self, path, resume_step=None, source=None):
        """A fresh log at ``path``; when resuming, it keeps the rows up to ``resume_step`` of ``source``
        (the log next to the checkpoint, which may be another folder's)."""
        self.path = path
        rows = []
        source = source or path
        if resume_step is not None and os.path.exists(source):
            with open(source, newline="", encoding="utf-8") as fh:
                rows = [r for r in csv.DictReader(fh) if r.get("step", "").isdigit() and int(r["step"]) <= resume_step]
        tmp = path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=self.FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        os.replace(tmp, path)

    def write(self, **row):
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, fieldnames=self.FIELDS).writerow(row)


def _write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def _say(message):
    print(f"minitorch.train: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- training
@dataclasses.dataclass
class Resume:
    """The checkpoint a run continues from, read once: its ``path``, its dict ``state`` (load_checkpoint's),
    its folder ``source_dir`` (absolute) and the ``--corpus`` named on the command line (None: the run's own)."""

    path: str
    state: dict
    source_dir: str
    corpus: str = None


@dataclasses.dataclass
class Run:
    """What the steps of a training run share: the config and folder, the data, the model and its optimizer,
    where the run is (step, best validation loss, time) and what it writes to (log, monitor, progress bar)."""

    cfg: Config
    out_dir: str
    resume: Resume = None
    # the data
    tok: object = None
    corpus_info: dict = None
    train_ids: object = None
    val_ids: object = None
    chars_per_token: float = 1.0
    sample_prompt: str = "\n"
    # the model, its optimizer and schedule, the training batches
    model: object = None
    opt: object = None
    sched: object = None
    batches: object = None
    # where the run is
    step: int = 0
    best_val: float = math.inf
    val_loss: float = None
    elapsed0: float = 0.0  # seconds spent before this process (resumed runs)
    t_start: float = 0.0  # perf_counter() when this process's first step began
    best_source: str = None  # the best.ckpt a run continued in a new folder takes along
    interrupted: bool = False
    mid_step: bool = False  # inside _train_step, where an interrupt would leave a torn state
    # what it writes to
    log: object = None
    monitor: object = None
    bar: object = None
    procs: int = 1  # training processes (--procs, resolved)
    parallel: object = None  # a DataParallel with --procs > 1
    sharded: bool = False  # its optimizer step sharded over the processes (DataParallel.train_step)

    @property
    def last_path(self):
        return os.path.join(self.out_dir, "last.ckpt")

    @property
    def best_path(self):
        return os.path.join(self.out_dir, "best.ckpt")

    def elapsed(self):
        return self.elapsed0 + time.perf_counter() - self.t_start


def train(cfg, resume=False, quiet=False, stop_at=None, force=False, given=None, threads=None, log_grads=0,
          tensorboard=False, procs=1):
    """Run training as configured; returns the summary dict, or None when a resumed run has nothing left to do.

    ``resume``: False, True (continue from ``cfg.out_dir``/last.ckpt) or the path of a checkpoint or run folder
    (the run continues in ``cfg.out_dir``). ``given``: the config fields named on the command line, which must
    match the checkpoint's on resume (None: all fields but ``RESUMABLE``). ``force``: start over in a folder that
    holds a run. ``stop_at``: save and stop at that step (the schedule still runs to ``cfg.max_iters``).
    ``threads``: BLAS threads (a number or 'auto'; None leaves them alone). ``log_grads`` / ``tensorboard``:
    gradient-flow and TensorBoard logging (minitorch/gradflow.py). ``procs``: processes for data-parallel training
    on the CPU (minitorch/cli/parallel.py; 1 = this process only, 'auto' = ``auto_procs``); with more than one,
    ``threads`` 'auto' means one BLAS thread per process. A script that calls ``train`` with ``procs`` > 1 (or
    'auto') needs the ``if __name__ == "__main__":`` guard (the workers are started with multiprocessing's spawn
    method).

    Everything is checked before any file is written: a start that fails leaves the folder as it was.
    Raises ``minitorch.errors.UsageError`` (and the data/checkpoint errors) for user errors."""
    notes = _check_config(cfg)
    _check_options(log_grads, tensorboard, stop_at)
    if resume is False or resume is None:
        _check_new_folder(cfg.out_dir, force)
        run = Run(cfg, cfg.out_dir)
    else:
        run, notes = _resumed_run(cfg, resume, given, force)
        if _nothing_left(run, stop_at):
            return None
        _check_resume_folder(run)
    _check_procs(procs, run.cfg)  # the run's batch size and device (a resumed run's own)
    require_device(run.cfg.device)
    _load_data(run)
    _build_model(run)
    procs, chosen, notes = _resolve_procs(run, procs, threads, notes)
    thread_text = _set_threads(run, threads, procs)
    _take_best_along(run)
    thread_text, notes = _start_workers(run, threads, chosen, thread_text, notes)
    try:
        # everything checked and the workers started: from here on files are written
        _prepare_folder(run, force, log_grads, tensorboard)
        _print_header(run, notes, thread_text)
        _train_loop(run, stop_at, quiet)
    finally:
        if run.parallel is not None:
            run.parallel.close()
    return _finish(run)


# --------------------------------------------------------------- checks before anything is written
def _start_workers(run, threads, chosen, thread_text, notes):
    """Start the data-parallel workers when ``run.procs`` > 1 (before any file is written); returns the header's
    thread phrase and the notes. ``chosen``: how the count was chosen, a key of _PROCS_CHOSEN. Workers that cannot
    start (no process or shared memory to be had, a worker that dies while starting) are a UsageError for a count
    given or resumed; with --procs auto the run trains in this process, and a note says why."""
    if run.procs < 2:
        return thread_text, notes
    per_process = 1 if threads in (None, "auto") else int(threads)
    try:
        run.parallel = DataParallel(run.model, run.procs, seed=run.cfg.seed, threads=per_process)
    except (OSError, WorkerStopped) as err:
        # Only these: a worker that imports a script without the __main__ guard runs the script's train() call
        # too, and must fail here (multiprocessing's RuntimeError), not fall back to training.
        if chosen != "auto":
            raise UsageError(f"--procs {run.procs}: the worker processes did not start: {err}",
                             "use --procs 1 to train in one process") from None
        note = f"note: training in one process: the workers of --procs auto ({run.procs}) did not start ({err})"
        run.procs = 1
        return _set_threads(run, threads, 1), [*notes, note]
    return (f"data-parallel in {run.procs} processes{_PROCS_CHOSEN[chosen]}, {per_process} BLAS "
            f"thread{'s' * (per_process > 1)} each"), notes


def _set_threads(run, threads, procs):
    """Set the BLAS threads (one per process with ``procs`` > 1, also when ``threads`` is None: a second one would
    wait for another process's core); returns the header's thread phrase or None."""
    if procs > 1 and threads is None:
        threads = "auto"
    auto = 1 if procs > 1 else auto_threads(run.model)
    return set_threads(threads, auto=auto) if threads is not None else None


def _resolve_procs(run, procs, threads, notes):
    """(process count, how it was chosen: a key of _PROCS_CHOSEN, notes) for ``procs`` (a number or 'auto'); sets
    ``run.procs``. A resumed run with 'auto' keeps the count it was started with, which its checkpoint records
    (so it continues exactly; CPU runs with no --threads number only). A note when the machine's cores are busy:
    data parallelism then loses (bench/results/procs-auto-load1.txt)."""
    chosen = "given"
    if procs == "auto":
        recorded = run.resume.state["extra"].get("procs") if run.resume is not None else None
        if recorded and run.cfg.device == "cpu" and threads in (None, "auto"):
            procs, chosen = int(recorded), "resumed"
        else:
            procs, chosen = auto_procs(run.model, run.cfg, threads), "auto"
    run.procs = procs
    idle = idle_cores() if procs > 1 else None
    if idle is not None and idle < procs - 0.5:
        notes = [*notes, f"note: only {idle:.1f} cores of this machine were idle at the start; data-parallel "
                         f"training in {procs} processes slows down when it shares cores with other work (--procs 1 "
                         "trains in one process)"]
    return procs, chosen, notes


def auto_procs(model, cfg, threads="auto", cores=None):
    """The process count ``--procs auto`` means: one per core this process may use (``cores``, default
    ``usable_cores()``), at most _AUTO_PROCS_MAX and at least _AUTO_PROCS_ROWS rows of each batch per process; 1 on
    a GPU, when ``threads`` is a number (the user asked for one process with that many BLAS threads), and for a
    step with fewer than _AUTO_PROCS_WORK parameters x tokens.

    It depends on the machine, not on its load at the start, so the same command on the same machine trains the
    same run (runs with different process counts agree to float rounding). On a busy machine data parallelism
    loses: with one other busy process on 2 cores, 2 processes took 8-23% longer than one
    (bench/results/procs-auto-load1.txt); the header then notes it (``_resolve_procs``)."""
    if cfg.device != "cpu" or threads not in (None, "auto"):
        return 1
    if model.num_parameters() * cfg.batch_size * cfg.block_size < _AUTO_PROCS_WORK:
        return 1
    cores = usable_cores() if cores is None else cores
    return max(1, min(cores, cfg.batch_size // _AUTO_PROCS_ROWS, _AUTO_PROCS_MAX))


def _check_procs(procs, cfg):
    if procs == "auto":
        return
    if not isinstance(procs, int) or isinstance(procs, bool) or procs < 1:
        raise UsageError(f"--procs must be a positive number of processes or 'auto', got {procs!r}")
    if procs > 1 and cfg.device != "cpu":
        raise UsageError(f"--procs {procs} splits batches between CPU processes; on --device {cfg.device} "
                         "use --procs 1")
    if procs > cfg.batch_size:
        raise UsageError(f"--procs {procs} is more than the --batch-size {cfg.batch_size} rows a batch can be split "
                         "into", f"use --procs {cfg.batch_size} or fewer")


def _check_options(log_grads, tensorboard, stop_at):
    if log_grads < 0:
        raise UsageError(f"--log-grads must be 0 (off) or a positive number of steps, got {log_grads}")
    if tensorboard:
        try:
            import tensorboardX  # noqa: F401, PLC0415 - optional: only --tensorboard needs it
        except ImportError:
            raise UsageError("--tensorboard needs tensorboardX, which is not installed", INSTALL_HINT) from None
    if stop_at is not None and stop_at < 1:
        raise UsageError(f"--stop-at must be at least 1, got {stop_at}", "give the step to stop at")


def _check_new_folder(out_dir, force):
    existing = run_files(out_dir) if os.path.isdir(out_dir) else []
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UsageError(f"--out-dir {out_dir} is a file", "give a folder for the run")
    if existing and not force:
        raise UsageError(f"{out_dir} already holds a run ({', '.join(existing)})",
                         "continue it with --resume, start over there with --force (deletes that run), or "
                         "choose another --out-dir")


def _checkpoint_to_resume(resume, out_dir):
    """The checkpoint ``--resume`` names: ``resume`` (a file, or a folder's last.ckpt), else OUT_DIR/last.ckpt."""
    named = isinstance(resume, (str, os.PathLike)) and os.fspath(resume)
    ckpt_path = os.fspath(resume if named else os.path.join(out_dir, "last.ckpt"))
    if os.path.isdir(ckpt_path):
        ckpt_path = os.path.join(ckpt_path, "last.ckpt")
    if not os.path.exists(ckpt_path):
        folder = os.path.dirname(ckpt_path) or "."
        found = run_files(folder) if os.path.isdir(folder) else []
        raise UsageError(f"--resume: {ckpt_path} does not exist" + (f" ({folder} holds {', '.join(found)})"
                                                                      if found else ""),
                         "start the run without --resume, or name the checkpoint: --resume PATH")
    return ckpt_path


def _resumed_run(cfg, resume, given, force):
    """(Run, notes) of a resumed run: the checkpoint's config, with the flags that may change taken from
    ``cfg`` where the command line gave them (``given``); a UsageError for flags that contradict the run."""
    if force:
        raise UsageError("--resume and --force contradict each other",
                         "--resume continues the run, --force deletes it and starts a new one: give one")
    ckpt_path = _checkpoint_to_resume(resume, cfg.out_dir)
    state, saved = _read_train_checkpoint(ckpt_path)
    if given is None:  # called from Python with a whole config: every field counts as given
        given = {f.name for f in dataclasses.fields(Config)}
    conflicts = _conflicts(cfg, saved, given)
    if conflicts:
        raise UsageError(
            f"--resume: {'this flag differs' if len(conflicts) == 1 else 'these flags differ'} from the run's "
            f"config in {ckpt_path}: {', '.join(conflicts)}",
            "drop them to continue the run as it was, or start a new run with another --out-dir; on resume only "
            f"{', '.join(_flag(f) for f in RESUMABLE)}, --out-dir, --threads, --procs, --quiet and --stop-at "
            "may change")
    for name in RESUMABLE:  # what the command line names; the rest stays as the run had it
        if name in given:
            setattr(saved, name, getattr(cfg, name))
    out_dir = cfg.out_dir
    if isinstance(resume, (str, os.PathLike)) and os.fspath(resume) and "out_dir" not in given:
        out_dir = os.path.dirname(ckpt_path) or "."
    saved.out_dir = out_dir
    resumed = Resume(ckpt_path, state, os.path.dirname(os.path.abspath(ckpt_path)),
                     cfg.corpus if "corpus" in given else None)
    return Run(saved, out_dir, resumed), _check_config(saved)


def _nothing_left(run, stop_at):
    """True (and says so) when the checkpoint is already at the step the run should stop at."""
    cfg, step0 = run.cfg, int(run.resume.state["step"])
    target = min(cfg.max_iters, stop_at) if stop_at else cfg.max_iters
    if step0 < target:
        return False
    why = f"--stop-at {stop_at}" if stop_at and stop_at < cfg.max_iters else f"--max-iters {cfg.max_iters}"
    _say(f"nothing to do: {run.resume.path} is at step {step0} and {why} asks for no more; no file was changed "
         "(raise --max-iters to train further)")
    return True


def _check_resume_folder(run):
    """A resumed run writes into its own folder, or into an empty one; never over later steps."""
    out_dir, ckpt_path, source_dir = run.out_dir, run.resume.path, run.resume.source_dir
    step0 = int(run.resume.state["step"])
    same_folder = os.path.abspath(out_dir) == source_dir
    if not same_folder and run_files(out_dir):
        raise UsageError(f"--out-dir {out_dir} already holds a run ({', '.join(run_files(out_dir))}), not the "
                         f"one in {source_dir}", "choose an empty --out-dir to continue the run there")
    last_here = run.last_path
    if same_folder and os.path.abspath(ckpt_path) != os.path.abspath(last_here) and os.path.isfile(last_here):
        ahead = int(load_checkpoint(last_here, restore_rng=False).get("step") or 0)
        if ahead > step0:
            raise UsageError(f"--resume {ckpt_path} is at step {step0}, behind {last_here} at step {ahead}: "
                             "continuing here would overwrite the later steps",
                             f"continue from it in a new folder (--out-dir), or --resume {last_here}")


# --------------------------------------------------------------- the data, the model
def _load_data(run):
    """The corpus (a new run records what it resolved; a resumed run must see exactly that again), the
    tokenizer (the run's own when resuming) and the train/validation token ids."""
    cfg, resumed = run.cfg, run.resume
    if resumed is None:
        text, run.corpus_info = load_run_corpus(cfg.corpus, say=_say)
        run.tok = build_tokenizer(cfg.tokenizer, text, vocab_size=cfg.bpe_vocab_size)
    else:
        text, run.corpus_info = _resume_corpus(resumed.state, resumed.corpus, resumed.path)
        run.tok = tokenizer_from_dict(resumed.state["extra"]["tokenizer"])
    try:
        ids = run.tok.encode_array(text)
    except (KeyError, ValueError) as err:
        raise UsageError(f"the run's tokenizer cannot encode {describe_corpus(run.corpus_info)}: {err}",
                         "resume on the corpus the run started on") from None
    run.train_ids, run.val_ids = train_val_split(ids, cfg.val_fraction)
    run.chars_per_token = len(text) / max(len(ids), 1)
    run.sample_prompt = "\n" if "\n" in text else text[0]
    for name, part in (("training", run.train_ids), ("validation", run.val_ids)):
        if len(part) <= cfg.block_size + 1:
            raise UsageError(f"the {name} split of {run.corpus_info['name']} has {len(part)} tokens, too few for "
                             f"--block-size {cfg.block_size}", "use a larger corpus or a smaller --block-size")


def _resume_corpus(state, given_spec, ckpt_path):
    """(text, info) of the corpus a resumed run trains on: the one it started on (or ``given_spec``), which must
    be the same text (sha256); otherwise a UsageError saying what differs."""
    saved = state["extra"].get("corpus")
    if isinstance(saved, str):  # checkpoints before corpus hashes were recorded: the resolved name only
        saved = {"name": saved, "path": None if saved in CORPORA else saved, "sha256": None, "chars": None}
    spec = given_spec or (saved["path"] if saved["name"] not in CORPORA else saved["name"])
    try:
        text, info = load_run_corpus(spec)
    except CorpusError as err:
        raise UsageError(f"the run's corpus {saved['name']} cannot be loaded: {err}",
                         "point MINITORCH_DATA at it (the file or its folder), or pass --corpus PATH to the same "
                         "text") from None
    if saved.get("sha256") is None:
        _say(f"{ckpt_path} does not record its corpus's sha256; continuing on {info['name']} unchecked")
    elif info["sha256"] != saved["sha256"]:
        raise UsageError(f"--resume: the corpus differs from the run's: {describe_corpus(info)} now, but the run "
                         f"trained on {describe_corpus(saved)}; its vocabulary and batches would not match",
                         "drop --corpus to continue on the run's corpus, or start a new run with another --out-dir"
                         if given_spec else "restore that text, or start a new run with another --out-dir")
    if saved["name"] == "python-stdlib" and not given_spec:
        try:
            tinyshakespeare_path(download=False)
            _say("TinyShakespeare is available now, but this run started on python-stdlib and continues on it "
                 "(train on TinyShakespeare in a new run: --corpus tinyshakespeare --out-dir ...)")
        except CorpusError:
            pass
    return text, info


def _scheduler(opt, cfg):
    if cfg.schedule == "cosine":
        return warmup_cosine(opt, warmup_iters=cfg.warmup_iters, max_iters=cfg.max_iters, min_lr=cfg.min_lr)
    if cfg.schedule == "plateau":
        return ReduceLROnPlateau(opt, factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=cfg.min_lr)
    return None


def _build_model(run):
    """The model, optimizer, schedule and batch stream, restored from the checkpoint when resuming (one that
    does not fit fails here, before any file is written)."""
    cfg = run.cfg
    backend.set_backend("cupy" if cfg.device == "cuda" else "numpy")
    backend.set_default_dtype(np.dtype(cfg.dtype))
    backend.manual_seed(cfg.seed)
    run.batches = RandomBatchSampler(run.train_ids, cfg.block_size, cfg.batch_size, seed=cfg.seed, device=cfg.device)
    run.model = build_model(cfg, run.tok.vocab_size)
    if cfg.device == "cuda":
        run.model.to("cuda")
    run.opt = configure_optimizer(run.model, cfg)
    run.sched = _scheduler(run.opt, cfg)
    if run.resume is not None:
        state = run.resume.state
        restore_checkpoint(state, model=run.model, optimizer=run.opt, scheduler=run.sched, name=run.resume.path)
        run.step = int(state["step"])
        run.best_val = float(state["extra"].get("best_val", math.inf))
        run.elapsed0 = float(state["extra"].get("elapsed", 0.0))
        run.batches.load_state_dict(state["extra"]["batch_rng"])


def _take_best_along(run):
    """A run continued in a new folder takes along the best checkpoint it had at the step it resumes from
    (``run.best_source``); without one, the next evaluation writes best.ckpt."""
    if run.resume is None or os.path.abspath(run.out_dir) == run.resume.source_dir:
        return
    source_best = os.path.join(run.resume.source_dir, "best.ckpt")
    try:
        best_step = int(load_checkpoint(source_best, restore_rng=False).get("step") or 0) \
            if os.path.isfile(source_best) else None
    except CheckpointError:
        best_step = None
    extra = run.resume.state["extra"]
    if best_step is not None and best_step <= run.step:
        run.best_source = source_best
    elif extra.get("val_loss") is not None and extra["val_loss"] == run.best_val:
        run.best_source = run.resume.path  # the checkpoint resumed from was the best so far
    else:
        run.best_val = math.inf  # no best.ckpt of that moment: the next evaluation writes one


# --------------------------------------------------------------- the run folder
def _prepare_folder(run, force, log_grads, tensorboard):
    """The run folder: a previous run's files deleted (--force), best.ckpt taken along, log.csv (with the
    rows up to the resumed step), the gradient/TensorBoard monitor, config.json."""
    out_dir, resumed = run.out_dir, run.resume
    os.makedirs(out_dir, exist_ok=True)
    if resumed is None and force:
        removed = run_files(out_dir)
        for name in removed:
            os.remove(os.path.join(out_dir, name))
        if removed:
            _say(f"--force: deleted the previous run's {', '.join(removed)} in {out_dir}")
    if run.best_source is not None:
        shutil.copy2(run.best_source, run.best_path)
    resume_step = run.step if resumed is not None else None
    source_dir = resumed.source_dir if resumed is not None else None
    run.log = CsvLog(os.path.join(out_dir, "log.csv"), resume_step=resume_step,
                     source=os.path.join(source_dir, "log.csv") if source_dir else None)
    if log_grads or tensorboard:
        run.monitor = TrainingMonitor(out_dir, run.model, log_grads=log_grads, tensorboard=tensorboard,
                                      resume_step=resume_step, source_dir=source_dir, force=force, say=_say)
    tok = run.tok
    tok_info = {"kind": tok.kind, "vocab_size": tok.vocab_size,
                "sha256": hashlib.sha256(json.dumps(tok.to_dict(), sort_keys=True).encode()).hexdigest()}
    _write_json(os.path.join(out_dir, "config.json"),
                {"config": dataclasses.asdict(run.cfg), "corpus": run.corpus_info, "tokenizer": tok_info})


def _print_header(run, notes, thread_text):
    cfg, tok = run.cfg, run.tok
    for note in notes:
        _say(note)
    resuming = f", resuming at step {run.step} of {cfg.max_iters} from {run.resume.path}" if run.resume else ""
    _say(f"{cfg.preset} ({cfg.model}, {run.model.num_parameters():,} parameters) on "
         f"{describe_corpus(run.corpus_info)}, {tok.kind} tokenizer with {tok.vocab_size} tokens, "
         f"{len(run.train_ids):,}/{len(run.val_ids):,} train/val tokens; {cfg.device} {cfg.dtype}"
         + (f", {thread_text}" if thread_text else "") + f"; out_dir={run.out_dir}{resuming}")


def _save(run, path, val_loss=None):
    """A checkpoint of the run as it is now (the model, optimizer, schedule, RNG, batch stream, config)."""
    extra = {"config": dataclasses.asdict(run.cfg), "tokenizer": run.tok.to_dict(), "best_val": run.best_val,
             "elapsed": run.elapsed(), "batch_rng": run.batches.state_dict(), "val_loss": val_loss,
             "corpus": run.corpus_info, "procs": run.procs}
    save_checkpoint(path, model=run.model, optimizer=run.opt, scheduler=run.sched, step=run.step, extra=extra)


# --------------------------------------------------------------- the loop
def _progress_bar(run, quiet):
    if quiet:
        return None
    try:
        from tqdm import tqdm  # noqa: PLC0415 - optional: without tqdm there is no bar
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=run.cfg.max_iters, initial=run.step, desc=run.cfg.preset, dynamic_ncols=True, file=sys.stderr)


def _train_loop(run, stop_at, quiet):
    """Train to ``stop_at`` (or the end), evaluating, sampling and saving every ``eval_interval`` steps and
    logging every ``log_interval``. Ctrl-C finishes the step under way (and its evaluation), saves last.ckpt and
    stops, so a resumed run continues exactly; a second Ctrl-C stops at once, and saves only between steps (a
    step cut short leaves the model, optimizer and batch stream out of step with each other)."""
    cfg = run.cfg
    run.bar = _progress_bar(run, quiet)
    # data-parallel: the update sharded over the processes where it can be (the monitor reads averaged gradients)
    run.sharded = run.parallel is not None and run.monitor is None and run.parallel.shardable(run.opt)
    run.t_start = time.perf_counter()
    try:
        target = min(cfg.max_iters, stop_at or cfg.max_iters)
        with _StopRequest(run) as stop:
            while run.step < target and not stop.requested:
                loss_v, lr_now, tokens_per_s = _train_step(run)
                if run.step % cfg.eval_interval == 0 or run.step == cfg.max_iters:
                    _evaluate(run, lr_now, tokens_per_s)
                elif run.step % cfg.log_interval == 0:
                    run.log.write(step=run.step, lr=lr_now, train_loss=f"{loss_v:.6f}", val_loss="",
                                  tokens_per_s=f"{tokens_per_s:.1f}", elapsed=f"{run.elapsed():.2f}")
            if stop.requested and run.step < target:
                _stop_interrupted(run)
            elif run.step < cfg.max_iters:
                _save(run, run.last_path, run.val_loss)
    except KeyboardInterrupt:
        _stop_interrupted(run)
    finally:
        if run.bar is not None:
            run.bar.close()
        if run.monitor is not None:
            run.monitor.close()


def _stop_interrupted(run):
    """After Ctrl-C: save the run's last finished step as last.ckpt and say so, or, when the interrupt cut a step
    short (``run.mid_step``), save nothing and say that."""
    run.interrupted = True
    if run.mid_step:
        print(f"\ninterrupted during step {run.step + 1}: not saved ({run.last_path} holds the last evaluated "
              "step, if any); continue from it with --resume", file=sys.stderr)
        return
    _save(run, run.last_path, run.val_loss)
    print(f"\ninterrupted: saved step {run.step} in {run.last_path}; continue with --resume", file=sys.stderr)


class _StopRequest:
    """While training: the first Ctrl-C (SIGINT) sets ``requested`` and says that the run stops after the step
    under way; a second raises KeyboardInterrupt as usual. Only where Python's own Ctrl-C handler is in place
    (the main thread; not where SIGINT is ignored or handled by someone else)."""

    def __init__(self, run):
        self.run, self.requested, self._before = run, False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._before = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        step = self.run.step + 1 if self.run.mid_step else self.run.step  # between steps: the one just done
        print(f"\nminitorch.train: stopping after step {step} and saving it (Ctrl-C again to stop at once)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._before is not None:
            signal.signal(signal.SIGINT, self._before)


def _train_step(run):
    """One optimizer step on the next batch: (loss, learning rate used, tokens per second)."""
    cfg, model, opt, monitor = run.cfg, run.model, run.opt, run.monitor
    t0 = time.perf_counter()
    run.mid_step = True  # from the batch drawn to the step counted: an interrupt here leaves a torn state
    model.train()
    if run.sharded:  # data-parallel, the update sharded too: one call
        loss_v = run.parallel.train_step(*(t.data for t in run.batches()), opt, cfg.grad_clip,
                                         seed=(cfg.seed, run.step))
    else:
        if run.parallel is None:
            loss = lm_loss(model, *run.batches())
            opt.zero_grad()
            loss.backward()
            loss_v = loss.item()
        else:
            loss_v = run.parallel.loss_and_grads(*(t.data for t in run.batches()), seed=(cfg.seed, run.step))
        if monitor is not None:
            monitor.after_backward(run.step + 1)
        if cfg.grad_clip > 0:
            clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if run.parallel is not None:
            run.parallel.publish()
    lr_now = opt.param_groups[0]["lr"]
    if run.sched is not None and cfg.schedule != "plateau":
        run.sched.step()
    run.step += 1
    run.mid_step = False
    if monitor is not None:
        monitor.after_update(run.step, loss_v, lr_now)
    if not math.isfinite(loss_v):
        raise UsageError(f"the training loss became {loss_v} at step {run.step}",
                         f"lower --lr (now {cfg.lr}) or --grad-clip; last.ckpt holds the last evaluated step")
    tokens_per_s = cfg.batch_size * cfg.block_size / max(time.perf_counter() - t0, 1e-9)
    if run.bar is not None:
        run.bar.update(1)
        run.bar.set_postfix(loss=f"{loss_v:.3f}", lr=f"{lr_now:.2e}", tok_s=f"{tokens_per_s:,.0f}")
    return loss_v, lr_now, tokens_per_s


def _evaluate(run, lr_now, tokens_per_s):
    """Estimate both losses, print them (and a sample), save best.ckpt when the validation loss improved and
    last.ckpt always, and log the row."""
    cfg, step = run.cfg, run.step
    tr = estimate_loss(run.model, run.train_ids, cfg, cfg.seed + 10_000 + step, run.parallel)
    run.val_loss = val_loss = estimate_loss(run.model, run.val_ids, cfg, cfg.seed + 20_000 + step, run.parallel)
    if cfg.schedule == "plateau":
        run.sched.step(val_loss)
    bpc = val_loss / math.log(2) / run.chars_per_token
    msg = f"step {step}: train {tr:.4f}, val {val_loss:.4f}, val ppl {math.exp(val_loss):.2f}, val bpc {bpc:.3f}"
    sample = None
    if cfg.sample_tokens > 0:
        sample = sample_text(run.model, run.tok, cfg, cfg.sample_tokens, cfg.seed + step, prompt=run.sample_prompt)
        msg += "\n--- sample ---\n" + sample + "\n--------------"
    if run.bar is not None:
        run.bar.write(msg)
    else:
        print(msg, file=sys.stderr)
    if run.monitor is not None:
        run.monitor.on_eval(step, tr, val_loss, sample)
    if val_loss < run.best_val:
        run.best_val = val_loss
        _save(run, run.best_path, val_loss)
    _save(run, run.last_path, val_loss)
    run.log.write(step=step, lr=lr_now, train_loss=f"{tr:.6f}", val_loss=f"{val_loss:.6f}",
                  tokens_per_s=f"{tokens_per_s:.1f}", elapsed=f"{run.elapsed():.2f}")


def _finish(run):
    """summary.json and loss.png; exit status 130 after Ctrl-C, else the summary."""
    cfg = run.cfg
    summary = {"preset": cfg.preset, "corpus": run.corpus_info["name"], "corpus_sha256": run.corpus_info["sha256"],
               "steps": run.step, "max_iters": cfg.max_iters, "best_val_loss": run.best_val,
               "final_val_loss": run.val_loss, "parameters": run.model.num_parameters(),
               "vocab_size": run.tok.vocab_size, "elapsed_s": round(run.elapsed(), 2),
               "interrupted": run.interrupted, "procs": run.procs, "out_dir": run.out_dir}
    _write_json(os.path.join(run.out_dir, "summary.json"), summary)
    try:
        plot_loss([os.path.join(run.out_dir, "log.csv")], os.path.join(run.out_dir, "loss.png"))
    except ImportError:  # no matplotlib: no loss.png
        pass
    if run.interrupted:
        raise SystemExit(130)
    return summary


def _run(argv):
    cfg, args = parse_args(argv)
    summary = train(cfg, resume=False if args.resume is None else (args.resume or True), quiet=args.quiet,
                    stop_at=args.stop_at, force=args.force, given=args.given, threads=args.threads,
                    log_grads=args.log_grads, tensorboard=args.tensorboard, procs=args.procs)
    if summary is not None:
        print(json.dumps(summary, indent=2))
    return summary


def main(argv=None):
    """``python -m minitorch.train``: returns the summary dict (None when there was nothing to do)."""
    return run_main("train", _run, argv)


if __name__ == "__main__":
    main()
