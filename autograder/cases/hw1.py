"""hw1: the autograd engine, elementwise ops and broadcasting, reductions, matmul, shape ops.

Every case runs through minitorch's Tensor API, so it exercises the student's kernel pairs
(minitorch/kernels/{elementwise,reduce,matmul,shape}.py) and engine (minitorch/autograd/engine.py).
"""
from ..spec import Idx, Mask, Registry, X

# hw1's forwards are given code (students write the backwards, the engine and the stable sigmoid):
# forward checks are reported but carry no points, except where the forward is the student's.
REGISTRY = Registry("hw1", forward_points=False)
case = REGISTRY.case

NOT_ACCUMULATED = ("gradient not accumulated: an input used twice got only one of its contributions "
                   "(add gradients into the pending/.grad entry instead of overwriting it)")


# --------------------------------------------------------------------------- engine
def _deep_chain(lib, x, y):
    # y enters scaled so the result stays O(1) (h = 0.55 x + 0.45 y): with "+ y" it grew to ~450 y,
    # and float64 rounding of that sum put the finite-difference check of dL/dx at ~1e-6 (its tolerance)
    h, step = x, y * 0.001
    for _ in range(600):
        h = h * 0.999 + step
    return h


case("engine/reuse", test="autograd_engine",
     fn=lambda lib, x, y: x * y + x,
     inputs=dict(x=X("N"), y=X("N")), dims=dict(N=5),
     alts=[(NOT_ACCUMULATED, lambda lib, x, y: x.detach() * y + x),
           (NOT_ACCUMULATED, lambda lib, x, y: x * y + x.detach())])
case("engine/diamond", test="autograd_engine",
     fn=lambda lib, x: (lambda a: a * a + a.exp())(x.tanh()),
     inputs=dict(x=X("N", "M")), dims=dict(N=2, M=3),
     alts=[(NOT_ACCUMULATED, lambda lib, x: (lambda a: a * a.detach() + a.detach().exp())(x.tanh())),
           (NOT_ACCUMULATED, lambda lib, x: (lambda a: a.detach() * a + a.detach().exp())(x.tanh())),
           (NOT_ACCUMULATED, lambda lib, x: (lambda a: a.detach() * a.detach() + a.exp())(x.tanh()))])
case("engine/deep_chain", test="autograd_engine", edge="a graph 1200 nodes deep (no recursion)",
     fn=_deep_chain, inputs=dict(x=X("N"), y=X("N")), dims=dict(N=3))
case("engine/unused_outputs", test="autograd_engine", edge="a multi-output op with an unused output",
     fn=lambda lib, x: (lambda p: p[0] * p[2])(x.split([2, 1, 2], dim=0)),
     inputs=dict(x=X(5, "M")), dims=dict(M=3), fixed=frozenset({"M"}))


def _constant_leaf(lib, x, c):
    """backward() inside the case: a leaf without requires_grad must keep .grad None."""
    x = x.detach().requires_grad_(True)
    (x * c + c.exp()).sum().backward()
    return x.grad, x.detach().sum() * 0.0 + (0.0 if c.grad is None else 1.0)


case("engine/constant_leaf", test="autograd_engine", backward=False, fd=False, forward_points=True,
     edge="a leaf that does not require grad gets no .grad", outputs=("x_grad", "c_grad_is_set"),
     fn=_constant_leaf, inputs=dict(x=X("N"), c=X("N", grad=False)), dims=dict(N=4))
case("engine/two_outputs", test="autograd_engine",
     fn=lambda lib, x, y: (x.exp(), (x * y).sum(dim=1)),
     inputs=dict(x=X("N", "M"), y=X("N", "M")), dims=dict(N=3, M=2))


# --------------------------------------------------------------------------- elementwise
case("elementwise/add_sub", test="elementwise_arith",
     fn=lambda lib, a, b: (a + b) * 2 - b,
     inputs=dict(a=X("N", "M"), b=X("N", "M")), dims=dict(N=3, M=4))
case("elementwise/mul", test="elementwise_arith",
     fn=lambda lib, a, b: a * b,
     inputs=dict(a=X("N", "M"), b=X("N", "M")), dims=dict(N=3, M=4))
case("elementwise/div", test="elementwise_arith",
     fn=lambda lib, a, b: a / b,
     inputs=dict(a=X("N", "M"), b=X("N", "M", kind="positive")), dims=dict(N=3, M=4))
case("elementwise/neg_pow", test="elementwise_arith",
     fn=lambda lib, a: (-a) ** 3 + a ** 2,
     inputs=dict(a=X("N", "M")), dims=dict(N=2, M=3))
case("elementwise/pow_fractional", test="elementwise_arith",
     fn=lambda lib, a: a ** 0.5 + a ** -1.5,
     inputs=dict(a=X("N", kind="positive")), dims=dict(N=6))
case("elementwise/rpow", test="elementwise_arith",
     fn=lambda lib, a: 2.0 ** a + 0.5 ** a,
     inputs=dict(a=X("N", "M")), dims=dict(N=2, M=3))
case("elementwise/pow_0_1", test="elementwise_arith", edge="exponents 0 and 1",
     fn=lambda lib, a: (a ** 0, a ** 1),
     inputs=dict(a=X("N", "M")), dims=dict(N=2, M=3))
case("elementwise/rpow_zero_base", test="elementwise_arith", fd=False,  # inf outputs: no finite differences
     edge="base 0: gradient 0 where the exponent >= 0, -inf * dout where it is negative",
     fn=lambda lib, a: (0.0 ** a, 0.0 ** a.relu()),
     inputs=dict(a=X("N", "M", away=0.05)), dims=dict(N=3, M=4))
case("elementwise/exp_log", test="elementwise_unary",
     fn=lambda lib, a, b: (a.exp(), b.log()),
     inputs=dict(a=X("N", "M"), b=X("N", "M", kind="positive")), dims=dict(N=3, M=3))
case("elementwise/sqrt_tanh", test="elementwise_unary",
     fn=lambda lib, a, b: (a.sqrt(), b.tanh()),
     inputs=dict(a=X("N", "M", kind="positive"), b=X("N", "M", scale=2.0)), dims=dict(N=3, M=3))
case("elementwise/sigmoid", test="elementwise_unary", forward_points=True,
     fn=lambda lib, a: a.sigmoid(),
     inputs=dict(a=X("N", "M", scale=3.0)), dims=dict(N=4, M=3))
case("elementwise/sigmoid_extreme", test="elementwise_unary", edge="|x| up to 100 (no overflow)", forward_points=True,
     fn=lambda lib, a: (a * 50.0).sigmoid(),
     inputs=dict(a=X("N", kind="uniform", low=-2.0, high=2.0)), dims=dict(N=8), fd=False)
case("elementwise/relu_abs", test="elementwise_piecewise",
     fn=lambda lib, a: (a.relu(), a.abs()),
     inputs=dict(a=X("N", "M", away=0.05)), dims=dict(N=4, M=3))
case("elementwise/abs_at_zero", test="elementwise_piecewise", edge="abs at exactly 0: subgradient 0",
     fn=lambda lib, a: a.relu().abs(),
     inputs=dict(a=X("N", "M", away=0.05)), dims=dict(N=3, M=4))
case("elementwise/clamp", test="elementwise_piecewise",
     fn=lambda lib, a: a.clamp(min=-0.5, max=0.7),
     inputs=dict(a=X("N", "M", away=0.05, kinks=(-0.5, 0.7))), dims=dict(N=4, M=3))
case("elementwise/maximum", test="elementwise_piecewise",
     fn=lambda lib, a, b: lib.maximum(a, b + 0.0),
     inputs=dict(a=X("N", "M"), b=X("N", "M", kind="distinct", scale=3.0)), dims=dict(N=3, M=4))
case("elementwise/maximum_ties", test="elementwise_piecewise", fd=False,  # a.detach(): not a function of a
     edge="ties send half the gradient to each side",
     fn=lambda lib, a, b, m: lib.maximum(a, lib.where(m, a.detach(), b)),
     inputs=dict(a=X("N", "M"), b=X("N", "M", kind="distinct", scale=3.0), m=Mask("N", "M")), dims=dict(N=3, M=4))
case("elementwise/where", test="elementwise_piecewise",
     fn=lambda lib, c, a, b: lib.where(c, a, b),
     inputs=dict(c=Mask("N", "M"), a=X("N", "M"), b=X("N", "M")), dims=dict(N=3, M=4))
case("elementwise/masked_fill", test="elementwise_piecewise",
     fn=lambda lib, x, m: x.masked_fill(m, -2.5) * x,
     inputs=dict(x=X("N", "M"), m=Mask("N", "M")), dims=dict(N=3, M=4))


# --------------------------------------------------------------------------- broadcasting (unbroadcast)
NOT_REDUCED = "gradient not summed over the broadcast dimensions (unbroadcast)"
case("broadcast/row", test="broadcasting",
     fn=lambda lib, a, b: a + b,
     inputs=dict(a=X("N", "M"), b=X("M")), dims=dict(N=4, M=3),
     scales={"the broadcast size N": "N"})
case("broadcast/keepdim_axes", test="broadcasting",
     fn=lambda lib, a, b: a * b,
     inputs=dict(a=X("B", 1, "M"), b=X("T", 1)), dims=dict(B=2, T=3, M=4))
case("broadcast/div_scalar_shaped", test="broadcasting", edge="a (1, 1) operand",
     fn=lambda lib, a, b: a / b - b,
     inputs=dict(a=X("N", "M"), b=X(1, 1, kind="positive")), dims=dict(N=3, M=2))
case("broadcast/sub_both", test="broadcasting",
     fn=lambda lib, a, b: a - b,
     inputs=dict(a=X("N", 1), b=X(1, "M")), dims=dict(N=3, M=4))
case("broadcast/where", test="broadcasting",
     fn=lambda lib, c, a, b: lib.where(c, a, b),
     inputs=dict(c=Mask("N", "M"), a=X("M"), b=X("N", 1)), dims=dict(N=3, M=4))

case("broadcast/empty_batch", test="broadcasting", fd=False, edge="broadcasting against an empty batch",
     fn=lambda lib, a, b: (a + b).sum(dim=0),
     inputs=dict(a=X(1, "M"), b=X(0, "M", grad=False)), dims=dict(M=3))

# --------------------------------------------------------------------------- reductions
case("reduce/sum_all", test="reductions",
     fn=lambda lib, x: x.sum(),
     inputs=dict(x=X("N", "M")), dims=dict(N=3, M=4))
case("reduce/sum_dim_keepdim", test="reductions",
     fn=lambda lib, x: (x.sum(dim=1), x.sum(dim=(0, 2), keepdim=True)),
     inputs=dict(x=X("B", "N", "M")), dims=dict(B=2, N=3, M=4))
case("reduce/mean_dim", test="reductions",
     fn=lambda lib, x: x.mean(dim=-1),
     inputs=dict(x=X("N", "M")), dims=dict(N=3, M=5), scales={"the reduced size M": "M"})
case("reduce/mean_all_keepdim", test="reductions",
     fn=lambda lib, x: (x.mean(), x.mean(dim=0, keepdim=True)),
     inputs=dict(x=X("N", "M")), dims=dict(N=3, M=5))
case("reduce/amax", test="reductions",
     fn=lambda lib, x: (x.amax(dim=1), x.amax()),
     inputs=dict(x=X("N", "M", kind="distinct")), dims=dict(N=3, M=4))
case("reduce/amax_ties", test="reductions", edge="ties share the gradient evenly", fd=False,
     fn=lambda lib, x: (x * 0.0 + x.clamp(max=0.3)).amax(dim=-1),
     inputs=dict(x=X("N", "M", kind="uniform", low=0.5, high=1.0)), dims=dict(N=2, M=3))
case("reduce/amax_amin_ties_split", test="reductions", edge="tied extremes share the gradient evenly",
     fn=lambda lib, x: (lib.cat([x, x], dim=1).amax(dim=1), lib.cat([x, x], dim=0).amin()),
     inputs=dict(x=X("N", "M", kind="distinct")), dims=dict(N=3, M=4))
case("reduce/var", test="reductions",
     fn=lambda lib, x: (x.var(dim=1), x.var(dim=0, correction=0, keepdim=True)),
     inputs=dict(x=X("N", "M")), dims=dict(N=3, M=4))
case("reduce/length1", test="reductions", edge="a reduced axis of length 1",
     fn=lambda lib, x: (x.sum(dim=1), x.mean(dim=1), x.amax(dim=1)),
     inputs=dict(x=X("N", 1)), dims=dict(N=3))


# --------------------------------------------------------------------------- matmul
TRANSPOSED = "transposed"
case("matmul/2d", test="matmul",
     fn=lambda lib, a, b: a @ b,
     inputs=dict(a=X("N", "K"), b=X("K", "M")), dims=dict(N=3, K=4, M=2))
case("matmul/batched_weight", test="matmul", edge="a weight shared over the batch",
     fn=lambda lib, a, b: a @ b,
     inputs=dict(a=X("B", "N", "K"), b=X("K", "M")), dims=dict(B=3, N=2, K=4, M=5),
     scales={"the batch size": "B"})
case("matmul/batched_right", test="matmul", edge="a left operand shared over the batch",
     fn=lambda lib, a, b: a @ b,
     inputs=dict(a=X("N", "K"), b=X("B", "K", "M")), dims=dict(B=3, N=2, K=4, M=5),
     scales={"the batch size": "B"})
case("matmul/batch_broadcast", test="matmul",
     fn=lambda lib, a, b: lib.matmul(a, b),
     inputs=dict(a=X("B", 1, "N", "K"), b=X("H", "K", "M")), dims=dict(B=2, H=3, N=2, K=3, M=2))
case("matmul/vector", test="matmul", edge="1-D operands",
     fn=lambda lib, v, a, w: (v @ a, a @ w),
     inputs=dict(v=X("N"), a=X("N", "K"), w=X("K")), dims=dict(N=3, K=4))
case("matmul/batched_vector", test="matmul", edge="1-D operands against a batch",
     fn=lambda lib, a, w, v: (a @ w, v @ a),
     inputs=dict(a=X("B", "N", "K"), w=X("K"), v=X("N")), dims=dict(B=2, N=3, K=4))
case("matmul/batch1", test="matmul", edge="batch 1",
     fn=lambda lib, a, b: a @ b,
     inputs=dict(a=X(1, "N", "K"), b=X(1, "K", "M")), dims=dict(N=2, K=3, M=4))
case("matmul/bmm", test="matmul",
     fn=lambda lib, a, b: lib.bmm(a, b),
     inputs=dict(a=X("B", "N", "K"), b=X("B", "K", "M")), dims=dict(B=2, N=3, K=2, M=4))


# --------------------------------------------------------------------------- shape ops
case("shape/reshape", test="shape_ops",
     fn=lambda lib, x: x.reshape(-1, 2) * x.reshape(-1, 2),
     inputs=dict(x=X("N", 4)), dims=dict(N=3))
case("shape/permute_transpose", test="shape_ops",
     fn=lambda lib, x, w: (x.permute(2, 0, 1) * w, x.transpose(0, 2)),
     inputs=dict(x=X("A", "B", "C"), w=X("C", "A", "B")), dims=dict(A=2, B=3, C=4))
case("shape/expand", test="shape_ops",
     fn=lambda lib, x: x.expand(3, 2, -1) * 1.5,
     inputs=dict(x=X(2, 1, kind="randn")), dims={})
case("shape/getitem_slice", test="shape_ops",
     fn=lambda lib, x: x[1:, ::2] * 2.0,
     inputs=dict(x=X("N", "M")), dims=dict(N=3, M=5))
REPEATS_LOST = ("repeated indices lost: an index that occurs several times must receive the sum of its "
                "gradients (np.add.at / index_add), not only the last one (x[idx] += g drops repeats)")


def _last_occurrence(i):
    """A 0/1 tensor (like i) marking the last occurrence of each index value (along the last axis)."""
    import torch  # the alts run only in the fixture generator

    rows = i.reshape(-1, i.shape[-1]).tolist()
    keep = [[float(v not in row[k + 1:]) for k, v in enumerate(row)] for row in rows]
    return torch.tensor(keep, dtype=torch.float64).reshape(i.shape)


def _lost_repeats(take):
    def alt(lib, x, i):
        keep = _last_occurrence(i).to(x.dtype)
        if keep.ndim < x.ndim and take is None:
            keep = keep.reshape(keep.shape + (1,) * (x.ndim - keep.ndim))
        full = x[i] if take is None else x.gather(1, i)
        return full.detach() + keep * (full - full.detach())
    return alt


case("shape/getitem_repeated", test="shape_ops", edge="repeated indices",
     fn=lambda lib, x, i: x[i], alts=[(REPEATS_LOST, _lost_repeats(None))],
     inputs=dict(x=X("N", "M"), i=Idx(6, high="N", repeat=True)), dims=dict(N=4, M=3))
case("shape/gather", test="shape_ops", edge="repeated indices",
     fn=lambda lib, x, i: x.gather(1, i), alts=[(REPEATS_LOST, _lost_repeats("gather"))],
     inputs=dict(x=X("N", "M"), i=Idx("N", 5, high="M", repeat=True)), dims=dict(N=3, M=4))
case("shape/cat_stack", test="shape_ops",
     fn=lambda lib, a, b: (lib.cat([a, b, a], dim=1), lib.stack([a, b], dim=0)),
     inputs=dict(a=X("N", "M"), b=X("N", "M")), dims=dict(N=2, M=3),
     alts=[(NOT_ACCUMULATED,
            lambda lib, a, b: (lib.cat([a.detach(), b, a], dim=1), lib.stack([a.detach(), b], dim=0)))])
case("shape/split", test="shape_ops",
     fn=lambda lib, x: (lambda p: (p[0] * 2.0, p[1].exp()))(x.split([1, 3], dim=1)),
     inputs=dict(x=X("N", 4)), dims=dict(N=3))
