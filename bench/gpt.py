"""Benchmark: one GPT training step (forward, cross-entropy, backward, AdamW) in minitorch vs PyTorch.

    python bench/gpt.py                 # "baby GPT" on the CPU: vocab 65, 4 layers, 4 heads, 128-d,
                                        # block 64, batch 12, dropout 0, tied head, AdamW
    python bench/gpt.py --device cuda   # nanoGPT's GPU config (6 layers, 6 heads, 384-d, block 256,
                                        # batch 64, dropout 0.2); needs CuPy and a CUDA GPU

How it is measured: both models are built in this process with identical weights (torch loads
minitorch's state_dict) and train on the same batches of TinyShakespeare characters (random ids
when the corpus is absent). A diagnostic of the step on one thread (``--threads 1``, the default and, on
the CPU, the only setting accepted: with more threads, steps taken in turns make PyTorch's OpenMP pool spin
against NumPy's BLAS threads; compare thread counts with bench/recipe.py, where each framework runs in its
own process). Steps alternate between the two frameworks, so a change of load on a shared machine hits
both alike, and the load average is printed; after ``--warmup`` steps each, the median wall time of ``--steps``
steps is reported (and the median CPU time the process used per step, which a busy machine
distorts less than wall time). A step is zero_grad + forward + loss + backward + optimizer step (on the GPU,
synchronised before the clock is read). Peak memory: each framework runs a few steps in a fresh
subprocess, which resets the kernel's peak-RSS counter after its imports and reports peak RSS
(VmHWM) minus the RSS at that point, i.e. the memory the model, optimizer, activations and
gradients added; for minitorch also the peak of
NumPy/CuPy allocations seen by tracemalloc (CPU only). The final line is the ratio of the medians.
"""
import argparse
import os
import subprocess
import sys

import _common as common  # bench/_common.py: shared by the bench scripts

# before NumPy loads its BLAS; 1 thread unless --threads says otherwise (see --threads below)
_THREADS = common.set_threads_from_argv(
    sys.argv if common.threads_from_argv(sys.argv) else [*sys.argv, "--threads", "1"])

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

CONFIGS = {
    "cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0),
    "cuda": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, dropout=0.2),
}
VOCAB = 65
OPTIM = dict(lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)


# ----------------------------------------------------------------------------- minitorch
def minitorch_setup(cfg, device):
    import minitorch
    from minitorch.models import GPT
    from minitorch.nn import functional as F

    minitorch.manual_seed(0)
    model = GPT(VOCAB, cfg["block_size"], cfg["n_layer"], cfg["n_head"], cfg["n_embd"], dropout=cfg["dropout"],
                tie_weights=True)
    if device == "cuda":
        model.to("cuda")
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = minitorch.optim.AdamW([{"params": decay, "weight_decay": OPTIM["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=OPTIM["lr"], betas=OPTIM["betas"])

    if device == "cuda":
        import cupy

        sync = cupy.cuda.get_current_stream().synchronize
    else:
        def sync():
            return None

    def step(x, y):
        opt.zero_grad()
        logits = model(minitorch.tensor(x, device=device))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), minitorch.tensor(y.reshape(-1), device=device))
        loss.backward()
        opt.step()
        sync()
        return loss.item()

    return model, step


# ----------------------------------------------------------------------------- torch (nanoGPT's model)
def torch_setup(cfg, device, state_dict):
    import torch
    from torch.nn import functional as F

    model = common.torch_gpt(VOCAB, cfg["block_size"], cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["dropout"])
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state_dict.items()})
    model.to(device)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPTIM["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=OPTIM["lr"], betas=OPTIM["betas"])
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        logits = model(torch.from_numpy(x).to(device))
        loss = F.cross_entropy(logits.view(-1, VOCAB), torch.from_numpy(y).to(device).view(-1))
        loss.backward()
        opt.step()
        sync()
        return loss.item()

    return model, step


# ----------------------------------------------------------------------------- memory probe (subprocess)
def memory_probe(which, device, n_steps=3):
    import tracemalloc

    cfg = CONFIGS[device]
    data = common.batches(n_steps, cfg["batch_size"], cfg["block_size"], VOCAB)
    import minitorch  # noqa: F401 - imports counted in the baseline

    if which == "torch":
        import torch  # noqa: F401
    common.reset_peak_rss()
    base = common.current_rss_mib()
    if device == "cpu" and which == "minitorch":
        tracemalloc.start()
    model, step = minitorch_setup(cfg, device)
    if which == "torch":
        sd = common.host_state_dict(model)
        del model, step
        model, step = torch_setup(cfg, device, sd)
    for x, y in data:
        step(x, y)
    traced = tracemalloc.get_traced_memory()[1] / 2 ** 20 if tracemalloc.is_tracing() else float("nan")
    print(f"{common.peak_rss_mib() - base:.1f} {traced:.1f}")


def measure_memory(which, device):
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-probe", which, "--device", device]
    out = subprocess.run(cmd + (["--threads", _THREADS] if _THREADS else []),
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        return float("nan"), float("nan")
    rss, traced = out.stdout.split()[-2:]
    return float(rss), float(traced)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--steps", type=int, default=20, help="timed steps per framework (median reported)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP threads of both frameworks: 1 (default), the only setting where steps taken in "
                        "turns in one process compare fairly; compare thread counts with bench/recipe.py")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--memory-probe", choices=("minitorch", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 10:
        p.error("--steps must be at least 10 (the median of >= 10 steps is reported)")
    if args.threads < 1:
        p.error(f"--threads must be positive, got {args.threads}")
    if args.threads > 1 and args.device == "cpu":
        p.error(f"--threads {args.threads}: the frameworks take turns step by step in one process, where more than "
                "one thread makes PyTorch's OpenMP pool spin against NumPy's BLAS threads and the ratio means "
                "nothing; compare thread counts with bench/recipe.py --threads N (each framework in its own process)")
    import minitorch

    if args.device == "cuda" and not minitorch.cupy_available():
        print("bench/gpt.py --device cuda: no usable CUDA GPU with CuPy on this machine; nothing was measured. "
              "Install CuPy (pip install minitorch-course[gpu]) on a machine with an NVIDIA GPU, or run "
              "without --device for the CPU benchmark.", file=sys.stderr)
        return 2
    if args.memory_probe:
        memory_probe(args.memory_probe, args.device)
        return 0
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch_device = args.device
    if args.device == "cuda" and not torch.cuda.is_available():
        print("note: this torch build has no CUDA; PyTorch runs on the CPU for the comparison", file=sys.stderr)
        torch_device = "cpu"
    cfg = CONFIGS[args.device]
    data = common.batches(args.warmup + args.steps, cfg["batch_size"], cfg["block_size"], VOCAB)
    mt_model, mt_step = minitorch_setup(cfg, args.device)
    _, th_step = torch_setup(cfg, torch_device, common.host_state_dict(mt_model))
    load_before = common.load_average()
    times, cpu_times, losses = common.time_alternating({"minitorch": mt_step, "torch": th_step}, data, args.warmup)
    load_after = common.load_average()
    mem = {k: (float("nan"), float("nan")) for k in times} if args.no_memory else \
        {k: measure_memory(k, args.device if k == "minitorch" else torch_device) for k in times}
    n_params = mt_model.num_parameters()
    print(f"GPT training step, {args.device}: n_layer={cfg['n_layer']} n_head={cfg['n_head']} n_embd={cfg['n_embd']} "
          f"block={cfg['block_size']} batch={cfg['batch_size']} dropout={cfg['dropout']} vocab={VOCAB} tied head, "
          f"AdamW; {n_params:,} parameters; torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"numpy {np.__version__}; median of {args.steps} steps after {args.warmup} warm-up")
    med, cpu = common.print_step_table(times, cpu_times, losses, mem)
    print(f"(CPU time of this process per step, all threads; its ratio: {cpu['minitorch'] / cpu['torch']:.2f})")
    print(f"load average (1, 5, 15 min) before the timed steps: {load_before}; after: {load_after}")
    print(f"(a diagnostic of the step with {args.threads} thread; bench/recipe.py is the benchmark of record)")
    print(f"ratio minitorch/torch: {med['minitorch'] / med['torch']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
