"""FLOPs of one training step of a preset model: ``python -m minitorch.flops --preset baby-gpt``.

Builds the preset's model (as ``python -m minitorch.train`` would, on random token ids: no corpus needed), runs one
forward (the loss) and backward inside ``minitorch.utils.flops.FlopCounter``, and prints a table by module and by
op kind, the forward and backward FLOPs per step and per token. ``--time N`` also times N such steps (forward,
loss, backward, zero_grad; no optimizer step, whose per-parameter update is off the tape and not counted) and
prints the achieved GFLOP/s.

Counting conventions (see minitorch/utils/flops.py): ``--mode gemm`` (default) counts matrix products (2*m*k*n)
and attention's QK^T and AV (2*B*h*T_q*T_k*d each), backward 2x forward, as torch.utils.flop_counter does;
``--mode all`` adds elementwise ops, norms, softmax and biases with a per-element cost table.
"""
import sys

import numpy as np

from ..autograd import tensor
from ..backend import manual_seed
from ..models.registry import PRESETS, Config, build_model, lm_loss
from ..utils.flops import FlopCounter
from ..utils.flops import time_steps as timer
from .common import (
    Parser,
    UsageError,
    auto_threads,
    positive_int,
    run_main,
    seed_int,
    set_threads,
)


def build_parser():
    p = Parser("flops", description=__doc__)
    p.add_argument("--preset", choices=sorted(PRESETS), default="baby-gpt",
                   help=f"the model and batch shape of this training preset: {', '.join(sorted(PRESETS))} "
                        "(default: baby-gpt)")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="B",
                   help="sequences per step (default: the preset's)")
    p.add_argument("--block-size", type=positive_int, default=None, metavar="T",
                   help="tokens per sequence, the model's context (default: the preset's)")
    p.add_argument("--vocab-size", type=positive_int, default=65, metavar="V",
                   help="vocabulary size (default: 65, TinyShakespeare's characters)")
    p.add_argument("--mode", choices=("gemm", "all"), default="gemm",
                   help="gemm: matrix products and attention only, as torch.utils.flop_counter counts; all: also "
                        "elementwise ops, norms, softmax and biases (default: gemm)")
    p.add_argument("--depth", type=positive_int, default=3, metavar="K",
                   help="group modules by the first K parts of their names, e.g. 3 = transformer.h.0 "
                        "(default: 3)")
    p.add_argument("--time", type=positive_int, default=None, metavar="N",
                   help="also time N training steps (after one warm-up step) and print the achieved GFLOP/s "
                        "(default: no timing)")
    p.add_threads("for --time: ")
    p.add_argument("--seed", type=seed_int, default=1337, help="seed of the weights and token ids (default: 1337)")
    p.add_debug()
    return p


def measure(preset="baby-gpt", batch_size=None, block_size=None, vocab_size=65, mode="gemm", time_steps=None,
            seed=1337):
    """(FlopCounter of one training step, tokens per step, mean step seconds or None, the model)."""
    if preset not in PRESETS:
        raise UsageError(f"unknown preset {preset!r}", f"use one of {', '.join(sorted(PRESETS))}")
    fields = dict(PRESETS[preset], preset=preset)
    if batch_size is not None:
        fields["batch_size"] = batch_size
    if block_size is not None:
        fields["block_size"] = block_size
    cfg = Config(**fields)
    manual_seed(seed)
    model = build_model(cfg, vocab_size)
    model.train()
    rng = np.random.default_rng(seed)
    x = tensor(rng.integers(0, vocab_size, (cfg.batch_size, cfg.block_size)))
    y = tensor(rng.integers(0, vocab_size, (cfg.batch_size, cfg.block_size)))

    def step():
        lm_loss(model, x, y).backward()
        model.zero_grad()

    with FlopCounter(model, mode=mode) as fc:
        step()
    seconds = timer(step, time_steps) if time_steps else None
    return fc, cfg.batch_size * cfg.block_size, seconds, model


def _run(argv):
    args = build_parser().parse_args(argv)
    threads = set_threads(args.threads, auto=auto_threads()) if args.time else None
    fc, tokens, seconds, model = measure(args.preset, args.batch_size, args.block_size, args.vocab_size, args.mode,
                                         args.time, args.seed)
    print(f"{args.preset}: {model.num_parameters():,} parameters, {tokens:,} tokens per step "
          f"(batch x block), one training step = forward + loss + backward")
    print(fc.table(depth=args.depth, tokens=tokens))
    if seconds:
        print(f"time: {seconds * 1e3:.1f} ms per step (mean of {args.time} after 1 warm-up, {threads}); "
              f"achieved {fc.total_flops / seconds / 1e9:.2f} GFLOP/s ({args.mode} FLOPs), "
              f"{tokens / seconds:,.0f} tokens/s")
    return fc


def main(argv=None):
    return run_main("flops", _run, argv)


if __name__ == "__main__":
    main()
    sys.exit(0)
