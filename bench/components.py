"""Benchmark: where the time of a baby-GPT / LSTM step goes, component by component, minitorch vs PyTorch.

    python bench/components.py                    # 1 thread, process CPU time, both frameworks
    python bench/components.py --only gelu,adamw  # some components
    python bench/components.py --out bench/results/components-1thread-<machine>.txt

A diagnostic, not a headline (that is bench/recipe.py): each framework runs in its own fresh
subprocess (one after the other, never interleaved), with ``--threads`` BLAS/OpenMP threads (default 1)
and ``--clock cpu`` (default): the CPU time the process used (``time.process_time``). With one thread
that is a single-core comparison which a machine shared with other jobs distorts far less than the
wall clock (it still shares caches and memory bandwidth: the load average is printed before and after
each phase). Each component is timed ``--repeat`` times after ``--warmup`` runs; the median is reported.

Components, at the baby-gpt preset's sizes (batch 12 x block 64, 128-d, 4 heads, 4 layers, vocab 65):
  gelu          F.gelu forward + backward on the MLP activation (12, 64, 512)
  layer_norm    F.layer_norm forward + backward, (12, 64, 128) with weight and bias
  attention     causal multi-head attention from the fused qkv (12, 64, 384) -> (12, 64, 128), forward +
                backward (minitorch: the model's QKVAttention node; torch: nanoGPT's split/view/SDPA)
  adamw         one AdamW step over the baby-GPT's parameters (decay / no-decay groups, random grads)
  gpt step      a whole training step: zero_grad, forward, cross-entropy, backward, clip to 1.0, AdamW
  gpt eval      one evaluation batch: eval mode, no_grad, forward + cross-entropy
  lstm step     the lstm preset's training step (Embedding 128 -> LSTM 256 -> Linear), as gpt step
  lstm eval     one lstm evaluation batch
Both frameworks get the same weights (torch loads minitorch's state_dict) and the same inputs.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  (sets no threads by itself; the parent passes them through the environment)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
COMPONENTS = ("gelu", "layer_norm", "attention", "adamw", "gpt step", "gpt eval", "lstm step", "lstm eval")
B, T, E, H, L, VOCAB = 12, 64, 128, 4, 4, 65


# ----------------------------------------------------------------------------- the cases (run in a child)
def _gpt_pair(torch):
    """(minitorch GPT, torch GPT) of the baby-gpt preset with the same weights."""
    import numpy as np

    import minitorch
    from minitorch.models import GPT

    minitorch.manual_seed(0)
    mt = GPT(VOCAB, T, L, H, E)
    th = _common.torch_gpt(VOCAB, T, L, H, E) if torch else None
    if torch:
        th.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in _common.host_state_dict(mt).items()})
    return mt, th


def _lstm_pair(torch):
    import numpy as np

    import minitorch
    from minitorch.models import RecurrentLM

    minitorch.manual_seed(0)
    mt = RecurrentLM(VOCAB, embedding_dim=128, hidden_size=256, num_layers=1, cell="lstm", dropout=0.0,
                     tie_weights=False)
    if not torch:
        return mt, None
    from torch import nn

    class TorchLM(nn.Module):  # bench/recipe.py's twin, at the lstm preset's sizes
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, 128)
            self.drop = nn.Dropout(0.0)
            self.rnn = nn.LSTM(128, 256, num_layers=1, batch_first=True)
            self.head = nn.Linear(256, VOCAB)

        def forward(self, idx):
            out, _ = self.rnn(self.drop(self.embedding(idx)))
            return self.head(self.drop(out))

    th = TorchLM()
    th.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in _common.host_state_dict(mt).items()})
    return mt, th


def _groups(params):
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.1},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def make_cases(framework, names):
    """{name: run()} for one framework; every run() does the whole component once."""
    import numpy as np

    rng = np.random.default_rng(0)
    data = _common.batches(4, B, T, VOCAB)
    f32 = np.float32
    if framework == "torch":
        import torch
        from torch.nn import functional as F

        def tensor(a, grad=False):
            return torch.tensor(a, requires_grad=grad)
        nograd, opt_cls, clip = torch.no_grad, torch.optim.AdamW, torch.nn.utils.clip_grad_norm_
    else:
        torch = None
        import minitorch
        from minitorch.nn import functional as F

        def tensor(a, grad=False):
            return minitorch.tensor(a, requires_grad=grad)
        nograd, opt_cls, clip = minitorch.no_grad, minitorch.optim.AdamW, minitorch.nn.utils.clip_grad_norm_
    cases = {}

    def fwd_bwd(fn, leaves, upstream):
        def run():
            for t in leaves:
                t.grad = None
            fn().backward(upstream)
        return run

    if "gelu" in names:
        x = tensor(rng.standard_normal((B, T, 4 * E)).astype(f32), True)
        g = tensor(rng.standard_normal((B, T, 4 * E)).astype(f32))
        cases["gelu"] = fwd_bwd(lambda x=x: F.gelu(x), (x,), g)
    if "layer_norm" in names:
        x = tensor(rng.standard_normal((B, T, E)).astype(f32), True)
        w = tensor((1 + 0.1 * rng.standard_normal(E)).astype(f32), True)
        b = tensor((0.1 * rng.standard_normal(E)).astype(f32), True)
        g = tensor(rng.standard_normal((B, T, E)).astype(f32))
        cases["layer_norm"] = fwd_bwd(lambda x=x: F.layer_norm(x, (E,), w, b), (x, w, b), g)
    if "attention" in names:
        qkv = tensor(rng.standard_normal((B, T, 3 * E)).astype(f32), True)
        g = tensor(rng.standard_normal((B, T, E)).astype(f32))
        if torch:
            def att():
                q, k, v = (z.view(B, T, H, E // H).transpose(1, 2) for z in qkv.split(E, dim=2))
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                return y.transpose(1, 2).reshape(B, T, E)
        else:
            from minitorch.autograd.functions.attention import QKVAttention

            def att():
                return QKVAttention.apply(qkv, n_head=H, is_causal=True)
        cases["attention"] = fwd_bwd(att, (qkv,), g)
    if "adamw" in names:
        model, th = _gpt_pair(torch)
        m = th if torch else model
        params = list(m.parameters())
        for p in params:
            p.grad = tensor(rng.standard_normal(tuple(p.shape)).astype(f32) * 1e-2)
        opt = opt_cls(_groups(params), lr=1e-3, betas=(0.9, 0.99))
        cases["adamw"] = opt.step
    for kind in ("gpt", "lstm"):
        if f"{kind} step" not in names and f"{kind} eval" not in names:
            continue
        model, th = (_gpt_pair if kind == "gpt" else _lstm_pair)(torch)
        m = th if torch else model
        params = list(m.parameters())
        opt = opt_cls(_groups(params) if kind == "gpt" else params, lr=1e-3, betas=(0.9, 0.99))
        batches = [(tensor(x), tensor(y)) for x, y in data]
        counter = [0]

        def loss_of(m=m, batches=batches, counter=counter):
            x, y = batches[counter[0] % len(batches)]
            counter[0] += 1
            logits = m(x)
            return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))

        def step(m=m, opt=opt, params=params, loss_of=loss_of):
            m.train()
            opt.zero_grad()
            loss = loss_of()
            loss.backward()
            clip(params, 1.0)
            opt.step()
            return loss.item()

        def evaluate(m=m, loss_of=loss_of):
            m.eval()
            with nograd():
                return loss_of().item()

        if f"{kind} step" in names:
            cases[f"{kind} step"] = step
        if f"{kind} eval" in names:
            cases[f"{kind} eval"] = evaluate
    return {k: cases[k] for k in names if k in cases}


def child(framework, names, repeat, warmup, clock):
    """Time every case; print one JSON line {name: median ms} (and peak RSS)."""
    if framework == "torch":
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    sys.path.insert(0, ROOT)
    timer = time.process_time if clock == "cpu" else time.perf_counter
    out = {}
    for name, run in make_cases(framework, names).items():
        for _ in range(warmup):
            run()
        times = []
        for _ in range(repeat):
            t0 = timer()
            run()
            times.append(timer() - t0)
        out[name] = 1e3 * statistics.median(times)
    out["_peak_rss_mib"] = _common.peak_rss_mib()
    if framework == "torch":
        import torch

        out["_version"] = torch.__version__
    else:
        import numpy as np

        out["_version"] = np.__version__
    print(json.dumps(out))


# ----------------------------------------------------------------------------- the parent
def _load():
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/components.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=",".join(COMPONENTS),
                   help="comma-separated components (default: all): " + ", ".join(COMPONENTS))
    p.add_argument("--repeat", type=int, default=30, help="timed runs per component (median reported)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads of both frameworks (default 1)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="cpu: process CPU time (default; use with --threads 1); wall: time.perf_counter")
    p.add_argument("--frameworks", default="minitorch,torch", help="which to run, in this order")
    p.add_argument("--out", default=None, help="also write the report to this file")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    bad = [n for n in names if n not in COMPONENTS]
    if bad:
        p.error(f"unknown component(s) {', '.join(bad)}; choose from: {', '.join(COMPONENTS)}")
    if args.repeat < 10:
        p.error("--repeat must be at least 10 (the median of >= 10 runs is reported)")
    if args.out and os.path.exists(args.out) and not args.force and not args.child:
        p.error(f"{args.out} exists: give --force to overwrite it, or another --out")
    if args.child:
        child(args.child, names, args.repeat, args.warmup, args.clock)
        return 0
    env = dict(os.environ, **{v: str(args.threads) for v in _common.THREAD_VARS})
    results, loads = {}, []
    frameworks = [f.strip() for f in args.frameworks.split(",")]
    for fw in frameworks:
        before = _load()
        cmd = [sys.executable, os.path.abspath(__file__), "--child", fw, "--only", ",".join(names),
               "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--clock", args.clock]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"bench/components.py: the {fw} run failed (exit {proc.returncode})")
        results[fw] = json.loads(proc.stdout.strip().splitlines()[-1])
        loads.append(f"{fw}: before {before}, after {_load()}")
    lines = [f"bench/components.py: median {args.clock} ms of {args.repeat} runs after {args.warmup} warm-up, "
             f"{args.threads} thread(s), each framework in its own process; "
             + ", ".join(f"{fw} {results[fw]['_version']}" for fw in frameworks)
             + f"; Python {platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             "load average (1, 5, 15 min): " + "; ".join(loads), "",
             f"{'component':<12}" + "".join(f"{fw + ' ms':>14}" for fw in frameworks)
             + (f"{'ratio':>8}" if len(frameworks) == 2 else "")]
    for n in names:
        row = f"{n:<12}" + "".join(f"{results[fw].get(n, float('nan')):14.3f}" for fw in frameworks)
        if len(frameworks) == 2:
            row += f"{results[frameworks[0]][n] / results[frameworks[1]][n]:8.2f}"
        lines.append(row)
    lines.append(f"{'peak RSS MiB':<12}" + "".join(f"{results[fw]['_peak_rss_mib']:14.1f}" for fw in frameworks))
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
