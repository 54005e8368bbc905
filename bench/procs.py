"""Benchmark: where ``python -m minitorch.train --procs auto`` should train data-parallel (CPU).

    python bench/procs.py                        # the sizes below, --procs 1 against --procs 2, idle machine
    python bench/procs.py --load 1               # the same while 1 busy process competes for the cores
    python bench/procs.py --out bench/results/procs-auto-idle.txt
    python bench/procs.py --presets gru rnn lstm-attention   # whole presets instead of the sizes below

Each run is a whole ``python -m minitorch.train`` process (start-up, data, the worker processes' start and
the final evaluation included), as a user runs it: ``--max-iters`` steps of a GPT or LSTM of the given size,
one 2-batch evaluation at the end, no text samples. Reported per size: parameters, parameters x tokens per
batch (the quantity --procs auto compares with its threshold), the wall time of the process and the training
time the run logs (``summary.json``'s ``elapsed_s``: the steps and the evaluation), for each process count,
and their ratio. The runs of one size alternate between the process counts (``--rounds`` times) and the
medians are reported, so a change of load hits both; the load average is printed before and after.
``--load N`` starts N busy-looping processes for the whole benchmark: what data parallelism costs on a
machine that is not idle.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import _common  # bench/_common.py (the script's own folder is first on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (name, minitorch.train flags): GPTs from tiny to the baby-gpt preset, the lstm preset
SIZES = [
    ("gpt tiny (block 16)", ["--n-embd", "16", "--n-layer", "1", "--n-head", "2", "--block-size", "16"]),
    ("gpt 32x2", ["--n-embd", "32", "--n-layer", "2", "--n-head", "2"]),
    ("gpt 64x2", ["--n-embd", "64", "--n-layer", "2", "--n-head", "2"]),
    ("baby-gpt", []),
    ("lstm tiny (block 16)", ["--preset", "lstm", "--n-embd", "16", "--hidden-size", "24", "--block-size", "16"]),
    ("lstm", ["--preset", "lstm"]),
]


def run_once(flags, procs, iters, tmp):
    out = os.path.join(tmp, f"run-{procs}")
    cmd = [sys.executable, "-m", "minitorch.train", *flags, "--max-iters", str(iters), "--eval-interval",
           str(iters), "--eval-iters", "2", "--sample-tokens", "0", "--quiet", "--procs", str(procs),
           "--out-dir", out, "--force"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"bench/procs.py: {' '.join(cmd)} failed:\n{proc.stderr}")
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as fh:
        summary = json.load(fh)
    return wall, summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-iters", type=int, default=300, help="training steps per run (default 300)")
    p.add_argument("--rounds", type=int, default=2, help="runs per process count and size (default 2)")
    p.add_argument("--procs", type=int, default=2, help="the data-parallel count compared with 1 (default 2)")
    p.add_argument("--load", type=int, default=0, help="busy-looping processes that compete (default 0)")
    p.add_argument("--presets", nargs="+", metavar="PRESET",
                   help="measure these minitorch.train presets (at their own sizes) instead of SIZES")
    p.add_argument("--out", help="also write the report to this file (refused if it exists)")
    args = p.parse_args(argv)
    sizes = [(name, ["--preset", name]) for name in args.presets] if args.presets else SIZES
    if args.out and os.path.exists(args.out):
        p.error(f"{args.out} exists: choose another --out")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    lines = [f"bench/procs.py: --max-iters {args.max_iters}, {args.rounds} rounds, --procs 1 against "
             f"{args.procs}, {args.load} competing busy processes; {os.cpu_count()} CPUs; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", f"load average before: {_common.load_average()}",
             f"{'size':<22} {'parameters':>10} {'params x tokens':>15} {'wall s 1 / N':>15} {'ratio':>6} "
             f"{'train s 1 / N':>15} {'ratio':>6}"]
    print("\n".join(lines), flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="procs-bench-") as tmp:
            for name, flags in sizes:
                times = {1: ([], []), args.procs: ([], [])}
                for _ in range(args.rounds):
                    for procs in times:
                        wall, summary = run_once(flags, procs, args.max_iters, tmp)
                        times[procs][0].append(wall)
                        times[procs][1].append(summary["elapsed_s"])
                w1, wn = (statistics.median(times[k][0]) for k in times)
                e1, en = (statistics.median(times[k][1]) for k in times)
                tokens = _tokens(flags)
                line = (f"{name:<22} {summary['parameters']:>10,} {summary['parameters'] * tokens:>15,} "
                        f"{w1:>7.2f} / {wn:<5.2f} {w1 / wn:>6.2f} {e1:>7.2f} / {en:<5.2f} {e1 / en:>6.2f}")
                lines.append(line)
                print(line, flush=True)
    finally:
        for b in busy:
            b.kill()
    lines.append(f"load average after: {_common.load_average()}")
    lines.append("ratio > 1: the data-parallel run was faster")
    print(lines[-2], lines[-1], sep="\n")
    if args.out:
        with open(args.out, "x", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return 0


def _tokens(flags):
    """Tokens per batch of a SIZES entry: the batch (12 in every preset) x its block size (64 unless given)."""
    block = int(flags[flags.index("--block-size") + 1]) if "--block-size" in flags else 64
    return 12 * block


if __name__ == "__main__":
    sys.exit(main())
