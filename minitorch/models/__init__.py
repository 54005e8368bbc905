"""Language models built from ``minitorch.nn``: GPT (transformer), recurrent LMs, LSTM + attention; ``registry``: the
run ``Config``, ``PRESETS``, ``build_model`` and ``load_model`` that the training tools share."""
from .gpt import GPT, CausalLanguageModel, KVCache, generate_tokens
from .lstm_attention import LSTMAttentionLM, LSTMAttentionState
from .recurrent_lm import RecurrentLM
from .registry import PRESETS, Config, build_model, load_model

__all__ = ["GPT", "CausalLanguageModel", "KVCache", "generate_tokens", "LSTMAttentionLM", "LSTMAttentionState",
           "RecurrentLM", "Config", "PRESETS", "build_model", "load_model"]
