"""The oracle of the hw4 training task (instructors): the stronger character-level GPT that scores the
text a handed-in model generates.

    python -m autograder.oracle train [--run-dir runs/oracle] [--threads 1]   # train, then export
    python -m autograder.oracle export --run-dir runs/oracle                   # export a finished run
    python -m autograder.oracle windows --hidden --seed S --out DIR           # hidden windows and prompts
    python -m autograder.oracle public                                        # rewrite the public set

``train`` runs ``minitorch.train`` with ``ORACLE_ARGS`` (seed, config and corpus fixed; the corpus is
TinyShakespeare, looked up in $MINITORCH_DATA and checked against ``CORPUS_SHA256``), then ``export``
evaluates the best checkpoint on the whole validation split with minitorch and writes
``autograder/fixtures/lm/oracle.ckpt``: the weights in float16, the config, the vocabulary and the run's
provenance, in minitorch's pickle-free checkpoint format; its sha256 goes to ``autograder/fixtures/lm/manifest.json``.
The grader reads it with its own NumPy forward (``autograder.lm``), never with a student's code.

``windows`` and ``public`` draw prediction windows (30 + 10 characters) and generation prompts from
the validation split (the last 10 %) and store them as token ids only: no text of the corpus is
written into the repository or a hidden set beyond these few thousand ids.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LM_DIR = os.path.join(HERE, "fixtures", "lm")
CORPUS_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"

# The oracle's recipe: 4 blocks of width 192 (6 heads of 32), context 128, batch 32, no dropout, 3,000 steps,
# AdamW (beta2 0.99, weight decay 0.1), warm-up 200 then cosine from 1e-3 to 1e-4.
ORACLE_ARGS = ["--preset", "baby-gpt", "--corpus", "tinyshakespeare", "--tokenizer", "char", "--seed", "2026",
               "--n-layer", "4", "--n-head", "6", "--n-embd", "192", "--block-size", "128", "--batch-size", "32",
               "--dropout", "0.0", "--lr", "1e-3", "--min-lr", "1e-4", "--warmup-iters", "200",
               "--max-iters", "3000", "--weight-decay", "0.1", "--beta2", "0.99", "--eval-interval", "500",
               "--eval-iters", "40", "--sample-tokens", "0"]


def _train_main():
    from minitorch.cli.train import main  # noqa: PLC0415

    return main


def cmd_train(args):
    _corpus_ids()  # the corpus this task was built on (sha256), before hours of training
    argv = ORACLE_ARGS + ["--out-dir", args.run_dir, "--threads", str(args.threads)]
    if args.max_iters:
        argv += ["--max-iters", str(args.max_iters)]
    if args.resume:
        argv += ["--resume"]
    print("python -m minitorch.train " + " ".join(argv), file=sys.stderr, flush=True)
    summary = _train_main()(argv + ["--quiet"])
    if summary is None:
        return 2
    return cmd_export(args)


def _corpus_ids():
    """(validation ids, vocabulary) of TinyShakespeare with minitorch's char tokenizer and 10 % split."""
    from minitorch.data import CharTokenizer, tinyshakespeare_path, train_val_split  # noqa: PLC0415

    path = tinyshakespeare_path(download=False)
    with open(path, "rb") as f:
        raw = f.read()
    if hashlib.sha256(raw).hexdigest() != CORPUS_SHA256:
        raise SystemExit(f"oracle: {path} is not the TinyShakespeare this task was built on (sha256 "
                         f"{hashlib.sha256(raw).hexdigest()[:16]}..., expected {CORPUS_SHA256[:16]}...)")
    text = raw.decode("utf-8")
    tok = CharTokenizer.from_text(text)
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    _, val = train_val_split(ids, 0.1)
    return val, tok.chars


def _write_manifest(lm_dir, updates):
    from .fixtures import sha256_file  # noqa: PLC0415

    path = os.path.join(lm_dir, "manifest.json")
    manifest = {"files": {}}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    for name, info in updates.items():
        manifest["files"][name] = dict(info, sha256=sha256_file(os.path.join(lm_dir, name)))
    _write_json(path, manifest)


def _write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def full_val_nll(model, val, block):
    """Mean NLL of every validation token, in consecutive windows of ``block`` (as minitorch.evaluate)."""
    n = (len(val) - 1) // block
    total = 0.0
    for s in range(0, n, 16):
        starts = np.arange(s, min(s + 16, n)) * block
        x = val[starts[:, None] + np.arange(block)]
        y = val[starts[:, None] + np.arange(block) + 1]
        lp = model._log_softmax(model.logits(x))
        total += -np.take_along_axis(lp, y[:, :, None], axis=2).sum()
    return total / (n * block)


def cmd_export(args):
    from minitorch.checkpoint import load, save  # noqa: PLC0415

    from . import lm  # noqa: PLC0415

    best = os.path.join(args.run_dir, "best.ckpt")
    tree = load(best, map_location="cpu")
    extra = tree["extra"]
    cfg = extra["config"]
    weights = {k: v.detach().numpy().astype(np.float16) for k, v in tree["model"].items()}
    val, chars = _corpus_ids()
    if extra["tokenizer"]["chars"] != chars:
        raise SystemExit("oracle: the run's vocabulary is not TinyShakespeare's")
    keep = ("model", "n_layer", "n_head", "n_embd", "block_size", "bias", "tie_weights", "dropout", "seed",
            "batch_size", "max_iters", "lr", "min_lr", "warmup_iters", "weight_decay", "beta2")
    summary = {"steps": tree.get("step"), "best_val_loss": extra.get("best_val"), "elapsed_s": extra.get("elapsed")}
    if os.path.exists(os.path.join(args.run_dir, "summary.json")):  # a finished run
        with open(os.path.join(args.run_dir, "summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
    oracle_tree = {"model": weights,
                   "extra": {"config": {k: cfg[k] for k in keep}, "tokenizer": extra["tokenizer"],
                             "provenance": {"command": "python -m autograder.oracle train",
                                            "train_args": ORACLE_ARGS, "corpus_sha256": CORPUS_SHA256,
                                            "steps": summary["steps"], "elapsed_s": summary["elapsed_s"],
                                            "best_val_loss_estimate": summary["best_val_loss"]}}}
    model = lm.GPT.from_tree(lm.read_checkpoint(_saved_bytes(save, oracle_tree), max_bytes=1 << 26),
                             limits=False)
    nll = full_val_nll(model, val, cfg["block_size"])
    oracle_tree["extra"]["provenance"]["val_nll_float16"] = round(float(nll), 4)
    os.makedirs(LM_DIR, exist_ok=True)
    save(oracle_tree, os.path.join(LM_DIR, "oracle.ckpt"))
    _write_json(os.path.join(LM_DIR, "vocab.json"), VOCAB_INFO(chars))
    _write_manifest(LM_DIR, {"oracle.ckpt": {"val_nll": round(float(nll), 4),
                                             "parameters": int(sum(v.size for k, v in weights.items()
                                                                   if k != "lm_head.weight")),
                                             "command": "python -m autograder.oracle train"},
                             "vocab.json": {}})
    print(json.dumps({"oracle": os.path.join(LM_DIR, "oracle.ckpt"), "val_nll_float16": round(float(nll), 4),
                      "summary": summary}, indent=1))
    return 0


def _saved_bytes(save, tree):
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "o.ckpt")
        save(tree, path)
        with open(path, "rb") as f:
            return f.read()


# Public generation prompts: written here, not taken from the corpus.
PUBLIC_PROMPTS = ("ROMEO:\n", "JULIET:\nO ", "First Citizen:\n", "DUKE VINCENTIO:\n", "MENENIUS:\nWhat ",
                  "\n\nKING HENRY VI:\n", "QUEEN ELIZABETH:\nMy lord, ", "GLOUCESTER:\nNow is the ")
PROMPT_LEN = 24


def VOCAB_INFO(chars):  # noqa: N802
    return {"chars": chars, "corpus_sha256": CORPUS_SHA256, "tokenizer": "minitorch CharTokenizer (sorted characters)"}
N_PROMPTS = 8


def window_set(val, seed, chars, prompts=None):
    """A window set: the 128 prediction windows of ``minitorch.cli.evaluate.make_prediction_set(val, 128, seed)``
    and generation prompts (given strings, or 8 random 24-character windows of the validation text drawn
    with ``seed + 1``) with their sampling seeds."""
    from minitorch.cli.evaluate import make_prediction_set  # noqa: PLC0415

    inputs, targets = make_prediction_set(val, 128, seed)
    if prompts is None:
        starts = np.random.default_rng(seed + 1).integers(0, len(val) - PROMPT_LEN, size=N_PROMPTS)
        rows = [val[s:s + PROMPT_LEN] for s in starts]
        seeds = np.random.default_rng(seed + 2).integers(0, 2**31 - 1, size=N_PROMPTS)
    else:
        stoi = {c: i for i, c in enumerate(chars)}
        rows = [np.asarray([stoi[c] for c in p]) for p in prompts]
        seeds = np.arange(1, len(rows) + 1)
    width = max(len(r) for r in rows)
    padded = np.full((len(rows), width), -1, dtype=np.int16)
    for i, r in enumerate(rows):
        padded[i, :len(r)] = r
    return {"inputs": inputs.astype(np.uint8), "targets": targets.astype(np.uint8), "prompts": padded,
            "seeds": seeds.astype(np.int64)}


def cmd_public(args):
    from .fixtures import write_npz  # noqa: PLC0415

    val, chars = _corpus_ids()
    write_npz(os.path.join(LM_DIR, "public.npz"), window_set(val, 0, chars, PUBLIC_PROMPTS))
    _write_json(os.path.join(LM_DIR, "vocab.json"), VOCAB_INFO(chars))
    windows = "minitorch.evaluate.make_prediction_set(val, 128, seed=0)"
    _write_manifest(LM_DIR, {"vocab.json": {}, "public.npz": {"seed": 0, "windows": windows,
                                                              "prompts": list(PUBLIC_PROMPTS)}})
    print(f"wrote {os.path.join(LM_DIR, 'public.npz')}")
    return 0


def cmd_windows(args):
    from .fixtures import write_npz  # noqa: PLC0415

    if args.seed == 0:
        raise SystemExit("oracle windows: seed 0 draws the public windows; choose another --seed")
    val, chars = _corpus_ids()
    out = os.path.join(args.out, "lm")
    os.makedirs(out, exist_ok=True)
    if os.path.exists(os.path.join(out, "hidden.npz")) and not args.overwrite:
        raise SystemExit(f"oracle windows: {out}/hidden.npz exists; pass --overwrite to replace it")
    write_npz(os.path.join(out, "hidden.npz"), window_set(val, args.seed, chars))
    _write_manifest(out, {"hidden.npz": {"seed": args.seed, "corpus_sha256": CORPUS_SHA256}})
    print(f"wrote {os.path.join(out, 'hidden.npz')} (seed {args.seed})")
    return 0


def _train_ids():
    from minitorch.data import CharTokenizer, tinyshakespeare_path, train_val_split  # noqa: PLC0415

    with open(tinyshakespeare_path(download=False), encoding="utf-8") as f:
        text = f.read()
    tok = CharTokenizer.from_text(text)
    train, _ = train_val_split(np.asarray(tok.encode(text), dtype=np.int64), 0.1)
    return train, tok


def bigram_tree(train, chars):
    """A bigram model (add-one counts of the training split) written as a GPT checkpoint: one block whose
    residual branches are zero, one-hot token embeddings, no positions, and an untied head solved so that
    lm_head(ln_f(e_i)) = log p(. | i) exactly."""
    v = len(chars)
    e = v + 3  # one-hot embeddings need n_embd > vocab; 68 = 4 heads of 17
    counts = np.ones((v, v))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    logp = np.log(counts / counts.sum(1, keepdims=True))
    cfg = {"model": "gpt", "n_layer": 1, "n_head": 4, "n_embd": e, "block_size": 64, "bias": True,
           "tie_weights": False, "tokenizer": "char"}
    from . import lm  # noqa: PLC0415

    w = {k: np.zeros(s, np.float32) for k, s in lm.expected_shapes(cfg, v).items()}
    for k in w:
        if k.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            w[k][:] = 1.0
    w["transformer.wte.weight"][:, :v] = np.eye(v)
    onehot = np.eye(v, e)
    mu = onehot.mean(1, keepdims=True)
    u = (onehot - mu) / np.sqrt(((onehot - mu) ** 2).mean(1, keepdims=True) + 1e-5)  # (v, e): ln_f(e_i)
    w["lm_head.weight"][:] = (logp.T @ np.linalg.pinv(u.T)).astype(np.float32)
    return {"model": w, "extra": {"config": cfg, "tokenizer": {"type": "char", "chars": chars, "special_tokens": []}},
            "rng": None}


def cmd_baselines(args):
    """Hand-in folders of the two baselines the thresholds are measured against: an untrained baby-gpt
    (minitorch's initialisation, seed 1337) and the bigram model, each with lm/best.ckpt and lm/summary.json
    next to a copy of this repository's minitorch (grade them with python -m autograder hw4
    --submission DIR --test language_model)."""
    from minitorch import manual_seed, models  # noqa: PLC0415

    from . import lm  # noqa: PLC0415

    train, tok = _train_ids()
    chars = tok.chars
    manual_seed(1337)
    gpt = models.GPT(len(chars), block_size=64, n_layer=4, n_head=4, n_embd=128)
    cfg = {"model": "gpt", "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "bias": True,
           "tie_weights": True, "tokenizer": "char"}
    untrained = {"model": {k: v.detach().numpy() for k, v in gpt.state_dict().items()},
                 "extra": {"config": cfg, "tokenizer": tok.to_dict()}, "rng": None}
    repo = os.path.dirname(HERE)
    for name, tree in (("untrained", untrained), ("bigram", bigram_tree(train, chars))):
        d = os.path.join(args.out, name)
        os.makedirs(os.path.join(d, "lm"), exist_ok=True)
        with open(os.path.join(d, "lm", "best.ckpt"), "wb") as f:
            f.write(lm.checkpoint_bytes(tree))
        _write_json(os.path.join(d, "lm", "summary.json"), {"model": name, "steps": 0})
        if not os.path.exists(os.path.join(d, "minitorch")):
            import shutil  # noqa: PLC0415

            shutil.copytree(os.path.join(repo, "minitorch"), os.path.join(d, "minitorch"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        print(f"wrote {d}")
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograder.oracle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train the oracle with minitorch, then export it")
    t.add_argument("--run-dir", default="runs/oracle")
    t.add_argument("--threads", default="1")
    t.add_argument("--max-iters", type=int, default=None, help=argparse.SUPPRESS)  # smoke tests only
    t.add_argument("--resume", action="store_true", help="continue an interrupted run in --run-dir")
    e = sub.add_parser("export", help="export a finished oracle run to autograder/fixtures/lm/oracle.ckpt")
    e.add_argument("--run-dir", default="runs/oracle")
    w = sub.add_parser("windows", help="hidden prediction windows and prompts (instructors; needs the corpus)")
    w.add_argument("--hidden", action="store_true", required=True)
    w.add_argument("--seed", type=int, required=True)
    w.add_argument("--out", required=True, help="the hidden fixture folder (written to OUT/lm/)")
    w.add_argument("--overwrite", action="store_true")
    sub.add_parser("public", help="rewrite autograder/fixtures/lm/public.npz (seed 0) from the corpus")
    b = sub.add_parser("baselines", help="hand-in folders of an untrained baby-gpt and of the bigram model")
    b.add_argument("--out", required=True)
    args = p.parse_args(argv)
    return {"train": cmd_train, "export": cmd_export, "windows": cmd_windows, "public": cmd_public,
            "baselines": cmd_baselines}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
