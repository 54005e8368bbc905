"""Benchmark: forward + backward of the hw2 layer ops in minitorch vs PyTorch (CPU), through the
public Tensor API that users run (``minitorch.nn.functional`` vs ``torch.nn.functional``).

    python bench/kernels.py                  # default thread counts of both libraries
    python bench/kernels.py --threads 1      # OPENBLAS/OMP/MKL threads and torch.set_num_threads(1)
    python bench/kernels.py --steps 50
    python bench/kernels.py --threads 1 --clock cpu   # process CPU time: robust to a loaded machine

Ops, at the "baby GPT" sizes (batch 12 x block 64 = 768 rows):
  linear         x (768, 128) -> (768, 512) with bias; grads for x, weight, bias
  cross_entropy  logits (768, 65), int64 targets; grad for the logits (softmax + NLL fused)
  layer_norm     x (768, 128) with weight and bias; grads for all three
  embedding      table (65, 128), indices (12, 64); grad for the table (scatter-add of repeated rows)

How it is measured: both frameworks get the same input values in this process. One step is the
forward, then ``backward`` with a fixed random upstream gradient (the loss: a scalar), with
``.grad`` reset before each step. The two frameworks alternate step by step, so a change of load on
a shared machine hits both alike; after ``--warmup`` steps each, the median time of ``--steps``
steps is reported per op with the ratio minitorch/torch. The "total" row adds the medians (linear
dominates it); the final line is the geometric mean of the four per-op ratios, so each op counts
alike. ``--clock cpu`` reads the process CPU time instead of the wall clock: on a machine shared
with other jobs it leaves out the time this process waits for a core, and with ``--threads 1`` it
is a fair single-core comparison (with more threads it adds the threads' times up).
"""
import argparse
import math
import os
import statistics
import sys
import time

from _common import set_threads_from_argv

set_threads_from_argv(sys.argv)  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minitorch  # noqa: E402
import minitorch.nn.functional as MF  # noqa: E402

ROWS, B, T = 768, 12, 64
D_IN, D_OUT, VOCAB, D_EMB = 128, 512, 65, 128


def make_cases(torch, dtype):
    """name -> (minitorch step, torch step); each step runs forward + backward once."""
    rng = np.random.default_rng(0)
    tf = torch.nn.functional

    def pair(a, grad=True):
        a = a.astype(dtype)
        return minitorch.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)

    def step(out_fn, leaves, upstream):
        def run():
            for t in leaves:
                t.grad = None
            out = out_fn()
            out.backward(upstream) if upstream is not None else out.backward()
        return run

    cases = {}
    # linear
    x, xt = pair(rng.standard_normal((B, T, D_IN)))
    w, wt = pair(rng.standard_normal((D_OUT, D_IN)) / np.sqrt(D_IN))
    b, bt = pair(rng.standard_normal(D_OUT) * 0.1)
    g = rng.standard_normal((B, T, D_OUT)).astype(dtype)
    cases["linear 768x128->512"] = (
        step(lambda: MF.linear(x, w, b), (x, w, b), minitorch.tensor(g)),
        step(lambda: tf.linear(xt, wt, bt), (xt, wt, bt), torch.tensor(g)))
    # softmax + cross-entropy
    z, zt = pair(rng.standard_normal((ROWS, VOCAB)) * 2)
    tgt = rng.integers(0, VOCAB, ROWS)
    tm, tt = minitorch.tensor(tgt), torch.tensor(tgt)
    cases["cross_entropy 768x65"] = (
        step(lambda: MF.cross_entropy(z, tm), (z,), None),
        step(lambda: tf.cross_entropy(zt, tt), (zt,), None))
    # layer norm
    h, ht = pair(rng.standard_normal((B, T, D_EMB)))
    lw, lwt = pair(1 + 0.1 * rng.standard_normal(D_EMB))
    lb, lbt = pair(0.1 * rng.standard_normal(D_EMB))
    g2 = rng.standard_normal((B, T, D_EMB)).astype(dtype)
    cases["layer_norm 768x128"] = (
        step(lambda: MF.layer_norm(h, (D_EMB,), lw, lb), (h, lw, lb), minitorch.tensor(g2)),
        step(lambda: tf.layer_norm(ht, (D_EMB,), lwt, lbt), (ht, lwt, lbt), torch.tensor(g2)))
    # embedding
    e, et = pair(rng.standard_normal((VOCAB, D_EMB)))
    idx = rng.integers(0, VOCAB, (B, T))
    im, it = minitorch.tensor(idx), torch.tensor(idx)
    cases["embedding 65x128[768]"] = (
        step(lambda: MF.embedding(im, e), (e,), minitorch.tensor(g2)),
        step(lambda: tf.embedding(it, et), (et,), torch.tensor(g2)))
    return cases


def bench(cases, warmup, steps, clock=time.perf_counter):
    rows = []
    for name, (run_mt, run_t) in cases.items():
        for _ in range(warmup):
            run_mt()
            run_t()
        t_mt, t_t = [], []
        for _ in range(steps):
            t0 = clock()
            run_mt()
            t1 = clock()
            run_t()
            t2 = clock()
            t_mt.append(t1 - t0)
            t_t.append(t2 - t1)
        rows.append((name, statistics.median(t_mt) * 1e3, statistics.median(t_t) * 1e3))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=100, help="timed steps per op and framework (median)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="BLAS/OpenMP threads for both frameworks")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="wall: time.perf_counter; cpu: time.process_time (use with --threads 1)")
    args = ap.parse_args(argv)
    if args.steps < 10:
        ap.error("--steps must be at least 10 (median of >= 10 steps)")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    minitorch.manual_seed(0)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    rows = bench(make_cases(torch, np.dtype(args.dtype)), args.warmup, args.steps, clock)
    print(f"# forward+backward, {args.dtype}, {args.clock} clock, median of {args.steps} steps after "
          f"{args.warmup} warm-up, "
          f"torch {torch.__version__} threads={torch.get_num_threads()}, numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    print(f"{'op':<24}{'minitorch ms':>14}{'torch ms':>12}{'ratio':>8}")
    for name, a, b in rows:
        print(f"{name:<24}{a:>14.3f}{b:>12.3f}{a / b:>8.2f}")
    total_mt, total_t = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total':<24}{total_mt:>14.3f}{total_t:>12.3f}{total_mt / total_t:>8.2f}")
    geo = math.exp(sum(math.log(a / b) for _, a, b in rows) / len(rows))
    print(f"ratio minitorch/torch: {geo:.2f}")


if __name__ == "__main__":
    main()
