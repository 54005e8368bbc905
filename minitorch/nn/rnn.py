"""Recurrent layers with PyTorch's signatures, parameter names and shapes: ``RNNCell``,
``GRUCell``, ``LSTMCell`` (one step) and ``RNN``, ``GRU``, ``LSTM`` (whole sequences, stacked
layers, optional bidirectional, dropout between layers).

A torch ``state_dict`` loads as is (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) and gives
torch's outputs and gradients. Each layer and direction of a sequence is a single autograd node
(``minitorch.autograd.functions.recurrent``): the time loop runs inside the kernel, once forward
and once in reverse for backpropagation through time.

Beyond torch, ``RNN``, ``GRU`` and ``LSTM`` can take their first layer's input already projected
(``input_projection``, then ``forward(..., projected=True)``): a language model whose input is an embedding E then
projects E's V rows once, E W_ih^T + b_ih, and picks rows of that for its tokens, instead of projecting every
token.
"""
import math
import warnings

import numpy as np

from .. import backend
from ..autograd import Tensor, cat, stack
from ..autograd.functions import recurrent as RF
from ..autograd.tensor import as_dtype
from . import functional as F
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


def _uniform_parameter(shape, bound, dtype=None, device=None):
    """A Parameter drawn from U(-bound, bound) with the seeded backend generator (torch's RNN init)."""
    dt = as_dtype(dtype) or backend.get_default_dtype()
    xp = backend.module_for_device(backend.core.normalize_device(device))
    arr = backend.generator(xp).uniform(-bound, bound, size=shape).astype(dt)
    return Parameter(Tensor._make(arr))


def _check_positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")


def _zeros(like, shape):
    xp = backend.get_array_module(like.data)
    return Tensor._make(xp.zeros(shape, dtype=like.dtype))


def _check_dtype(owner, what, t, param):
    if not isinstance(t, Tensor):
        raise TypeError(f"{owner}: expected {what} to be a Tensor, got {type(t).__name__}")
    if t.dtype != param.dtype:
        raise TypeError(
            f"{owner}: {what} has dtype {t.dtype}, but the parameters are {param.dtype}; "
            f"cast one of them (e.g. module.to({str(t.dtype)!r}) or {what}.to({str(param.dtype)!r}))"
        )


# ============================================================================ cells
class RNNCellBase(Module):
    """Shared parameters and checks of the three cells: weight_ih (G*H, I), weight_hh (G*H, H),
    bias_ih and bias_hh (G*H,) where G is the number of gates."""

    _num_gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "input_size", input_size)
        _check_positive_int(name, "hidden_size", hidden_size)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        G, H = self._num_gates, self.hidden_size
        k = 1.0 / math.sqrt(H)
        self.weight_ih = _uniform_parameter((G * H, self.input_size), k, dtype, device)
        self.weight_hh = _uniform_parameter((G * H, H), k, dtype, device)
        if bias:
            self.bias_ih = _uniform_parameter((G * H,), k, dtype, device)
            self.bias_hh = _uniform_parameter((G * H,), k, dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def reset_parameters(self):
        """Redraw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            xp = backend.get_array_module(p.data)
            p.data = xp.asarray(backend.generator(xp).uniform(-k, k, size=p.shape)).astype(p.dtype)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _describe(self):
        return f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"

    def _prepare(self, input, hx):  # noqa: A002 - torch's argument name
        """(x (B, I), [states (B, H)], batched) after checking shapes and dtypes; missing states are zeros."""
        who = self._describe()
        if not isinstance(input, Tensor):
            raise TypeError(f"{who}: expected input to be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{who}: expected input of shape (batch, {self.input_size}) or ({self.input_size},), "
                f"got shape {input.shape}"
            )
        _check_dtype(who, "input", input, self.weight_ih)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        B, H = x.shape[0], self.hidden_size
        n_states = 2 if isinstance(self, LSTMCell) else 1
        if hx is None:
            states = [_zeros(x, (B, H)) for _ in range(n_states)]
        else:
            if n_states == 2:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{who}: expected hx to be a tuple (h, c), got {type(hx).__name__}")
                states = list(hx)
            else:
                states = [hx]
            want = (B, H) if batched else (H,)
            for j, s in enumerate(states):
                what = ("h", "c")[j] if n_states == 2 else "hx"
                _check_dtype(who, what, s, self.weight_hh)
                if s.shape != want:
                    raise ValueError(
                        f"{who}: expected {what} of shape {want} for input of shape {input.shape}, got shape {s.shape}"
                    )
            if not batched:
                states = [s.unsqueeze(0) for s in states]
        return x, states, batched

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """An Elman RNN cell: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu.

    forward(input (N, I) or (I,), hx=None (N, H) or (H,)) -> h' with hx's shape (zeros if None)."""

    _num_gates = 1

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - torch's argument name
        x, (h,), batched = self._prepare(input, hx)
        h_new = RF.RNNCellFunction.apply(x, h, *self._weights(), nonlinearity=self.nonlinearity)
        return h_new if batched else h_new.squeeze(0)


class GRUCell(RNNCellBase):
    """A GRU cell with torch's gates (r, z, n): n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h. forward(input, hx=None) -> h'."""

    _num_gates = 3

    def forward(self, input, hx=None):  # noqa: A002 - torch's argument name
        x, (h,), batched = self._prepare(input, hx)
        h_new = RF.GRUCellFunction.apply(x, h, *self._weights())
        return h_new if batched else h_new.squeeze(0)


class LSTMCell(RNNCellBase):
    """An LSTM cell with torch's gates (i, f, g, o): c' = f c + i g, h' = o tanh(c').
    forward(input, hx=None or (h, c)) -> (h', c')."""

    _num_gates = 4

    def forward(self, input, hx=None):  # noqa: A002 - torch's argument name
        x, (h, c), batched = self._prepare(input, hx)
        h_new, c_new = RF.LSTMCellFunction.apply(x, h, c, *self._weights())
        if not batched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


# ============================================================================ sequence layers
class RNNBase(Module):
    """Stacked, optionally bidirectional recurrent layers (the shared part of RNN, GRU, LSTM).

    Parameters per layer k and direction (suffix "" or "_reverse"), registered in torch's order:
    weight_ih_l{k} (G*H, I_k), weight_hh_l{k} (G*H, H), bias_ih_l{k}, bias_hh_l{k} (G*H,), where
    I_0 = input_size and I_k = D*H above (D = 2 if bidirectional else 1)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "input_size", input_size)
        _check_positive_int(name, "hidden_size", hidden_size)
        _check_positive_int(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in the range [0, 1], got {dropout!r}")
        if proj_size != 0:
            raise NotImplementedError(f"{name}: proj_size > 0 (projected LSTM) is not supported, got {proj_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout={dropout} and num_layers=1: dropout acts only between stacked layers, so it "
                "has no effect here",
                stacklevel=3,
            )
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = 0
        G, H = _GATES[mode], self.hidden_size
        D = 2 if self.bidirectional else 1
        k = 1.0 / math.sqrt(H)
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            in_size = self.input_size if layer == 0 else D * H
            for direction in range(D):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                names = ["weight_ih" + suffix, "weight_hh" + suffix]
                setattr(self, names[0], _uniform_parameter((G * H, in_size), k, dtype, device))
                setattr(self, names[1], _uniform_parameter((G * H, H), k, dtype, device))
                if self.bias:
                    names += ["bias_ih" + suffix, "bias_hh" + suffix]
                    setattr(self, names[2], _uniform_parameter((G * H,), k, dtype, device))
                    setattr(self, names[3], _uniform_parameter((G * H,), k, dtype, device))
                self._flat_weights_names.extend(names)

    def reset_parameters(self):
        """Redraw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            xp = backend.get_array_module(p.data)
            p.data = xp.asarray(backend.generator(xp).uniform(-k, k, size=p.shape)).astype(p.dtype)

    def flatten_parameters(self):
        """A no-op kept for torch compatibility (cuDNN weight packing does not apply here)."""

    @property
    def all_weights(self):
        """Per layer and direction, the list [weight_ih, weight_hh(, bias_ih, bias_hh)]."""
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def _describe(self):
        return f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"

    def _layer_weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        if self.bias:
            return tuple(getattr(self, n + suffix) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        return getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), None, None

    def _projected_width(self):
        """Columns of ``input_projection``'s result: every direction's G*H gate columns of layer 0."""
        return (2 if self.bidirectional else 1) * _GATES[self.mode] * self.hidden_size

    def input_projection(self, x):
        """The first layer's input part of every step, x W_ih^T + b_ih, for each direction (forward first),
        concatenated on the last axis: x (..., input_size) -> (..., D*G*H), D = 2 if bidirectional else 1, G the
        gates (1, 3, 4). ``forward(..., projected=True)`` takes it in place of the input. It is linear in each row
        of x, so for an embedding E (V, input_size), ``input_projection(E)`` picked at the tokens equals the
        projection of the looked-up rows: V rows' work instead of one per token."""
        who = self._describe()
        if not isinstance(x, Tensor):
            raise TypeError(f"{who}.input_projection: expected a Tensor, got {type(x).__name__}")
        if x.ndim < 1 or x.shape[-1] != self.input_size:
            raise ValueError(f"{who}.input_projection: expected last dimension {self.input_size}, got shape "
                             f"{x.shape}")
        _check_dtype(who, "input", x, self.weight_ih_l0)
        D = 2 if self.bidirectional else 1
        parts = []
        for direction in range(D):
            w_ih, _, b_ih, _ = self._layer_weights(0, direction)
            parts.append(F.linear(x, w_ih, b_ih))
        return parts[0] if D == 1 else cat(parts, dim=-1)

    def forward(self, input, hx=None, *, projected=False):  # noqa: A002 - torch's argument name
        """torch's forward (see the subclass). ``projected=True`` (minitorch's): ``input`` is the first layer's
        ``input_projection`` of the input, (L, N, D*G*H) [(N, L, D*G*H) if batch_first] or (L, D*G*H); the
        results are the same up to float rounding, and the gradients reach W_ih and b_ih through the projection."""
        return self._forward(input, hx, projected=bool(projected))

    def _forward(self, input, hx, projected):  # noqa: A002 - torch's argument name
        raise NotImplementedError

    def _check_input(self, input, projected=False):  # noqa: A002 - torch's argument name
        who = self._describe()
        if not isinstance(input, Tensor):
            raise TypeError(f"{who}: expected input to be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            layout = "(batch, seq_len, features)" if self.batch_first else "(seq_len, batch, features)"
            raise ValueError(
                f"{who}: expected a 3-D input {layout} or a 2-D unbatched input (seq_len, features), "
                f"got a {input.ndim}-D input of shape {input.shape}"
            )
        width = self._projected_width() if projected else self.input_size
        if input.shape[-1] != width:
            what = "a projected input (see input_projection)" if projected else "input"
            raise ValueError(f"{who}: expected {what} with last dimension {width}, got shape {input.shape}")
        time_axis = 1 if (self.batch_first and input.ndim == 3) else 0
        if input.shape[time_axis] == 0:
            raise ValueError(f"{who}: expected a sequence of length >= 1, got input of shape {input.shape}")
        _check_dtype(who, "input", input, self.weight_ih_l0)

    def _check_state(self, what, s, batched, B):
        who = self._describe()
        D = 2 if self.bidirectional else 1
        want = (self.num_layers * D, B, self.hidden_size) if batched else (self.num_layers * D, self.hidden_size)
        if not isinstance(s, Tensor):
            raise TypeError(f"{who}: expected {what} to be a Tensor, got {type(s).__name__}")
        if s.shape != want:
            layout = "(num_layers * num_directions, batch, hidden_size)" if batched else \
                "(num_layers * num_directions, hidden_size) for unbatched input"
            raise ValueError(f"{who}: expected {what} of shape {want} {layout}, got shape {s.shape}")
        _check_dtype(who, what, s, self.weight_hh_l0)
        return s if batched else s.unsqueeze(1)

    def _run(self, input, states, projected=False):  # noqa: A002 - torch's argument name
        """Shared forward. ``states``: None or a list of initial-state tensors (1 for RNN/GRU, 2 for LSTM);
        ``projected``: the input is the first layer's ``input_projection``. Returns (output, [final states])."""
        self._check_input(input, projected)
        batched = input.ndim == 3
        if not batched:
            x = input.unsqueeze(1)
        elif self.batch_first:
            x = input.transpose(0, 1)
        else:
            x = input
        B = x.shape[1]
        n_states = 2 if self.mode == "LSTM" else 1
        D = 2 if self.bidirectional else 1
        if states is not None:
            names = ("h_0", "c_0") if n_states == 2 else ("hx",)
            states = [self._check_state(n, s, batched, B) for n, s in zip(names, states)]
        finals = [[] for _ in range(n_states)]
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(D):
                idx = layer * D + direction
                if states is None:
                    init = [_zeros(x, (B, self.hidden_size)) for _ in range(n_states)]
                else:
                    init = [s[idx] for s in states]
                weights, layer_x = self._layer_weights(layer, direction), layer_input
                if projected and layer == 0:  # this direction's columns of the projection; W_ih, b_ih are in it
                    width = _GATES[self.mode] * self.hidden_size
                    layer_x = layer_input if D == 1 else layer_input[..., direction * width:(direction + 1) * width]
                    weights = (None, weights[1], None, weights[3])
                res = self._apply_layer(layer_x, init, weights, direction == 1)
                outputs.append(res[0])
                for j in range(n_states):
                    finals[j].append(res[1 + j])
            layer_input = outputs[0] if D == 1 else cat(outputs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                from . import functional as F  # noqa: PLC0415 - written alongside; only needed here

                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input
        finals = [stack(f, dim=0) for f in finals]
        if not batched:
            return output.squeeze(1), [f.squeeze(1) for f in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def _apply_layer(self, x, init, weights, reverse):
        raise NotImplementedError


class RNN(RNNBase):
    """Elman RNN layers: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    forward(input (L, N, I) [(N, L, I) if batch_first] or (L, I), hx=None (num_layers*D, N, H))
    -> (output (L, N, D*H), h_n (num_layers*D, N, H))."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _apply_layer(self, x, init, weights, reverse):
        return RF.RNNFunction.apply(x, init[0], *weights, nonlinearity=self.nonlinearity, reverse=reverse)

    def _forward(self, input, hx, projected):  # noqa: A002 - torch's argument name
        output, (h_n,) = self._run(input, None if hx is None else [hx], projected)
        return output, h_n


class GRU(RNNBase):
    """GRU layers with torch's gates (r, z, n) and "linear before reset":
    n_t = tanh(W_in x_t + b_in + r_t (W_hn h_{t-1} + b_hn)), h_t = (1 - z_t) n_t + z_t h_{t-1}.

    forward(input, hx=None) -> (output (L, N, D*H), h_n (num_layers*D, N, H))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def _apply_layer(self, x, init, weights, reverse):
        return RF.GRUFunction.apply(x, init[0], *weights, reverse=reverse)

    def _forward(self, input, hx, projected):  # noqa: A002 - torch's argument name
        output, (h_n,) = self._run(input, None if hx is None else [hx], projected)
        return output, h_n


class LSTM(RNNBase):
    """LSTM layers with torch's gates (i, f, g, o): c_t = f_t c_{t-1} + i_t g_t, h_t = o_t tanh(c_t).

    forward(input, hx=None or (h_0, c_0)) -> (output (L, N, D*H), (h_n, c_n)), h_n and c_n
    of shape (num_layers*D, N, H)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size=proj_size, device=device, dtype=dtype)

    def _apply_layer(self, x, init, weights, reverse):
        return RF.LSTMFunction.apply(x, init[0], init[1], *weights, reverse=reverse)

    def _forward(self, input, hx, projected):  # noqa: A002 - torch's argument name
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(
                f"{self._describe()}: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}"
            )
        output, (h_n, c_n) = self._run(input, None if hx is None else list(hx), projected)
        return output, (h_n, c_n)
