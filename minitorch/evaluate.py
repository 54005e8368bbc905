"""Evaluate a trained language model: ``python -m minitorch.evaluate --checkpoint runs/baby-gpt/best.ckpt``.

Reports NLL (nats/token), perplexity and bits per character on the validation split (every
token scored once, in consecutive windows), and on a next-characters prediction set in the hw4
format: N sequences of 30 input characters, scored on the next 10 (teacher forced). The set is
written to / read from an ``.npz`` (``inputs`` (N, 30), ``targets`` (N, 10)).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

from .autograd import no_grad, tensor
from .nn import functional as F

PREDICT_IN, PREDICT_OUT = 30, 10


@no_grad()
def sequence_nll(model, ids, block_size, batch_size=32, device="cpu"):
    """Mean NLL over all next-token predictions in ``ids``, scored window by window: each
    token is predicted once, from at most ``block_size`` tokens of context in its window."""
    model.eval()
    ids = np.asarray(ids, dtype=np.int64)
    n_windows = (len(ids) - 1) // block_size
    if n_windows < 1:
        raise ValueError(f"need more than {block_size + 1} tokens to evaluate, got {len(ids)}")
    starts = np.arange(n_windows) * block_size
    total, count = 0.0, 0
    for b in range(0, n_windows, batch_size):
        s = starts[b:b + batch_size]
        x = ids[s[:, None] + np.arange(block_size)]
        y = ids[s[:, None] + np.arange(block_size) + 1]
        logits = model(tensor(x, device=device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tensor(y.reshape(-1), device=device),
                               reduction="sum")
        total += loss.item()
        count += y.size
    return total / count


def make_prediction_set(ids, n=128, seed=0):
    """N (30 input, 10 target) windows drawn from ``ids`` with a fixed seed."""
    ids = np.asarray(ids, dtype=np.int64)
    span = PREDICT_IN + PREDICT_OUT
    if len(ids) < span + 1:
        raise ValueError(f"need at least {span + 1} tokens for a prediction set, got {len(ids)}")
    starts = np.random.default_rng(seed).integers(0, len(ids) - span, size=n)
    win = ids[starts[:, None] + np.arange(span)]
    return win[:, :PREDICT_IN], win[:, PREDICT_IN:]


@no_grad()
def score_prediction_set(model, inputs, targets, device="cpu"):
    """Per-sequence mean NLL of ``targets`` (N, 10) after ``inputs`` (N, 30), teacher forced. A model
    with a shorter context (``block_size``) sees the last ``block_size`` tokens only."""
    model.eval()
    ctx = np.concatenate([inputs, targets], axis=1)[:, :-1]
    block = getattr(model, "block_size", None)
    if block is not None and ctx.shape[1] > block:
        if block < PREDICT_OUT:
            raise ValueError(f"the model's block_size {block} is shorter than the {PREDICT_OUT} tokens to score")
        ctx = ctx[:, -block:]
    logits = model(tensor(np.ascontiguousarray(ctx), device=device))
    lp = logits[:, -PREDICT_OUT:, :].log_softmax(-1).detach().numpy()
    picked = np.take_along_axis(lp, targets[:, :, None], axis=2)[:, :, 0]
    return -picked.mean(axis=1)


def evaluate(checkpoint, corpus=None, prediction_set=None, n_predict=128, batch_size=32, device="cpu"):
    from .data import load_corpus, train_val_split  # noqa: PLC0415
    from .generate import load_model  # noqa: PLC0415

    model, tok, ckpt = load_model(checkpoint, device=device)
    cfg = ckpt["extra"]["config"]
    corpus = corpus or ckpt["extra"].get("corpus") or cfg["corpus"]
    text = load_corpus(corpus)
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    _, val = train_val_split(ids, cfg["val_fraction"])
    nll = sequence_nll(model, val, cfg["block_size"], batch_size, device)
    chars_per_token = len(text) / len(ids)
    report = {"checkpoint": checkpoint, "corpus": corpus, "val_tokens": int(len(val)), "val_nll": nll,
              "val_perplexity": math.exp(nll), "val_bpc": nll / math.log(2) / chars_per_token}
    if prediction_set:
        if os.path.exists(prediction_set):
            with np.load(prediction_set, allow_pickle=False) as z:
                if "inputs" not in z or "targets" not in z:
                    raise SystemExit(f"{prediction_set}: expected arrays 'inputs' and 'targets'")
                inputs, targets = z["inputs"].astype(np.int64), z["targets"].astype(np.int64)
            if inputs.shape[1] != PREDICT_IN or targets.shape[1] != PREDICT_OUT:
                raise SystemExit(f"{prediction_set}: expected inputs (N, {PREDICT_IN}) and targets "
                                 f"(N, {PREDICT_OUT}), got {inputs.shape} and {targets.shape}")
            if max(inputs.max(), targets.max()) >= tok.vocab_size:
                raise SystemExit(f"{prediction_set}: token ids exceed this model's vocabulary ({tok.vocab_size})")
        else:
            inputs, targets = make_prediction_set(val, n_predict)
        scores = score_prediction_set(model, inputs, targets, device)
        np.savez(prediction_set, inputs=inputs, targets=targets, nll=scores)
        report.update(prediction_set=prediction_set, prediction_nll=float(scores.mean()),
                      prediction_sequences=int(len(scores)))
    return report


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m minitorch.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--corpus", default=None, help="corpus name or path (default: the one trained on)")
    p.add_argument("--prediction-set", default=None,
                   help="npz with inputs/targets to score; created from the validation split if missing")
    p.add_argument("--n-predict", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    report = evaluate(args.checkpoint, args.corpus, args.prediction_set, args.n_predict, args.batch_size,
                      args.device)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    sys.exit(main() and 0)
