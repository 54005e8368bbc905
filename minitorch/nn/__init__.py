"""Layers, containers, losses, initialisers (``minitorch.nn``), with PyTorch's names.

A plain list of imports: layer developers append theirs at the end."""
# ruff: noqa: F401, I001
from .module import Module
from .parameter import Parameter
from .container import ModuleDict, ModuleList, Sequential
from . import init
from . import functional
from . import utils
from .linear import Identity, Linear
from .sparse import Embedding
from .normalization import LayerNorm, RMSNorm
from .dropout import Dropout
from .activation import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
from .attention import Attention, MultiheadAttention
from .transformer import LearnedPositionalEmbedding, SinusoidalPositionalEncoding, TransformerDecoderBlock
from .flatten import Flatten, Unflatten
from .activation import ELU, LeakyReLU, SiLU, Softplus
from .batchnorm import BatchNorm1d, BatchNorm2d
