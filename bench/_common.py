"""Pieces shared by the benchmark scripts in bench/ (each still runs as ``python bench/<name>.py``).

Import this before NumPy: ``threads_from_argv`` / ``set_threads_from_argv`` must act before NumPy loads
its BLAS (OpenBLAS fixes its thread count at load time), so this module imports NumPy only inside the
functions that need it. A script imports it as ``_common`` because Python puts the script's own
directory first on ``sys.path``.

* ``set_threads_from_argv``: ``--threads N`` / ``--threads=N`` -> OPENBLAS/OMP/MKL_NUM_THREADS;
* ``load_ids`` / ``batches``: TinyShakespeare character ids and (x, y) batches of next-character targets
  (random ids when the corpus is absent);
* ``host_state_dict``: a minitorch model's state_dict as NumPy arrays on the host (for torch to load);
* ``time_alternating`` / ``print_step_table``: the training-step timing loop of gpt.py and lstm.py (the
  frameworks take turns step by step) and its result table;
* ``reset_peak_rss`` / ``peak_rss_mib`` / ``current_rss_mib``: the peak-memory probes' readings (Linux
  /proc; ru_maxrss elsewhere);
* ``code_version`` / ``load_average``: the commit under test and the load average, for the reports.
"""
import os
import resource
import statistics
import time

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def threads_from_argv(argv):
    """The value of ``--threads N`` / ``--threads=N`` in ``argv`` (a string), or None; read before
    argparse runs, because it must act before NumPy is imported."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return None


def set_threads_from_argv(argv):
    """Set the BLAS/OpenMP thread variables from ``--threads`` in ``argv`` (if given); returns the value."""
    threads = threads_from_argv(argv)
    if threads:
        for var in THREAD_VARS:
            os.environ[var] = threads
    return threads


# ----------------------------------------------------------------------------- data
def load_ids():
    """TinyShakespeare as character ids (the 65-character vocabulary, ids in sorted-character order), or
    None when the corpus is absent. Looks in $MINITORCH_DATA, ../shared/data and data/."""
    import numpy as np

    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.environ.get("MINITORCH_DATA"), os.path.join(here, "..", "..", "shared", "data"),
              os.path.join(here, "..", "data")):
        path = d and os.path.join(d, "tinyshakespeare.txt")
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            _, ids = np.unique(codes, return_inverse=True)  # ids in sorted-character order
            return ids.astype(np.int64)
    return None


def batches(n, batch_size, block_size, vocab, seed=0):
    """``n`` (x, y) batches of shape (batch_size, block_size): random windows of the corpus with y the
    next characters; uniform random ids in [0, vocab) when the corpus is absent."""
    import numpy as np

    ids = load_ids()
    rng = np.random.default_rng(seed)
    b, t = batch_size, block_size
    out = []
    for _ in range(n):
        if ids is None:
            x = rng.integers(0, vocab, (b, t + 1))
        else:
            starts = rng.integers(0, len(ids) - t - 1, b)
            x = np.stack([ids[s:s + t + 1] for s in starts])
        out.append((x[:, :-1].copy(), x[:, 1:].copy()))
    return out


def host_state_dict(model):
    """A minitorch model's state_dict as host NumPy arrays (what torch's load_state_dict is given)."""
    from minitorch.backend import to_numpy

    return {k: to_numpy(v.data) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- timing
def time_alternating(steps, data, warmup):
    """Run every ``step(x, y) -> loss`` of ``steps`` ({framework: step}) on each batch of ``data`` in turn,
    so a change of load on a shared machine hits all alike. Returns (wall ms, process CPU ms, losses),
    each {framework: list}; the times leave out the first ``warmup`` batches, the losses keep them."""
    times = {name: [] for name in steps}
    cpu_times = {name: [] for name in steps}
    losses = {name: [] for name in steps}
    for i, (x, y) in enumerate(data):
        for name, step in steps.items():
            t0, c0 = time.perf_counter(), time.process_time()
            loss = step(x, y)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            losses[name].append(loss)
            if i >= warmup:
                times[name].append(dt * 1e3)
                cpu_times[name].append(dc * 1e3)
    return times, cpu_times, losses


def print_step_table(times, cpu_times, losses, mem):
    """Print one row per framework: median/min/max ms per step, median CPU ms, ``mem[name]`` = (peak RSS
    MiB, traced MiB), first/last loss. Returns the medians (wall, CPU), each {framework: ms}."""
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu_times.items()}
    print(f"{'framework':<10} {'ms/step':>9} {'min':>8} {'max':>8} {'CPU ms/step':>12} {'peak RSS MiB':>13} "
          f"{'traced MiB':>11} {'loss first/last':>17}")
    for k in times:
        print(f"{k:<10} {med[k]:9.1f} {min(times[k]):8.1f} {max(times[k]):8.1f} {cpu_med[k]:12.1f} {mem[k][0]:13.1f} "
              f"{mem[k][1]:11.1f} {losses[k][0]:8.4f}/{losses[k][-1]:.4f}")
    return med, cpu_med


# ----------------------------------------------------------------------------- memory probes
def _status_mib(field):
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def reset_peak_rss():
    """Make the kernel's peak-RSS counter (VmHWM) start again from the current RSS (Linux >= 4.0), so
    earlier peaks (imports, data loading) do not count. Returns whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib():
    """Peak RSS in MiB: VmHWM (resettable) where /proc has it, else ru_maxrss."""
    try:
        return _status_mib("VmHWM")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mib():
    return _status_mib("VmRSS")


def code_version():
    """The commit the minitorch under test comes from, and whether its files differ from it."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "minitorch"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if not head:
        return "unknown (not a git checkout)"
    return f"git {head}" + (f" with uncommitted changes in {len(dirty)} files under minitorch/" if dirty else
                            ", minitorch/ unmodified")


def load_average():
    """The 1, 5 and 15 minute load averages as text ('n/a' where the OS has none)."""
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"

# ----------------------------------------------------------------------------- torch twins
def torch_gpt(vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True, tie_weights=True):
    """nanoGPT's model in PyTorch, with nanoGPT's init and minitorch.models.GPT's state_dict keys."""
    import math

    import torch
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        def __init__(self, e, h, p, bias):
            super().__init__()
            self.h, self.p = h, p
            self.ln_1 = nn.LayerNorm(e, bias=bias)
            self.attn = nn.Module()
            self.attn.c_attn, self.attn.c_proj = nn.Linear(e, 3 * e, bias=bias), nn.Linear(e, e, bias=bias)
            self.ln_2 = nn.LayerNorm(e, bias=bias)
            self.mlp = nn.Module()
            self.mlp.c_fc, self.mlp.c_proj = nn.Linear(e, 4 * e, bias=bias), nn.Linear(4 * e, e, bias=bias)
            self.drop = nn.Dropout(p)

        def forward(self, x):
            b, t, e = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(e, dim=2)
            q, k, v = (z.view(b, t, self.h, e // self.h).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p if self.training else 0.0,
                                               is_causal=True)
            x = x + self.drop(self.attn.c_proj(y.transpose(1, 2).reshape(b, t, e)))
            return x + self.drop(self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            e = n_embd
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab_size, e), wpe=nn.Embedding(block_size, e), drop=nn.Dropout(dropout),
                h=nn.ModuleList([Block(e, n_head, dropout, bias) for _ in range(n_layer)]),
                ln_f=nn.LayerNorm(e, bias=bias)))
            self.lm_head = nn.Linear(e, vocab_size, bias=False)
            if tie_weights:
                self.lm_head.weight = self.transformer.wte.weight
            self.apply(self._init_weights)  # nanoGPT's init
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))

        @staticmethod
        def _init_weights(module):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

        def forward(self, idx):
            pos = torch.arange(idx.shape[1], device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))

    return GPT()
