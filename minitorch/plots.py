"""Plots with matplotlib: loss curves from training CSV logs, attention heatmaps.

``python -m minitorch.viz`` (``minitorch.cli.viz``) draws them from the command line; gradient-flow plots are in
``minitorch.gradflow`` and computation-graph drawings in ``minitorch.graphviz_draw``.
"""
import csv
import os

import numpy as np


def _pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend; an ImportError saying how to install it."""
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
