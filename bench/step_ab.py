"""Benchmark: four changes to the training step, each measured against what it replaced, in turns.

    python bench/step_ab.py                                   # all four, one BLAS thread per process
    python bench/step_ab.py --out bench/results/step-ab-idle.txt

1. ``projected``: ``RecurrentLM``'s projected embedding (the table's V rows through W_ih, ``nn.RNNBase.
   input_projection``) against the plain path (every token's embedding through W_ih): one process, forward,
   loss and backward of the lstm preset on 6 rows (a data-parallel process's share of the batch of 12) and on 12.
2. ``sharded``: ``DataParallel.train_step`` (Adam's update and the gradient averaging sharded over 2 processes)
   against averaging in ``loss_and_grads``, ``clip_grad_norm_``, ``opt.step()`` and ``publish()`` in the main
   process: the whole data-parallel step of the lstm and baby-gpt presets (batch 12, clipping at 1).
3. ``tiled``: ``lstm_forward``'s W_hh^T blocks built by tiles (``_scaled_transposed_blocks``) against the
   whole transposing copy it replaced (the product w_hh.T * scale, then copies of its column blocks): the lstm
   kernel's forward on 6 rows, and the construction alone.
4. ``blocks``: the LSTM and GRU kernels' per-step products as they are (W_hh^T forward and W_hh backward in column
   blocks sized for OpenBLAS's small-matrix kernels, copied to cache-line-aligned buffers; see ``_SMALL_GEMM`` in
   minitorch/kernels/recurrent.py) against what they replaced (LSTM: forward blocks of 256 columns in NumPy's own
   allocations, backward a sum over 256-row blocks of W_hh read in place; GRU: one product each way; both copying
   W_hh^T in every forward, where the current code uses it in place for fewer than 4 steps): the forward and
   backward kernels on 1 (LSTM only), 6 and 12 rows, H 256, T 64, and on 1 row and 1 step (a generated token), with
   W_hh at a cache-line boundary (as in the data-parallel flat buffers) and 16 bytes past one (as NumPy may
   allocate it); then the current code with its buffers placed 16 bytes past a cache line, which shows how much of
   the difference is the alignment.

Each comparison first checks that its two sides compute the same (the projected and plain paths' losses, the
tiled and whole blocks; the sharded step's equality is in tests/test_parallel.py). The two sides of each
comparison alternate every step, in one process (one session of workers), so that a drift of the machine's speed
hits both; medians over ``--steps``. The load average is printed before and after: run it on an idle machine.
"""
import argparse
import os
import sys
import time

import _common  # bench/_common.py (the script's own folder is first on sys.path); import before NumPy

os.environ.update({v: "1" for v in _common.THREAD_VARS})


def _median_ms(values):
    import statistics

    return statistics.median(values) * 1e3


def _batch(rows, vocab=65, t=64, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, (rows, t)), rng.integers(0, vocab, (rows, t))


def projected(steps):
    import minitorch
    from minitorch.cli.parallel import _grad_loss
    from minitorch.models.registry import PRESETS, Config, build_model

    lines = []
    for rows in (6, 12):
        minitorch.manual_seed(0)
        model = build_model(Config(**PRESETS["lstm"]), 65)
        x, y = _batch(rows)
        times, losses = {True: [], False: []}, {}
        for i in range(steps + 10):
            for on in (False, True):
                if not on:
                    model._project_table = lambda idx: False
                t0 = time.perf_counter()
                losses[on] = _grad_loss(model, x, y)
                dt = time.perf_counter() - t0
                model.__dict__.pop("_project_table", None)
                if i >= 10:
                    times[on].append(dt)
        if abs(losses[True] - losses[False]) > 1e-5 * abs(losses[False]):  # the same model and batch: same loss
            raise SystemExit(f"bench/step_ab.py: the two paths disagree: loss {losses[True]} against {losses[False]}")
        plain, proj = _median_ms(times[False]), _median_ms(times[True])
        lines.append(f"projected  lstm, {rows:>2} rows, one process: plain {plain:6.2f} ms, projected {proj:6.2f} ms "
                     f"per step ({plain - proj:+.2f} ms)")
    return lines


def sharded(steps):
    import minitorch
    from minitorch.cli.parallel import DataParallel
    from minitorch.models.registry import PRESETS, Config, build_model, configure_optimizer
    from minitorch.optim import clip_grad_norm_

    lines = []
    for preset in ("lstm", "baby-gpt"):
        cfg = Config(**PRESETS[preset])
        minitorch.manual_seed(0)
        model = build_model(cfg, 65)
        opt = configure_optimizer(model, cfg)
        x, y = _batch(12)
        times = {True: [], False: []}
        with DataParallel(model, 2, seed=1) as dp:
            for i in range(2 * steps + 20):
                on = i % 2 == 1
                t0 = time.perf_counter()
                if on:
                    dp.train_step(x, y, opt, 1.0, seed=(1, i))
                else:
                    dp.loss_and_grads(x, y, seed=(1, i))
                    clip_grad_norm_(model.parameters(), 1.0)
                    opt.step()
                    dp.publish()
                if i >= 20:
                    times[on].append(time.perf_counter() - t0)
        main, shard = _median_ms(times[False]), _median_ms(times[True])
        lines.append(f"sharded    {preset}, batch 12, 2 processes: main-process update {main:6.2f} ms, sharded "
                     f"{shard:6.2f} ms per step ({main - shard:+.2f} ms)")
    return lines


def tiled(steps):
    import numpy as np

    from minitorch.kernels import recurrent as rk

    T, B, H = 64, 6, 256
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((T, B, 4 * H))).astype(np.float32)
    h0, c0 = (0.1 * rng.standard_normal((2, B, H))).astype(np.float32)
    w_hh, b_hh = (0.1 * rng.standard_normal((4 * H, H))).astype(np.float32), np.zeros(4 * H, np.float32)
    scale = np.full(4 * H, 0.5, np.float32)
    tiles = rk._scaled_transposed_blocks

    def whole(w, s, size=rk._STEP_BLOCK):  # what lstm_forward did before: the whole (H, 4H) product, then copies
        t = w.T * s                          # of its column blocks
        return [(slice(j, j + size), np.ascontiguousarray(t[:, j:j + size])) for j in range(0, t.shape[1], size)]

    for a, b in zip(whole(w_hh, scale), tiles(w_hh, scale)):
        if a[0] != b[0] or not np.array_equal(a[1], b[1]):
            raise SystemExit("bench/step_ab.py: the tiled W_hh^T blocks differ from the whole copy's")
    fwd, build = {True: [], False: []}, {True: [], False: []}
    try:
        for i in range(steps + 10):
            for on in (False, True):
                rk._scaled_transposed_blocks = tiles if on else whole
                t0 = time.perf_counter()
                rk.lstm_forward(x, h0, c0, None, w_hh, None, b_hh)
                t1 = time.perf_counter()
                rk._scaled_transposed_blocks(w_hh, scale)
                t2 = time.perf_counter()
                if i >= 10:
                    fwd[on].append(t1 - t0)
                    build[on].append(t2 - t1)
    finally:
        rk._scaled_transposed_blocks = tiles
    return [f"tiled      lstm_forward, {B} rows, T {T}, H {H}: whole copy {_median_ms(fwd[False]):6.2f} ms, tiles "
            f"{_median_ms(fwd[True]):6.2f} ms per forward; the blocks alone {_median_ms(build[False]):5.3f} against "
            f"{_median_ms(build[True]):5.3f} ms"]


def blocks(steps):
    import numpy as np

    from minitorch.backend import CACHE_LINE, empty_aligned
    from minitorch.kernels import recurrent as rk

    def off_line(shape, dtype, like=None):  # a buffer that starts 16 bytes past a cache line
        n, dtype = int(np.prod(shape)), np.dtype(dtype)
        skip = 16 // dtype.itemsize
        return empty_aligned((n + CACHE_LINE,), dtype, like=np.empty(0))[skip:skip + n].reshape(shape)

    def plain(shape, dtype, like=None):
        return np.empty(shape, dtype)

    # what each cell's kernels did before, as patches of the current code: the LSTM cut its products into 256
    # columns forward and a sum over 256-row blocks of W_hh backward (no block width: those cuts), in NumPy's own
    # allocations; the GRU ran one product each way (forward a block as wide as the product, backward W_hh where it
    # lies); both copied W_hh^T in every forward, for any number of steps
    always = lambda w, steps: True  # noqa: E731

    def in_place(w, out, tmp, steps):
        return lambda da: np.matmul(da, w, out=out)

    before = {"lstm": {"_block_width": lambda *a: None, "empty_aligned": plain, "_blocks_pay": always},
              "gru": {"_block_width": lambda rows, k, n, cap: n, "empty_aligned": plain, "_blocks_pay": always,
                      "_backward_step_product": in_place}}
    saved = {name: getattr(rk, name) for name in ("_block_width", "empty_aligned", "_blocks_pay",
                                                  "_backward_step_product")}
    H = 256
    lines = []
    try:
        for cell, rows, T in (("lstm", 1, 64), ("lstm", 6, 64), ("lstm", 12, 64), ("gru", 6, 64), ("gru", 12, 64),
                              ("lstm", 1, 1), ("gru", 1, 1)):
            sides = {"before": before[cell], "now": {}, "now, buffers off": {"empty_aligned": off_line}}
            G = 4 if cell == "lstm" else 3
            forward, backward = getattr(rk, f"{cell}_forward"), getattr(rk, f"{cell}_backward")
            rng = np.random.default_rng(rows)
            x = (0.1 * rng.standard_normal((T, rows, G * H))).astype(np.float32)
            states = [s for s in (0.1 * rng.standard_normal((2, rows, H))).astype(np.float32)][:G - 2]
            dout = rng.standard_normal((T, rows, H)).astype(np.float32)
            b = np.zeros(G * H, np.float32)
            w = (0.05 * rng.standard_normal((G * H, H))).astype(np.float32)
            placed = {"aligned": empty_aligned(w.shape, w.dtype, like=w), "16 bytes off": off_line(w.shape, w.dtype)}
            for w_hh in placed.values():
                w_hh[...] = w
            for where, w_hh in placed.items():
                times, results = {side: ([], []) for side in sides}, {}
                for i in range(steps + 5):
                    for side, patch in sides.items():
                        for name, fn in saved.items():
                            setattr(rk, name, patch.get(name, fn))
                        t0 = time.perf_counter()
                        outs, cache = forward(x, *states, None, w_hh, None, b)
                        t1 = time.perf_counter()
                        grads = backward(dout, *[np.zeros_like(s) for s in states], cache)
                        t2 = time.perf_counter()
                        if i >= 5:
                            times[side][0].append(t1 - t0)
                            times[side][1].append(t2 - t1)
                        results[side] = [a for a in (*outs, *grads) if a is not None]
                for side in sides:  # the same sums in other blocks: equal up to float32 rounding
                    for a, ref in zip(results[side], results["before"]):
                        if not np.allclose(a, ref, rtol=1e-4, atol=1e-5):
                            raise SystemExit(f"bench/step_ab.py: the {side!r} {cell} kernels disagree with 'before'")
                cells = ", ".join(f"{side} {_median_ms(f):6.3f} + {_median_ms(bw):6.3f}"
                                  for side, (f, bw) in times.items())
                lines.append(f"blocks     {cell} kernels, {rows:>2} rows, T {T:>2}, W_hh {where}: forward + backward "
                             f"ms: {cells}")
    finally:
        for name, fn in saved.items():
            setattr(rk, name, fn)
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(prog="python bench/step_ab.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=150, help="measured steps (or forwards) per side (default 150)")
    p.add_argument("--only", choices=("projected", "sharded", "tiled", "blocks"), nargs="+", default=None)
    p.add_argument("--out", default=None, help="also write the report to this file (refused if it exists)")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error(f"--steps must be at least 1, got {args.steps}")
    if args.out and os.path.exists(args.out):
        p.error(f"{args.out} exists: choose another --out")
    import platform

    import numpy as np

    import minitorch

    lines = [f"bench/step_ab.py: {args.steps} steps per side, in turns; 1 BLAS thread per process; numpy "
             f"{np.__version__}, {platform.python_version()}, {os.cpu_count()} CPUs; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; code: {_common.code_version()}",
             f"load average (1, 5, 15 min) before: {_common.load_average()}"]
    print("\n".join(lines), flush=True)
    for name, fn in (("projected", projected), ("sharded", sharded), ("tiled", tiled), ("blocks", blocks)):
        if args.only and name not in args.only:
            continue
        for line in fn(args.steps):
            print(line, flush=True)
            lines.append(line)
    lines.append(f"load average after: {_common.load_average()}")
    print(lines[-1])
    del minitorch
    if args.out:
        with open(args.out, "x", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
