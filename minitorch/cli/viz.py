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

from .. import graphviz_draw
from ..autograd import tensor
from ..gradflow import plot_grads, read_grads
from ..graphviz_draw import draw_graph, record_scopes, save_graph
from ..models.registry import lm_loss, load_model
from ..plots import _pyplot, plot_attention, plot_loss, read_log
from .common import Parser, UsageError, run_main
from .generate import check_prompt


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
    command = {"grads": _grads_command, "loss": _loss_command, "attention": _attention_command}[args.cmd]
    out = command(args)
    print(out, file=sys.stderr)
    return out


def _grads_command(args):
    """Plot grads.csv files (each checked first); the image's path."""
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
    return plot_grads(args.logs, args.out, labels=labels)


def _loss_command(args):
    """Plot training logs (each checked first); the image's path."""
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
    return plot_loss(args.logs, args.out, labels=args.labels)


def _attention_command(args):
    """Plot a GPT checkpoint's attention on the prompt (its last block_size tokens); the image's path."""
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
    return plot_attention(weights, [tok.decode([i]) for i in ids], args.out, title=repr(args.prompt))


def _graph_command(args):
    """Draw one training step of the checkpoint's model: (path written, note on what was collapsed)."""
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
