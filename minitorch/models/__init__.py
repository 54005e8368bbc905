"""Language models built from ``minitorch.nn``: GPT (transformer), recurrent LMs, LSTM + attention."""
from .gpt import GPT, CausalLanguageModel, KVCache, generate_tokens
from .lstm_attention import LSTMAttentionLM, LSTMAttentionState
from .recurrent_lm import RecurrentLM

__all__ = ["GPT", "CausalLanguageModel", "KVCache", "generate_tokens", "LSTMAttentionLM", "LSTMAttentionState",
           "RecurrentLM"]
