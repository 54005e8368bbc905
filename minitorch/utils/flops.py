"""Count the floating-point operations of minitorch code, op by op, from the calls the tape sees.

    from minitorch.utils.flops import FlopCounter, count_flops

    with FlopCounter(model) as fc:          # model: optional, gives the per-module breakdown
        loss = lm_loss(model, x, y)
        loss.backward()
    print(fc.table())                        # by module and op kind
    fc.forward_flops, fc.backward_flops, fc.total_flops

    count_flops(model, x)                    # a FlopCounter of one call model(x): its forward FLOPs and
                                             # those its backward would run; backward=True also runs it

How ops are counted (a FLOP is one multiply or one add; a multiply-add is 2):

* **GEMMs** (``Matmul``, ``Bmm``, ``Linear``): an (m, k) @ (k, n) product is
  ``2*m*k*n``, summed over batch dims. Backward: one GEMM of the same size for each input that needs a gradient,
  so ``2x`` the forward when both do (``4*B*in*out`` for a Linear whose input and weight need grads).
* **Attention** (``ScaledDotProductAttention``, ``...WithWeights``, ``QKVAttention``): its two GEMMs, QK^T and AV,
  ``2*B*h*T_q*T_k*d`` each (so ``4*B*h*T_q*T_k*d``), over the full T_q x T_k square even with a causal mask (as
  PyTorch counts it); backward ``2x`` forward (dV = A^T dO, dA = dO V^T, dQ = dS K, dK = dS^T Q).
  ``FlashAttention`` (the tiled kernel) counts the same, plus ``2*B*h*T_q*T_k*d`` in the backward, which
  recomputes q k^T instead of storing the weights (2.5x the forward for d = d_v, as the FlashAttention paper counts).
* **Recurrent kernels** (``RNNFunction``, ``GRUFunction``, ``LSTMFunction`` and their cells): per step the input
  and hidden GEMMs, ``2*B*I*G*H + 2*B*H*G*H`` with G gates (1, 3, 4); backward as for GEMMs, the hidden one at
  every step of a sequence.
* **Everything else** counts only in ``mode="all"``: per element, with the constants of ``ELEMENTWISE`` below
  (one FLOP per add, multiply, compare, and per transcendental: exp, log, tanh, erf, sqrt each count 1), plus, in
  "all", a Linear's bias (``B*out`` forward and backward) and attention's scale, mask and softmax (per score).
  Shape ops (reshape, permute, indexing, concat, embedding lookups, casts) count 0.

``mode="gemm"`` (the default) counts GEMMs and attention only: the convention of PyTorch's
``torch.utils.flop_counter.FlopCounterMode`` and fvcore, comparable with them (see tests/test_flops.py).

What is counted: every ``Function.apply`` call made while the counter is active (recorded on the tape or not).
The backward FLOPs of a call are those its backward runs when the tape reaches it: they are counted when the call
is made, for the inputs that need gradients (none under ``no_grad``), so a forward that is never backpropagated
still lists them in ``backward_flops`` (use ``forward_flops`` then). Work outside the tape (the optimizer step,
NumPy code on ``.data``) is not counted. Ops without a rule (``Einsum``, user Functions) count 0 and are listed in
``uncounted``.

Backward GEMMs are counted for the inputs that need gradients, as PyTorch's autograd computes them; minitorch's
kernels compute every input's gradient (the engine drops the unneeded ones), so where an input of a GEMM needs no
gradient (a first layer fed with data), minitorch runs that many more FLOPs than counted.
"""
import math
import time
from collections import defaultdict

from ..autograd import function as _function
from .scopes import ModuleScopeObserver

MODES = ("gemm", "all")
OUTSIDE = "(outside the model)"  # by_module's name for ops run inside the counter but in no module (e.g. the loss)

# mode="all": op name -> (forward FLOPs per element, backward FLOPs per element), elements being those of the
# broadcast inputs (for reductions: of the input). The backward is counted once when any input needs a gradient.
ELEMENTWISE = {
    "Add": (1, 1), "Sub": (1, 1), "Neg": (1, 1), "Mul": (1, 2), "Div": (1, 3), "Pow": (1, 3), "Rpow": (1, 3),
    "Exp": (1, 1), "Log": (1, 1), "Sqrt": (1, 2), "Tanh": (1, 2), "Sigmoid": (3, 2), "Relu": (1, 1),
    "Abs": (1, 1), "Clamp": (2, 2), "Maximum": (1, 1), "Where": (1, 1), "MaskedFill": (1, 1),
    "LeakyRelu": (1, 2), "Elu": (2, 2), "Silu": (4, 4), "Softplus": (3, 3),
    # erf-GELU: 0.5 * x * (1 + erf(x / sqrt 2)); backward: the erf part plus exp(-x^2/2) / sqrt(2 pi) * x
    "Gelu": (5, 8),
    "Sum": (1, 0), "Mean": (1, 1), "Amax": (1, 1), "Var": (3, 3),
    # softmax over rows: max, subtract, exp, sum, divide; backward s * (g - sum(g * s))
    "Softmax": (5, 4), "LogSoftmax": (5, 3), "CrossEntropy": (5, 2), "NllLoss": (0, 0),
    # mean, subtract, square, sum (variance), multiply by 1/std, scale, shift; backward of the same
    "LayerNorm": (7, 9), "RMSNorm": (5, 7), "BatchNorm": (7, 9),
    "Dropout": (1, 1), "BCEWithLogits": (6, 4), "BCE": (5, 4), "VectorNorm": (2, 2),
}
# The fused recurrent kernels: name -> (gates, "all" forward FLOPs per (B, H) element and step, backward ditto):
# biases, gate sums, sigmoids (3 each) and tanhs (1), the state update.
RECURRENT = {
    "RNNCellFunction": (1, 4, 4), "RNNFunction": (1, 4, 4),
    "GRUCellFunction": (3, 21, 30), "GRUFunction": (3, 21, 30),
    "LSTMCellFunction": (4, 27, 30), "LSTMFunction": (4, 27, 30),
}
# Moving data, no arithmetic.
FREE = {"Reshape", "Permute", "Transpose", "Expand", "GetItem", "Gather", "Concat", "Stack", "Split",
        "Embedding", "_Cast", "_ToDevice"}
GEMM_OPS = {"Matmul", "Bmm", "Linear"}
ATTENTION_OPS = {"ScaledDotProductAttention", "ScaledDotProductAttentionWithWeights", "QKVAttention", "FlashAttention"}
# mode="all": per attention score: scale, mask, softmax (5) forward; softmax backward (4) and the scale.
ATTENTION_SCORE_COST = (7, 5)


def _numel(shape):
    return math.prod(int(n) for n in shape)


def _broadcast(shapes):
    nd = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (nd - len(s)) + tuple(s) for s in shapes]):
        big = [d for d in dims if d != 1]
        out.append(max(big) if big else 1)
    return tuple(out)


def _matmul_flops(a, b):
    """2 * m * k * n summed over the broadcast batch dims of a @ b (1-D operands as in NumPy)."""
    a, b = tuple(a), tuple(b)
    if len(a) == 1:
        a = (1,) + a
    if len(b) == 1:
        b = b + (1,)
    batch = _broadcast([a[:-2], b[:-2]]) if len(a) > 2 or len(b) > 2 else ()
    return 2 * _numel(batch) * a[-2] * a[-1] * b[-1]


def op_flops(ctx, mode="gemm"):
    """(forward FLOPs, backward FLOPs, counted) of one Function call ``ctx`` (a Context right after its forward).
    ``counted`` is False for an op without a rule (it then counts 0)."""
    name = ctx.name
    shapes = [None if t is None else tuple(t.shape) for t in ctx.inputs]
    needs = ctx.needs_input_grad
    every = mode == "all"
    if name in ("Matmul", "Bmm"):
        f = _matmul_flops(shapes[0], shapes[1])
        return f, f * sum(bool(n) for n in needs[:2]), True
    if name == "Linear":
        x, w = shapes[0], shapes[1]
        rows = _numel(x[:-1])
        f = 2 * rows * w[0] * w[1]
        fwd, bwd = f, f * (bool(needs[0]) + bool(needs[1]))
        if every and len(shapes) > 2 and shapes[2] is not None:
            fwd += rows * w[0]
            bwd += rows * w[0] if needs[2] else 0
        return fwd, bwd, True
    if name in ATTENTION_OPS:
        q = shapes[0]
        if name == "QKVAttention":  # qkv (B, T, 3E): h heads of E/h; the GEMMs do not depend on h
            b, t, e = q[0], q[1], q[2] // 3
            heads = _qkv_heads(ctx)
            batch, tq, tk, d, dv = b * heads, t, t, e // heads, e // heads
        else:
            k, v = shapes[1], shapes[2]
            batch = _numel(_broadcast([q[:-2], k[:-2], v[:-2]]))
            tq, tk, d, dv = q[-2], k[-2], q[-1], v[-1]
        f = 2 * batch * tq * tk * d + 2 * batch * tq * tk * dv
        fwd, bwd = f, (2 * f if any(needs) else 0)
        if name == "FlashAttention" and any(needs):  # its backward recomputes the scores q k^T tile by tile
            bwd += 2 * batch * tq * tk * d
        if every:
            fwd += ATTENTION_SCORE_COST[0] * batch * tq * tk + batch * tq * d  # and q * scale
            bwd += (ATTENTION_SCORE_COST[1] * batch * tq * tk + batch * tq * d) if any(needs) else 0
        return fwd, bwd, True
    if name in RECURRENT:
        return _recurrent_flops(name, shapes, needs, every) + (True,)
    if name in FREE:
        return 0, 0, True
    if name in ELEMENTWISE:
        if not every:
            return 0, 0, True
        present = [s for s in shapes if s is not None]
        n = _numel(_broadcast(present)) if present else 0
        cf, cb = ELEMENTWISE[name]
        return cf * n, (cb * n if any(needs) else 0), True
    return 0, 0, False


def _recurrent_flops(name, shapes, needs, every):
    """The fused recurrent kernels (hw3): per step, x W_ih^T (2*B*I*G*H) and h W_hh^T (2*B*H*G*H) for G gates.
    Backward: dx and dW_ih, dW_hh as needed, and dh: at every step for a sequence (backpropagation through time
    needs it), only if h needs a gradient for a cell. ``all`` adds the gate arithmetic per (B, H) element.
    A sequence called with w_ih=None (x already projected, (T, B, G*H)) has no input product."""
    gates, per_fwd, per_bwd = RECURRENT[name]
    lstm = name.startswith("LSTM")
    x, w_ih = shapes[0], shapes[3 if lstm else 2]
    n_x, n_h, n_w_ih, n_w_hh = needs[0], needs[1], needs[3 if lstm else 2], needs[4 if lstm else 3]
    sequence = name.endswith("Function") and not name.endswith("CellFunction")  # x (T, B, I), else (B, I)
    rows = _numel(x[:-1])
    gh = x[-1] if w_ih is None else w_ih[0]
    h_size = gh // gates
    f_x, f_h = (0 if w_ih is None else 2 * rows * x[-1] * gh), 2 * rows * h_size * gh
    fwd = f_x + f_h
    any_grad = any(needs)
    dh = (sequence or n_h) and any_grad
    bwd = f_x * (bool(n_x) + bool(n_w_ih)) + f_h * (bool(dh) + bool(n_w_hh))
    if every:
        fwd += per_fwd * rows * h_size
        bwd += per_bwd * rows * h_size if any_grad else 0
    return fwd, bwd


def _qkv_heads(ctx):
    """QKVAttention's n_head, from its kernel cache (a ``QKVAttentionCache``); 1 if unknown (then only the
    "all" per-score terms are off: the GEMM FLOPs do not depend on the head count)."""
    n_head = getattr(ctx.cache, "n_head", None)
    if isinstance(n_head, int) and n_head > 0:
        return n_head
    return 1


class FlopCounter(ModuleScopeObserver):
    """``with FlopCounter(model, mode="gemm") as fc: ...`` counts the FLOPs of every op run inside the block.

    model: optional nn.Module; with it, each op is charged to the innermost submodule it ran in (qualified names as
    in ``named_modules``; the model itself is ``''``), else all ops are charged to ``''``.
    mode: "gemm" (GEMMs and attention, as torch.utils.flop_counter counts) or "all" (plus elementwise ops).

    After the block: ``forward_flops``, ``backward_flops``, ``total_flops``, ``by_module(depth)``, ``by_op()``,
    ``table(depth)``, ``uncounted`` (op name -> calls without a FLOP rule). Counters accumulate over several
    ``with`` blocks; ``reset()`` clears them."""

    def __init__(self, model=None, mode="gemm"):
        if mode not in MODES:
            raise ValueError(f"FlopCounter: mode must be 'gemm' or 'all', got {mode!r}")
        super().__init__(model)
        self.mode = mode
        self.reset()

    def reset(self):
        # (module name, op name) -> [calls, forward FLOPs, backward FLOPs]
        self.counts = defaultdict(lambda: [0, 0, 0])
        self.uncounted = defaultdict(int)

    def __enter__(self):
        if self._note in _function.record_hooks:
            raise RuntimeError("FlopCounter: this counter is already active (it cannot be entered twice at once)")
        self._attach()
        return self

    def __exit__(self, *exc):
        self._detach()
        return False

    def _note(self, ctx):
        fwd, bwd, counted = op_flops(ctx, self.mode)
        if not counted:
            self.uncounted[ctx.name] += 1
        row = self.counts[(self._stack[-1] if self._stack else OUTSIDE if self.model is not None else "", ctx.name)]
        row[0] += 1
        row[1] += fwd
        row[2] += bwd

    # ------------------------------------------------------------------ results
    @property
    def forward_flops(self):
        return sum(r[1] for r in self.counts.values())

    @property
    def backward_flops(self):
        return sum(r[2] for r in self.counts.values())

    @property
    def total_flops(self):
        return self.forward_flops + self.backward_flops

    def by_module(self, depth=None):
        """{module name: (forward, backward)}, names cut to their first ``depth`` dotted parts (None: whole)."""
        out = defaultdict(lambda: [0, 0])
        for (module, _), (_, f, b) in self.counts.items():
            key = module if depth is None or module == OUTSIDE else ".".join(module.split(".")[:depth])
            out[key][0] += f
            out[key][1] += b
        return {k: tuple(v) for k, v in out.items()}

    def by_op(self):
        """{op name: (calls, forward, backward)}."""
        out = defaultdict(lambda: [0, 0, 0])
        for (_, op), row in self.counts.items():
            for i in range(3):
                out[op][i] += row[i]
        return {k: tuple(v) for k, v in out.items()}

    def table(self, depth=None, tokens=None):
        """Plain-text tables by module (cut to ``depth``) and by op kind, with totals (and per token when
        ``tokens`` is given)."""
        total = self.total_flops or 1
        lines = [f"FLOPs ({self.mode}: {'GEMMs and attention' if self.mode == 'gemm' else 'all ops'})", ""]
        width = max([len("module")] + [len(k or "(model)") for k in self.by_module(depth)])
        lines.append(f"{'module':<{width}}  {'forward':>12}  {'backward':>12}  {'total':>12}  {'share':>6}")
        for name, (f, b) in sorted(self.by_module(depth).items(), key=lambda kv: _natural(kv[0])):
            if f or b:
                lines.append(f"{name or '(model)':<{width}}  {_fmt(f):>12}  {_fmt(b):>12}  {_fmt(f + b):>12}  "
                             f"{100 * (f + b) / total:5.1f}%")
        lines.append("")
        opw = max([len("op")] + [len(k) for k in self.by_op()])
        lines.append(f"{'op':<{opw}}  {'calls':>6}  {'forward':>12}  {'backward':>12}  {'total':>12}  {'share':>6}")
        for name, (c, f, b) in sorted(self.by_op().items(), key=lambda kv: -(kv[1][1] + kv[1][2])):
            lines.append(f"{name:<{opw}}  {c:>6}  {_fmt(f):>12}  {_fmt(b):>12}  {_fmt(f + b):>12}  "
                         f"{100 * (f + b) / total:5.1f}%")
        lines.append("")
        fw, bw = self.forward_flops, self.backward_flops
        lines.append(f"total: forward {_fmt(fw)}, backward {_fmt(bw)}, forward+backward {_fmt(fw + bw)} FLOPs"
                     f" ({fw + bw:,})")
        if tokens:
            lines.append(f"per token ({tokens:,} tokens): forward {_fmt(fw / tokens)}, backward {_fmt(bw / tokens)},"
                         f" forward+backward {_fmt((fw + bw) / tokens)}")
        if self.uncounted:
            lines.append("ops without a FLOP rule (counted as 0): "
                         + ", ".join(f"{k} x{v}" for k, v in sorted(self.uncounted.items())))
        return "\n".join(lines)


def _natural(name):
    """Sort key: the model first, then names with their numbers in order (h.2 before h.10), the outside last."""
    if name == OUTSIDE:
        return (2, [])
    return (0 if not name else 1, [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")])


def _fmt(n):
    """1.23 G, 45.6 M, ...: FLOP counts for people."""
    n = float(n)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3f} {unit}"
    return f"{n:.0f}"


def count_flops(fn_or_model, *inputs, mode="gemm", backward=False, **kwargs):
    """A FlopCounter of one call ``fn_or_model(*inputs, **kwargs)``. With ``backward=True`` the output (a scalar,
    or anything ``.sum()`` makes one of) is also backpropagated inside the counter (the backward FLOPs are the
    same either way; see the module docstring). An nn.Module gets the per-module breakdown."""
    from ..nn import Module  # noqa: PLC0415

    model = fn_or_model if isinstance(fn_or_model, Module) else None
    with FlopCounter(model, mode=mode) as fc:
        out = fn_or_model(*inputs, **kwargs)
        if backward:
            (out if out.ndim == 0 else out.sum()).backward()
    return fc


def time_steps(step, n, warmup=1):
    """Mean seconds of ``step()`` over ``n`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n
