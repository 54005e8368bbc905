"""Shapes: size arguments, reshape's -1, broadcasting and matmul checks. Plain Python on tuples
(these run on every op, and are several times faster than NumPy's helpers on short shapes).

Below tensor.py in the import order (tensor.py imports this module; this module imports no autograd module).
"""


def shape_arg(shape):
    """A size given as ``f(2, 3)`` or ``f((2, 3))`` (the ``*size`` argument of reshape, expand, new_zeros...)
    as a tuple (the separate arguments converted to ints)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


def resolve_shape(shape, numel):
    """``shape`` with its -1 (at most one) worked out for ``numel`` elements; ValueError when it does not fit."""
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ValueError("only one dimension can be -1")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ValueError(f"invalid size {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise ValueError(f"{numel} elements can't be split into {shape}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise ValueError(f"{numel} elements can't have shape {shape}")
    return shape


def broadcast_shapes(sa, sb):
    """The broadcast of shapes ``sa`` and ``sb``, or None when they do not broadcast. (Plain Python:
    several times faster than np.broadcast_shapes on the short tuples every op checks.)"""
    if len(sa) < len(sb):
        sa, sb = sb, sa
    lead = len(sa) - len(sb)
    out = list(sa[:lead])
    for x, y in zip(sa[lead:], sb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def broadcast_check(op, sa, sb, result_shape=None):
    if sa == sb:
        return
    out = broadcast_shapes(sa, sb)
    if out is None:
        raise RuntimeError(f"{op}: shapes {tuple(sa)} and {tuple(sb)} are not broadcastable")
    if result_shape is not None and out != tuple(result_shape):
        raise RuntimeError(f"{op}: shape {tuple(sb)} can't be broadcast to {tuple(result_shape)} (from {tuple(sa)})")


def check_matmul(op, sa, sb):
    if len(sa) == 0 or len(sb) == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes {sa} and {sb}")
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise RuntimeError(
            f"{op}: shapes {sa} and {sb} cannot be multiplied ({k_a} != {k_b}: the last dimension of the first "
            "must equal the second-to-last dimension of the second)"
        )
    if len(sa) > 2 and len(sb) > 2:
        if broadcast_shapes(sa[:-2], sb[:-2]) is None:
            raise RuntimeError(f"{op}: batch dimensions of {sa} and {sb} are not broadcastable")

