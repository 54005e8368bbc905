"""Gradient flow during training: per-parameter gradient norms and update-to-weight ratios.

``python -m minitorch.train --log-grads N`` writes ``grads.csv`` beside ``log.csv``: every N steps, one row per
parameter with the step, the parameter's name, the norm of its gradient (before clipping), the norm of its
weights, and the update-to-weight ratio ||w_after - w_before|| / ||w_before|| of that step's optimizer update
(around 1e-3 is the usual healthy value). ``python -m minitorch.viz grads runs/*/grads.csv`` plots them.

``python -m minitorch.train --tensorboard`` logs losses, learning rate, gradient norms and samples to
``<out_dir>/tensorboard`` (tags train/loss, train/lr, train/grad_norm every 10 steps, eval_loss, sample, and
with --log-grads grad_norm/<param>, update_ratio/<param>, weights/<param>) through
``minitorch.utils.tensorboard.SummaryWriter``. ``TrainingMonitor`` is what minitorch.cli.train calls for both.
"""
import csv
import math
import os

import numpy as np

from .backend import to_numpy
from .plots import _pyplot

FIELDS = ["step", "param", "grad_norm", "weight_norm", "update_ratio"]


def _norm(array):
    a = to_numpy(array).astype(np.float64, copy=False)
    return float(np.sqrt(np.sum(a * a)))


def _keep_rows(path, resume_step, fields):
    """Rows of csv ``path`` up to ``resume_step`` (what a resumed run keeps)."""
    if resume_step is None or not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r.get("step", "").isdigit() and int(r["step"]) <= resume_step]


class TrainingMonitor:
    """What minitorch.cli.train calls around each step: ``after_backward(step)`` (gradients are there),
    ``after_update(step, loss, lr)`` (the optimizer has stepped), ``on_eval(step, train, val, sample)`` and
    ``close()``. ``step`` is the number of the step being taken (1 for the first).

    log_grads: every this many steps, write each parameter's gradient norm and update ratio to
        ``<out_dir>/grads.csv`` (0: off). tensorboard: also log to ``<out_dir>/tensorboard``.
    resume_step / source_dir: a resumed run keeps the rows up to that step of ``source_dir``'s grads.csv (and
        TensorBoard drops the events after ``resume_step``). force: a new run deletes the event files an earlier
        run left in ``<out_dir>/tensorboard`` (without it they stay and ``say`` gets a note)."""

    def __init__(self, out_dir, model, log_grads=0, tensorboard=False, resume_step=None, source_dir=None, force=False,
                 say=None):
        self.model = model
        self.every = int(log_grads)
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.path = os.path.join(out_dir, "grads.csv") if self.every else None
        self._before = None
        self.writer = None
        if self.path:
            rows = _keep_rows(os.path.join(source_dir or out_dir, "grads.csv"), resume_step, FIELDS)
            tmp = self.path + ".tmp"
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
                w.writeheader()
                w.writerows(rows)
            os.replace(tmp, self.path)
        if tensorboard:
            from .utils.tensorboard import SummaryWriter  # noqa: PLC0415

            tb_dir = os.path.join(out_dir, "tensorboard")
            old = [os.path.join(d, f) for d, _, files in os.walk(tb_dir) for f in files if ".tfevents." in f]
            if resume_step is None and old:
                if force:
                    for path in old:
                        os.remove(path)
                    if say:
                        say(f"--force: deleted the previous run's {len(old)} TensorBoard event files in {tb_dir}")
                elif say:
                    say(f"{tb_dir} holds {len(old)} event files of an earlier run: TensorBoard shows both runs "
                        "there (--force deletes them)")
            self.writer = SummaryWriter(tb_dir, purge_step=None if resume_step is None else resume_step + 1)
        self._grad_total = None

    def _due(self, step):
        return self.every and step % self.every == 0

    def after_backward(self, step):
        tb_due = self.writer is not None and (self._due(step) or step == 1 or step % 10 == 0)
        if not (self._due(step) or tb_due):
            return
        norms = {n: (_norm(p.grad.data) if p.grad is not None else 0.0) for n, p in self.params}
        self._grad_total = math.sqrt(sum(v * v for v in norms.values()))
        self._before = {"step": step, "norms": norms,
                        "weights": {n: to_numpy(p.data).astype(np.float64) for n, p in self.params}
                        if self._due(step) else None}

    def after_update(self, step, loss, lr):
        if self.writer is not None:
            self.writer.add_scalar("train/loss", loss, step)
            self.writer.add_scalar("train/lr", lr, step)
        before, self._before = self._before, None
        if before is None or before["step"] != step:
            return
        if self.writer is not None:
            self.writer.add_scalar("train/grad_norm", self._grad_total, step)
        if before["weights"] is None:
            return
        rows = []
        for name, p in self.params:
            w0 = before["weights"][name]
            w1 = to_numpy(p.data).astype(np.float64)
            wn = float(np.sqrt(np.sum(w0 * w0)))
            dn = float(np.sqrt(np.sum((w1 - w0) ** 2)))
            ratio = dn / wn if wn > 0 else float("nan")
            rows.append({"step": step, "param": name, "grad_norm": f"{before['norms'][name]:.6g}",
                         "weight_norm": f"{wn:.6g}", "update_ratio": f"{ratio:.6g}"})
            if self.writer is not None:
                self.writer.add_scalar(f"grad_norm/{name}", before["norms"][name], step)
                self.writer.add_scalar(f"update_ratio/{name}", ratio, step)
        if self.writer is not None:
            for name, p in self.params:
                self.writer.add_histogram(f"weights/{name}", to_numpy(p.data), step)
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            csv.DictWriter(fh, fieldnames=FIELDS).writerows(rows)

    def on_eval(self, step, train_loss, val_loss, sample=None):
        if self.writer is None:
            return
        self.writer.add_scalars("eval_loss", {"train": train_loss, "val": val_loss}, step)
        if sample:
            self.writer.add_text("sample", "```\n" + sample + "\n```", step)
        self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()


def read_grads(path):
    """``{param: {"step": array, "grad_norm": array, "weight_norm": array, "update_ratio": array}}`` from a
    grads.csv, parameters in the order they first appear."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}")
        rows = list(reader)
    if not rows:
        raise ValueError("no rows yet")
    out = {}
    for r in rows:
        d = out.setdefault(r["param"], {k: [] for k in FIELDS if k != "param"})
        for k in d:
            d[k].append(float(r[k]) if r[k] not in ("", None) else np.nan)
    return {p: {k: np.array(v) for k, v in d.items()} for p, d in out.items()}


def plot_grads(csv_paths, out_path, labels=None, dpi=110):
    """Per run (a column): gradient norm (top) and update-to-weight ratio (bottom) of each parameter against
    step, log scale, coloured from the first layer (dark) to the last (light)."""
    plt = _pyplot()
    labels = labels or [os.path.basename(os.path.dirname(os.path.abspath(p))) or p for p in csv_paths]
    n = len(csv_paths)
    fig, axes = plt.subplots(2, n, figsize=(6.5 * n, 6.5), dpi=dpi, squeeze=False, sharex="col")
    for j, (path, label) in enumerate(zip(csv_paths, labels)):
        data = read_grads(path)
        cmap = plt.get_cmap("viridis")
        k = len(data)
        for i, (name, d) in enumerate(data.items()):
            color = cmap(i / max(k - 1, 1) * 0.9)
            for row, key in ((0, "grad_norm"), (1, "update_ratio")):
                ok = np.isfinite(d[key]) & (d[key] > 0)
                axes[row][j].plot(d["step"][ok], d[key][ok], color=color, lw=1.2,
                                  label=name if row == 0 and k <= 16 else None)
        axes[0][j].set_title(f"{label}: gradient norm per parameter")
        axes[1][j].set_title("update / weight norm per step")
        axes[1][j].axhline(1e-3, color="k", ls=":", lw=1)
        axes[1][j].set_xlabel("step")
        for row in (0, 1):
            axes[row][j].set_yscale("log")
            axes[row][j].grid(alpha=0.3, which="both")
        if k <= 16:
            axes[0][j].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, k - 1))
            fig.colorbar(sm, ax=axes[:, j].tolist(), label=f"parameter index (0 = {next(iter(data))})")
    if all(len(read_grads(p)) <= 16 for p in csv_paths):
        fig.tight_layout()
    fig.savefig(out_path)
    plt.close(fig)
    return out_path
