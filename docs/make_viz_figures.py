"""Regenerates the README's pictures of issue 16 (computation graph, gradient flow, TensorBoard scalars) and
docs/gradient-flow.md, from runs made by this script on a tiny corpus (a few seconds of CPU):

    python docs/make_viz_figures.py            # writes docs/graph.png, docs/grads.png, docs/tensorboard-scalars.png,
                                               # docs/rnn-gradient-flow.png and docs/gradient-flow.md
"""
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import minitorch  # noqa: E402
from minitorch import nn, plots  # noqa: E402
from minitorch.cli import train, viz  # noqa: E402
from minitorch.gradflow import plot_grads  # noqa: E402


def tiny_corpus(path):
    rng = np.random.default_rng(0)
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "is", "thou", "art"]
    with open(path, "w") as fh:
        fh.write("\n".join(" ".join(rng.choice(words, size=8)) + "." for _ in range(2000)) + "\n")
    return path


def grad_reach(kind, T=100, H=64, E=32, B=8, gate_bias=None, seed=0):
    """||dL/dx_t|| for each t, L = the sum of the last step's output (the notebook 02 measurement)."""
    minitorch.manual_seed(seed)
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](E, H, batch_first=True)
    if gate_bias is not None:  # LSTM gates (i, f, g, o): f; GRU gates (r, z, n): z
        for b in (layer.bias_ih_l0, layer.bias_hh_l0):
            b.data[H:2 * H] = gate_bias / 2
    x = minitorch.tensor(np.random.default_rng(seed).standard_normal((B, T, E)).astype(np.float32),
                         requires_grad=True)
    layer(x)[0][:, -1].sum().backward()
    g = x.grad.numpy()
    return np.sqrt((g ** 2).sum(axis=(0, 2)))


def main():
    plt = plots._pyplot()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = tiny_corpus(os.path.join(tmp, "tiny.txt"))
        run = os.path.join(tmp, "tiny-gpt")
        train.main(["--preset", "baby-gpt", "--corpus", corpus, "--n-layer", "2", "--n-head", "2", "--n-embd", "32",
                    "--block-size", "32", "--batch-size", "8", "--max-iters", "300", "--eval-interval", "50",
                    "--eval-iters", "5", "--sample-tokens", "40", "--log-grads", "10", "--tensorboard",
                    "--out-dir", run, "--quiet"])
        viz.main(["graph", "--checkpoint", os.path.join(run, "best.ckpt"), "--depth", "1", "--seq-len", "8",
                  "-o", os.path.join(tmp, "graph.gv")])
        subprocess.run(["dot", "-Tpng", "-Gdpi=60", os.path.join(tmp, "graph.gv"), "-o",
                        os.path.join(HERE, "graph.png")], check=True)
        plot_grads([os.path.join(run, "grads.csv")], os.path.join(HERE, "grads.png"), labels=["tiny GPT (2 layers)"],
                   dpi=70)
        # the TensorBoard scalars, read back from the event files with TensorBoard's own reader
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(os.path.join(run, "tensorboard"), size_guidance={"scalars": 0})
        acc.Reload()
        fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), dpi=90)
        for ax, tag in zip(axes, ("train/loss", "train/lr", "train/grad_norm")):
            ev = acc.Scalars(tag)
            ax.plot([e.step for e in ev], [e.value for e in ev], color="#f57c00", lw=1.2)
            ax.set_title(tag, fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        fig.suptitle("TensorBoard scalars of train --tensorboard, read back from the event file", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(HERE, "tensorboard-scalars.png"))
        plt.close(fig)

    flows = {"Elman RNN": grad_reach("rnn"), "GRU": grad_reach("gru"), "LSTM": grad_reach("lstm"),
             "GRU, update-gate bias 3": grad_reach("gru", gate_bias=3.0),
             "LSTM, forget-gate bias 3": grad_reach("lstm", gate_bias=3.0)}
    fig = plt.figure(figsize=(6.5, 4), dpi=90)
    for label, n in flows.items():
        plt.semilogy(np.arange(100), n / n[-1], label=label, ls="--" if "bias" in label else "-")
    plt.xlabel("time step t (the loss is at the last step, t = 99)")
    plt.ylabel("||dL/dx_t|| / ||dL/dx_99||")
    plt.title("gradient reaching each step of a length-100 sequence, hidden size 64")
    plt.legend(fontsize=8)
    plt.grid(alpha=0.3)
    plt.tight_layout()
    fig.savefig(os.path.join(HERE, "rnn-gradient-flow.png"))
    plt.close(fig)
    back = (0, 10, 25, 50, 75, 99)
    lines = ["# Gradient flow through time: Elman RNN, GRU, LSTM", "",
             "Measured by `python docs/make_viz_figures.py` (the code of notebook 02's last section) with minitorch's "
             f"own backward, on {platform.machine()} (Python {platform.python_version()}, NumPy {np.__version__}). "
             "A random input sequence, batch 8, length T = 100, input size 32, hidden size 64, one layer, PyTorch's "
             "default initialisation (uniform in +-1/sqrt(64)), seed 0; the loss is the sum of the last step's "
             "output, and each entry is ||dL/dx_t|| relative to the last step's, k steps back from the loss.", "",
             "| model | " + " | ".join(f"k = {k}" for k in back) + " |", "|---|" + "---|" * len(back)]
    for label, n in flows.items():
        lines.append(f"| {label} | " + " | ".join(f"{n[99 - k] / n[-1]:.1e}" for k in back) + " |")
    lines += ["", "![gradient reaching each time step](rnn-gradient-flow.png)", "",
              "At the default initialisation all three lose the gradient within a few dozen steps: an LSTM's forget "
              "gate starts near sigmoid(0) = 0.5 and a GRU's update gate likewise, so the additive path through "
              "the cell state halves the signal at each step. Opening those gates (a bias of 3 split over the two "
              "bias vectors, the usual forget-gate-bias trick) lets the gradient reach the start of the sequence; "
              "the Elman RNN has no such path.", ""]
    with open(os.path.join(HERE, "gradient-flow.md"), "w") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    main()
