"""nn.RNN / GRU / LSTM and their cells vs torch.nn with the same weights: outputs, final states,
gradients of the input, the initial state and every parameter; options, errors, init, graph shape."""
import itertools

import numpy as np
import pytest

import minitorch
from minitorch import nn
from minitorch.autograd.engine import topological_sort
from tests.helpers import TOL, torch_single_thread  # noqa: F401 - autouse fixture

MODES = ["RNN", "GRU", "LSTM"]


def _pair(torch, mode, dtype, **kwargs):
    """A torch module and a minitorch module holding the same weights (torch's state_dict loaded)."""
    tm = getattr(torch.nn, mode)(**kwargs)
    tm = tm.double() if dtype == np.float64 else tm.float()
    m = getattr(nn, mode)(**kwargs)
    m = m.double() if dtype == np.float64 else m
    m.load_state_dict(tm.state_dict())
    return tm, m


def _states(mode, shape, dtype, seed):
    r = np.random.default_rng(seed)
    n = 2 if mode == "LSTM" else 1
    return [(0.5 * r.standard_normal(shape)).astype(dtype) for _ in range(n)]


def _as_list(mode, h):
    return list(h) if mode == "LSTM" else [h]


def _pack(mode, states):
    return tuple(states) if mode == "LSTM" else states[0]


def _compare(torch, mode, tm, m, x, states, dtype, seed=0):
    """Run both modules on x (and initial states), backprop random upstream gradients on the output and on
    every final state, and compare everything."""
    r = np.random.default_rng(seed + 100)
    tx = torch.tensor(x, requires_grad=True)
    mx = minitorch.tensor(x, requires_grad=True)
    t_init = m_init = None
    if states is not None:
        t_states = [torch.tensor(s, requires_grad=True) for s in states]
        m_states = [minitorch.tensor(s, requires_grad=True) for s in states]
        t_init, m_init = _pack(mode, t_states), _pack(mode, m_states)
    t_out, t_h = tm(tx, t_init)
    m_out, m_h = m(mx, m_init)
    t_h, m_h = _as_list(mode, t_h), _as_list(mode, m_h)
    tol = TOL[np.dtype(dtype)]
    assert m_out.shape == tuple(t_out.shape) and m_out.dtype == dtype
    np.testing.assert_allclose(m_out.detach().numpy(), t_out.detach().numpy(), **tol, err_msg="output")
    for a, b in zip(m_h, t_h):
        assert a.shape == tuple(b.shape) and a.dtype == dtype
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol, err_msg="final state")
    grads = [r.standard_normal(tuple(t.shape)).astype(dtype) for t in [t_out] + t_h]
    t_loss = sum((t * torch.from_numpy(g)).sum() for t, g in zip([t_out] + t_h, grads))
    m_loss = None
    for t, g in zip([m_out] + m_h, grads):
        term = (t * minitorch.tensor(g)).sum()
        m_loss = term if m_loss is None else m_loss + term
    t_loss.backward()
    m_loss.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), **tol, err_msg="input grad")
    if states is not None:
        for a, b in zip(m_states, t_states):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol, err_msg="initial state grad")
    t_params = dict(tm.named_parameters())
    m_params = dict(m.named_parameters())
    assert list(m_params) == list(t_params)
    for name, p in m_params.items():
        assert p.grad is not None and p.grad.dtype == dtype, name
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), **tol, err_msg=name)


# every combination of layers, direction, layout and initial state; both dtypes; the (T, B) shape cycles
# through length 1 / batch 1 cases so that each mode meets each of them
COMBOS = list(itertools.product(MODES, [1, 2, 3], [False, True], [False, True], [False, True]))
SHAPES = [(1, 1), (5, 3), (4, 1), (1, 4), (3, 2)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(COMBOS)))
def test_sequence_module_vs_torch(case, dtype):
    torch = pytest.importorskip("torch")
    mode, layers, bidirectional, batch_first, with_h0 = COMBOS[case]
    T, B = SHAPES[case % len(SHAPES)]
    I, H = 4, 5
    torch.manual_seed(case)
    tm, m = _pair(torch, mode, dtype, input_size=I, hidden_size=H, num_layers=layers,
                  bidirectional=bidirectional, batch_first=batch_first)
    x = np.random.default_rng(case).standard_normal((B, T, I) if batch_first else (T, B, I)).astype(dtype)
    D = 2 if bidirectional else 1
    states = _states(mode, (layers * D, B, H), dtype, case) if with_h0 else None
    _compare(torch, mode, tm, m, x, states, dtype, seed=case)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("batch", ["unbatched", "empty"])
def test_unbatched_and_empty_batch_vs_torch(mode, with_h0, batch_first, batch):
    """An unbatched sequence (T, I), and a batch of no sequences, which torch's layers accept too: empty outputs
    and states, zero weight gradients."""
    torch = pytest.importorskip("torch")
    tm, m = _pair(torch, mode, np.float64, input_size=3, hidden_size=4, num_layers=2, bidirectional=True,
                  batch_first=batch_first)
    if batch == "unbatched":
        x, state_shape = np.random.default_rng(1).standard_normal((5, 3)), (4, 4)
    else:
        x, state_shape = np.zeros((0, 5, 3) if batch_first else (5, 0, 3)), (4, 0, 4)
    states = _states(mode, state_shape, np.float64, 2) if with_h0 else None
    _compare(torch, mode, tm, m, x, states, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nonlinearity,bias", [("relu", True), ("tanh", False), ("relu", False)])
def test_rnn_options_vs_torch(nonlinearity, bias, dtype):
    torch = pytest.importorskip("torch")
    mode = "RNN"
    tm, m = _pair(torch, mode, dtype, input_size=3, hidden_size=6, num_layers=2, nonlinearity=nonlinearity,
                  bias=bias, bidirectional=True)
    assert ("bias_ih_l0" in m.state_dict()) == bias
    x = np.random.default_rng(3).standard_normal((4, 2, 3)).astype(dtype)
    _compare(torch, mode, tm, m, x, _states(mode, (4, 2, 6), dtype, 4), dtype)


@pytest.mark.parametrize("mode", ["GRU", "LSTM"])
def test_no_bias_vs_torch(mode):
    torch = pytest.importorskip("torch")
    tm, m = _pair(torch, mode, np.float64, input_size=3, hidden_size=4, num_layers=2, bias=False)
    assert not any("bias" in k for k in m.state_dict())
    x = np.random.default_rng(5).standard_normal((3, 2, 3))
    _compare(torch, mode, tm, m, x, None, np.float64)


# ----------------------------------------------------------------------------- cells
@pytest.mark.parametrize("cell", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
def test_cell_vs_torch(cell, dtype, batched, with_hx):
    torch = pytest.importorskip("torch")
    I, H, B = 4, 3, 2
    tc = getattr(torch.nn, cell)(I, H)
    tc = tc.double() if dtype == np.float64 else tc
    mc = getattr(nn, cell)(I, H)
    mc = mc.double() if dtype == np.float64 else mc
    mc.load_state_dict(tc.state_dict())
    r = np.random.default_rng(0)
    x = r.standard_normal((B, I) if batched else (I,)).astype(dtype)
    n = 2 if cell == "LSTMCell" else 1
    states = [r.standard_normal((B, H) if batched else (H,)).astype(dtype) for _ in range(n)] if with_hx else None
    tx, mx = torch.tensor(x, requires_grad=True), minitorch.tensor(x, requires_grad=True)
    t_args, m_args = [tx], [mx]
    if with_hx:
        ts = [torch.tensor(s, requires_grad=True) for s in states]
        ms = [minitorch.tensor(s, requires_grad=True) for s in states]
        t_args.append(tuple(ts) if n == 2 else ts[0])
        m_args.append(tuple(ms) if n == 2 else ms[0])
    t_out, m_out = tc(*t_args), mc(*m_args)
    t_out = list(t_out) if n == 2 else [t_out]
    m_out = list(m_out) if n == 2 else [m_out]
    tol = TOL[np.dtype(dtype)]
    grads = [r.standard_normal(tuple(t.shape)).astype(dtype) for t in t_out]
    for a, b in zip(m_out, t_out):
        assert a.shape == tuple(b.shape) and a.dtype == dtype
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
    sum((t * torch.from_numpy(g)).sum() for t, g in zip(t_out, grads)).backward()
    loss = (m_out[0] * minitorch.tensor(grads[0])).sum()
    if n == 2:
        loss = loss + (m_out[1] * minitorch.tensor(grads[1])).sum()
    loss.backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), **tol)
    if with_hx:
        for a, b in zip(ms, ts):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    t_params = dict(tc.named_parameters())
    for name, p in mc.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), **tol, err_msg=name)


def test_rnn_cell_relu_no_bias_vs_torch():
    torch = pytest.importorskip("torch")
    tc = torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu").double()
    mc = nn.RNNCell(3, 4, bias=False, nonlinearity="relu").double()
    mc.load_state_dict(tc.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(mc(minitorch.tensor(x)).detach().numpy(), tc(torch.tensor(x)).detach().numpy(),
                               **TOL[np.dtype(np.float64)])
    assert list(mc.state_dict()) == ["weight_ih", "weight_hh"]


def test_cell_unrolled_equals_sequence_layer():
    """Running LSTMCell over time with the LSTM's weights gives the LSTM's outputs."""
    lstm = nn.LSTM(3, 4).double()
    cell = nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = minitorch.tensor(np.random.default_rng(0).standard_normal((6, 2, 3)))
    out, (h_n, c_n) = lstm(x)
    h = c = None
    for t in range(6):
        h, c = cell(x[t], None if h is None else (h, c))
        np.testing.assert_allclose(out[t].detach().numpy(), h.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n[0].detach().numpy(), c.detach().numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- dropout between layers
@pytest.mark.parametrize("mode", MODES)
def test_dropout_between_layers(mode):
    torch = pytest.importorskip("torch")
    tm, m = _pair(torch, mode, np.float64, input_size=3, hidden_size=4, num_layers=2, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    # eval: no dropout, identical to torch
    tm.eval()
    m.eval()
    ref = m(minitorch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(ref, tm(torch.tensor(x))[0].detach().numpy(), **TOL[np.dtype(np.float64)])
    # training: random masks between the layers change the output, reproducibly under a seed
    m.train()
    minitorch.manual_seed(1)
    a = m(minitorch.tensor(x))[0].detach().numpy()
    minitorch.manual_seed(1)
    b = m(minitorch.tensor(x))[0].detach().numpy()
    assert not np.allclose(a, ref)
    np.testing.assert_array_equal(a, b)
    # the first layer's h_n is untouched by dropout (it acts on the input of layer 2 only)
    h_eval = _as_list(mode, m.eval()(minitorch.tensor(x))[1])[0][0].detach().numpy()
    minitorch.manual_seed(1)
    h_train = _as_list(mode, m.train()(minitorch.tensor(x))[1])[0][0].detach().numpy()
    np.testing.assert_allclose(h_train, h_eval, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_dropout_one_vs_torch(mode):
    """p=1 zeroes the second layer's input in training mode, deterministically, in torch too."""
    torch = pytest.importorskip("torch")
    tm, m = _pair(torch, mode, np.float64, input_size=3, hidden_size=4, num_layers=2, dropout=1.0)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    _compare(torch, mode, tm, m, x, None, np.float64)


def test_dropout_single_layer_warns():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.LSTM(3, 4, dropout=0.2)


# ----------------------------------------------------------------------------- structure
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True), (3, False)])
def test_state_dict_matches_torch(mode, layers, bidirectional):
    torch = pytest.importorskip("torch")
    kw = dict(input_size=5, hidden_size=7, num_layers=layers, bidirectional=bidirectional)
    t_sd = getattr(torch.nn, mode)(**kw).state_dict()
    m = getattr(nn, mode)(**kw)
    m_sd = m.state_dict()
    assert list(m_sd) == list(t_sd)
    for k in t_sd:
        assert m_sd[k].shape == tuple(t_sd[k].shape), k
        assert m_sd[k].dtype == np.float32
    assert m.num_parameters() == sum(p.numel() for p in getattr(torch.nn, mode)(**kw).parameters())
    assert len(m.all_weights) == layers * (2 if bidirectional else 1)


@pytest.mark.parametrize("mode", MODES + ["RNNCell", "GRUCell", "LSTMCell"])
def test_init_is_uniform_within_bound(mode):
    H = 16
    m = getattr(nn, mode)(8, H)
    k = 1 / np.sqrt(H)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(values).max() <= k
    assert values.min() < -0.8 * k and values.max() > 0.8 * k  # spread over the whole interval
    assert abs(values.mean()) < 0.1 * k
    minitorch.manual_seed(3)
    a = getattr(nn, mode)(8, H).state_dict()
    minitorch.manual_seed(3)
    b = getattr(nn, mode)(8, H).state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    cases = [("LSTM", dict(num_layers=2, batch_first=True, dropout=0.1, bidirectional=True)),
             ("GRU", dict(bias=False)), ("RNN", {}), ("LSTMCell", {}), ("GRUCell", dict(bias=False))]
    for mode, kw in cases:
        assert repr(getattr(nn, mode)(3, 4, **kw)) == repr(getattr(torch.nn, mode)(3, 4, **kw))
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == repr(torch.nn.RNNCell(3, 4, nonlinearity="relu"))


@pytest.mark.parametrize("mode", MODES)
def test_one_node_per_layer_and_direction(mode):
    m = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True)
    out, _ = m(minitorch.randn(20, 2, 3))
    names = [node.name for node in topological_sort(out.grad_fn)]
    assert names.count(f"{mode}Function") == 4
    assert len(names) < 15  # no per-time-step nodes


@pytest.mark.parametrize("mode", MODES)
def test_no_grad_records_nothing(mode):
    m = getattr(nn, mode)(3, 4)
    with minitorch.no_grad():
        out, h = m(minitorch.randn(5, 2, 3))
    assert out.grad_fn is None and not out.requires_grad
    assert out.dtype == np.float32


def test_float32_input_gradients_stay_float32():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = minitorch.randn(2, 5, 3, requires_grad=True)
    out, h = m(x)
    (out.sum() + h.sum()).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


def test_state_carries_across_chunks():
    """Feeding a sequence in two chunks, passing the state along, equals feeding it at once (TBPTT)."""
    m = nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
    x = minitorch.tensor(np.random.default_rng(0).standard_normal((2, 8, 3)))
    with minitorch.no_grad():
        full, (h_full, c_full) = m(x)
        a, state = m(x[:, :5])
        b, (h_b, c_b) = m(x[:, 5:], state)
    np.testing.assert_allclose(minitorch.cat([a, b], dim=1).numpy(), full.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_b.numpy(), c_full.numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- errors
def test_wrong_input_rank():
    m = nn.LSTM(4, 5)
    with pytest.raises(ValueError, match=r"LSTM\(input_size=4, hidden_size=5\).*3-D.*got a 4-D input of shape "
                                         r"\(2, 3, 4, 1\)"):
        m(minitorch.randn(2, 3, 4, 1))
    with pytest.raises(ValueError, match=r"GRUCell.*\(batch, 4\) or \(4,\), got shape \(2, 3, 4\)"):
        nn.GRUCell(4, 5)(minitorch.randn(2, 3, 4))


def test_wrong_feature_size():
    with pytest.raises(ValueError, match=r"GRU\(input_size=4, hidden_size=5\): expected input with last "
                                         r"dimension 4, got shape \(7, 2, 3\)"):
        nn.GRU(4, 5)(minitorch.randn(7, 2, 3))
    with pytest.raises(ValueError, match=r"RNNCell.*expected input of shape \(batch, 4\).*got shape \(2, 6\)"):
        nn.RNNCell(4, 5)(minitorch.randn(2, 6))


def test_wrong_initial_state_shape():
    m = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
    x = minitorch.randn(3, 7, 4)
    good = minitorch.zeros(4, 3, 5)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(4, 3, 5\).*got shape \(2, 3, 5\)"):
        m(x, (minitorch.zeros(2, 3, 5), good))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(4, 3, 5\).*got shape \(4, 7, 5\)"):
        m(x, (good, minitorch.zeros(4, 7, 5)))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        m(x, good)
    with pytest.raises(ValueError, match=r"RNN.*expected hx of shape \(1, 2, 5\).*got shape \(1, 5\)"):
        nn.RNN(4, 5)(minitorch.randn(3, 2, 4), minitorch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"LSTMCell.*expected c of shape \(2, 5\).*got shape \(2, 4\)"):
        nn.LSTMCell(4, 5)(minitorch.randn(2, 4), (minitorch.zeros(2, 5), minitorch.zeros(2, 4)))


def test_dtype_mismatch():
    m = nn.GRU(4, 5)
    with pytest.raises(TypeError, match="input has dtype float64, but the parameters are float32"):
        m(minitorch.randn(3, 2, 4, dtype=minitorch.float64))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.LSTM(4, 0)
    with pytest.raises(ValueError, match="num_layers"):
        nn.GRU(4, 5, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        nn.RNN(4, 5, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(4, 5, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(4, 5, proj_size=2)


# ----------------------------------------------------------------------------- finite differences, whole module
@pytest.mark.parametrize("mode", MODES)
def test_module_gradcheck_float64(mode):
    """Two stacked bidirectional layers, batch_first, with initial state: the gradients autograd assembles (through
    transposes, per-layer Functions, cat, stack, state indexing) against float64 central differences, with random
    upstream gradients on the output and on every final state."""
    from minitorch.testing import check_kernel_grads

    m = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    names = ["weight_ih_l0", "bias_hh_l0_reverse", "weight_hh_l1", "weight_ih_l1_reverse"]
    n_states = 2 if mode == "LSTM" else 1
    r = np.random.default_rng(0)
    arrays = [r.standard_normal((2, 4, 3))] + [0.5 * r.standard_normal((4, 2, 4)) for _ in range(n_states)]
    arrays += [getattr(m, n).detach().numpy().copy() for n in names]

    def forward(*arrs):
        tensors = [minitorch.tensor(a, requires_grad=True) for a in arrs]
        x, states, params = tensors[0], tensors[1:1 + n_states], tensors[1 + n_states:]
        for n, p in zip(names, params):
            getattr(m, n).data = p.data
        out, final = m(x, _pack(mode, states))
        outs = tuple(t.detach().numpy() for t in [out] + _as_list(mode, final))
        return outs, (tensors, params, [out] + _as_list(mode, final))

    def backward(*args):
        *douts, (tensors, params, outs) = args
        m.zero_grad()
        loss = None
        for o, d in zip(outs, douts):
            term = (o * minitorch.tensor(d)).sum()
            loss = term if loss is None else loss + term
        loss.backward()
        return tuple(t.grad.numpy() for t in tensors[:1 + n_states]) + tuple(
            getattr(m, n).grad.numpy() for n in names)

    assert check_kernel_grads(forward, backward, arrays, full_max=40) < 1e-6  # larger arrays: sampled coords


# ----------------------------------------------------------------------------- a projected first-layer input
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kwargs", [{}, {"bidirectional": True}, {"num_layers": 2}, {"bias": False},
                                    {"batch_first": True, "num_layers": 2, "bidirectional": True}])
def test_forward_projected_equals_forward(mode, kwargs):
    """forward(input_projection(x), projected=True) gives forward(x)'s outputs, states and every gradient (x, h0, W)."""
    minitorch.manual_seed(3)
    m = getattr(nn, mode)(3, 4, dtype=minitorch.float64, **kwargs)
    D = 2 if kwargs.get("bidirectional") else 1
    r = np.random.default_rng(5)
    x = minitorch.tensor(r.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3)),
                         requires_grad=True)
    states = [minitorch.tensor(s, requires_grad=True)
              for s in _states(mode, (m.num_layers * D, 2, 4), np.float64, 6)]
    hx = states[0] if mode != "LSTM" else tuple(states)
    results = []
    for projected in (False, True):
        for t in [x, *states, *m.parameters()]:
            t.grad = None
        out, final = m(m.input_projection(x), hx, projected=True) if projected else m(x, hx)
        finals = list(final) if mode == "LSTM" else [final]
        loss = (out * out).sum() + sum((f * f * 0.5).sum() for f in finals)
        loss.backward()
        results.append([out.detach().numpy(), *(f.detach().numpy() for f in finals), x.grad.numpy(),
                        *(s.grad.numpy() for s in states), *(p.grad.numpy() for p in m.parameters())])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_forward_projected_unbatched_and_embedding_table(mode):
    """Unbatched input, and the language models' use: the projection of an embedding table, rows picked."""
    minitorch.manual_seed(4)
    m = getattr(nn, mode)(3, 4, dtype=minitorch.float64)
    emb = nn.Embedding(6, 3, dtype=minitorch.float64)
    idx = minitorch.tensor(np.array([5, 0, 2, 2, 1]))
    out, _ = m(emb(idx))
    table = m.input_projection(emb.weight)
    assert table.shape == (6, {"RNN": 1, "GRU": 3, "LSTM": 4}[mode] * 4)
    p_out, _ = m(table[idx], projected=True)
    np.testing.assert_allclose(p_out.detach().numpy(), out.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_forward_projected_errors():
    m = nn.LSTM(3, 4, bidirectional=True)
    with pytest.raises(TypeError, match="input_projection: expected a Tensor"):
        m.input_projection(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="input_projection: expected last dimension 3"):
        m.input_projection(minitorch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected a projected input \(see input_projection\) with last "
                                         r"dimension 32"):
        m(minitorch.zeros(5, 2, 16), projected=True)
    with pytest.raises(ValueError, match="expected input with last dimension 3"):
        m(minitorch.zeros(5, 2, 32))
