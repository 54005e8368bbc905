"""Evaluate a trained language model: ``python -m minitorch.evaluate --checkpoint runs/baby-gpt/best.ckpt``.

Reports NLL (nats/token), perplexity and bits per character on the validation split (every
token scored once, in consecutive windows), and on a next-characters prediction set in the hw4
format: N sequences of 30 input characters, scored on the next 10 (teacher forced). The set is
written to / read from an ``.npz`` (``inputs`` (N, 30), ``targets`` (N, 10)).
"""
import json
import math
import os
import sys

import numpy as np

from ..autograd import no_grad, tensor
from ..data import CorpusError, tinyshakespeare_path, train_val_split
from ..models.registry import load_model
from ..nn import functional as F
from .common import (
    Parser,
    UsageError,
    auto_threads,
    describe_corpus,
    load_run_corpus,
    require_device,
    run_main,
    set_threads,
)

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


def _eval_corpus(ckpt, corpus, say):
    """(text, name) to evaluate on: ``corpus`` when given, else the one the checkpoint trained on (checked
    against its recorded sha256: a changed text is reported through ``say``)."""

    saved = ckpt["extra"].get("corpus") or ckpt["extra"]["config"].get("corpus")
    if corpus is None:
        if isinstance(saved, dict):
            name = saved["name"]
            spec = saved["path"] if name not in ("tinyshakespeare", "python-stdlib") else name
        else:  # older checkpoints record the name only
            name = spec = saved
        if name == "tinyshakespeare":
            try:
                tinyshakespeare_path(download=False)
            except CorpusError:
                raise UsageError(
                    "this checkpoint was trained on TinyShakespeare, which is not found here "
                    "(MINITORCH_DATA, ~/.cache/minitorch)",
                    "set MINITORCH_DATA to tinyshakespeare.txt or its folder, pass --corpus PATH, or download it: "
                    "python -c \"from minitorch.data import tinyshakespeare_path; tinyshakespeare_path()\"") from None
        if spec not in ("tinyshakespeare", "python-stdlib") and not os.path.exists(spec):
            raise UsageError(f"this checkpoint was trained on {spec}, which does not exist any more",
                             "pass --corpus PATH to the same text")
    else:
        spec = corpus
    text, info = load_run_corpus(spec)
    if corpus is None and isinstance(saved, dict) and saved.get("sha256") and saved["sha256"] != info["sha256"]:
        say(f"note: the corpus has changed since training: {describe_corpus(info)} now, "
            f"{describe_corpus(saved)} then; the validation split is not the run's")
    return text, info["name"]


def evaluate(checkpoint, corpus=None, prediction_set=None, n_predict=128, batch_size=32, device="cpu",
             threads=None):
    """The evaluation report (a dict) of ``checkpoint`` on its validation split (and a prediction set).
    ``threads``: BLAS threads, a number or 'auto' (None leaves them alone)."""
    if n_predict < 1 or batch_size < 1:
        raise UsageError(f"--n-predict and --batch-size must be at least 1, got {n_predict} and {batch_size}",
                         "see python -m minitorch.evaluate --help")
    if prediction_set and os.path.isdir(prediction_set):
        raise UsageError(f"--prediction-set {prediction_set} is a directory", "give the path of an .npz file")
    model, tok, ckpt = load_model(checkpoint, device=device)
    if threads is not None:
        set_threads(threads, auto=auto_threads(model))
    cfg = ckpt["extra"]["config"]
    text, corpus = _eval_corpus(ckpt, corpus, lambda m: print(f"minitorch.evaluate: {m}", file=sys.stderr))
    try:
        ids = np.asarray(tok.encode(text), dtype=np.int64)
    except (KeyError, ValueError) as err:
        raise UsageError(f"the model's tokenizer cannot encode the corpus {corpus}: {str(err).split(': ', 1)[-1]}",
                         "evaluate on a text in the model's vocabulary") from None
    _, val = train_val_split(ids, cfg["val_fraction"])
    try:
        nll = sequence_nll(model, val, cfg["block_size"], batch_size, device)
    except ValueError as err:
        raise UsageError(f"the validation split of {corpus} is too short: {err}", "use a longer corpus") from None
    chars_per_token = len(text) / len(ids)
    report = {"checkpoint": checkpoint, "corpus": corpus, "val_tokens": int(len(val)), "val_nll": nll,
              "val_perplexity": math.exp(nll), "val_bpc": nll / math.log(2) / chars_per_token}
    if prediction_set:
        inputs, targets = _prediction_set(prediction_set, val, tok, n_predict)
        scores = score_prediction_set(model, inputs, targets, device)
        np.savez(prediction_set, inputs=inputs, targets=targets, nll=scores)
        report.update(prediction_set=prediction_set, prediction_nll=float(scores.mean()),
                      prediction_sequences=int(len(scores)))
    return report


def _prediction_set(path, val, tok, n_predict):
    """(inputs, targets) of the prediction set at ``path`` (checked against the model's vocabulary), or of a
    new one of ``n_predict`` sequences drawn from the validation ids ``val`` when the file does not exist."""
    if not os.path.exists(path):
        try:
            return make_prediction_set(val, n_predict)
        except ValueError as err:
            raise UsageError(f"cannot make a prediction set: {err}", "use a longer corpus") from None
    try:
        with np.load(path, allow_pickle=False) as z:
            if "inputs" not in z or "targets" not in z:
                raise UsageError(f"{path} has no arrays 'inputs' and 'targets'",
                                 "give a prediction set written by minitorch.evaluate, or a new path")
            inputs, targets = z["inputs"].astype(np.int64), z["targets"].astype(np.int64)
    except (OSError, ValueError, EOFError):
        raise UsageError(f"{path} is not an .npz file",
                         "give a prediction set written by minitorch.evaluate, or a new path") from None
    if inputs.ndim != 2 or targets.ndim != 2 or inputs.shape[1] != PREDICT_IN \
            or targets.shape[1] != PREDICT_OUT or len(inputs) != len(targets):
        raise UsageError(f"{path}: expected inputs (N, {PREDICT_IN}) and targets "
                         f"(N, {PREDICT_OUT}), got {inputs.shape} and {targets.shape}",
                         "give a prediction set in the hw4 format")
    if max(inputs.max(), targets.max()) >= tok.vocab_size or min(inputs.min(), targets.min()) < 0:
        raise UsageError(f"{path}: token ids outside this model's vocabulary of {tok.vocab_size}",
                         "the set was made for another tokenizer; give a new path to make one")
    return inputs, targets


def build_parser():
    p = Parser("evaluate", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="a .ckpt file written by python -m minitorch.train (required)")
    p.add_argument("--corpus", default=None,
                   help="evaluate on this corpus: tinyshakespeare, python-stdlib or a text file path (default: the "
                        "one the checkpoint trained on; TinyShakespeare is looked up in $MINITORCH_DATA, the file "
                        "or its folder, then ~/.cache/minitorch)")
    p.add_argument("--prediction-set", default=None, metavar="NPZ",
                   help="npz with inputs (N, 30) / targets (N, 10) to score; created from the validation split "
                        "when the file does not exist (default: none)")
    p.add_argument("--n-predict", type=int, default=128,
                   help="sequences in a newly created prediction set (default: 128)")
    p.add_argument("--batch-size", type=int, default=32, help="windows per forward pass (default: 32)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu or cuda (default: cpu)")
    p.add_threads()
    p.add_debug()
    return p


def _run(argv):
    args = build_parser().parse_args(argv)
    require_device(args.device)
    report = evaluate(args.checkpoint, args.corpus, args.prediction_set, args.n_predict, args.batch_size,
                      args.device, threads=args.threads)
    print(json.dumps(report, indent=2))
    return report


def main(argv=None):
    """``python -m minitorch.evaluate``: prints the report as JSON and returns it."""
    return run_main("evaluate", _run, argv)


if __name__ == "__main__":
    sys.exit(main() and 0)
