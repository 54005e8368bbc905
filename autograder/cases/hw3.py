"""hw3: RNN / GRU / LSTM cells and sequences (minitorch/kernels/recurrent.py) through nn.RNNCell,
nn.GRUCell, nn.LSTMCell, nn.RNN, nn.GRU and nn.LSTM loaded with the test's weights."""
import itertools

from ..spec import Registry, X, load

REGISTRY = Registry("hw3")
case = REGISTRY.case

GRU_GATES = ("r", "z", "n")
LSTM_GATES = ("i", "f", "g", "o")
GATE_WORDS = {"GRU": "r reset, z update, n new (tanh)", "LSTM": "i input, f forget, g cell candidate (tanh), o output"}
GRU_RESET = ("GRU reset gate applied outside W_hn: torch computes n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), "
             "not tanh(W_in x + b_in + W_hn (r * h) + b_hn)")
CELL_P = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _seq_params(layers=1, bidirectional=False):
    suffixes = ("", "_reverse") if bidirectional else ("",)
    return tuple(f"{p}_l{k}{s}" for k in range(layers) for s in suffixes for p in CELL_P)


def _module_fn(build, n_data, names, call):
    """fn(lib, *data, *params): build the module in the inputs' dtype, load the params, call it."""
    def fn(lib, *tensors):
        data, params = tensors[:n_data], tensors[n_data:]
        m = build(lib, data[0].dtype)
        leaves = load(lib, m, dict(zip(names, params)))
        return call(m, *data), leaves
    return fn


def _cell_inputs(gates, with_c=False):
    d = {"x": X("B", "I"), "h": X("B", "H")}
    if with_c:
        d["c"] = X("B", "H")
    d.update({"weight_ih": X(gates + "H", "I", scale=0.5), "weight_hh": X(gates + "H", "H", scale=0.5),
              "bias_ih": X(gates + "H", scale=0.5), "bias_hh": X(gates + "H", scale=0.5)})
    return d


def _seq_inputs(gates, with_c=False, layers=1, T="T", B="B", bidirectional=False):
    dirs = 2 if bidirectional else 1
    d = {"x": X(B, T, "I"), "h0": X(layers * dirs, B, "H")}
    if with_c:
        d["c0"] = X(layers * dirs, B, "H")
    for k in range(layers):
        in_size = "I" if k == 0 else ("H" if dirs == 1 else "2H")
        g = gates + "H"
        for sfx in ("", "_reverse")[:dirs]:
            d.update({f"weight_ih_l{k}{sfx}": X(g, in_size, scale=0.5), f"weight_hh_l{k}{sfx}": X(g, "H", scale=0.5),
                      f"bias_ih_l{k}{sfx}": X(g, scale=0.5), f"bias_hh_l{k}{sfx}": X(g, scale=0.5)})
    return d


# the gate-multiplied dims: "4H" etc. are resolved through dims
def _dims(B=2, T=3, I=3, H=2):  # noqa: E741
    return {"B": B, "T": T, "I": I, "H": H, "3H": 3 * H, "4H": 4 * H, "1H": H, "2H": 2 * H}


# --------------------------------------------------------------------------- manual torch versions (alts)
def gate_order_alts(kind, build, n_data, names, call):
    """One known-wrong variant per wrong gate order: code that takes PyTorch's gate j from row block
    perm[j] of every W_ih, W_hh, b_ih, b_hh equals PyTorch run on weights whose blocks are permuted
    (torch.func.functional_call keeps the gradients in the student's layout)."""
    gates = GRU_GATES if kind == "GRU" else LSTM_GATES
    k = len(gates)
    alts = []
    for perm in itertools.permutations(range(k)):
        if perm == tuple(range(k)):
            continue
        layout = [""] * k
        for j, p in enumerate(perm):
            layout[p] = gates[j]
        hint = (f"{kind} gates in the wrong order: your code uses the row blocks of W_ih / W_hh (and the biases) as "
                f"({', '.join(layout)}); PyTorch's order is ({', '.join(gates)}: {GATE_WORDS[kind]})")

        def fn(lib, *tensors, perm=perm):
            data, params = tensors[:n_data], tensors[n_data:]
            m = build(lib, data[0].dtype)
            h = params[0].shape[0] // k
            moved = {n: lib.cat([p[b * h:(b + 1) * h] for b in perm]) for n, p in zip(names, params)}
            return call(lambda *args: lib.func.functional_call(m, moved, args), *data)
        fn.forward_only = True  # the fixtures keep the outputs only: the forward carries the hint
        alts.append((hint, fn))
    return alts


def _gru_cell_reset_outside(x, h, w_ih, w_hh, b_ih, b_hh):
    hs = h.shape[-1]
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    r = (gi[:, :hs] + gh[:, :hs]).sigmoid()
    z = (gi[:, hs:2 * hs] + gh[:, hs:2 * hs]).sigmoid()
    n = (gi[:, 2 * hs:] + (r * h) @ w_hh[2 * hs:].T + b_hh[2 * hs:]).tanh()
    return (1 - z) * n + z * h


NO_BPTT = ("gradient not propagated through time: the gradient reaching h_t from step t+1 (dh = da W_hh) "
           "must be added to the upstream gradient of step t")


def _rnn_seq_no_bptt(lib, x, h0, w_ih, w_hh, b_ih, b_hh):
    """An RNN whose backward drops the gradient flowing back from later steps (h0 still gets one)."""
    h, outs = h0[0], []
    for t in range(x.shape[1]):
        prev = h if t == 0 else h.detach()
        h = (x[:, t] @ w_ih.T + b_ih + prev @ w_hh.T + b_hh).tanh()
        outs.append(h)
    return lib.stack(outs, dim=1), h.unsqueeze(0)


def _gru_seq_alt(lib, x, h0, w_ih, w_hh, b_ih, b_hh):
    h, outs = h0[0], []
    for t in range(x.shape[1]):
        h = _gru_cell_reset_outside(x[:, t], h, w_ih, w_hh, b_ih, b_hh)
        outs.append(h)
    return lib.stack(outs, dim=1), h.unsqueeze(0)


# --------------------------------------------------------------------------- cells (I=3, H=2 fixed: hidden
# fixtures vary the batch size and length)
CELL_SCALES = {"the batch size": "B"}
case("rnn_cell/tanh", test="rnn_cell",
     fn=_module_fn(lambda lib, dt: lib.nn.RNNCell(3, 2, dtype=dt), 2, CELL_P, lambda m, x, h: m(x, h)),
     inputs=_cell_inputs("1"), dims=_dims(), hidden_dims=_dims(B=3, I=3, H=2), scales=CELL_SCALES)
case("rnn_cell/relu_batch1", test="rnn_cell", edge="batch 1, relu",
     fn=_module_fn(lambda lib, dt: lib.nn.RNNCell(3, 2, nonlinearity="relu", dtype=dt), 2, CELL_P,
                   lambda m, x, h: m(x, h)),
     inputs=_cell_inputs("1"), dims=_dims(B=1), hidden_dims=_dims(B=1))
case("rnn_cell/relu", test="rnn_cell", edge="relu, a batch with both signs",
     fn=_module_fn(lambda lib, dt: lib.nn.RNNCell(3, 2, nonlinearity="relu", dtype=dt), 2, CELL_P,
                   lambda m, x, h: m(x, h)),
     inputs=_cell_inputs("1"), dims=_dims(B=6), hidden_dims=_dims(B=7))
GRU_CELL = (lambda lib, dt: lib.nn.GRUCell(3, 2, dtype=dt), 2, CELL_P, lambda m, x, h: m(x, h))
LSTM_CELL = (lambda lib, dt: lib.nn.LSTMCell(3, 2, dtype=dt), 3, CELL_P, lambda m, x, h, c: m(x, (h, c)))
case("gru_cell/basic", test="gru_cell",
     fn=_module_fn(*GRU_CELL), inputs=_cell_inputs("3"), dims=_dims(), hidden_dims=_dims(B=4), gates=GRU_GATES,
     scales=CELL_SCALES,
     alts=[(GRU_RESET, lambda lib, x, h, *w: _gru_cell_reset_outside(x, h, *w))] + gate_order_alts("GRU", *GRU_CELL))
case("lstm_cell/basic", test="lstm_cell",
     fn=_module_fn(*LSTM_CELL), inputs=_cell_inputs("4", with_c=True), dims=_dims(), hidden_dims=_dims(B=4),
     gates=LSTM_GATES, scales=CELL_SCALES, alts=gate_order_alts("LSTM", *LSTM_CELL))
case("lstm_cell/batch1", test="lstm_cell", edge="batch 1",
     fn=_module_fn(*LSTM_CELL), inputs=_cell_inputs("4", with_c=True), dims=_dims(B=1), hidden_dims=_dims(B=1),
     gates=LSTM_GATES, alts=gate_order_alts("LSTM", *LSTM_CELL))


# --------------------------------------------------------------------------- sequences (batch_first)
def _flat(res):
    out, hn = res
    return (out,) + (tuple(hn) if isinstance(hn, tuple) else (hn,))


SEQ_SCALES = {"the sequence length": "T", "the batch size": "B"}


def _gru_seq(**kw):
    return (lambda lib, dt: lib.nn.GRU(3, 2, batch_first=True, dtype=dt, **kw), 2,
            _seq_params(kw.get("num_layers", 1), kw.get("bidirectional", False)), lambda m, x, h0: _flat(m(x, h0)))


def _lstm_seq(**kw):
    return (lambda lib, dt: lib.nn.LSTM(3, 2, batch_first=True, dtype=dt, **kw), 3,
            _seq_params(kw.get("num_layers", 1), kw.get("bidirectional", False)),
            lambda m, x, h0, c0: _flat(m(x, (h0, c0))))


case("rnn/sequence", test="rnn_sequence",
     fn=_module_fn(lambda lib, dt: lib.nn.RNN(3, 2, batch_first=True, dtype=dt), 2, _seq_params(),
                   lambda m, x, h0: _flat(m(x, h0))),
     inputs=_seq_inputs("1"), dims=_dims(), hidden_dims=_dims(B=3, T=5), scales=SEQ_SCALES,
     alts=[(NO_BPTT, _rnn_seq_no_bptt)])
case("rnn/length1", test="rnn_sequence", edge="length 1",
     fn=_module_fn(lambda lib, dt: lib.nn.RNN(3, 2, batch_first=True, dtype=dt), 2, _seq_params(),
                   lambda m, x, h0: _flat(m(x, h0))),
     inputs=_seq_inputs("1"), dims=_dims(T=1), hidden_dims=_dims(T=1, B=3), scales=SEQ_SCALES)
case("gru/sequence", test="gru_sequence",
     fn=_module_fn(*_gru_seq()), inputs=_seq_inputs("3"), dims=_dims(), hidden_dims=_dims(B=3, T=5),
     scales=SEQ_SCALES, gates=GRU_GATES, alts=[(GRU_RESET, _gru_seq_alt)] + gate_order_alts("GRU", *_gru_seq()))
case("gru/batch1", test="gru_sequence", edge="batch 1",
     fn=_module_fn(*_gru_seq()), inputs=_seq_inputs("3"), dims=_dims(B=1, T=4), hidden_dims=_dims(B=1, T=5),
     scales=SEQ_SCALES, gates=GRU_GATES, alts=gate_order_alts("GRU", *_gru_seq()))
case("lstm/sequence", test="lstm_sequence",
     fn=_module_fn(*_lstm_seq()), inputs=_seq_inputs("4", with_c=True), dims=_dims(), hidden_dims=_dims(B=3, T=5),
     scales=SEQ_SCALES, gates=LSTM_GATES, alts=gate_order_alts("LSTM", *_lstm_seq()))
case("lstm/two_layers_length1", test="lstm_sequence", edge="2 layers, length 1",
     fn=_module_fn(*_lstm_seq(num_layers=2)), inputs=_seq_inputs("4", with_c=True, layers=2), dims=_dims(T=1),
     hidden_dims=_dims(T=1, B=3), scales=SEQ_SCALES, gates=LSTM_GATES,
     alts=gate_order_alts("LSTM", *_lstm_seq(num_layers=2)))
case("gru/bidirectional", test="gru_sequence", edge="bidirectional (the reverse direction)",
     fn=_module_fn(*_gru_seq(bidirectional=True)), inputs=_seq_inputs("3", bidirectional=True), dims=_dims(T=3),
     hidden_dims=_dims(B=3, T=4), scales=SEQ_SCALES, gates=GRU_GATES,
     alts=gate_order_alts("GRU", *_gru_seq(bidirectional=True)))
case("lstm/bidirectional", test="lstm_sequence", edge="bidirectional (the reverse direction)",
     fn=_module_fn(*_lstm_seq(bidirectional=True)), inputs=_seq_inputs("4", with_c=True, bidirectional=True),
     dims=_dims(T=3), hidden_dims=_dims(B=3, T=4), scales=SEQ_SCALES, gates=LSTM_GATES,
     alts=gate_order_alts("LSTM", *_lstm_seq(bidirectional=True)))
case("rnn/relu_bidirectional", test="rnn_sequence", edge="relu nonlinearity, bidirectional",
     fn=_module_fn(lambda lib, dt: lib.nn.RNN(3, 2, nonlinearity="relu", batch_first=True, bidirectional=True,
                                              dtype=dt), 2,
                   _seq_params(bidirectional=True), lambda m, x, h0: _flat(m(x, h0))),
     inputs=_seq_inputs("1", bidirectional=True), dims=_dims(T=3), hidden_dims=_dims(B=3, T=4), scales=SEQ_SCALES)
case("lstm/wide_hidden", test="lstm_sequence", dtypes=("float32",),  # float32 only: keeps the fixture small
     edge="hidden size 65: 4H = 260 gate columns (more than one block)",
     fn=_module_fn(lambda lib, dt: lib.nn.LSTM(1, 65, batch_first=True, dtype=dt), 3, _seq_params(),
                   lambda m, x, h0, c0: _flat(m(x, (h0, c0)))),
     inputs=_seq_inputs("4", with_c=True), dims=_dims(B=1, T=2, I=1, H=65), hidden_dims=_dims(B=2, T=2, I=1, H=65),
     scales=SEQ_SCALES)

# The first layer's input given already projected (w_ih=None in the sequence kernels): minitorch runs
# forward(input_projection(x), projected=True), whose gradients reach x, W_ih and b_ih through the given projection;
# torch runs the module on x.
PROJECTED_EDGE = "input given projected: w_ih=None, x holds x W_ih^T + b_ih (the language models' fast path)"


def _projected(build, n_data, names, plain_call):
    def call(m, x, *states):
        xw = m.input_projection(x)
        return _flat(m(xw, states[0] if len(states) == 1 else tuple(states), projected=True))
    return _module_fn(build, n_data, names, call), _module_fn(build, n_data, names, plain_call)


_RNN_SEQ = (lambda lib, dt: lib.nn.RNN(3, 2, batch_first=True, dtype=dt), 2, _seq_params(),
            lambda m, x, h0: _flat(m(x, h0)))
for _kind, _seq, _gates, _inputs in (("rnn", _RNN_SEQ, (), _seq_inputs("1")),
                                     ("gru", _gru_seq(), GRU_GATES, _seq_inputs("3")),
                                     ("lstm", _lstm_seq(), LSTM_GATES, _seq_inputs("4", with_c=True))):
    _fn, _ref = _projected(*_seq)
    case(f"{_kind}/projected_input", test=f"{_kind}_sequence", edge=PROJECTED_EDGE, fn=_fn, ref=_ref,
         inputs=_inputs, dims=_dims(T=4), hidden_dims=_dims(B=3, T=5), scales=SEQ_SCALES, gates=_gates,
         alts=gate_order_alts(_kind.upper(), *_seq) if _gates else ())
