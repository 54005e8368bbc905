"""How many BLAS threads should ``python -m minitorch.train`` use? Times training steps of the CLI's presets
with 1, 2, ... threads, each setting in its own process, in rounds (A B A B ...) so that load drift hits all.

    python bench/threads.py --presets baby-gpt lstm --threads 1 2 --steps 40 --rounds 3

Each child sets the thread count with threadpoolctl (what the CLI does), times ``--steps`` training steps of the
preset (after 3 warm-up steps) on random character ids (vocab 65) and prints the median ms/step. The load
average is printed before and after every child: on a shared machine, quote results only with it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def child(preset, threads, steps, overrides=(), warmup=3):
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from minitorch import backend
    from minitorch.data import RandomBatchSampler
    from minitorch.models.registry import PRESETS, Config, build_model, lm_loss
    from minitorch.optim import AdamW, clip_grad_norm_

    threadpool_limits(threads, user_api="blas")  # after NumPy has loaded its BLAS, as the CLI does
    blas = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
    if blas != [threads]:
        raise SystemExit(f"threadpoolctl did not set {threads} BLAS threads: {threadpool_info()}")

    cfg = Config(**{"preset": preset, **PRESETS[preset]})
    for kv in overrides:
        key, value = kv.split("=", 1)
        setattr(cfg, key.replace("-", "_"), type(getattr(cfg, key.replace("-", "_")))(value))
    backend.manual_seed(0)
    ids = np.random.default_rng(0).integers(0, 65, 200_000)
    batches = RandomBatchSampler(ids, cfg.block_size, cfg.batch_size, seed=0)
    model = build_model(cfg, 65)
    opt = AdamW(model.parameters(), lr=cfg.lr)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = lm_loss(model, *batches())
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times)}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["baby-gpt", "lstm"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override preset fields, e.g. --set n_embd=384 n_layer=6 block_size=256 batch_size=64")
    p.add_argument("--child", nargs=2, metavar=("PRESET", "THREADS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.steps, args.set)
        return
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}, overrides: {args.set or 'none'}")
    results = {}
    for r in range(args.rounds):
        for preset in args.presets:
            for t in args.threads:
                before = os.getloadavg()[0]
                cmd = [sys.executable, __file__, "--child", preset, str(t), "--steps", str(args.steps),
                       "--set", *args.set]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                ms = json.loads(out.strip().splitlines()[-1])["median_ms"]
                after = os.getloadavg()[0]
                results.setdefault((preset, t), []).append(ms)
                print(f"round {r}: {preset:<9} threads {t}: {ms:7.1f} ms/step  (load {before:.2f} -> {after:.2f})",
                      flush=True)
    print(f"\n{'preset':<10} {'threads':>7} {'median of rounds ms/step':>25}")
    for (preset, t), v in results.items():
        print(f"{preset:<10} {t:>7} {statistics.median(v):25.1f}")


if __name__ == "__main__":
    main()
