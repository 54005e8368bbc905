"""Benchmark: the GPT's causal multi-head attention kernel, A/B against another version of the kernel file.

    python bench/attention.py                                   # this tree's kernel alone, 1 thread
    git show 396b204:minitorch/kernels/attention.py > /tmp/attention_old.py
    python bench/attention.py --against /tmp/attention_old.py   # old vs new, alternating in one process
    python bench/attention.py --threads 2 --shape 12,4,64,32 --rounds 7 --calls 200

What is timed: ``qkv_attention_forward`` (the fused (B, T, 3E) projection -> merged heads (B, T, E), causal,
float32, no dropout: what ``QKVAttention`` runs in the baby-GPT) and ``qkv_attention_backward``, at
``--shape B,H,T,hd`` (default the baby-gpt preset's 12,4,64,32). ``--against FILE`` loads another
``kernels/attention.py`` next to this tree's (as ``minitorch.kernels._attention_against``, on this tree's
backend), checks that both give the same outputs and gradients to float32 rounding, and times the two in
alternating rounds (each round: ``--calls`` calls of each function of each version), so a change of load on a
shared machine hits both alike. Reported: the median and the minimum over rounds of the time per call, and the
load average. A diagnostic for kernel work; the headline numbers are bench/recipe.py's.
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  (must set the BLAS threads before NumPy loads)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _load_against(path):
    spec = importlib.util.spec_from_file_location("minitorch.kernels._attention_against", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases(modules, qkv, dout, n_head):
    cases = {}
    for name, mod in modules.items():
        _, cache = mod.qkv_attention_forward(qkv, n_head, is_causal=True)
        cases[f"{name} forward"] = lambda mod=mod: mod.qkv_attention_forward(qkv, n_head, is_causal=True)
        cases[f"{name} backward"] = lambda mod=mod, cache=cache: mod.qkv_attention_backward(dout, cache)
    return cases


def _check_agreement(modules, qkv, dout, n_head):
    import numpy as np

    results = []
    for mod in modules.values():
        out, cache = mod.qkv_attention_forward(qkv, n_head, is_causal=True)
        results.append((out, mod.qkv_attention_backward(dout, cache)[0]))
    for out, grad in results[1:]:
        np.testing.assert_allclose(out, results[0][0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-4, atol=1e-5)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    for var in _common.THREAD_VARS:  # before NumPy loads (in a fresh process): default 1 thread
        os.environ[var] = _common.threads_from_argv(argv) or "1"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", default=None, help="another kernels/attention.py to compare with")
    p.add_argument("--shape", default="12,4,64,32", help="B,H,T,hd (default: the baby-gpt preset)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=200, help="calls of each function per round")
    p.add_argument("--threads", default="1", help="BLAS threads (set before NumPy loads)")
    args = p.parse_args(argv)
    b, h, t, hd = (int(s) for s in args.shape.split(","))
    sys.path.insert(0, ROOT)
    import numpy as np

    from minitorch.kernels import attention

    modules = {"this": attention}
    if args.against:
        modules = {"against": _load_against(args.against), "this": attention}
    rng = np.random.default_rng(0)
    qkv = rng.standard_normal((b, t, 3 * h * hd)).astype(np.float32)
    dout = rng.standard_normal((b, t, h * hd)).astype(np.float32)
    _check_agreement(modules, qkv, dout, h)
    cases = _cases(modules, qkv, dout, h)
    times = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                fn()
            times[name].append((time.perf_counter() - start) / args.calls * 1e6)
    print(f"qkv attention, B={b} H={h} T={t} hd={hd}, causal, float32, {args.threads} BLAS thread(s); "
          f"{args.rounds} rounds x {args.calls} calls; us per call")
    for name, ts in times.items():
        print(f"  {name:18s} median {statistics.median(ts):8.1f}   min {min(ts):8.1f}")
    print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return times


if __name__ == "__main__":
    main()
