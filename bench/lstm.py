"""Benchmark: one training step of a character LSTM language model in minitorch vs PyTorch (CPU).

    python bench/lstm.py        # Embedding(65, 128) -> LSTM(128, 256, 1 layer) -> Linear(256, 65),
                                # batch 12, sequence 64, cross-entropy, AdamW (torch defaults)

How it is measured: both models are built in this process with identical weights (torch loads
minitorch's state_dict: the parameter names are the same) and train on the same batches of
TinyShakespeare characters (random ids when the corpus is absent). A diagnostic of the step on one
thread (``--threads 1``, the default and the only setting accepted: with more threads, steps taken in
turns make PyTorch's OpenMP pool spin against NumPy's BLAS threads; compare thread counts with
bench/recipe.py, where each framework runs in its own process). Steps alternate between the two
frameworks, so a change of load on a shared machine hits both alike (the load average is printed);
after ``--warmup`` steps each, the median wall time of ``--steps`` steps is reported (and the median
process CPU time, which a loaded machine disturbs less). A step is zero_grad + forward + loss +
backward + AdamW step. Peak memory: each framework runs 3 steps in a fresh subprocess and reports
its peak resident set size (VmHWM, reset after imports and data loading) minus the RSS at that
point (torch's optimizer imports torch._dynamo lazily; that is done before the baseline), i.e. the
memory that the model, optimizer, activations and gradients added. For minitorch a second
subprocess reports the peak of NumPy allocations seen by tracemalloc (NumPy reports its buffers to
tracemalloc, torch does not; it runs separately because tracemalloc's bookkeeping inflates the
RSS). The final line is the ratio of the medians.
"""
import argparse
import os
import subprocess
import sys

import _common as common  # bench/_common.py: shared by the bench scripts

# before NumPy loads its BLAS; 1 thread unless --threads says otherwise (see --threads below)
_THREADS = common.set_threads_from_argv(
    sys.argv if common.threads_from_argv(sys.argv) else [*sys.argv, "--threads", "1"])

import numpy as np  # noqa: E402 - after the thread settings above

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CONFIG = dict(vocab=65, embedding_dim=128, hidden_size=256, batch_size=12, block_size=64)


def char_lstm(nn):
    """The model at CONFIG's sizes, built from ``nn`` (``minitorch.nn`` or ``torch.nn``: same layers and
    parameter names, so one framework's state_dict loads into the other)."""

    class CharLSTM(nn.Module):
        def __init__(self, vocab, emb, hidden):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb)
            self.lstm = nn.LSTM(emb, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx):
            out, _ = self.lstm(self.embedding(idx))
            return self.head(out)

    return CharLSTM(CONFIG["vocab"], CONFIG["embedding_dim"], CONFIG["hidden_size"])


# ----------------------------------------------------------------------------- minitorch
def minitorch_setup():
    import minitorch
    from minitorch import nn
    from minitorch.nn import functional as F

    minitorch.manual_seed(0)
    model = char_lstm(nn)
    opt = minitorch.optim.AdamW(model.parameters())
    V = CONFIG["vocab"]

    def step(x, y):
        opt.zero_grad()
        logits = model(minitorch.tensor(x))
        loss = F.cross_entropy(logits.reshape(-1, V), minitorch.tensor(y.reshape(-1)))
        loss.backward()
        opt.step()
        return loss.item()

    return model, step


# ----------------------------------------------------------------------------- torch
def torch_setup(state_dict):
    import torch
    from torch import nn
    from torch.nn import functional as F

    model = char_lstm(nn)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state_dict.items()})
    opt = torch.optim.AdamW(model.parameters())
    V = CONFIG["vocab"]

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        logits = model(torch.from_numpy(x))
        loss = F.cross_entropy(logits.view(-1, V), torch.from_numpy(y).view(-1))
        loss.backward()
        opt.step()
        return loss.item()

    return model, step


# ----------------------------------------------------------------------------- memory probe (subprocess)
def memory_probe(which, traced, n_steps=3):
    """Run a few training steps of one framework; print the RSS growth (MiB) and, with ``traced``,
    the tracemalloc peak (MiB) instead (tracemalloc's own bookkeeping would inflate the RSS)."""
    import tracemalloc

    data = common.batches(n_steps, CONFIG["batch_size"], CONFIG["block_size"], CONFIG["vocab"])
    import minitorch  # noqa: F401 - imports counted in the baseline

    if which == "torch":
        import torch

        if _THREADS is not None:
            torch.set_num_threads(int(_THREADS))
        torch.optim.AdamW([torch.zeros(1, requires_grad=True)])  # its lazy imports (torch._dynamo) go in the baseline
    common.reset_peak_rss()
    base = common.current_rss_mib()
    if traced:
        tracemalloc.start()
    model, step = minitorch_setup()
    if which == "torch":
        sd = common.host_state_dict(model)
        del model, step
        model, step = torch_setup(sd)
    for x, y in data:
        step(x, y)
    if traced:
        print(f"{tracemalloc.get_traced_memory()[1] / 2 ** 20:.1f}")
    else:
        print(f"{common.peak_rss_mib() - base:.1f}")


def measure_memory(which):
    """(peak RSS growth, tracemalloc peak) in MiB, each from its own fresh subprocess; tracemalloc sees
    NumPy's buffers but not torch's, so it is measured for minitorch only."""
    results = []
    for traced in ((False, True) if which == "minitorch" else (False,)):
        cmd = [sys.executable, os.path.abspath(__file__), "--memory-probe", which]
        cmd += (["--traced"] if traced else []) + ([] if _THREADS is None else ["--threads", _THREADS])
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        results.append(float("nan") if out.returncode else float(out.stdout.split()[-1]))
    return results[0], (results[1] if len(results) > 1 else float("nan"))


# ----------------------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20, help="timed steps per framework (median reported)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP threads of both frameworks: 1 (default), the only setting where steps taken in "
                        "turns in one process compare fairly; compare thread counts with bench/recipe.py")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--memory-probe", choices=("minitorch", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 10:
        p.error("--steps must be at least 10 (the median of >= 10 steps is reported)")
    if args.threads < 1:
        p.error(f"--threads must be positive, got {args.threads}")
    if args.threads > 1:
        p.error(f"--threads {args.threads}: the frameworks take turns step by step in one process, where more than "
                "one thread makes PyTorch's OpenMP pool spin against NumPy's BLAS threads and the ratio means "
                "nothing; compare thread counts with bench/recipe.py --threads N (each framework in its own process)")
    if args.memory_probe:
        memory_probe(args.memory_probe, args.traced)
        return 0
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    data = common.batches(args.warmup + args.steps, CONFIG["batch_size"], CONFIG["block_size"], CONFIG["vocab"])
    mt_model, mt_step = minitorch_setup()
    _, th_step = torch_setup(common.host_state_dict(mt_model))
    load_before = common.load_average()
    times, cpu_times, losses = common.time_alternating({"minitorch": mt_step, "torch": th_step}, data, args.warmup)
    load_after = common.load_average()
    mem = {k: (float("nan"), float("nan")) for k in times} if args.no_memory else \
        {k: measure_memory(k) for k in times}
    n_params = mt_model.num_parameters()
    print(f"char-LSTM training step, cpu: Embedding({CONFIG['vocab']}, {CONFIG['embedding_dim']}) -> "
          f"LSTM({CONFIG['embedding_dim']}, {CONFIG['hidden_size']}) -> Linear({CONFIG['hidden_size']}, "
          f"{CONFIG['vocab']}), batch={CONFIG['batch_size']} seq={CONFIG['block_size']}, AdamW; "
          f"{n_params:,} parameters; torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__} (BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}); "
          f"median of {args.steps} steps after {args.warmup} warm-up")
    med, cpu_med = common.print_step_table(times, cpu_times, losses, mem)
    print(f"load average (1, 5, 15 min) before the timed steps: {load_before}; after: {load_after}")
    print(f"(a diagnostic of the step with {args.threads} thread; bench/recipe.py is the benchmark of record)")
    print(f"ratio minitorch/torch: {med['minitorch'] / med['torch']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
