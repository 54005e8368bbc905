"""The hw4 training task: a handed-in character-level GPT, run by the grader's own NumPy forward.

The grader never runs a student's code on the trained model: it reads the checkpoint (minitorch's
pickle-free format, an ``.npz`` zip) itself, checks it against the task's limits, and runs the model
with the small NumPy GPT below (pre-norm blocks, learned positions, GELU MLP, tied or untied head: what
``python -m minitorch.train --model gpt`` builds), so a score depends on the weights only. The same code
runs the oracle (``fixtures/lm/oracle.ckpt``) that scores the generated text.

Runs in the sandbox child on untrusted bytes (``run_item``): NumPy only, nothing from ``minitorch``.
The parent scores what comes back (``score_generations``, ``credit``).
"""
import hashlib
import io
import json
import math
import os
import zipfile

import numpy as np

PREDICT_IN, PREDICT_OUT = 30, 10  # the prediction windows of minitorch.evaluate
MAX_CKPT_BYTES = 24 * 1024 * 1024  # a handed-in checkpoint (weights only, float32: about 5M parameters)
MAX_SUMMARY_BYTES = 64 * 1024
MAX_PARAMETERS = 5_000_000
MAX_BLOCK_SIZE = 256
MAX_LAYERS = 16
MAX_MEMBERS = 512  # arrays in a checkpoint
HANDIN_CKPT = "lm/best.ckpt"
HANDIN_SUMMARY = "lm/summary.json"
HANDIN_FILES = (HANDIN_CKPT, HANDIN_SUMMARY)

# generation: what the grader asks of every model
GEN_TOKENS = 200
GEN_TEMPERATURE = 0.8
REPEAT_N = 8                # n-gram length of the repetition guard
MIN_DISTINCT = 0.5          # share of distinct 8-grams a continuation must have
SCORE_STRIDE = 64           # sliding-window scoring of texts longer than a model's context

LM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "lm")


class LMError(ValueError):
    """A checkpoint that cannot be read or is outside the task's limits (the message says why)."""


# --------------------------------------------------------------------------- reading a checkpoint
def _read_json_member(data):
    return json.loads(np.lib.format.read_array(io.BytesIO(data), allow_pickle=False).tobytes().decode("utf-8"))


def read_checkpoint(raw, max_bytes=MAX_CKPT_BYTES):
    """The saved tree of a minitorch checkpoint (bytes), tensors and arrays as NumPy arrays. Checks the
    size caps (of the file and of every member, before reading it) and the recorded sha256."""
    if len(raw) > max_bytes:
        raise LMError(f"the checkpoint is {len(raw) / 2**20:.1f} MiB, over the {max_bytes / 2**20:g} MiB limit")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise LMError(f"the checkpoint has {len(infos)} entries, more than {MAX_MEMBERS}")
        if sum(i.file_size for i in infos) > max_bytes:
            raise LMError(f"the checkpoint expands to more than {max_bytes / 2**20:g} MiB")
        names = [i.filename for i in infos]
        if "__integrity__.npy" not in names or "__meta__.npy" not in names:
            raise LMError("not a minitorch checkpoint (no __integrity__ / __meta__ entry): hand in the best.ckpt "
                          "written by python -m minitorch.train")
        integrity = _read_json_member(zf.read("__integrity__.npy"))
        digest = hashlib.sha256()
        members = {}
        for name in names:
            if name == "__integrity__.npy":
                continue
            data = zf.read(name)
            digest.update(name.encode("utf-8"))
            digest.update(data)
            members[name] = data
    except LMError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError,
            UnicodeDecodeError, NotImplementedError, RuntimeError) as err:
        raise LMError(f"the checkpoint cannot be read, the file is truncated or corrupt ({type(err).__name__})") \
            from None
    if not isinstance(integrity, dict) or digest.hexdigest() != integrity.get("sha256") \
            or sum(len(d) for d in members.values()) != integrity.get("size"):
        raise LMError("the checkpoint is corrupt: its contents do not match its recorded sha256")
    try:
        meta = _read_json_member(members.pop("__meta__.npy"))
        arrays = {n[:-4]: np.lib.format.read_array(io.BytesIO(d), allow_pickle=False) for n, d in members.items()
                  if n.endswith(".npy")}
        return _decode(meta["tree"], arrays)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as err:
        raise LMError(f"the checkpoint's contents are malformed ({type(err).__name__})") from None


def _decode(obj, arrays, depth=0):
    if depth > 32:
        raise ValueError("nested too deeply")
    if isinstance(obj, list):
        return [_decode(v, arrays, depth + 1) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tensor__" in obj:
        return arrays[obj["__tensor__"]]
    if "__array__" in obj:
        return arrays[obj["__array__"]]
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays, depth + 1) for v in obj["__tuple__"])
    if "__dict__" in obj:
        return {str(k): _decode(v, arrays, depth + 1) for k, v in obj["__dict__"].items()}
    if "__items__" in obj:
        return {repr(_decode(k, arrays, depth + 1)): _decode(v, arrays, depth + 1) for k, v in obj["__items__"]}
    raise ValueError("unknown entry")


def _encode(obj, arrays):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float, np.integer, np.floating)):
        return obj.item() if isinstance(obj, np.generic) else obj
    if isinstance(obj, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"__tensor__": name, "requires_grad": False}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays) for v in obj]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {"__dict__": {str(k): _encode(v, arrays) for k, v in obj.items()}}
    raise TypeError(f"cannot store {type(obj).__name__}")


def checkpoint_bytes(tree):
    """``tree`` (dicts, lists, numbers, strings, NumPy arrays) in minitorch's checkpoint format (readable by
    ``minitorch.checkpoint.load``, arrays coming back as Tensors), as bytes."""
    arrays = {}
    meta = {"format": "minitorch-checkpoint", "version": 1, "tree": _encode(tree, arrays)}
    digest, size = hashlib.sha256(), 0
    buf = io.BytesIO()

    def npy(array):
        out = io.BytesIO()
        np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
        return out.getvalue()

    def jarr(data):
        return np.frombuffer(json.dumps(data).encode("utf-8"), dtype=np.uint8)

    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, array in [("__meta__.npy", jarr(meta))] + [(k + ".npy", v) for k, v in arrays.items()]:
            data = npy(array)
            digest.update(name.encode("utf-8"))
            digest.update(data)
            size += len(data)
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
        integrity = {"format": "minitorch-checkpoint", "version": 1, "sha256": digest.hexdigest(), "size": size}
        zf.writestr(zipfile.ZipInfo("__integrity__.npy", date_time=(1980, 1, 1, 0, 0, 0)), npy(jarr(integrity)))
    return buf.getvalue()


HANDIN_EXTRA = ("config", "tokenizer", "corpus", "val_loss", "best_val")


def weights_only(raw, max_bytes=1 << 30):
    """The hand-in copy of a minitorch.train checkpoint (bytes -> bytes): the model's weights, its config,
    tokenizer and corpus record, without the optimizer state (two more copies of the weights for AdamW)."""
    tree = read_checkpoint(raw, max_bytes=max_bytes)
    if not isinstance(tree, dict) or not isinstance(tree.get("model"), dict) or not isinstance(tree.get("extra"), dict):
        raise LMError("not a minitorch.train checkpoint (no model state or config inside)")
    extra = {k: tree["extra"][k] for k in HANDIN_EXTRA if k in tree["extra"]}
    return checkpoint_bytes({"model": tree["model"], "optimizer": None, "scheduler": None,
                             "step": tree.get("step"), "extra": extra, "rng": None})


# --------------------------------------------------------------------------- the model
def expected_shapes(cfg, vocab):
    """{state-dict key: shape} of the GPT that ``cfg`` (n_layer, n_embd, block_size, bias) describes."""
    e, t, h = cfg["n_embd"], cfg["block_size"], 4 * cfg["n_embd"]
    out = {"transformer.wte.weight": (vocab, e), "transformer.wpe.weight": (t, e)}
    lin = {"attn.c_attn": (3 * e, e), "attn.c_proj": (e, e), "mlp.c_fc": (h, e), "mlp.c_proj": (e, h)}
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            out[p + ln + ".weight"] = (e,)
            if cfg["bias"]:
                out[p + ln + ".bias"] = (e,)
        for name, shape in lin.items():
            out[p + name + ".weight"] = shape
            if cfg["bias"]:
                out[p + name + ".bias"] = (shape[0],)
    out["transformer.ln_f.weight"] = (e,)
    if cfg["bias"]:
        out["transformer.ln_f.bias"] = (e,)
    out["lm_head.weight"] = (vocab, e)
    return out


def _int(cfg, key, low, high):
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise LMError(f"config {key} = {v!r}: the task needs an integer in [{low}, {high}]")
    return v


class GPT:
    """A GPT's inference forward on NumPy arrays (float32): ``logits(ids)``, ``nll_windows``,
    ``sequence_logprobs``, ``generate``. Built from a minitorch.train checkpoint tree (``from_tree``)."""

    def __init__(self, weights, cfg, chars):
        self.w = weights
        self.n_layer, self.n_head, self.n_embd = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.block_size, self.bias = cfg["block_size"], cfg["bias"]
        self.chars = list(chars)
        self.vocab = len(self.chars)

    @classmethod
    def from_tree(cls, tree, vocab_chars=None, limits=True):
        """Check a checkpoint tree against the task (a character GPT on ``vocab_chars``, within the size
        limits) and build the model; LMError says what does not fit."""
        if not isinstance(tree, dict) or not isinstance(tree.get("model"), dict) \
                or not isinstance(tree.get("extra"), dict):
            raise LMError("not a minitorch.train checkpoint (no model state or config inside)")
        extra = tree["extra"]
        cfg, tok = extra.get("config"), extra.get("tokenizer")
        if not isinstance(cfg, dict) or not isinstance(tok, dict):
            raise LMError("not a minitorch.train checkpoint (no config or tokenizer inside)")
        if cfg.get("model") != "gpt":
            raise LMError(f"the model is {cfg.get('model')!r}: the training task hands in a GPT (--model gpt)")
        if tok.get("type") != "char" or tok.get("special_tokens"):
            raise LMError(f"the tokenizer is {tok.get('type')!r}"
                          + (" with special tokens" if tok.get("special_tokens") else "")
                          + ": the task is character-level (--tokenizer char)")
        chars = tok.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise LMError("the tokenizer's vocabulary is malformed")
        if vocab_chars is not None and chars != list(vocab_chars):
            raise LMError(f"the vocabulary ({len(chars)} characters) is not TinyShakespeare's {len(vocab_chars)} "
                          "characters in sorted order: train on the corpus the writeup names with --tokenizer char")
        hi = 1 << 20
        c = {"n_layer": _int(cfg, "n_layer", 1, MAX_LAYERS if limits else hi),
             "n_head": _int(cfg, "n_head", 1, hi), "n_embd": _int(cfg, "n_embd", 1, 4096 if limits else hi),
             "block_size": _int(cfg, "block_size", PREDICT_OUT, MAX_BLOCK_SIZE if limits else hi)}
        if c["n_embd"] % c["n_head"]:
            raise LMError(f"n_embd {c['n_embd']} is not divisible by n_head {c['n_head']}")
        bias, tied = cfg.get("bias", True), cfg.get("tie_weights", True)
        if not isinstance(bias, bool) or not isinstance(tied, bool):
            raise LMError("config bias / tie_weights must be true or false")
        c["bias"] = bias
        shapes = expected_shapes(c, len(chars))
        n_params = sum(int(np.prod(s)) for k, s in shapes.items() if not (tied and k == "lm_head.weight"))
        if limits and n_params > MAX_PARAMETERS:
            raise LMError(f"the model has {n_params:,} parameters, more than the task's {MAX_PARAMETERS:,}")
        state = tree["model"]
        missing = [k for k in shapes if k not in state]
        extra_keys = [k for k in state if k not in shapes]
        if missing or extra_keys:
            what = (f"missing {', '.join(missing[:3])}" if missing else "") \
                + ("; " if missing and extra_keys else "") \
                + (f"unexpected {', '.join(extra_keys[:3])}" if extra_keys else "")
            raise LMError(f"the model's weights do not fit its config: {what}")
        weights = {}
        for k, shape in shapes.items():
            a = state[k]
            if not isinstance(a, np.ndarray) or a.dtype.kind != "f" or tuple(a.shape) != shape:
                got = f"{getattr(a, 'dtype', type(a).__name__)} {tuple(getattr(a, 'shape', ()))}"
                raise LMError(f"weight {k}: expected a float array of shape {shape}, got {got}")
            a = a.astype(np.float32)
            if not np.all(np.isfinite(a)):
                raise LMError(f"weight {k} holds NaN or infinite values")
            weights[k] = a
        return cls(weights, c, chars)

    # ------------------------------------------------------------------ forward
    @staticmethod
    def _norm(x, w, b):
        mu = x.mean(-1, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(-1, keepdims=True)
        y = xc / np.sqrt(var + 1e-5) * w
        return y + b if b is not None else y

    def _lin(self, x, name):
        y = x @ self.w[name + ".weight"].T
        b = self.w.get(name + ".bias")
        return y + b if b is not None else y

    def _block(self, x, i, cache=None):
        """One pre-norm block on x (B, T, E); ``cache``: a dict with this layer's keys/values so far
        (extended in place), or None for a whole window."""
        p = f"transformer.h.{i}."
        b, t, e = x.shape
        h, hd = self.n_head, e // self.n_head
        a = self._norm(x, self.w[p + "ln_1.weight"], self.w.get(p + "ln_1.bias"))
        qkv = self._lin(a, p + "attn.c_attn").reshape(b, t, 3, h, hd).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = np.concatenate([cache["k"], k], axis=2)
                v = np.concatenate([cache["v"], v], axis=2)
            cache["k"], cache["v"] = k, v
        s = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / math.sqrt(hd))
        if t > 1:
            future = np.triu(np.ones((t, past + t), dtype=bool), past + 1)
            s = np.where(future, np.float32(-np.inf), s)
        s = s - s.max(-1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(-1, keepdims=True)
        y = (s @ v).transpose(0, 2, 1, 3).reshape(b, t, e)
        x = x + self._lin(y, p + "attn.c_proj")
        m = self._lin(self._norm(x, self.w[p + "ln_2.weight"], self.w.get(p + "ln_2.bias")), p + "mlp.c_fc")
        m = 0.5 * m * (1.0 + _erf(m * np.float32(1.0 / math.sqrt(2.0))))
        return x + self._lin(m, p + "mlp.c_proj")

    def logits(self, ids, caches=None, offset=0):
        """Logits (B, T, V) of token ids (B, T) (T + offset <= block_size); ``caches``: one dict per
        layer for incremental decoding (``offset`` = tokens already in them)."""
        ids = np.asarray(ids, dtype=np.int64)
        t = ids.shape[1]
        if offset + t > self.block_size:
            raise ValueError(f"{offset + t} tokens exceed the context of {self.block_size}")
        x = self.w["transformer.wte.weight"][ids] + self.w["transformer.wpe.weight"][offset:offset + t]
        for i in range(self.n_layer):
            x = self._block(x, i, None if caches is None else caches[i])
        x = self._norm(x, self.w["transformer.ln_f.weight"], self.w.get("transformer.ln_f.bias"))
        return x @ self.w["lm_head.weight"].T

    @staticmethod
    def _log_softmax(z):
        z = z.astype(np.float64)
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    def nll_windows(self, inputs, targets, batch=32):
        """Per-window mean NLL (nats) of ``targets`` (N, 10) after ``inputs`` (N, 30), teacher forced, from
        the last block_size tokens (as ``minitorch.evaluate.score_prediction_set``)."""
        ctx = np.concatenate([inputs, targets], axis=1)[:, :-1][:, -self.block_size:]
        out = []
        for s in range(0, len(ctx), batch):
            lp = self._log_softmax(self.logits(ctx[s:s + batch])[:, -targets.shape[1]:, :])
            out.append(-np.take_along_axis(lp, targets[s:s + batch, :, None], axis=2)[:, :, 0].mean(1))
        return np.concatenate(out)

    def sequence_logprobs(self, ids, stride=SCORE_STRIDE):
        """log p(ids[i] | ids[:i]) for i = 1..len-1 (float64), each from up to block_size tokens of context:
        windows of block_size tokens advancing by ``stride`` (every position after the first window keeps
        at least block_size - stride tokens of context)."""
        ids = np.asarray(ids, dtype=np.int64)
        n, blk = len(ids), self.block_size
        out = np.empty(n - 1)
        done = 0  # positions 1..done are scored
        start = 0
        while done < n - 1:
            end = min(start + blk, n)
            lp = self._log_softmax(self.logits(ids[None, start:end])[0])  # predicts start+1 .. end
            first = done + 1  # first position still to score
            pos = np.arange(first, end)
            out[pos - 1] = lp[pos - start - 1, ids[pos]]
            done = end - 1
            start = min(start + stride, max(n - blk, 0)) if end < n else start
        return out

    def generate(self, prompt, n_tokens, temperature, seed):
        """``n_tokens`` ids sampled after ``prompt`` (1-d ids) at ``temperature`` with NumPy's PCG64
        generator seeded ``seed`` (inverse-CDF draws on the float64 softmax), with a key/value cache.
        When the context is full, the last block_size // 2 tokens are re-encoded and decoding continues
        on them, so every token is drawn from between block_size // 2 and block_size tokens of context
        (one re-encoding per block_size // 2 tokens, not one per token)."""
        rng = np.random.default_rng(seed)
        seq = [int(t) for t in prompt]
        caches, offset = None, 0
        keep = max(1, self.block_size // 2)
        pending = seq[-self.block_size:]
        out = []
        for _ in range(n_tokens):
            if offset + len(pending) > self.block_size:
                pending = seq[-keep:]
                caches, offset = None, 0
            if caches is None:
                caches = [{} for _ in range(self.n_layer)]
            z = self.logits(np.asarray([pending]), caches, offset)[0, -1].astype(np.float64) / temperature
            offset += len(pending)
            p = np.exp(z - z.max())
            c = np.cumsum(p)
            tok = int(min(np.searchsorted(c, rng.random() * c[-1], side="right"), len(c) - 1))
            seq.append(tok)
            out.append(tok)
            pending = [tok]
        return np.asarray(out, dtype=np.int64)


def _erf(x):
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), in x's dtype."""
    a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
    ax = np.abs(x)
    t = 1.0 / (1.0 + p * ax)
    y = 1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * np.exp(-ax * ax)
    return np.copysign(y, x).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- the task's data
def load_task(lm_dir=LM_DIR):
    """{'vocab': [...], 'public': {...arrays}, 'manifest': {...}} of the task, checked against the
    manifest's sha256."""
    from .fixtures import sha256_file  # noqa: PLC0415 - parent side only

    with open(os.path.join(lm_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    for name, info in manifest["files"].items():
        if sha256_file(os.path.join(lm_dir, name)) != info["sha256"]:
            raise LMError(f"{os.path.join(lm_dir, name)} does not match its sha256 in {lm_dir}/manifest.json")
    with open(os.path.join(lm_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)["chars"]
    return {"vocab": vocab, "manifest": manifest, "dir": lm_dir}


def read_windows(path):
    """The arrays of a window set (.npz): inputs (N, 30), targets (N, 10), prompts (P, L) padded with -1,
    seeds (P,)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_oracle(lm_dir=LM_DIR):
    """The oracle GPT (its checkpoint checked against the manifest by ``load_task``)."""
    with open(os.path.join(lm_dir, "oracle.ckpt"), "rb") as f:
        tree = read_checkpoint(f.read(), max_bytes=64 * 1024 * 1024)
    return GPT.from_tree(tree, limits=False)


# --------------------------------------------------------------------------- the sandbox side
def run_item(data, key):
    """In the sandbox child: the handed-in model's prediction NLL on one window set and its generations
    for that set's prompts. ``data``: the job's input arrays; ``key``: this set's prefix."""
    raw = data["lm/ckpt"].tobytes()
    vocab = json.loads(data["lm/vocab"].tobytes().decode("utf-8"))
    model = GPT.from_tree(read_checkpoint(raw), vocab)
    inputs, targets = data[f"{key}/inputs"].astype(np.int64), data[f"{key}/targets"].astype(np.int64)
    res = {"out/nll": model.nll_windows(inputs, targets)}
    prompts, seeds = data[f"{key}/prompts"].astype(np.int64), data[f"{key}/seeds"].astype(np.int64)
    n = int(data[f"{key}/gen_tokens"][0])
    temp = float(data[f"{key}/temperature"][0])
    gens = np.full((len(prompts), n), -1, dtype=np.int64)
    for i, (pr, sd) in enumerate(zip(prompts, seeds)):
        gens[i] = model.generate(pr[pr >= 0], n, temp, int(sd))
    res["out/generated"] = gens
    res["out/parameters"] = np.asarray([sum(v.size for k, v in model.w.items())], dtype=np.int64)
    return res


# --------------------------------------------------------------------------- the parent side
def generation_problem(continuation, n_asked, vocab_size, n=REPEAT_N, min_distinct=MIN_DISTINCT, chars=None):
    """Why a generated continuation (token ids) earns no generation points, or None: shorter than asked,
    ids outside the vocabulary, or one n-gram repeated over and over (fewer than ``min_distinct`` of its
    n-grams distinct)."""
    ids = np.asarray(continuation).reshape(-1)
    if len(ids) < n_asked:
        return f"the continuation has {len(ids)} characters, {n_asked} were asked for"
    if ids.dtype.kind not in "iu" or ids.min(initial=0) < 0 or ids.max(initial=0) >= vocab_size:
        return f"the continuation holds characters outside the {vocab_size}-character vocabulary"
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    if grams:
        distinct = len(set(grams)) / len(grams)
        if distinct < min_distinct:
            top = max(set(grams), key=grams.count)
            shown = "".join(chars[t] for t in top) if chars else " ".join(map(str, top))
            return (f"the text repeats itself: only {distinct:.0%} of its {n}-grams are distinct (at least "
                    f"{min_distinct:.0%} needed); {shown!r} occurs {grams.count(top)} times")
    return None


def oracle_nll(oracle, prompt, continuation):
    """Mean NLL per character (nats) of ``continuation`` after ``prompt`` under the oracle."""
    ids = np.concatenate([np.asarray(prompt, dtype=np.int64), np.asarray(continuation, dtype=np.int64)])
    lp = oracle.sequence_logprobs(ids)
    return float(-lp[len(prompt) - 1:].mean())


def credit(value, full, zero):
    """Share of the points for a measure where lower is better: 1 at or below ``full``, 0 at or above
    ``zero``, linear between."""
    if not math.isfinite(value):
        return 0.0
    return float(min(1.0, max(0.0, (zero - value) / (zero - full))))
