"""Planted bugs: each must lose points on the right test and get the right hint.

Every bug is a one-place edit of the reference package, graded in the sandbox on its test only.
Bugs whose file does not exist yet (an assignment still being written) are skipped."""
import os

import pytest

from autograder.compare import UPSTREAM_IGNORED

from .bugs import REPO, Bug, failed_checks, grade_bugs

L, EM, SM, N, D, O = ("minitorch/kernels/linear.py", "minitorch/kernels/embedding.py", "minitorch/kernels/softmax.py",
                      "minitorch/kernels/norm.py", "minitorch/kernels/dropout.py", "minitorch/kernels/optim.py")
RC, AK, AC = "minitorch/kernels/recurrent.py", "minitorch/kernels/attention.py", "minitorch/nn/attention.py"
FK = "minitorch/kernels/flash_attention.py"
_SOFTMAX_ROWS = """    m = _softmax_shift(scores, key0_allowed=mask is None)  # the row max (or a cheaper safe shift)
    if mask is not None:  # a row may be fully masked: its max is -inf
        m = xp.where(xp.isfinite(m), m, 0)
    scores -= m
    xp.exp(scores, out=scores)
    total = _row_sum(scores)"""
_SOFTMAX_COLUMNS = """    m = scores.max(axis=-2, keepdims=True)
    if mask is not None:
        m = xp.where(xp.isfinite(m), m, 0)
    scores -= m
    xp.exp(scores, out=scores)
    total = scores.sum(axis=-2, keepdims=True)"""
E, R, M, S, G = ("minitorch/kernels/elementwise.py", "minitorch/kernels/reduce.py", "minitorch/kernels/matmul.py",
                 "minitorch/kernels/shape.py", "minitorch/autograd/engine.py")

BUGS = [
    # ------------------------------------------------------------------ hw1
    Bug("hw1-matmul-dW-transposed", "hw1", M,
        "        da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)\n"
        "        db = unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape)",
        "        da = unbroadcast(g @ xp.swapaxes(b2, -1, -2), a2.shape)\n"
        "        db = xp.swapaxes(unbroadcast(xp.swapaxes(a2, -1, -2) @ g, b2.shape), -1, -2)",
        "matmul", "transposed"),
    Bug("hw1-matmul-dW-not-summed-over-batch", "hw1", M,
        "    return da.reshape(a.shape), db.reshape(b.shape)",
        "    if b.ndim == 2 and a.ndim > 2:\n"
        "        db = xp.swapaxes(a, -1, -2) @ dout  # per-example weight gradients, never summed\n"
        "    return da.reshape(a.shape), db",
        "matmul", "not summed over the batch"),
    Bug("hw1-bmm-db-transposed", "hw1", M,
        "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(a, 1, 2) @ dout",
        "return dout @ xp.swapaxes(b, 1, 2), xp.swapaxes(dout, 1, 2) @ a",
        "matmul", "transposed"),
    Bug("hw1-accumulate-overwrites", "hw1", G,
        "grads[key] = g if prev is None else prev + g",
        "grads[key] = g",
        "autograd_engine", "not accumulated"),
    Bug("hw1-tanh-backward-sign", "hw1", E,
        "return (dout * (1 - out * out),)",
        "return (dout * (out * out - 1),)",
        "elementwise_unary", "wrong sign"),
    Bug("hw1-div-db-sign", "hw1", E,
        "unbroadcast(-da * a / b, b.shape)",
        "unbroadcast(da * a / b, b.shape)",
        "elementwise_arith", "wrong sign"),
    Bug("hw1-unbroadcast-keepdim-axes", "hw1", E,
        "    if axes:\n        grad = grad.sum(axis=axes, keepdims=True)\n    return grad.reshape(shape)",
        "    return grad",
        "broadcasting", "broadcast dimensions"),
    Bug("hw1-mean-backward-not-divided", "hw1", R,
        "return (_expand_like(dout / count, shape, dims, keepdim),)",
        "return (_expand_like(dout, shape, dims, keepdim),)",
        "reductions", "scaled by the reduced size"),
    Bug("hw1-getitem-repeats-lost", "hw1", S,
        "    dx = xp.zeros(shape, dtype=dout.dtype)\n    index_add(dx, index, dout)",
        "    dx = xp.zeros(shape, dtype=dout.dtype)\n    dx[index] += dout",
        "shape_ops", "repeated indices lost"),
    Bug("hw1-sigmoid-overflow", "hw1", E,
        "    e = xp.exp(-xp.abs(a))\n    out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)",
        "    out = (xp.exp(a) / (xp.exp(a) + 1)).astype(a.dtype, copy=False)",
        "elementwise_unary", "NaN/inf"),
    # ------------------------------------------------------------------ hw2
    Bug("hw2-linear-dW-transposed", "hw2", L, "    dweight = g.T @ x2", "    dweight = x2.T @ g",
        "linear", "transposed"),
    Bug("hw2-linear-dbias-not-summed", "hw2", L, "dbias = col_sum(g) if has_bias else None",
        "dbias = g if has_bias else None", "linear", "not summed over the batch"),
    Bug("hw2-linear-dW-averaged-over-batch", "hw2", L, "    dweight = g.T @ x2", "    dweight = g.T @ x2 / x2.shape[0]",
        "linear", "divided by the batch size"),
    Bug("hw2-embedding-repeats-lost", "hw2", EM, "    dweight = scatter_add_rows(num_embeddings, flat, g)",
        "    dweight = xp.zeros((num_embeddings, g.shape[1]), dtype=g.dtype)\n    dweight[flat] += g",
        "embedding", "repeated indices lost"),
    Bug("hw2-softmax-wrong-axis", "hw2", SM,
        "    y = x - x.max(axis=dim, keepdims=True)\n    xp.exp(y, out=y)\n    y /= _sum(y, dim)",
        "    y = x - x.max(axis=0, keepdims=True)\n    xp.exp(y, out=y)\n    y /= _sum(y, 0)",
        "softmax", "wrong axis"),
    Bug("hw2-softmax-backward-sign", "hw2", SM, "    dx = dout - _sum(dout, dim, y)",
        "    dx = _sum(dout, dim, y) - dout", "softmax", "wrong sign"),
    Bug("hw2-log-softmax-no-max-shift", "hw2", SM, "    out = x - x.max(axis=dim, keepdims=True)\n    p = xp.exp(out)",
        "    out = x.copy()\n    p = xp.exp(out)", "softmax", "NaN/inf"),
    Bug("hw2-layer-norm-missing-mean-term", "hw2", N, "    dx -= mean_dn\n    dx -= xp.multiply(n, mean_dn_n",
        "    dx -= xp.multiply(n, mean_dn_n", "layer_norm", "missing the mean term"),
    Bug("hw2-layer-norm-dweight-not-summed", "hw2", N,
        "dweight = col_sum(gn).reshape(normalized_shape) if cache.has_weight else None",
        "dweight = gn if cache.has_weight else None", "layer_norm", "not summed over the batch"),
    Bug("hw2-dropout-not-rescaled", "hw2", D, "    mask *= 1.0 / (1.0 - p)\n    out = x * mask",
        "    out = x * mask", "dropout", "x / (1 - p)"),
    Bug("hw2-dropout-mask-ignores-p", "hw2", D, "    mask = (u >= p).astype(x.dtype)",
        "    mask = (u >= 0.5).astype(x.dtype)", "dropout", "the mask ignores p"),
    Bug("hw2-dropout-keeps-below-p", "hw2", D, "    mask = (u >= p).astype(x.dtype)",
        "    mask = (u < p).astype(x.dtype)", "dropout", "keep an element when u >= p"),
    Bug("hw2-dropout-backward-without-mask", "hw2", D, "    return (dout * mask,)", "    return (dout,)",
        "dropout", "the backward ignores the mask"),
    Bug("hw2-adam-no-bias-correction", "hw2", O,
        "    step_size = lr / (1.0 - beta1 ** step)\n    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)",
        "    step_size = lr\n    bias_correction2_sqrt = 1.0", "optimizers", "bias correction"),
    Bug("hw2-adamw-coupled-weight-decay", "hw2", O, "        if decoupled_weight_decay:", "        if False:",
        "optimizers", "coupled"),
    # ------------------------------------------------------------------ hw3
    Bug("hw3-lstm-cell-gate-order", "hw3", RC,
        "    g = xp.tanh(a[:, 2 * H:3 * H])\n    o = _sigmoid(a[:, 3 * H:])",
        "    g = xp.tanh(a[:, 3 * H:])\n    o = _sigmoid(a[:, 2 * H:3 * H])", "lstm_cell", "gates in the wrong order"),
    Bug("hw3-gru-cell-reset-outside-whn", "hw3", RC, "    n = xp.tanh(gi[:, 2 * H:] + r * hn)",
        "    n = xp.tanh(gi[:, 2 * H:] + (r * h) @ w_hh[2 * H:].T + (0 if b_hh is None else b_hh[2 * H:]))",
        "gru_cell", "reset gate applied outside"),
    Bug("hw3-rnn-cell-dW-transposed", "hw3", RC, "return da @ w_ih, da @ w_hh, da.T @ x, da.T @ h, db_ih, db_hh",
        "return da @ w_ih, da @ w_hh, x.T @ da, da.T @ h, db_ih, db_hh", "rnn_cell", "transposed"),
    Bug("hw3-rnn-no-bptt", "hw3", RC, "        dh = da[t] @ w_hh", "        dh = xp.zeros_like(dh)",
        "rnn_sequence", "not propagated through time"),
    # hints that must not mislead (issue 12 §4): exact wording
    Bug("hw3-gru-cell-backward-missing-r", "hw3", RC,
        "    dgh = xp.concatenate([da_r, da_z, da_n * r], axis=-1)\n    dh = dh_new",
        "    dgh = xp.concatenate([da_r, da_z, da_n], axis=-1)\n    dh = dh_new", "gru_cell",
        "only the block of gate n (rows 4:6) is wrong; the other gates are right (PyTorch's gate order r, z, n)",
        exact=True, absent="wrong order"),
    Bug("hw3-gru-cell-bias-grads-swapped", "hw3", RC, "    return dgi @ w_ih, dh, dgi.T @ x, dgh.T @ h, db_ih, db_hh",
        "    return dgi @ w_ih, dh, dgi.T @ x, dgh.T @ h, db_hh, db_ih", "gru_cell",
        "swapped with dL/dbias_hh: this holds the expected value of dL/dbias_hh and dL/dbias_hh holds this one's: "
        "results returned in the wrong order", exact=True),
    Bug("hw3-gru-cell-forward-r-z-swapped", "hw3", RC,
        "    r = _sigmoid(gi[:, :H] + gh[:, :H])\n    z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])",
        "    z = _sigmoid(gi[:, :H] + gh[:, :H])\n    r = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])", "gru_cell",
        "GRU gates in the wrong order: your code uses the row blocks of W_ih / W_hh (and the biases) as (z, r, n); "
        "PyTorch's order is (r, z, n: r reset, z update, n new (tanh))", exact=True),
    Bug("hw3-gru-cell-backward-gate-blocks", "hw3", RC, "    dgi = xp.concatenate([da_r, da_z, da_n], axis=-1)",
        "    dgi = xp.concatenate([da_z, da_r, da_n], axis=-1)", "gru_cell",
        "gate blocks in the wrong order: the row blocks hold the gates (z, r, n); PyTorch's order is (r, z, n)",
        exact=True),
    Bug("hw3-lstm-forward-i-f-swapped", "hw3", RC,
        "    i, f, g, o = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]\n"
        "    h, c = h0, c0",
        "    f, i, g, o = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]\n"
        "    h, c = h0, c0", "lstm_sequence",
        "LSTM gates in the wrong order: your code uses the row blocks of W_ih / W_hh (and the biases) as (f, i, g, o); "
        "PyTorch's order is (i, f, g, o: i input, f forget, g cell candidate (tanh), o output)", exact=True),
    Bug("hw3-rnn-dW-ih-divided-by-T", "hw3", RC,
        "    return dx, dh, da2.T @ _steps_as_rows(x), da2.T @ h_prev, db_ih, db_hh",
        "    return dx, dh, da2.T @ _steps_as_rows(x) / T, da2.T @ h_prev, db_ih, db_hh", "rnn_sequence",
        "divided by the sequence length = 3: got 0.333333 x the expected value", exact=True),
    # ------------------------------------------------------------------ hw4
    Bug("hw4-sdpa-missing-scale", "hw4", AK, "    k_t *= scale", "    pass", "attention_kernel", "missing 1/sqrt(d_k)"),
    Bug("hw4-softmax-wrong-axis", "hw4", AK, _SOFTMAX_ROWS, _SOFTMAX_COLUMNS,
        "attention_kernel", "wrong axis"),
    Bug("hw4-mask-not-applied", "hw4", AK, "        scores = xp.where(allowed, scores, -xp.inf)\n",
        "        scores = scores + 0 * allowed\n", "attention_kernel", "mask not applied"),
    Bug("hw4-mask-ignored-in-backward", "hw4", AK, "    d_scores = softmax_backward_rows(d_weights, weights)",
        "    d_scores = softmax_backward_rows(d_weights, masked_softmax((q * scale) @ xp.swapaxes(k, -1, -2)))",
        "attention_kernel", "mask ignored in backward"),
    Bug("hw4-causal-ignored", "hw4", AK, "    if is_causal and not bool_mask:", "    if False:",
        "attention_kernel", "causal mask not applied"),
    Bug("hw4-attention-class-dWq-transposed", "hw4", AC,
        "        self.dLdWq = x2.T @ self.dLdQ.reshape(-1, self.dLdQ.shape[-1])",
        "        self.dLdWq = (x2.T @ self.dLdQ.reshape(-1, self.dLdQ.shape[-1])).T",
        "attention_class", "transposed"),
    Bug("hw4-attention-class-missing-scale", "hw4", AC, "scale=1.0 / math.sqrt(self.W_k.shape[1]))",
        "scale=1.0)", "attention_class", "missing 1/sqrt(d_k)"),
    Bug("hw4-attention-class-dWv-averaged", "hw4", AC,
        "        self.dLdWv = x2.T @ self.dLdV.reshape(-1, self.dLdV.shape[-1])",
        "        self.dLdWv = x2.T @ self.dLdV.reshape(-1, self.dLdV.shape[-1]) / X.shape[0]",
        "attention_class", "divided by the batch size = 2: got 0.5 x the expected value", exact=True),
    Bug("hw4-sdpa-dq-missing-scale", "hw4", AK, "    dq = xp.matmul(d_scores, k, out=dq_out)\n    dq *= scale\n",
        "    dq = xp.matmul(d_scores, k, out=dq_out)\n",
        "attention_kernel", "scaled by sqrt(d_k) = 2 (or counted twice): got 2 x the expected value", exact=True),
    Bug("hw4-sdpa-dk-scaled-twice", "hw4", AK, "    dk *= scale\n", "    dk *= scale * scale\n",
        "attention_kernel", "divided by sqrt(d_k) = 2: got 0.5 x the expected value", exact=True),
    Bug("hw4-attention-class-dLdA_w-unscaled", "hw4", AC, "        self.dLdA_w = d_scores * self._cache.scale",
        "        self.dLdA_w = d_scores", "attention_class",
        "scaled by sqrt(d_k) = 1.73205: got 1.73205 x the expected value", exact=True),
    Bug("hw4-attention-class-dLdA_w-not-stored", "hw4", AC, "        self.dLdA_w = d_scores * self._cache.scale",
        "        dLdA_w = d_scores * self._cache.scale  # noqa: F841", "attention_class",
        "no value came back for dLdA_w: the autograder reads it under exactly this name", exact=True),
    # hw4 bonus: the tiled kernel (each hint wording exactly as the case declares it)
    Bug("hw4-flash-sum-not-rescaled", "hw4", FK, "            l_sum = alpha * l_sum + p.sum(axis=-1)",
        "            l_sum = l_sum + p.sum(axis=-1)", "flash_attention", "the running sum is not rescaled",
        absent="running output"),
    Bug("hw4-flash-acc-not-rescaled", "hw4", FK, "            acc *= alpha[..., None]\n", "",
        "flash_attention", "the running output is not rescaled", absent="running sum"),
    Bug("hw4-flash-not-normalised", "hw4", FK, "        out[..., i0:i1, :] = acc / l_sum[..., None]",
        "        out[..., i0:i1, :] = acc", "flash_attention", "the output is not divided by the running sum l"),
    Bug("hw4-flash-diagonal-tiles-unmasked", "hw4", FK, "                s = xp.where(allowed, s, -xp.inf)",
        "                pass", "flash_attention", "the tiles cut by the diagonal are not masked",
        absent="causal mask not applied"),
    Bug("hw4-flash-backward-without-delta", "hw4", FK, "            ds -= delta\n", "", "flash_attention",
        "dS is missing the row term"),
    Bug("hw4-flash-dk-missing-scale", "hw4", FK,
        "            ds *= scale\n            dq[..., i0:i1, :] += ds @ k[..., j0:j1, :]\n",
        "            dq[..., i0:i1, :] += ds @ k[..., j0:j1, :] * scale\n", "flash_attention",
        "scaled by sqrt(d_k)"),
    # ------------------------------------------------------------------ hints, all assignments
    Bug("hw1-tanh-backward-ignores-dout", "hw1", E, "return (dout * (1 - out * out),)", "return (1 - out * out,)",
        "elementwise_unary", UPSTREAM_IGNORED, exact=True),
    Bug("hw2-cross-entropy-ignores-dout", "hw2", SM, "    gw = g * wt  ", "    gw = g / dout * wt  ",
        "cross_entropy", UPSTREAM_IGNORED, exact=True),  # (class_weight: two outputs, one ignored: a true factor)
    Bug("hw1-sigmoid-off-by-1e-6", "hw1", E, "xp.where(a >= 0, 1 / (1 + e), e / (1 + e))",
        "xp.where(a >= 0, 1 / (1 + e * 1.000001), e / (1 + e * 1.000001))", "elementwise_unary", "expected"),
]


def _available(bug):
    return os.path.exists(os.path.join(REPO, bug.file))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    bugs = [b for b in BUGS if _available(b)]
    return grade_bugs(bugs, str(tmp_path_factory.mktemp("planted")))


def test_at_least_30_planted_bugs():
    assert len(BUGS) >= 30, f"only {len(BUGS)} planted bugs"


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_planted_bug_loses_points_with_hint(bug, graded):
    if bug.name not in graded:
        pytest.skip(f"{bug.file} does not exist yet")
    if isinstance(graded[bug.name], Exception):
        raise graded[bug.name]
    test, failed = failed_checks(graded[bug.name], bug.test)
    assert test["points"] < test["max_points"], f"{bug.name}: the bug cost no points on {bug.test}"
    # property checks (dropout) explain themselves in the message rather than a separate hint
    hints = [c["hint"] or c["message"] for c in failed]
    if bug.exact:
        assert bug.hint in hints, f"{bug.name}: expected the hint {bug.hint!r}, got {set(hints)}"
    else:
        assert any(bug.hint in h for h in hints), \
            f"{bug.name}: expected a hint containing {bug.hint!r}, got {set(hints)}"
    if bug.absent:
        wrong = {c["hint"] for c in failed if bug.absent in c["hint"]}
        assert not wrong, f"{bug.name}: misleading hint(s) {wrong}"


def _graded(graded, name):
    if name not in graded:
        pytest.skip("file does not exist yet")
    if isinstance(graded[name], Exception):
        raise graded[name]
    return graded[name]


def test_a_shape_error_is_labelled_with_the_gradient_it_is_about(graded):
    """A transposed dW makes the engine raise 'for input 1': the hint names dL/dw, the other gradients of
    the case say where the failure was and carry no hint (a transposed dW was once labelled dL/db)."""
    _, failed = failed_checks(_graded(graded, "hw2-linear-dW-transposed"), "linear")
    by_name = {c["name"]: c for c in failed}
    assert not [c["hint"] for c in failed if "input 1" in c["hint"]]
    w = by_name["linear/2d[float32] dL/dw"]
    assert w["hint"] == ("transposed: dL/dw (the gradient Linear.backward returned for its input of shape [5, 3]) "
                         "has the transposed shape [3, 5]")
    for other in ("dL/db", "dL/dx"):
        c = by_name[f"linear/2d[float32] {other}"]
        assert c["hint"] == "" and c["message"].startswith("not checked: the backward failed on dL/dw (RuntimeError: ")


def test_expected_and_got_are_quoted_with_enough_digits_to_differ(graded):
    """An error of ~4e-7 relative fails float64 only: the quoted values differ, with at most 17 digits."""
    import re  # noqa: PLC0415

    _, failed = failed_checks(_graded(graded, "hw1-sigmoid-off-by-1e-6"), "elementwise_unary")
    assert failed and all("[float64]" in c["name"] for c in failed)
    for c in failed:
        m = re.search(r"worst at index \[[\d, ]*\]: expected (\S+), got (\S+) \(", c["message"])
        assert m, c["message"]
        want, have = m.groups()
        assert want != have and float(want) == pytest.approx(c["details"]["expected_at_worst"], rel=1e-6)
        assert len(re.sub(r"[^0-9]", "", want.split("e")[0]).lstrip("0")) <= 17
