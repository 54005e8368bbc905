"""Benchmark: the tiled (flash) attention kernel against the plain one, and PyTorch's
F.scaled_dot_product_attention for reference: peak memory and time of forward and forward + backward as the
sequence grows.

    python bench/flash_attention.py                        # T = 64 ... 4096, causal and not, 1 thread
    python bench/flash_attention.py --T 64 256 1024 --steps 10 --causal yes
    python bench/flash_attention.py --threads 2

Shapes: q, k, v (B=1, H=4, T, d=64) float32, the heads of one GPT layer; tiles of 128 x 128
(``--block``). One "fwd+bwd" step is the forward, then the backward with a fixed random upstream gradient.
minitorch is called at the kernel level (``kernels/attention.py`` and ``kernels/flash_attention.py``: the
same work as ``F.scaled_dot_product_attention`` / ``F.flash_attention`` without the tape's small overhead).

How it is measured, in three phases (each framework in its own phase, the load average printed around each):
1. memory: ``tracemalloc`` (which sees NumPy's array allocations) records the peak of the memory allocated
   during one forward, and during one forward + backward (after one untraced warm-up call), over what the
   inputs already hold. The plain
   kernel's forward keeps its (T, T) weights for the backward, its backward allocates two more (T, T)
   arrays; the tiled kernel holds O(T * d) state and one (block, block) tile at a time.
2. minitorch time: after one warm-up call, the median wall time of ``--steps`` calls (at least 10) of the
   forward alone and of forward + backward, plain and tiled taking turns call by call (a change of load
   on a shared machine hits both alike).
3. torch time (skipped without torch): the same for ``torch.nn.functional.scaled_dot_product_attention``
   on the same inputs, with ``torch.set_num_threads(--threads)``.
The final line is the ratio tiled/plain of the fwd+bwd medians at the largest T, causal.
"""
import argparse
import os
import statistics
import sys
import time
import tracemalloc

from _common import load_average, set_threads_from_argv

if set_threads_from_argv(sys.argv) is None:  # before NumPy loads its BLAS; the default is 1 thread
    set_threads_from_argv(["--threads", "1"])

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minitorch.kernels import attention as A  # noqa: E402
from minitorch.kernels import flash_attention as FA  # noqa: E402

H, D = 4, 64


def inputs(t, seed=0):
    rng = np.random.default_rng(seed)
    q, k, v, dout = (rng.standard_normal((1, H, t, D)).astype(np.float32) for _ in range(4))
    return q, k, v, dout


def steps_for(kind, causal, block):
    """(forward(q, k, v), forward + backward(q, k, v, dout)) of one kernel."""
    if kind == "plain":
        def fwd(q, k, v):
            return A.scaled_dot_product_attention_forward(q, k, v, is_causal=causal)

        def both(q, k, v, dout):
            out, cache = fwd(q, k, v)
            return A.scaled_dot_product_attention_backward(dout, cache)
    else:
        def fwd(q, k, v):
            return FA.flash_attention_forward(q, k, v, is_causal=causal, block_q=block, block_k=block)

        def both(q, k, v, dout):
            out, cache = fwd(q, k, v)
            return FA.flash_attention_backward(dout, cache)
    return fwd, both


def peak_mib(fn, *args):
    """Peak MiB allocated during one call, after an untraced warm-up call (which fills the plain kernel's
    cached causal mask: a once-per-shape cost, not a per-call one)."""
    fn(*args)
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def median_ms(fns, args, steps):
    """{name: median ms} of the callables in ``fns``, taking turns call by call after one warm-up each."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn(*args)
    for _ in range(steps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(*args)
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--T", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048, 4096],
                   help="sequence lengths (default: 64 ... 4096)")
    p.add_argument("--steps", type=int, default=10, help="timed calls per measurement, median reported (>= 10)")
    p.add_argument("--block", type=int, default=128, help="tile size of the flash kernel (default 128)")
    p.add_argument("--causal", choices=["yes", "no", "both"], default="both", help="causal mask (default both)")
    p.add_argument("--threads", default="1", help="BLAS threads and torch threads (default 1)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch phase")
    args = p.parse_args(argv)
    if args.steps < 10:
        p.error("--steps must be at least 10 (medians over at least 10 calls)")
    causals = {"yes": [True], "no": [False], "both": [False, True]}[args.causal]
    print(f"# q, k, v (1, {H}, T, {D}) float32, tiles {args.block} x {args.block}, {args.threads} thread(s), "
          f"median of {args.steps} calls")

    print(f"\n## 1. peak memory allocated (tracemalloc, MiB)   load average before: {load_average()}")
    print(f"{'T':>5} {'causal':>6} | {'plain fwd':>10} {'plain f+b':>10} | {'flash fwd':>10} {'flash f+b':>10} |"
          f" {'(T,T) f32':>10} {'q (T,d)':>10}")
    mem = {}
    for t in args.T:
        q, k, v, dout = inputs(t)
        for causal in causals:
            row = {}
            for kind in ("plain", "flash"):
                fwd, both = steps_for(kind, causal, args.block)
                row[kind] = (peak_mib(fwd, q, k, v), peak_mib(both, q, k, v, dout))
            mem[t, causal] = row
            print(f"{t:>5} {str(causal):>6} | {row['plain'][0]:10.2f} {row['plain'][1]:10.2f} | "
                  f"{row['flash'][0]:10.3f} {row['flash'][1]:10.3f} | {H * t * t * 4 / 2 ** 20:10.2f} "
                  f"{H * t * D * 4 / 2 ** 20:10.3f}")
    print(f"load average after: {load_average()}")

    print(f"\n## 2. minitorch time (ms, median)   load average before: {load_average()}")
    print(f"{'T':>5} {'causal':>6} | {'plain fwd':>10} {'flash fwd':>10} {'ratio':>6} | {'plain f+b':>10} "
          f"{'flash f+b':>10} {'ratio':>6}")
    times = {}
    for t in args.T:
        q, k, v, dout = inputs(t)
        for causal in causals:
            pf, pb = steps_for("plain", causal, args.block)
            ff, fb = steps_for("flash", causal, args.block)
            fw = median_ms({"plain": pf, "flash": ff}, (q, k, v), args.steps)
            bw = median_ms({"plain": pb, "flash": fb}, (q, k, v, dout), args.steps)
            times[t, causal] = (fw, bw)
            print(f"{t:>5} {str(causal):>6} | {fw['plain']:10.2f} {fw['flash']:10.2f} "
                  f"{fw['flash'] / fw['plain']:6.2f} | {bw['plain']:10.2f} {bw['flash']:10.2f} "
                  f"{bw['flash'] / bw['plain']:6.2f}")
    print(f"load average after: {load_average()}")

    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
            print("\n## 3. torch: not installed, skipped")
        if torch is not None:
            torch.set_num_threads(int(args.threads))
            sdpa = torch.nn.functional.scaled_dot_product_attention
            print(f"\n## 3. torch {torch.__version__} F.scaled_dot_product_attention time (ms, median)   "
                  f"load average before: {load_average()}")
            print(f"{'T':>5} {'causal':>6} | {'fwd':>10} {'f+b':>10}")
            for t in args.T:
                q, k, v, dout = (torch.from_numpy(a) for a in inputs(t))
                for causal in causals:
                    def fwd(q, k, v, causal=causal):
                        with torch.no_grad():
                            return sdpa(q, k, v, is_causal=causal)

                    def both(q, k, v, dout, causal=causal):
                        q, k, v = (x.detach().requires_grad_() for x in (q, k, v))
                        sdpa(q, k, v, is_causal=causal).backward(dout)

                    fw = median_ms({"torch": fwd}, (q, k, v), args.steps)["torch"]
                    bw = median_ms({"torch": both}, (q, k, v, dout), args.steps)["torch"]
                    print(f"{t:>5} {str(causal):>6} | {fw:10.2f} {bw:10.2f}")
            print(f"load average after: {load_average()}")

    t_max, causal = max(args.T), causals[-1]
    fw, bw = times[t_max, causal]
    m = mem[t_max, causal]
    print(f"\nat T = {t_max} (causal {causal}): peak memory fwd+bwd plain {m['plain'][1]:.1f} MiB, flash "
          f"{m['flash'][1]:.2f} MiB")
    print(f"ratio flash/plain (fwd+bwd time, T = {t_max}, causal {causal}): {bw['flash'] / bw['plain']:.2f}")


if __name__ == "__main__":
    main()
