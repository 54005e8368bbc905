"""Benchmark: the autograd layer's overhead (Tensor / Function.apply / engine) on an MLP training step,
minitorch vs PyTorch (CPU), through the public Tensor API.

    python bench/autograd.py                       # tiny and small MLPs, wall clock
    python bench/autograd.py --threads 1 --clock cpu   # one BLAS thread, process CPU time (loaded machines)
    python bench/autograd.py --profile             # cProfile of the tiny minitorch step (top 20 by own time)

The step: 3-layer MLP (Linear -> ReLU -> Linear -> tanh -> Linear), log-softmax by logsumexp, NLL via gather,
mean, backward, SGD update under no_grad -- 17 recorded ops and 6 parameter updates, written with Tensor
operators only (no fused kernels), so the "tiny" size (batch 4, width 8) measures almost pure framework
overhead and "small" (batch 32, width 128) a typical mix. Both frameworks get the same weights and inputs;
they alternate step by step (a change of load hits both alike); after --warmup steps each, the median of
--steps steps is reported, with the ratio minitorch/torch and the time per recorded op for minitorch.
"""
import argparse
import os
import statistics
import sys
import time

from _common import set_threads_from_argv

set_threads_from_argv(sys.argv)  # before NumPy loads its BLAS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minitorch  # noqa: E402

SIZES = {"tiny": (4, 8, 8, 4), "small": (32, 64, 128, 10)}  # batch, in, hidden, classes


def make_step(lib, arrays, requires_grad):
    """A training step of ``lib`` (minitorch or torch) on copies of ``arrays``; returns (step, n_params)."""
    w1, b1, w2, b2, w3, b3, x, y = arrays
    params = [requires_grad(lib.tensor(a.copy())) for a in (w1, b1, w2, b2, w3, b3)]
    xt, yt = lib.tensor(x.copy()), lib.tensor(y.copy())

    def forward():
        p1, q1, p2, q2, p3, q3 = params
        h = (xt @ p1 + q1).relu()
        h = (h @ p2 + q2).tanh()
        logits = h @ p3 + q3
        logp = logits - logits.logsumexp(-1, keepdim=True)
        return -logp.gather(1, yt.unsqueeze(1)).mean()

    def step():
        loss = forward()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.01 * p.grad
        return loss

    step.forward = forward
    return step


def bench_size(torch, name, steps, warmup, clock):
    b, d, h, c = SIZES[name]
    r = np.random.default_rng(0)
    arrays = [r.standard_normal(s).astype(np.float32) * 0.1 for s in ((d, h), (h,), (h, h), (h,), (h, c), (c,))]
    arrays += [r.standard_normal((b, d)).astype(np.float32), r.integers(0, c, b)]
    ours = make_step(minitorch, arrays, lambda t: t.requires_grad_())
    theirs = make_step(torch, arrays, lambda t: t.requires_grad_())
    l1, l2 = ours(), theirs()
    assert abs(l1.item() - l2.item()) < 1e-5, f"losses differ: {l1.item()} vs {l2.item()}"
    n_ops = len(minitorch.autograd.engine.topological_sort(ours.forward().grad_fn))  # before backward frees it
    times = {"minitorch": [], "torch": []}
    for i in range(warmup + steps):
        for label, fn in (("minitorch", ours), ("torch", theirs)):
            t0 = clock()
            fn()
            if i >= warmup:
                times[label].append(clock() - t0)
    return {k: statistics.median(v) for k, v in times.items()}, n_ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", default=None, help="BLAS threads (and torch.set_num_threads)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(int(args.threads))
    if args.profile:
        import cProfile
        import pstats

        b, d, h, c = SIZES["tiny"]
        r = np.random.default_rng(0)
        arrays = [r.standard_normal(s).astype(np.float32) for s in ((d, h), (h,), (h, h), (h,), (h, c), (c,), (b, d))]
        step = make_step(minitorch, arrays + [r.integers(0, c, b)], lambda t: t.requires_grad_())
        prof = cProfile.Profile()
        prof.runcall(lambda: [step() for _ in range(300)])
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"MLP training step, float32, median of {args.steps} steps ({args.clock} clock, "
          f"threads={args.threads or 'default'})")
    print(f"{'size':<8}{'shape (B, in, hidden, classes)':<34}{'minitorch':>12}{'torch':>12}{'ratio':>8}{'us/op':>8}")
    ratios = []
    for name in SIZES:
        med, n_ops = bench_size(torch, name, args.steps, args.warmup, clock)
        ratio = med["minitorch"] / med["torch"]
        ratios.append(ratio)
        per_op = med["minitorch"] / n_ops * 1e6  # one recorded op: forward, backward, its share of the rest
        print(f"{name:<8}{str(SIZES[name]):<34}{med['minitorch'] * 1e6:>10.0f}us{med['torch'] * 1e6:>10.0f}us"
              f"{ratio:>8.2f}{per_op:>8.1f}")
    print(f"ratio minitorch/torch: {ratios[-1]:.2f}")


if __name__ == "__main__":
    main()
