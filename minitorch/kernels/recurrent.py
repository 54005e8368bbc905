"""Recurrent kernels (hw3): Elman RNN, GRU and LSTM cells, and whole-sequence layers with
backpropagation through time.

Conventions follow PyTorch: weights ``w_ih`` (G*H, I) and ``w_hh`` (G*H, H) stack the G gates
along rows (GRU: r, z, n; LSTM: i, f, g, o); biases ``b_ih``, ``b_hh`` are (G*H,) or None.
Cells take batched 2-D inputs x (B, I), h (B, H). Sequence kernels take time-major x (T, B, I)
and run one direction of one layer: the input projection of all T steps is one GEMM, only the
recurrence loops over time (forward in order, backward in reverse), and the weight gradients
are accumulated with one GEMM each after the backward loop.

A sequence kernel called with ``w_ih=None`` (and ``b_ih=None``) takes x already projected: x (T, B, G*H) holds
x_t W_ih^T + b_ih of every step, and the backward returns its gradient as dx, with None for dw_ih and db_ih. A
model whose input is an embedding computes that projection once per vocabulary row instead of once per token
(``RNNBase.input_projection``).

Each forward returns its cache as a named tuple defined just above it (``LSTMCache`` ...), with the fields'
shapes in its docstring: the backward reads ``cache.gates``, ``cache.w_hh``.
"""
from collections import namedtuple

from ..backend import col_sum, empty_aligned, get_array_module


def _sigmoid(a):
    """The logistic function via sigma(a) = (1 + tanh(a / 2)) / 2: one transcendental, no overflow."""
    xp = get_array_module(a)
    return 0.5 * xp.tanh(0.5 * a) + 0.5


def _affine(x, w, b=None):
    """x @ w^T (+ b) for x (..., K), w (N, K): one GEMM over all leading axes."""
    lead = x.shape[:-1]
    out = x.reshape(-1, x.shape[-1]) @ w.T
    if b is not None:
        out += b
    return out.reshape(lead + (w.shape[0],))


def _bias_grads(dpre, b_ih, b_hh, dpre_hh=None):
    """Gradients of the two biases from 2-D pre-activation gradients (rows summed), None when absent;
    with one ``dpre`` for both, the sum is taken once and the second gradient is its copy."""
    if dpre_hh is None:
        total = None if b_ih is None and b_hh is None else col_sum(dpre)
        return (None if b_ih is None else total), (None if b_hh is None else total.copy())
    return (None if b_ih is None else col_sum(dpre)), (None if b_hh is None else col_sum(dpre_hh))


# The per-time-step products have only B (batch) rows, so most of their cost is not the arithmetic. OpenBLAS (0.3.x,
# x86-64 with AVX-512) computes a float32 product of at most 100^3 multiply-adds with its small-matrix kernels, which
# read W where it lies (the limit is in its kernel/x86_64/sgemm_small_kernel_permit_skylakex.c); a larger product first
# copies all of W into a packed buffer, at every call. So the GRU and LSTM kernels cut W into blocks of columns that
# each stay within that limit: forward, h @ W_hh^T in blocks of at most 256 columns of W_hh^T; backward, dh = da @ W_hh
# in blocks of at most 128 columns of W_hh, each block's product writing its columns of dh. The blocks are copies that
# start at a cache line, because the small-matrix kernels read them in place: with its buffers 16 bytes past a cache
# line, the LSTM kernels took 12-20% longer on 6 rows. The caps were chosen from timings of the kernels' loops on 1-32
# rows and H = 128-512 on our machine, which are not kept; bench/step_ab.py --only blocks compares them with the earlier
# cuts (bench/results/recurrent-step-blocks-idle-v2.txt: on 6 rows, H = 256, T = 64, the LSTM's forward and backward
# took 10.4 ms instead of 11.1 with W_hh at a cache line, 10.8 instead of 12.0 with W_hh 16 bytes past one; the GRU's
# 9.0 instead of 15.1). Where even 64 columns are over the limit (B large), the forward uses blocks of 256 columns and
# the backward a sum over 256-row blocks of W_hh. With other BLAS libraries or CPUs the blocks are just smaller
# products; we have not measured what they cost there.
_SMALL_GEMM = 100 ** 3
_STEP_BLOCK = 256       # the forward's cap (and its blocks above the limit); the backward's row blocks above it
_BACKWARD_BLOCK = 128   # the backward's cap


def _block_width(rows, k, n, cap):
    """Columns per block of a per-step product (rows, k) @ (k, n): the widest of 64, 128, ... ``cap`` (or n, when
    n is narrower) with rows * width * k <= _SMALL_GEMM; None when 64 columns are already over that."""
    width = 64
    if rows * min(width, n) * k > _SMALL_GEMM:
        return None
    while width < min(n, cap) and rows * min(2 * width, n) * k <= _SMALL_GEMM:
        width *= 2
    return min(width, n, cap)


def _on_gpu(w):
    return get_array_module(w).__name__.startswith("cupy")


def _step_blocks(w):
    """W cut into contiguous blocks of at most _STEP_BLOCK rows, as [(row slice, block)]."""
    xp = get_array_module(w)
    return [(slice(j, j + _STEP_BLOCK), xp.ascontiguousarray(w[j:j + _STEP_BLOCK]))
            for j in range(0, w.shape[0], _STEP_BLOCK)]


def _column_blocks(w, width):
    """W (K, N) cut into contiguous copies of at most ``width`` columns, each aligned to a cache line (see
    ``empty_aligned``), as [(column slice, block)]."""
    blocks = []
    for j in range(0, w.shape[1], width):
        block = empty_aligned((w.shape[0], min(width, w.shape[1] - j)), w.dtype, like=w)
        block[...] = w[:, j:j + width]
        blocks.append((slice(j, j + width), block))
    return blocks


_TILE = 64  # rows of w per transposing copy in _scaled_transposed_blocks: a (64, K) tile and its copy stay in cache


def _scaled_transposed_blocks(w, scale, width=_STEP_BLOCK):
    """W^T * scale for w (N, K), scale (N,) or None (W^T itself), cut into contiguous blocks of at most ``width``
    columns, as [(column slice, block)]; one block on a GPU. Each block is filled by tiles of _TILE rows of w,
    transposed (and scaled) in one pass, without a whole (K, N) temporary (a whole transposing copy of a 1 MB W_hh
    runs at about 1.8 ns per element, tile by tile at about 1). Each block starts at a cache line (see
    ``empty_aligned``)."""
    xp = get_array_module(w)
    n, k = w.shape
    if _on_gpu(w):
        return [(slice(0, n), xp.ascontiguousarray(w.T if scale is None else w.T * scale))]
    dtype = w.dtype if scale is None else xp.result_type(w, scale)
    blocks = []
    for j in range(0, n, width):
        cols = min(width, n - j)
        block = empty_aligned((k, cols), dtype, like=w)
        for i in range(0, cols, _TILE):
            rows = slice(j + i, min(j + i + _TILE, j + cols))
            if scale is None:
                block[:, i:i + _TILE] = w[rows].T
            else:
                xp.multiply(w[rows].T, scale[rows], out=block[:, i:i + _TILE])
        blocks.append((slice(j, j + width), block))
    return blocks


_MIN_BLOCK_STEPS = 4  # steps from which copying W into blocks pays


def _blocks_pay(w, steps):
    """Whether to copy W into blocks for ``steps`` per-step products: always on a GPU (where the blocks are one
    copy), else from _MIN_BLOCK_STEPS steps on. For fewer, copying W costs more than the blocks save:
    generating text runs one step per token (bench/step_ab.py --only blocks times that too)."""
    return _on_gpu(w) or steps >= _MIN_BLOCK_STEPS


def _column_products(blocks, out):
    """A function a -> a @ W written into ``out``, for W given as [(column slice, block)]: each block's product
    writes its columns of out. Returns out."""
    xp = get_array_module(out)
    parts = [(out[:, cols], block) for cols, block in blocks]

    def product(a):
        for out_cols, block in parts:
            xp.matmul(a, block, out=out_cols)
        return out
    return product


def _forward_step_product(w_hh, scale, out, steps):
    """A function h -> h @ (W_hh^T * scale) written into ``out`` (rows, N), for W_hh (N, K) and scale (N,) or None,
    to be called ``steps`` times: the product of each column block of W_hh^T (see _SMALL_GEMM) writes its columns of
    out, or where blocks do not pay (``_blocks_pay``), one product with W_hh^T where it lies, then the scaling.
    Returns out."""
    xp = get_array_module(w_hh)
    n, k = w_hh.shape
    if not _blocks_pay(w_hh, steps):
        w_t = w_hh.T

        def plain(h):
            xp.matmul(h, w_t, out=out)
            return out if scale is None else xp.multiply(out, scale, out=out)
        return plain
    width = _block_width(out.shape[0], k, n, _STEP_BLOCK) or _STEP_BLOCK
    return _column_products(_scaled_transposed_blocks(w_hh, scale, width), out)


def _backward_step_product(w, out, tmp, steps):
    """A function da -> da @ W written into ``out`` (rows, K), for W (N, K) and the per-step rows of da (rows, N),
    to be called ``steps`` times: W's column blocks writing their columns of out, or where those are over the limit
    (see _SMALL_GEMM), a sum over W's row blocks (``tmp``: scratch shaped like out). One product with W where it lies
    on a GPU, or where blocks do not pay (``_blocks_pay``)."""
    xp = get_array_module(w)
    n, k = w.shape
    if _on_gpu(w) or not _blocks_pay(w, steps):
        return lambda da: xp.matmul(da, w, out=out)
    width = _block_width(out.shape[0], n, k, _BACKWARD_BLOCK)
    if width is not None:
        return _column_products(_column_blocks(w, width), out)
    blocks = _step_blocks(w)
    return lambda da: _step_matmul(da, blocks, out, tmp)


def _step_matmul(h, blocks, out, tmp):
    """out = h @ W as the sum over W's row blocks (``_step_blocks``) of h[:, rows] @ W[rows]; ``tmp``: scratch
    shaped like out. Returns out."""
    xp = get_array_module(h)
    (rows, w), rest = blocks[0], blocks[1:]
    xp.matmul(h[:, rows], w, out=out)
    for rows, w in rest:
        out += xp.matmul(h[:, rows], w, out=tmp)
    return out


def _check_nonlinearity(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def _check_projected(x, w_ih, b_ih, width, who):
    """With w_ih None, x must be the projected input (T, B, width) and b_ih None (it is part of x)."""
    if w_ih is not None:
        return
    if b_ih is not None:
        raise ValueError(f"{who}: with w_ih=None, x already holds x W_ih^T + b_ih: b_ih must be None too")
    if x.ndim != 3 or x.shape[-1] != width:
        raise ValueError(f"{who}: with w_ih=None, x must be the projected input (T, B, {width}), got shape "
                         f"{tuple(x.shape)}")


def _time_steps(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def _previous_states(seq, s0, reverse):
    """The state fed into each step: (T, B, H) from the per-step outputs ``seq`` and the initial ``s0``."""
    xp = get_array_module(seq)
    if reverse:
        return xp.concatenate([seq[1:], s0[None]], axis=0)
    return xp.concatenate([s0[None], seq[:-1]], axis=0)


def _steps_as_rows(a):
    """(T, B, K) -> (T * B, K): every step's rows stacked, as the weight-gradient products take them. Unlike
    ``reshape(T * B, -1)``, this also works for an empty batch (B = 0), which PyTorch's layers accept."""
    return a.reshape(-1, a.shape[-1])


# ============================================================================ cells
RNNCellCache = namedtuple("RNNCellCache", ["x", "h", "w_ih", "w_hh", "b_ih", "b_hh", "h_new", "nonlinearity"])
RNNCellCache.__doc__ = """rnn_cell_backward's cache: x (B, I), h (B, H), w_ih (H, I), w_hh (H, H), b_ih, b_hh (H,) or
None: the inputs; h_new (B, H): the output act(a); nonlinearity: 'tanh' or 'relu'."""


def rnn_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """x: (B, I), h: (B, H), w_ih: (H, I), w_hh: (H, H). Returns h' (B, H).
    h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu."""
    _check_nonlinearity(nonlinearity)
    xp = get_array_module(x)
    # BEGIN SOLUTION hw3
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    h_new = xp.tanh(a) if nonlinearity == "tanh" else xp.maximum(a, 0)
    # END SOLUTION
    return h_new, RNNCellCache(x, h, w_ih, w_hh, b_ih, b_hh, h_new, nonlinearity)


def rnn_cell_backward(dh_new, cache):
    """Returns (dx, dh, dw_ih, dw_hh, db_ih, db_hh); bias gradients are None without biases.
    da = dh' * act'(a);  dx = da W_ih, dh = da W_hh, dW_ih = da^T x, dW_hh = da^T h, db = sum(da)."""
    # BEGIN SOLUTION hw3
    x, h, w_ih, w_hh, h_new = cache.x, cache.h, cache.w_ih, cache.w_hh, cache.h_new
    if cache.nonlinearity == "tanh":
        da = dh_new * (1 - h_new * h_new)
    else:
        da = dh_new * (h_new > 0)
    db_ih, db_hh = _bias_grads(da, cache.b_ih, cache.b_hh)
    return da @ w_ih, da @ w_hh, da.T @ x, da.T @ h, db_ih, db_hh
    # END SOLUTION


GRUCellCache = namedtuple("GRUCellCache", ["x", "h", "w_ih", "w_hh", "b_ih", "b_hh", "r", "z", "n", "hn"])
GRUCellCache.__doc__ = """gru_cell_backward's cache: x (B, I), h (B, H), w_ih (3H, I), w_hh (3H, H), b_ih, b_hh (3H,)
or None: the inputs; r, z, n (B, H): the reset, update and new gates after their nonlinearity; hn (B, H):
h W_hn^T + b_hn, the hidden part of n before the reset gate multiplies it."""


def gru_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """x: (B, I), h: (B, H), w_ih: (3H, I), w_hh: (3H, H), gates r, z, n. Returns h' (B, H).
    r, z = sigma(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1-z) n + z h."""
    xp = get_array_module(x)
    H = h.shape[-1]
    # BEGIN SOLUTION hw3
    gi = _affine(x, w_ih, b_ih)
    gh = _affine(h, w_hh, b_hh)
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    hn = gh[:, 2 * H:]
    n = xp.tanh(gi[:, 2 * H:] + r * hn)
    h_new = (1 - z) * n + z * h
    # END SOLUTION
    return h_new, GRUCellCache(x, h, w_ih, w_hh, b_ih, b_hh, r, z, n, hn)


def gru_cell_backward(dh_new, cache):
    """Returns (dx, dh, dw_ih, dw_hh, db_ih, db_hh).
    dn = dh'(1-z), dz = dh'(h-n), dh = dh' z + [da_r, da_z, da_n r] W_hh, with da_r = da_n hn r(1-r)."""
    xp = get_array_module(dh_new)
    # BEGIN SOLUTION hw3
    x, h, w_ih, w_hh = cache.x, cache.h, cache.w_ih, cache.w_hh
    r, z, n, hn = cache.r, cache.z, cache.n, cache.hn
    da_n = dh_new * (1 - z) * (1 - n * n)
    da_z = dh_new * (h - n) * z * (1 - z)
    da_r = da_n * hn * r * (1 - r)
    dgi = xp.concatenate([da_r, da_z, da_n], axis=-1)
    dgh = xp.concatenate([da_r, da_z, da_n * r], axis=-1)
    dh = dh_new * z + dgh @ w_hh
    db_ih, db_hh = _bias_grads(dgi, cache.b_ih, cache.b_hh, dgh)
    return dgi @ w_ih, dh, dgi.T @ x, dgh.T @ h, db_ih, db_hh
    # END SOLUTION


LSTMCellCache = namedtuple("LSTMCellCache", ["x", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh", "i", "f", "g", "o", "tc"])
LSTMCellCache.__doc__ = """lstm_cell_backward's cache: x (B, I), h, c (B, H), w_ih (4H, I), w_hh (4H, H), b_ih, b_hh
(4H,) or None: the inputs; i, f, g, o (B, H): the input, forget, cell-candidate and output gates after their
nonlinearity; tc (B, H): tanh(c'), c' the new cell state."""


def lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """x: (B, I), h, c: (B, H), w_ih: (4H, I), w_hh: (4H, H), gates i, f, g, o. Returns (h', c').
    c' = f c + i g, h' = o tanh(c'), with i, f, o sigmoids and g a tanh of x W_ih^T + b_ih + h W_hh^T + b_hh."""
    xp = get_array_module(x)
    H = h.shape[-1]
    # BEGIN SOLUTION hw3
    a = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
    i = _sigmoid(a[:, :H])
    f = _sigmoid(a[:, H:2 * H])
    g = xp.tanh(a[:, 2 * H:3 * H])
    o = _sigmoid(a[:, 3 * H:])
    c_new = f * c + i * g
    tc = xp.tanh(c_new)
    h_new = o * tc
    # END SOLUTION
    return (h_new, c_new), LSTMCellCache(x, h, c, w_ih, w_hh, b_ih, b_hh, i, f, g, o, tc)


def lstm_cell_backward(dh_new, dc_new, cache):
    """Returns (dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh).
    dc* = dc' + dh' o (1 - tanh^2 c'); di = dc* g, df = dc* c, dg = dc* i, do = dh' tanh c'; dc = dc* f."""
    xp = get_array_module(dh_new)
    # BEGIN SOLUTION hw3
    x, h, c, w_ih, w_hh = cache.x, cache.h, cache.c, cache.w_ih, cache.w_hh
    i, f, g, o, tc = cache.i, cache.f, cache.g, cache.o, cache.tc
    dc = dc_new + dh_new * o * (1 - tc * tc)
    da = xp.concatenate([
        dc * g * i * (1 - i),
        dc * c * f * (1 - f),
        dc * i * (1 - g * g),
        dh_new * tc * o * (1 - o),
    ], axis=-1)
    db_ih, db_hh = _bias_grads(da, cache.b_ih, cache.b_hh)
    return da @ w_ih, da @ w_hh, dc * f, da.T @ x, da.T @ h, db_ih, db_hh
    # END SOLUTION


# ============================================================================ sequences
RNNCache = namedtuple("RNNCache", ["x", "h0", "w_ih", "w_hh", "b_ih", "b_hh", "out", "nonlinearity", "reverse"])
RNNCache.__doc__ = """rnn_backward's cache: x (T, B, I), h0 (B, H), w_ih (H, I), w_hh (H, H), b_ih, b_hh (H,) or None:
the inputs; out (T, B, H): h_t of every step (out[t] is step t's, also when reverse); nonlinearity: 'tanh' or
'relu'; reverse: whether the steps ran t = T-1 .. 0."""


def rnn_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh", reverse=False):
    """One layer, one direction. x: (T, B, I), h0: (B, H). Returns (output (T, B, H), h_n (B, H)).
    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh); ``reverse`` runs t = T-1 .. 0.
    w_ih=None: x (T, B, H) already holds x_t W_ih^T + b_ih."""
    _check_nonlinearity(nonlinearity)
    _check_projected(x, w_ih, b_ih, h0.shape[-1], "rnn_forward")
    xp = get_array_module(x)
    T = x.shape[0]
    # BEGIN SOLUTION hw3
    # (T, B, H): the input part of every step, one GEMM (or given: a copy, which becomes the output)
    out = x.copy() if w_ih is None else _affine(x, w_ih, b_ih)
    if b_hh is not None:
        out += b_hh
    w_hh_t = xp.ascontiguousarray(w_hh.T)  # one copy; the per-step GEMMs run faster on it
    h = h0
    for t in _time_steps(T, reverse):  # a_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T; h_t = act(a_t) in out[t]
        a = out[t]
        a += h @ w_hh_t
        if nonlinearity == "tanh":
            xp.tanh(a, out=a)
        else:
            xp.maximum(a, 0, out=a)
        h = a
    h_n = h.copy()
    # END SOLUTION
    return (out, h_n), RNNCache(x, h0, w_ih, w_hh, b_ih, b_hh, out, nonlinearity, reverse)


def rnn_backward(dout, dh_n, cache):
    """dout: (T, B, H), dh_n: (B, H). Returns (dx, dh0, dw_ih, dw_hh, db_ih, db_hh).
    Reverse loop: da_t = (dout_t + dh_t) * act'(a_t), dh_{t-1} = da_t W_hh; weight gradients summed over t.
    Called with w_ih=None: dx = da (the projected input's gradient), dw_ih and db_ih None."""
    xp = get_array_module(dout)
    T, B, _ = cache.x.shape
    # BEGIN SOLUTION hw3
    x, h0, w_ih, w_hh, out, reverse = cache.x, cache.h0, cache.w_ih, cache.w_hh, cache.out, cache.reverse
    deriv = 1 - out * out if cache.nonlinearity == "tanh" else (out > 0).astype(out.dtype)
    da = xp.empty_like(out)
    dh = dh_n
    for t in _time_steps(T, not reverse):
        xp.multiply(dh + dout[t], deriv[t], out=da[t])
        dh = da[t] @ w_hh
    da2 = _steps_as_rows(da)
    h_prev = _steps_as_rows(_previous_states(out, h0, reverse))
    db_ih, db_hh = _bias_grads(da2, cache.b_ih, cache.b_hh)
    if w_ih is None:                      # x was x W_ih^T + b_ih: its gradient is da
        return da, dh, None, da2.T @ h_prev, None, db_hh
    dx = (da2 @ w_ih).reshape(x.shape)
    return dx, dh, da2.T @ _steps_as_rows(x), da2.T @ h_prev, db_ih, db_hh
    # END SOLUTION


GRUCache = namedtuple("GRUCache", ["x", "h0", "w_ih", "w_hh", "b_ih", "b_hh", "gates", "hn", "out", "reverse"])
GRUCache.__doc__ = """gru_backward's cache: x (T, B, I), h0 (B, H), w_ih (3H, I), w_hh (3H, H), b_ih, b_hh (3H,) or
None: the inputs; gates (T, B, 3H): [r, z, n] of every step after their nonlinearity; hn (T, B, H): h_{t-1} W_hn^T
+ b_hn of every step; out (T, B, H): h_t of every step (out[t] is step t's, also when reverse); reverse: whether
the steps ran t = T-1 .. 0."""


def gru_forward(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One layer, one direction. x: (T, B, I), h0: (B, H). Returns (output (T, B, H), h_n (B, H)).
    Each step is ``gru_cell_forward``: r, z, n gates, h_t = (1 - z) n + z h_{t-1}.
    w_ih=None: x (T, B, 3H) already holds x_t W_ih^T + b_ih."""
    _check_projected(x, w_ih, b_ih, 3 * h0.shape[-1], "gru_forward")
    xp = get_array_module(x)
    T, B, _ = x.shape
    H = h0.shape[-1]
    # BEGIN SOLUTION hw3
    # (T, B, 3H): the x part of every step (given, or one GEMM); becomes [r, z, n]
    gates = x.copy() if w_ih is None else _affine(x, w_ih, b_ih)
    hn = xp.empty((T, B, H), dtype=x.dtype)   # W_hn h_{t-1} + b_hn, needed by the backward
    out = empty_aligned((T, B, H), x.dtype, like=x)
    gh = empty_aligned((B, 3 * H), x.dtype, like=x)
    step_product = _forward_step_product(w_hh, None, gh, T)  # h -> h W_hh^T into gh (see _SMALL_GEMM)
    # The plain step (gru_cell_forward), computed below in place in gates[t], hn[t] and out[t]:
    #   gh = h_{t-1} W_hh^T + b_hh;  r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z)
    #   n = tanh(gi_n + r * gh_n);   h_t = (1 - z) * n + z * h_{t-1}  (written as z * (h_{t-1} - n) + n)
    h = h0
    for t in _time_steps(T, reverse):
        step_product(h)
        if b_hh is not None:
            gh += b_hh
        g = gates[t]
        rz = g[:, :2 * H]
        rz += gh[:, :2 * H]
        rz[...] = _sigmoid(rz)
        hn[t] = gh[:, 2 * H:]
        n = g[:, 2 * H:]
        n += rz[:, :H] * hn[t]
        xp.tanh(n, out=n)
        xp.multiply(rz[:, H:], h - n, out=out[t])
        out[t] += n
        h = out[t]
    h_n = h.copy()
    # END SOLUTION
    return (out, h_n), GRUCache(x, h0, w_ih, w_hh, b_ih, b_hh, gates, hn, out, reverse)


def gru_backward(dout, dh_n, cache):
    """dout: (T, B, H), dh_n: (B, H). Returns (dx, dh0, dw_ih, dw_hh, db_ih, db_hh).
    Reverse loop of ``gru_cell_backward``; the W_ih and W_hh gradients are one GEMM each afterwards.
    Called with w_ih=None: dx is the projected input's gradient [da_r, da_z, da_n], dw_ih and db_ih None."""
    xp = get_array_module(dout)
    T, B, _ = cache.x.shape
    H = cache.h0.shape[-1]
    # BEGIN SOLUTION hw3
    x, h0, w_ih, w_hh, reverse = cache.x, cache.h0, cache.w_ih, cache.w_hh, cache.reverse
    gates, hn, out = cache.gates, cache.hn, cache.out
    r, z, n = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
    h_prev = _previous_states(out, h0, reverse)
    # The plain reverse step (gru_cell_backward), with dh_t = dout_t + the dh that step t+1 passed back:
    #   da_n = dh_t (1-z) (1-n^2),  da_z = dh_t (h_{t-1} - n) z (1-z),  da_r = da_n hn r (1-r)
    #   step t passes back dh_t z + [da_r, da_z, da_n r] W_hh   (the input side gets [da_r, da_z, da_n]).
    # Step-independent factors, for all t at once: da_n = dh k_n, da_z = dh k_z, da_r = da_n k_r.
    k_n = (1 - z) * (1 - n * n)
    k_z = (h_prev - n) * z * (1 - z)
    k_r = hn * r * (1 - r)
    dgh = empty_aligned(gates.shape, gates.dtype, like=gates)  # gradients of W_hh h + b_hh: [da_r, da_z, da_n r]
    da_n = xp.empty_like(out)
    # da_t -> da_t @ W_hh, in blocks (see _SMALL_GEMM), into its own buffer
    step_product = _backward_step_product(w_hh, empty_aligned((B, H), gates.dtype, like=gates),
                                          xp.empty((B, H), dtype=gates.dtype), T)
    dh = dh_n
    for t in _time_steps(T, not reverse):
        dh = dh + dout[t]
        xp.multiply(dh, k_n[t], out=da_n[t])
        xp.multiply(da_n[t], k_r[t], out=dgh[t, :, :H])
        xp.multiply(dh, k_z[t], out=dgh[t, :, H:2 * H])
        xp.multiply(da_n[t], r[t], out=dgh[t, :, 2 * H:])
        dh = dh * z[t] + step_product(dgh[t])
    dgi = dgh.copy()                      # gradients of W_ih x + b_ih: [da_r, da_z, da_n]
    dgi[..., 2 * H:] = da_n
    dgi2, dgh2 = _steps_as_rows(dgi), _steps_as_rows(dgh)
    db_ih, db_hh = _bias_grads(dgi2, cache.b_ih, cache.b_hh, dgh2)
    dw_hh = dgh2.T @ _steps_as_rows(h_prev)
    if w_ih is None:                      # x was x W_ih^T + b_ih: its gradient is dgi
        return dgi, dh, None, dw_hh, None, db_hh
    return (dgi2 @ w_ih).reshape(x.shape), dh, dgi2.T @ _steps_as_rows(x), dw_hh, db_ih, db_hh
    # END SOLUTION


LSTMCache = namedtuple("LSTMCache", ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "gates", "cs", "tcs", "out",
                                     "reverse"])
LSTMCache.__doc__ = """lstm_backward's cache: x (T, B, I), h0, c0 (B, H), w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,)
or None: the inputs; gates (T, B, 4H): [i, f, g, o] of every step after their nonlinearity; cs (T, B, H): the cell
states c_t; tcs (T, B, H): tanh(c_t); out (T, B, H): the hidden states h_t; reverse: whether the steps ran
t = T-1 .. 0. Index [t] is step t's, also when reverse."""


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """One layer, one direction. x: (T, B, I), h0, c0: (B, H).
    Returns (output (T, B, H), h_n (B, H), c_n (B, H)); each step is ``lstm_cell_forward``.
    w_ih=None: x (T, B, 4H) already holds x_t W_ih^T + b_ih."""
    _check_projected(x, w_ih, b_ih, 4 * h0.shape[-1], "lstm_forward")
    xp = get_array_module(x)
    T, B, _ = x.shape
    H = h0.shape[-1]
    # BEGIN SOLUTION hw3
    # The plain step (lstm_cell_forward), which the loop below computes in place:
    #   a = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,  split into the gate blocks a_i, a_f, a_g, a_o   (B, H) each
    #   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
    #   c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)
    # Fused: sigmoid(a) = 0.5 tanh(a / 2) + 0.5, so all four gates take one tanh: scale, tanh, affine
    # ([i, f, g, o] = scale * tanh(scale * a) + shift, scale 0.5 and shift 0.5 for i, f, o; 1 and 0 for g). The
    # inner scale is applied to W_ih, W_hh and the biases once, before the loop (exact: a power of 2).
    scale = xp.full((4 * H,), 0.5, dtype=x.dtype)
    scale[2 * H:3 * H] = 1
    shift = scale.copy()
    shift[2 * H:3 * H] = 0
    bias = b_ih if b_hh is None else (b_hh if b_ih is None else b_ih + b_hh)
    # (T, B, 4H): the x part of every step (given, or one GEMM), scaled; becomes [i, f, g, o]
    gates = x * scale if w_ih is None else _affine(x, w_ih * scale[:, None])
    if bias is not None:
        gates += bias * scale
    cs = xp.empty((T, B, H), dtype=x.dtype)
    tcs = xp.empty((T, B, H), dtype=x.dtype)
    out = empty_aligned((T, B, H), x.dtype, like=x)
    hw = empty_aligned((B, 4 * H), x.dtype, like=x)
    step_product = _forward_step_product(w_hh, scale, hw, T)  # h -> h W_hh^T * scale into hw (_SMALL_GEMM)
    ig = xp.empty((B, H), dtype=x.dtype)
    i, f, g, o = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]
    h, c = h0, c0
    for t in _time_steps(T, reverse):
        a, c_t, tc_t, h_t = gates[t], cs[t], tcs[t], out[t]
        a += step_product(h)                    # (x_t W_ih^T + b + h W_hh^T) * scale
        xp.tanh(a, out=a)
        a *= scale
        a += shift
        xp.multiply(f[t], c, out=c_t)
        c_t += xp.multiply(i[t], g[t], out=ig)  # c_t = f * c_{t-1} + i * g
        xp.tanh(c_t, out=tc_t)
        xp.multiply(o[t], tc_t, out=h_t)        # h_t = o * tanh(c_t)
        h, c = h_t, c_t
    h_n, c_n = h.copy(), c.copy()
    # END SOLUTION
    return (out, h_n, c_n), LSTMCache(x, h0, c0, w_ih, w_hh, b_ih, b_hh, gates, cs, tcs, out, reverse)


_K_CHUNK = 8  # time steps per chunk of lstm_backward's factors: 8 x (B=12, 4H=1024) floats stay in L2


def lstm_backward(dout, dh_n, dc_n, cache):
    """dout: (T, B, H), dh_n, dc_n: (B, H). Returns (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh).
    Reverse loop of ``lstm_cell_backward`` (dc carried through f); weight gradients are one GEMM each.
    Called with w_ih=None: dx = da (the projected input's gradient, (T, B, 4H)), dw_ih and db_ih None."""
    xp = get_array_module(dout)
    T, B, _ = cache.x.shape
    H = cache.h0.shape[-1]
    # BEGIN SOLUTION hw3
    x, w_ih, w_hh, gates, tcs, reverse = cache.x, cache.w_ih, cache.w_hh, cache.gates, cache.tcs, cache.reverse
    i, f, g, o = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]
    c_prev = _previous_states(cache.cs, cache.c0, reverse)
    # The plain reverse step (lstm_cell_backward), with dh_t = dout_t + the dh that step t+1 passed back:
    #   dc_t = dc_{t+1} f_{t+1} + dh_t o (1 - tanh^2 c_t)
    #   da_i = dc_t g i (1-i),  da_f = dc_t c_{t-1} f (1-f),  da_g = dc_t i (1-g^2),  da_o = dh_t tanh(c_t) o (1-o)
    #   step t passes back dh = da_t W_hh and dc_t f_t (dh_n and dc_n enter at the last step).
    # Fused: the factors that do not depend on dh, dc are computed for all t at once, before the loop:
    #   dc_t = dc_{t+1} f_{t+1} + dh_t k_c,  da_{i,f,g} = dc_t k_{i,f,g},  da_o = dh_t k_o, with
    #   k_i = g i(1-i), k_f = c_{t-1} f(1-f), k_g = i (1-g^2), k_o = tanh(c_t) o(1-o), k_c = o (1-tanh^2 c_t);
    #   k = [k_i, k_f, k_g, k_o] (T, B, 4H) is built in place from 1 - gates, block by block (no temporaries).
    #   Built _K_CHUNK steps at a time, so that each chunk's passes stay in the CPU cache.
    k, k_c = xp.empty_like(gates), xp.empty_like(tcs)
    for s in range(0, T, _K_CHUNK):
        c = slice(s, s + _K_CHUNK)
        kc = k[c]
        xp.subtract(1, gates[c], out=kc)
        kc *= gates[c]                    # sigmoid' = s (1 - s) for i, f, o ...
        k_g = kc[..., 2 * H:3 * H]
        xp.multiply(g[c], g[c], out=k_g)
        xp.subtract(1, k_g, out=k_g)      # ... and tanh' = 1 - g^2 for g
        kc[..., :H] *= g[c]
        kc[..., H:2 * H] *= c_prev[c]
        k_g *= i[c]
        kc[..., 3 * H:] *= tcs[c]
        xp.multiply(tcs[c], tcs[c], out=k_c[c])
        xp.subtract(1, k_c[c], out=k_c[c])
        k_c[c] *= o[c]
    k = k.reshape(T, B, 4, H)
    k_ifg, k_o = k[:, :, :3], k[:, :, 3]
    da = empty_aligned((T, B, 4, H), gates.dtype, like=gates)
    da_ifg, da_o, da2 = da[:, :, :3], da[:, :, 3], da.reshape(T, B, 4 * H)
    tmp = xp.empty((B, H), dtype=gates.dtype)
    dh, dc = empty_aligned((B, H), gates.dtype, like=gates), dc_n.copy()
    dh[...] = dh_n   # updated in place below (the views above are made once: fewer calls)
    step_product = _backward_step_product(w_hh, dh, tmp, T)  # da_t -> da_t @ W_hh into dh (see _SMALL_GEMM)
    for t in _time_steps(T, not reverse):
        dh += dout[t]
        dc += xp.multiply(dh, k_c[t], out=tmp)
        xp.multiply(dc[:, None, :], k_ifg[t], out=da_ifg[t])
        xp.multiply(dh, k_o[t], out=da_o[t])
        dc *= f[t]
        step_product(da2[t])                  # dh = da_t @ W_hh, passed back to step t-1
    da2 = da2.reshape(T * B, 4 * H)
    h_prev = _previous_states(cache.out, cache.h0, reverse).reshape(T * B, H)
    db_ih, db_hh = _bias_grads(da2, cache.b_ih, cache.b_hh)
    if w_ih is None:                      # x was x W_ih^T + b_ih: its gradient is da
        return da.reshape(T, B, 4 * H), dh, dc, None, da2.T @ h_prev, None, db_hh
    dx = (da2 @ w_ih).reshape(x.shape)
    return dx, dh, dc, da2.T @ _steps_as_rows(x), da2.T @ h_prev, db_ih, db_hh
    # END SOLUTION
