"""Plots (matplotlib): loss curves from training CSV logs, attention heatmaps, gradient flow; drawings of the
computation graph (Graphviz).

    python -m minitorch.viz loss runs/lstm/log.csv runs/baby-gpt/log.csv -o cmp.png
    python -m minitorch.viz attention --checkpoint runs/baby-gpt/best.ckpt --prompt "ROMEO:" -o attn.png
    python -m minitorch.viz graph --checkpoint runs/baby-gpt/best.ckpt --depth 1 -o graph.svg
    python -m minitorch.viz grads runs/*/grads.csv -o grads.png   (runs trained with --log-grads N)
"""
import argparse
import csv
import glob
import os
import sys

import numpy as np

from ._cli import Parser, UsageError, run_main
from .graphviz_draw import draw_graph, record_scopes, save_graph  # noqa: F401 - minitorch.viz.draw_graph


def _pyplot():
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as err:
        raise ImportError("plots need matplotlib: pip install \"minitorch-course[plot]\"") from err
    return plt


def read_log(path):
    """Columns of a training log.csv as float arrays (empty cells become NaN)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no training log at {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "step" not in rows[0]:
        raise ValueError(f"{path} is not a minitorch training log (expected a 'step' column)")
    cols = {}
    for key in rows[0]:
        cols[key] = np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows])
    return cols


def plot_loss(csv_paths, out_path, labels=None, title="Loss"):
    """Train (thin) and validation (thick, markers) loss against step, one colour per run."""
    plt = _pyplot()
    labels = labels or [os.path.basename(os.path.dirname(os.path.abspath(p))) or p for p in csv_paths]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for i, (path, label) in enumerate(zip(csv_paths, labels)):
        cols = read_log(path)
        color = f"C{i}"
        step = cols["step"]
        tr = cols.get("train_loss")
        va = cols.get("val_loss")
        if tr is not None:
            ok = ~np.isnan(tr)
            ax.plot(step[ok], tr[ok], color=color, alpha=0.45, lw=1, label=f"{label} train")
        if va is not None and (~np.isnan(va)).any():
            ok = ~np.isnan(va)
            ax.plot(step[ok], va[ok], color=color, lw=2, marker="o", ms=3, label=f"{label} val")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path)
    plt.close(fig)
    return out_path


def plot_attention(weights, tokens, out_path, title="attention"):
    """Heatmaps of attention weights (layers, heads, T, T) with token labels on both axes.
    Masked (future) positions show as blank: they are exactly 0 under a causal mask."""
    plt = _pyplot()
    w = np.asarray(weights)
    if w.ndim == 2:
        w = w[None, None]
    elif w.ndim == 3:
        w = w[None]
    n_layer, n_head, t, _ = w.shape
    fig, axes = plt.subplots(n_layer, n_head, figsize=(2.4 * n_head + 1, 2.4 * n_layer + 0.6), dpi=110,
                             squeeze=False)
    labels = ["␣" if s == " " else repr(s)[1:-1] for s in tokens]
    for li in range(n_layer):
        for hi in range(n_head):
            ax = axes[li][hi]
            m = np.ma.masked_where(np.triu(np.ones((t, t), bool), 1) & (w[li, hi] == 0), w[li, hi])
            ax.imshow(m, cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(t))
            ax.set_yticks(range(t))
            ax.set_xticklabels(labels, fontsize=6, rotation=90)
            ax.set_yticklabels(labels, fontsize=6)
            ax.set_title(f"layer {li} head {hi}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path)
    plt.close(fig)
    return out_path


def build_parser():
    p = Parser("viz", description=__doc__)
    p.add_debug()
    sub = p.add_subparsers(dest="cmd", required=True, metavar="{loss,attention,graph,grads}",
                           parser_class=argparse_parser(p))
    pl = sub.add_parser("loss", help="loss curves from one or more log.csv files",
                        description="Train (thin) and validation (thick) loss of each run against step.")
    pl.add_argument("logs", nargs="+", metavar="LOG_CSV", help="log.csv files written by python -m minitorch.train")
    pl.add_argument("-o", "--out", default="loss.png", help="the image to write (default: loss.png)")
    pl.add_argument("--labels", nargs="*", help="one legend label per log (default: each log's folder name)")
    pl.add_debug()
    pa = sub.add_parser("attention", help="attention heatmaps of a GPT checkpoint on a prompt",
                        description="One heatmap per layer and head of a GPT checkpoint's attention on a prompt.")
    pa.add_argument("--checkpoint", required=True, help="a GPT .ckpt written by python -m minitorch.train (required)")
    pa.add_argument("--prompt", required=True, help="the text to attend over, in the model's vocabulary (required)")
    pa.add_argument("-o", "--out", default="attention.png", help="the image to write (default: attention.png)")
    pa.add_debug()
    pg = sub.add_parser("graph", help="the computation graph of one training step of a checkpoint's model",
                        description="Draws the tape of one training step (forward, loss, backward) of a checkpoint's\n"
                                    "model on a random batch: ops, parameters with their gradient norms. Needs the\n"
                                    "graphviz package and Graphviz's dot program (not for a .gv file).")
    pg.add_argument("--checkpoint", required=True, help="a .ckpt written by python -m minitorch.train (required)")
    pg.add_argument("-o", "--out", default="graph.svg",
                    help="the drawing: .svg, .png, .pdf, or .gv for the Graphviz source (default: graph.svg)")
    pg.add_argument("--depth", type=_nonnegative, default=None, metavar="N",
                    help="draw each module called more than N levels deep as one box, 0 = one box per module the "
                         "model calls (default: every op, collapsed as needed to fit --max-nodes)")
    pg.add_argument("--max-nodes", type=_at_least_2, default=200, metavar="N",
                    help="the most nodes to draw; beyond it modules are collapsed, then the nodes furthest from the "
                         "loss are left out, and the title says so (default: 200)")
    pg.add_argument("--batch-size", type=_at_least_1, default=1, metavar="N",
                    help="sequences in the batch (default: 1)")
    pg.add_argument("--seq-len", type=_at_least_1, default=8, metavar="N",
                    help="tokens per sequence, at most the model's context (default: 8)")
    pg.add_argument("--no-grads", action="store_true", help="draw the forward only, without gradient norms")
    pg.add_debug()
    pr = sub.add_parser("grads", help="gradient flow: per-layer gradient norms and update ratios over training",
                        description="Gradient norm and update-to-weight ratio of each parameter against step, from\n"
                                    "the grads.csv that python -m minitorch.train --log-grads N writes.")
    pr.add_argument("logs", nargs="+", metavar="GRADS_CSV", help="grads.csv files written by train --log-grads")
    pr.add_argument("-o", "--out", default="grads.png", help="the image to write (default: grads.png)")
    pr.add_argument("--labels", nargs="*", help="one title per file (default: each file's folder name)")
    pr.add_debug()
    return p


def _int_at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


_nonnegative, _at_least_1, _at_least_2 = _int_at_least(0), _int_at_least(1), _int_at_least(2)


def argparse_parser(parent):
    """Subcommand parsers with the same one-line errors as ``parent``."""
    class Sub(Parser):
        def __init__(self, **kwargs):
            super().__init__(parent.tool, **kwargs)

    return Sub


def _expand_wildcards(paths):
    """``runs/*/log.csv`` as given: bash expands it, cmd.exe and PowerShell pass it on as is, so a
    wildcard that is not an existing file's name is expanded here (sorted); one matching nothing is an error."""
    out = []
    for p in paths:
        if any(c in p for c in "*?[") and not os.path.exists(p):
            hits = sorted(glob.glob(p))
            if not hits:
                raise UsageError(f"{p}: no file matches this pattern", "check the folder names, e.g. runs/*/log.csv")
            out += hits
        else:
            out.append(p)
    return out


def _run(argv):
    args = build_parser().parse_args(argv)
    if getattr(args, "logs", None):
        args.logs = _expand_wildcards(args.logs)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"-o {args.out}: the folder {out_dir} does not exist", "create it or choose another path")
    if args.cmd == "graph":
        out, note = _graph_command(args)
        if note:
            print(f"minitorch.viz: {note}", file=sys.stderr)
        print(out, file=sys.stderr)
        return out
    try:
        _pyplot()
    except ImportError as err:
        raise UsageError("plots need matplotlib, which is not installed",
                         "pip install matplotlib, or pip install \"minitorch-course[plot]\"") from err
    if args.cmd == "grads":
        from .gradflow import plot_grads, read_grads  # noqa: PLC0415

        labels = args.labels
        if labels and len(labels) != len(args.logs):
            raise UsageError(f"--labels: got {len(labels)} labels for {len(args.logs)} files",
                             "give one per file, or none")
        for path in args.logs:
            if os.path.isdir(path):
                inside = os.path.join(path, "grads.csv")
                raise UsageError(f"{path} is a directory", f"give {inside}" if os.path.isfile(inside) else
                                 "give a grads.csv written by python -m minitorch.train --log-grads N")
            if not os.path.isfile(path):
                raise UsageError(f"{path}: no such file",
                                 "give a grads.csv written by python -m minitorch.train --log-grads N")
            try:
                read_grads(path)
            except (ValueError, KeyError, csv.Error, UnicodeDecodeError) as err:
                raise UsageError(f"{path} is not a minitorch grads.csv ({err})",
                                 "give a grads.csv written by python -m minitorch.train --log-grads N") from None
        out = plot_grads(args.logs, args.out, labels=labels)
    elif args.cmd == "loss":
        if args.labels and len(args.labels) != len(args.logs):
            raise UsageError(f"--labels: got {len(args.labels)} labels for {len(args.logs)} logs",
                             "give one label per log, or none")
        for path in args.logs:
            if os.path.isdir(path):
                fix = f"give {os.path.join(path, 'log.csv')}" if os.path.isfile(os.path.join(path, "log.csv")) \
                    else "give a log.csv written by python -m minitorch.train"
                raise UsageError(f"{path} is a directory", fix)
            if not os.path.isfile(path):
                raise UsageError(f"{path}: no such file", "give a log.csv written by python -m minitorch.train")
            try:
                read_log(path)
            except (ValueError, KeyError, TypeError, csv.Error, UnicodeDecodeError) as err:
                detail = "" if "is not a minitorch training log" in str(err) else f" ({err})"
                raise UsageError(f"{path} is not a minitorch training log{detail}",
                                 "give a log.csv written by python -m minitorch.train") from None
        out = plot_loss(args.logs, args.out, labels=args.labels)
    else:
        from .generate import check_prompt, load_model  # noqa: PLC0415

        model, tok, _ = load_model(args.checkpoint)
        if not hasattr(model, "attention_weights"):
            raise UsageError(f"{args.checkpoint} holds a {type(model).__name__}, which has no attention maps",
                             "give a GPT checkpoint (--preset baby-gpt)")
        ids = check_prompt(tok, args.prompt)
        block = getattr(model, "block_size", None)
        if block is not None and len(ids) > block:
            print(f"minitorch.viz: the prompt has {len(ids)} tokens and the model's context is {block}: plotting "
                  f"the last {block}", file=sys.stderr)
            ids = ids[-block:]
        weights = model.attention_weights(ids)
        out = plot_attention(weights, [tok.decode([i]) for i in ids], args.out, title=repr(args.prompt))
    print(out, file=sys.stderr)
    return out


def _graph_command(args):
    """Draw one training step of the checkpoint's model: (path written, note on what was collapsed)."""
    from . import graphviz_draw  # noqa: PLC0415

    ext = os.path.splitext(args.out)[1].lower()
    if ext not in (".svg", ".png", ".pdf", ".gv", ".dot"):
        raise UsageError(f"-o {args.out}: unknown format {ext or '(no extension)'!r}",
                         "use .svg, .png, .pdf, or .gv for the Graphviz source")
    try:
        graphviz_draw._graphviz()
    except ImportError:
        raise UsageError("drawing graphs needs the graphviz Python package, which is not installed",
                         graphviz_draw.EXTRAS_HINT) from None
    if ext not in (".gv", ".dot") and not graphviz_draw.dot_available():
        raise UsageError(f"rendering {args.out} needs Graphviz's dot program, which is not on PATH",
                         f"{graphviz_draw.DOT_HINT}; or write the source with -o graph.gv")
    import numpy as np  # noqa: PLC0415

    from .autograd import tensor  # noqa: PLC0415
    from .generate import load_model  # noqa: PLC0415
    from .train import lm_loss  # noqa: PLC0415

    model, tok, _ = load_model(args.checkpoint)
    block = getattr(model, "block_size", None)
    if block is not None and args.seq_len > block:
        raise UsageError(f"--seq-len {args.seq_len} is longer than the model's context ({block})",
                         f"use --seq-len {block} or less")
    rng = np.random.default_rng(0)
    ids = rng.integers(0, tok.vocab_size, size=(args.batch_size, args.seq_len + 1))
    x, y = tensor(ids[:, :-1]), tensor(ids[:, 1:])
    model.train()
    with record_scopes(model) as scopes:
        loss = lm_loss(model, x, y)
    if not args.no_grads:
        loss.backward(retain_graph=True)
    name = os.path.basename(args.checkpoint)
    g = draw_graph(loss, model=model, scopes=scopes, depth=args.depth, max_nodes=args.max_nodes,
                   show_grads=not args.no_grads,
                   title=f"{type(model).__name__} ({name}): one training step, batch {args.batch_size} x "
                         f"{args.seq_len} tokens, loss {loss.item():.4f}")
    return save_graph(g, args.out), g.minitorch_note


def main(argv=None):
    """``python -m minitorch.viz``: writes the image and returns its path."""
    return run_main("viz", _run, argv)


if __name__ == "__main__":
    main()
