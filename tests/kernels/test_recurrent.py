"""Recurrent kernels (hw3): cells and sequence layers vs float64 finite differences and vs PyTorch."""
import numpy as np
import pytest

from minitorch.kernels import recurrent as rk
from minitorch.testing import check_kernel_grads
from tests.helpers import TOL, torch_single_thread  # noqa: F401 - autouse fixture

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _weights(kind, I, H, bias=True, seed=1, dtype=np.float64, scale=0.6):
    r = np.random.default_rng(seed)
    G = GATES[kind]
    w = [r.uniform(-scale, scale, (G * H, I)), r.uniform(-scale, scale, (G * H, H))]
    b = [r.uniform(-scale, scale, G * H), r.uniform(-scale, scale, G * H)] if bias else [None, None]
    return [a if a is None else a.astype(dtype) for a in w + b]


def _seq_inputs(kind, T, B, I, H, bias=True, seed=0, dtype=np.float64):
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal((T, B, I)).astype(dtype), (0.5 * r.standard_normal((B, H))).astype(dtype)]
    if kind == "lstm":
        arrays.append(r.standard_normal((B, H)).astype(dtype))
    return arrays + _weights(kind, I, H, bias, seed + 1, dtype)


def _cell_inputs(kind, B, I, H, bias=True, seed=0, dtype=np.float64):
    seq = _seq_inputs(kind, 1, B, I, H, bias, seed, dtype)
    return [seq[0][0]] + seq[1:]


def _kernels(kind, cell):
    name = kind + ("_cell" if cell else "")
    return getattr(rk, name + "_forward"), getattr(rk, name + "_backward")


def _wrt(arrays):
    return [i for i, a in enumerate(arrays) if a is not None]


def _check(forward, backward, arrays, kwargs, dout_fn=None):
    """check_kernel_grads over the non-None inputs (the backward returns None for absent biases)."""
    wrt = _wrt(arrays)

    def bwd(*args):
        grads = backward(*args)
        return tuple(grads[i] for i in wrt)

    bwd.__name__ = backward.__name__
    return check_kernel_grads(forward, bwd, arrays, kwargs=kwargs, wrt=wrt, dout_fn=dout_fn)


# ----------------------------------------------------------------------------- finite differences
SEQ_SHAPES = [(1, 1), (4, 3), (5, 1), (1, 4)]  # (T, B): length 1, batch 1


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("T,B", SEQ_SHAPES)
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_gradcheck(kind, T, B, reverse):
    arrays = _seq_inputs(kind, T, B, I=3, H=4)
    err = _check(*_kernels(kind, cell=False), arrays, dict(reverse=reverse))
    assert err < 1e-6


@pytest.mark.parametrize("kind,which", [(k, w) for k in ("rnn", "gru", "lstm") for w in ("output_only", "h_n_only")]
                         + [("lstm", "c_n_only")])
def test_sequence_gradcheck_partial_upstream(kind, which):
    """Upstream gradient on one output only (the others arrive as zeros, as the engine sends them)."""
    target = {"output_only": 0, "h_n_only": 1, "c_n_only": 2}[which]
    r = np.random.default_rng(7)

    def dout_fn(k, o):
        return r.standard_normal(o.shape) if k == target else np.zeros(o.shape)

    arrays = _seq_inputs(kind, 5, 2, I=3, H=4, seed=3)
    err = _check(*_kernels(kind, cell=False), arrays, dict(reverse=False), dout_fn=dout_fn)
    assert err < 1e-6


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_sequence_gradcheck_no_bias(kind):
    arrays = _seq_inputs(kind, 3, 2, I=3, H=4, bias=False)
    _, backward = _kernels(kind, cell=False)
    err = _check(*_kernels(kind, cell=False), arrays, dict(reverse=True))
    assert err < 1e-6
    forward, backward = _kernels(kind, cell=False)
    outs, cache = forward(*arrays)
    grads = backward(*[np.ones_like(o) for o in outs], cache)
    assert grads[-2] is None and grads[-1] is None


def test_rnn_relu_gradcheck():
    # keep pre-activations away from relu's kink at 0
    arrays = _seq_inputs("rnn", 4, 3, I=3, H=4, seed=5)
    outs, _ = rk.rnn_forward(*arrays, nonlinearity="relu")
    assert (outs[0] > 0).any() and (outs[0] == 0).any()
    err = _check(rk.rnn_forward, rk.rnn_backward, arrays, dict(nonlinearity="relu"))
    assert err < 1e-6
    err = _check(rk.rnn_cell_forward, rk.rnn_cell_backward, _cell_inputs("rnn", 3, 3, 4, seed=5),
                 dict(nonlinearity="relu"))
    assert err < 1e-6


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck(kind, B, bias):
    arrays = _cell_inputs(kind, B, I=3, H=4, bias=bias)
    err = _check(*_kernels(kind, cell=True), arrays, {})
    assert err < 1e-6


def test_lstm_cell_gradcheck_c_only():
    r = np.random.default_rng(11)
    arrays = _cell_inputs("lstm", 2, I=3, H=4)

    def dout_fn(k, o):
        return r.standard_normal(o.shape) if k == 1 else np.zeros(o.shape)

    assert _check(rk.lstm_cell_forward, rk.lstm_cell_backward, arrays, {}, dout_fn=dout_fn) < 1e-6


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_sequence_equals_cell_loop(kind):
    """The sequence kernel is the cell applied step by step, in both directions."""
    arrays = _seq_inputs(kind, 4, 2, I=3, H=5)
    x, states, weights = arrays[0], arrays[1:-4], arrays[-4:]
    cell_fwd, _ = _kernels(kind, cell=True)
    for reverse in (False, True):
        outs, _ = _kernels(kind, cell=False)[0](*arrays, reverse=reverse)
        s = list(states)
        for t in (range(3, -1, -1) if reverse else range(4)):
            new, _ = cell_fwd(x[t], *s, *weights)
            s = list(new) if isinstance(new, tuple) else [new]
            np.testing.assert_allclose(outs[0][t], s[0], rtol=1e-12, atol=1e-14)
        for got, want in zip(outs[1:], s):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- dtype and backend
@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_float32_stays_float32(kind):
    arrays = _seq_inputs(kind, 3, 2, I=3, H=4, dtype=np.float32)
    forward, backward = _kernels(kind, cell=False)
    outs, cache = forward(*arrays)
    assert all(o.dtype == np.float32 for o in outs)
    grads = backward(*[np.ones_like(o) for o in outs], cache)
    assert all(g.dtype == np.float32 for g in grads)
    cfwd, cbwd = _kernels(kind, cell=True)
    out, cache = cfwd(*_cell_inputs(kind, 2, 3, 4, dtype=np.float32))
    outs = out if isinstance(out, tuple) else (out,)
    assert all(o.dtype == np.float32 for o in outs)
    assert all(g.dtype == np.float32 for g in cbwd(*[np.ones_like(o) for o in outs], cache))


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_kernels_use_only_the_array_module(kind):
    """Run on the strict backend's arrays, which refuse NumPy calls (as CuPy arrays would)."""
    from minitorch.backend import strict

    arrays = _seq_inputs(kind, 3, 2, I=3, H=4)
    wrapped = [strict.asarray(a) for a in arrays]
    for cell in (False, True):
        forward, backward = _kernels(kind, cell)
        src = [a[0] for a in wrapped[:1]] + wrapped[1:] if cell else wrapped
        ref_src = [arrays[0][0]] + arrays[1:] if cell else arrays
        outs, cache = forward(*src)
        ref_outs, ref_cache = forward(*ref_src)
        outs = outs if isinstance(outs, tuple) else (outs,)
        ref_outs = ref_outs if isinstance(ref_outs, tuple) else (ref_outs,)
        grads = backward(*[o * 0 + 1 for o in outs], cache)
        ref_grads = backward(*[np.ones_like(o) for o in ref_outs], ref_cache)
        for g, rg in zip(grads, ref_grads):
            np.testing.assert_allclose(g.unwrap(), rg, rtol=1e-12, atol=1e-14)


def test_bad_nonlinearity():
    arrays = _seq_inputs("rnn", 2, 1, 3, 4)
    with pytest.raises(ValueError, match="nonlinearity"):
        rk.rnn_forward(*arrays, nonlinearity="sigmoid")


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("projected", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_kernels_leave_their_inputs_alone(kind, projected, reverse):
    """The forward leaves its inputs as they were, and the backward its upstream gradients and the cache (the
    reference updates buffers in place inside its loops: only its own)."""
    arrays = _seq_inputs(kind, 5, 3, I=4, H=6)
    if projected:
        arrays = _projected(kind, arrays)
    before = [None if a is None else a.copy() for a in arrays]
    forward, backward = _kernels(kind, cell=False)
    outs, cache = forward(*arrays, reverse=reverse)
    for a, b in zip(arrays, before):
        assert (a is None and b is None) or np.array_equal(a, b)
    r = np.random.default_rng(3)
    upstream = [r.standard_normal(o.shape) for o in outs]
    saved = [u.copy() for u in upstream]
    fields = {k: v.copy() for k, v in cache._asdict().items() if isinstance(v, np.ndarray)}
    backward(*upstream, cache)
    for u, v in zip(upstream, saved):
        np.testing.assert_array_equal(u, v)
    for k, v in fields.items():
        np.testing.assert_array_equal(getattr(cache, k), v, err_msg=f"cache.{k} changed")


def _projected(kind, arrays):
    """The same call with w_ih=None: x replaced by x W_ih^T + b_ih, b_ih None."""
    n = 3 if kind == "lstm" else 2
    x, states, (w_ih, w_hh, b_ih, b_hh) = arrays[0], arrays[1:n], arrays[n:]
    xw = x @ w_ih.T + (0 if b_ih is None else b_ih)
    return [xw, *states, None, w_hh, None, b_hh]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("T,B", [(1, 1), (4, 3)])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_projected_input_gradcheck(kind, T, B, reverse, bias):
    """w_ih=None: x is the projected input; finite differences of every gradient, including dx."""
    arrays = _projected(kind, _seq_inputs(kind, T, B, I=3, H=4, bias=bias, seed=T + B))
    err = _check(*_kernels(kind, cell=False), arrays, dict(reverse=reverse))
    assert err < 1e-6


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bias", [True, False])
def test_projected_input_equals_plain_call(kind, bias):
    """Outputs equal the plain call's; dx is the projection's gradient: the plain dx, dW_ih and db_ih follow from it."""
    forward, backward = _kernels(kind, cell=False)
    arrays = _seq_inputs(kind, 5, 3, I=3, H=4, bias=bias, seed=11)
    n = 3 if kind == "lstm" else 2
    outs, cache = forward(*arrays, reverse=True)
    p_outs, p_cache = forward(*_projected(kind, arrays), reverse=True)
    for a, b in zip(outs, p_outs):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    r = np.random.default_rng(2)
    douts = [r.standard_normal(o.shape) for o in outs]
    grads, p_grads = backward(*douts, cache), backward(*douts, p_cache)
    x, w_ih = arrays[0], arrays[n]
    dxw = p_grads[0]
    assert dxw.shape == x.shape[:2] + (w_ih.shape[0],)
    np.testing.assert_allclose(dxw @ w_ih, grads[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dxw.reshape(-1, dxw.shape[-1]).T @ x.reshape(-1, x.shape[-1]), grads[n],
                               rtol=1e-10, atol=1e-12)
    assert p_grads[n] is None and p_grads[n + 2] is None  # dw_ih, db_ih
    if bias:
        np.testing.assert_allclose(dxw.sum(axis=(0, 1)), grads[n + 2], rtol=1e-10, atol=1e-12)
    same = [*range(1, n), n + 1, n + 3]  # the initial states, dw_hh, db_hh
    for i in same:
        if grads[i] is None:
            assert p_grads[i] is None
        else:
            np.testing.assert_allclose(p_grads[i], grads[i], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_projected_input_errors(kind):
    forward, _ = _kernels(kind, cell=False)
    arrays = _projected(kind, _seq_inputs(kind, 2, 1, I=3, H=4))
    n = 3 if kind == "lstm" else 2
    with_b_ih = arrays[:n + 2] + [np.zeros(arrays[n + 1].shape[0])] + arrays[n + 3:]
    with pytest.raises(ValueError, match="b_ih must be None"):
        forward(*with_b_ih)
    with pytest.raises(ValueError, match=r"projected input \(T, B, " + str(GATES[kind] * 4)):
        forward(arrays[0][..., :-1], *arrays[1:])


# ----------------------------------------------------------------------------- PyTorch
def _torch_layer(torch, kind, weights, dtype, nonlinearity="tanh"):
    I, H = weights[0].shape[1], weights[1].shape[1]
    bias = weights[2] is not None
    if kind == "rnn":
        layer = torch.nn.RNN(I, H, nonlinearity=nonlinearity, bias=bias)
    else:
        layer = getattr(torch.nn, kind.upper())(I, H, bias=bias)
    layer = layer.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        for name, w in zip(names, weights):
            if w is not None:
                getattr(layer, name).copy_(torch.from_numpy(w))
    return layer


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("T,B", [(1, 1), (6, 3), (4, 1), (1, 5)])
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_vs_torch(kind, dtype, T, B, reverse):
    torch = pytest.importorskip("torch")
    I, H = 5, 7
    arrays = _seq_inputs(kind, T, B, I, H, seed=T * 10 + B, dtype=dtype)
    n_states = 2 if kind == "lstm" else 1
    x, states, weights = arrays[0], arrays[1:1 + n_states], arrays[1 + n_states:]
    forward, backward = _kernels(kind, cell=False)
    outs, cache = forward(*arrays, reverse=reverse)
    r = np.random.default_rng(3)
    douts = [r.standard_normal(o.shape).astype(dtype) for o in outs]
    grads = backward(*douts, cache)

    layer = _torch_layer(torch, kind, weights, dtype)
    tx = torch.tensor(x[::-1].copy() if reverse else x, requires_grad=True)
    tstates = [torch.tensor(s[None], requires_grad=True) for s in states]
    tout, tfinal = layer(tx, tstates[0] if n_states == 1 else tuple(tstates))
    tfinal = [tfinal] if n_states == 1 else list(tfinal)
    if reverse:
        tout = tout.flip(0)
    loss = (tout * torch.from_numpy(douts[0])).sum()
    for tf, d in zip(tfinal, douts[1:]):
        loss = loss + (tf[0] * torch.from_numpy(d)).sum()
    loss.backward()

    tol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(outs[0], tout.detach().numpy(), **tol, err_msg="output")
    for o, tf in zip(outs[1:], tfinal):
        assert o.dtype == dtype
        np.testing.assert_allclose(o, tf[0].detach().numpy(), **tol, err_msg="final state")
    dx = tx.grad.numpy()[::-1] if reverse else tx.grad.numpy()
    np.testing.assert_allclose(grads[0], dx, **tol, err_msg="dx")
    for g, ts in zip(grads[1:1 + n_states], tstates):
        np.testing.assert_allclose(g, ts.grad.numpy()[0], **tol, err_msg="d initial state")
    tparams = [layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0]
    for name, g, tp in zip(["w_ih", "w_hh", "b_ih", "b_hh"], grads[1 + n_states:], tparams):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, tp.grad.numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_vs_torch(kind, dtype, B, bias):
    torch = pytest.importorskip("torch")
    I, H = 6, 5
    base = kind.split("_")[0]
    nonlinearity = kind.split("_")[1] if base == "rnn" else None
    arrays = _cell_inputs(base, B, I, H, bias=bias, seed=B, dtype=dtype)
    n_states = 2 if base == "lstm" else 1
    x, states, weights = arrays[0], arrays[1:1 + n_states], arrays[1 + n_states:]
    forward, backward = _kernels(base, cell=True)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    out, cache = forward(*arrays, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    r = np.random.default_rng(4)
    douts = [r.standard_normal(o.shape).astype(dtype) for o in outs]
    grads = backward(*douts, cache)

    cls = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}[base]
    cell = cls(I, H, bias=bias, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for name, w in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], weights):
            if w is not None:
                getattr(cell, name).copy_(torch.from_numpy(w))
    tx = torch.tensor(x, requires_grad=True)
    tstates = [torch.tensor(s, requires_grad=True) for s in states]
    tout = cell(tx, tstates[0] if n_states == 1 else tuple(tstates))
    touts = (tout,) if n_states == 1 else tout
    sum(((t * torch.from_numpy(d)).sum() for t, d in zip(touts, douts))).backward()

    tol = TOL[np.dtype(dtype)]
    for o, t in zip(outs, touts):
        np.testing.assert_allclose(o, t.detach().numpy(), **tol)
    np.testing.assert_allclose(grads[0], tx.grad.numpy(), **tol, err_msg="dx")
    for g, ts in zip(grads[1:1 + n_states], tstates):
        np.testing.assert_allclose(g, ts.grad.numpy(), **tol, err_msg="dstate")
    tparams = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    for g, tp in zip(grads[1 + n_states:], tparams):
        if tp is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, tp.grad.numpy(), **tol)
