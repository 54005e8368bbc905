"""The models a training run can build, by name: the run ``Config``, the ``PRESETS``, ``build_model``,
the optimizer's parameter groups, the language-model loss, and ``load_model`` for a trained checkpoint.

This is what ``python -m minitorch.train`` (``minitorch.cli.train``) and every other tool that rebuilds a
model from a config share, kept beside the models as nanoGPT keeps ``GPTConfig`` and ``configure_optimizers``
beside its GPT::

    from minitorch.models.registry import PRESETS, Config, build_model, load_model
    cfg = Config(**{"preset": "lstm", **PRESETS["lstm"]})
    model = build_model(cfg, vocab_size=65)
    model, tokenizer, checkpoint = load_model("runs/baby-gpt/best.ckpt")
"""
import dataclasses
import os

from ..checkpoint import load_checkpoint
from ..data import tokenizer_from_dict
from ..errors import UsageError
from ..nn import functional as F
from ..optim import AdamW
from .gpt import GPT
from .lstm_attention import LSTMAttentionLM
from .recurrent_lm import RecurrentLM

MODELS = ("gpt", "lstm", "gru", "rnn", "lstm-attention")


@dataclasses.dataclass
class Config:
    """Everything a run depends on; stored in every checkpoint."""

    preset: str = "baby-gpt"
    model: str = "gpt"  # gpt | lstm | gru | rnn | lstm-attention
    corpus: str = "auto"  # auto = tinyshakespeare if present, else python-stdlib
    tokenizer: str = "char"  # char | bpe
    bpe_vocab_size: int = 512
    val_fraction: float = 0.1
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True
    hidden_size: int = 256
    num_layers: int = 1
    bidirectional: bool = False
    # optimisation
    batch_size: int = 12
    max_iters: int = 2000
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    schedule: str = "cosine"  # cosine | constant | plateau
    plateau_patience: int = 2
    plateau_factor: float = 0.5
    # evaluation and output
    eval_interval: int = 250
    eval_iters: int = 20
    sample_tokens: int = 200
    log_interval: int = 10
    seed: int = 1337
    device: str = "cpu"
    dtype: str = "float32"
    out_dir: str = "runs/baby-gpt"


# Shared by the recurrent presets: char-level, block 64, batch 12, 2000 iterations, no weight decay.
_RECURRENT = dict(n_embd=128, hidden_size=256, num_layers=1, block_size=64, batch_size=12, dropout=0.0, lr=2e-3,
                  min_lr=2e-4, warmup_iters=50, max_iters=2000, weight_decay=0.0, tie_weights=False)

PRESETS = {
    "baby-gpt": dict(model="gpt", n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, dropout=0.0,
                     lr=1e-3, min_lr=1e-4, warmup_iters=100, max_iters=2000, beta2=0.99, weight_decay=0.1),
    "lstm": dict(_RECURRENT, model="lstm"),
    "gru": dict(_RECURRENT, model="gru"),
    "rnn": dict(_RECURRENT, model="rnn", lr=1e-3, min_lr=1e-4),
    "lstm-attention": dict(_RECURRENT, model="lstm-attention", hidden_size=128, n_head=4),
}


def config_from_dict(saved):
    """A Config from a saved dict, ignoring fields this version does not know."""
    names = {f.name for f in dataclasses.fields(Config)}
    return Config(**{k: v for k, v in saved.items() if k in names})


def build_model(cfg, vocab_size):
    """The model a config describes, with fresh weights from minitorch's global generator."""
    if cfg.model == "gpt":
        return GPT(vocab_size=vocab_size, block_size=cfg.block_size, n_layer=cfg.n_layer, n_head=cfg.n_head,
                   n_embd=cfg.n_embd, dropout=cfg.dropout, bias=cfg.bias, tie_weights=cfg.tie_weights)
    if cfg.model in ("lstm", "gru", "rnn"):
        return RecurrentLM(vocab_size, embedding_dim=cfg.n_embd, hidden_size=cfg.hidden_size,
                           num_layers=cfg.num_layers, cell=cfg.model, dropout=cfg.dropout,
                           tie_weights=cfg.tie_weights)
    if cfg.model == "lstm-attention":
        return LSTMAttentionLM(vocab_size, embedding_dim=cfg.n_embd, hidden_size=cfg.hidden_size,
                               num_heads=cfg.n_head, dropout=cfg.dropout, bidirectional=cfg.bidirectional)
    raise ValueError(f"unknown model {cfg.model!r}: expected gpt, lstm, gru, rnn or lstm-attention")


def weight_decay_groups(model, weight_decay):
    """AdamW parameter groups: matrices (embeddings, Linear and recurrent weights) decay by ``weight_decay``;
    vectors (biases, norm gains) do not."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def configure_optimizer(model, cfg):
    """The AdamW optimizer of a run: ``weight_decay_groups`` with the config's lr and betas."""
    return AdamW(weight_decay_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def lm_loss(model, x, y):
    """Mean next-token cross-entropy of ``model`` on int64 Tensors x, y (B, T)."""
    logits = model(x)
    v = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, v), y.reshape(-1))


def checkpoint_file(path, flag="--checkpoint"):
    """``path`` when it is an existing file; otherwise a UsageError that says what is there instead."""
    path = os.fspath(path)
    if os.path.isdir(path):
        inside = [n for n in ("best.ckpt", "last.ckpt") if os.path.isfile(os.path.join(path, n))]
        fix = (f"give a checkpoint file, e.g. {flag} {os.path.join(path, inside[0])}" if inside
               else "give a .ckpt file written by python -m minitorch.train")
        raise UsageError(f"{flag} {path} is a directory", fix)
    if not os.path.exists(path):
        raise UsageError(f"{flag} {path}: no such file",
                         "check the path; python -m minitorch.train writes best.ckpt and last.ckpt to its --out-dir")
    return path


def load_model(path, device="cpu"):
    """(model in eval mode, tokenizer, checkpoint dict) from a training checkpoint. A path that is missing or a
    folder, or a file that is not a minitorch.train checkpoint, raises ``minitorch.errors.UsageError``; a corrupt
    one ``CheckpointError``."""
    path = checkpoint_file(path)
    ckpt = load_checkpoint(path, restore_rng=False)
    extra = ckpt.get("extra") or {}
    if not isinstance(extra, dict) or "config" not in extra or "tokenizer" not in extra:
        raise UsageError(f"{path} is not a minitorch.train checkpoint (no model config or tokenizer inside)",
                         "give the best.ckpt or last.ckpt of a python -m minitorch.train run")
    cfg = config_from_dict(extra["config"])
    tok = tokenizer_from_dict(extra["tokenizer"])
    model = build_model(cfg, tok.vocab_size)
    load_checkpoint(path, model=model, restore_rng=False)
    if device != "cpu":
        model.to(device)
    model.eval()
    return model, tok, ckpt
