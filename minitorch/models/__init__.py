"""Language models built from ``minitorch.nn``: GPT (transformer), recurrent LMs, LSTM + attention."""
from .gpt import GPT, CausalLanguageModel, KVCache
from .recurrent_lm import RecurrentLM

__all__ = ["GPT", "CausalLanguageModel", "KVCache", "RecurrentLM"]
