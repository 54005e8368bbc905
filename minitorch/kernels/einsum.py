"""``einsum``: sums of products over named indices ('bij,bjk->bik'), forward and backward.

Not part of a homework. Supports implicit and explicit ('->') outputs and '...' (the same dims in every
operand that has it). An index repeated within one operand (a diagonal, 'ii->i') is not supported. The gradient
of operand k is the einsum of the upstream gradient with the other operands, onto operand k's indices; indices
only operand k has (summed away) are broadcast back."""
import string
from collections import namedtuple

from ..backend import get_array_module


class EinsumError(ValueError):
    """An equation that does not fit its operands."""


def parse_equation(equation, shapes):
    """(input subscripts, output subscripts) with '...' spelled out as letters, checked against ``shapes``."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise EinsumError(f"einsum(): the equation {equation!r} has {len(ins)} operand(s), but {len(shapes)} "
                          "were given")
    letters = set(c for c in eq if c.isalpha())
    bad = set(eq) - set(string.ascii_letters) - set(",.->")
    if bad:
        raise EinsumError(f"einsum(): invalid character(s) {sorted(bad)} in {equation!r} (indices are letters "
                          "a-z, A-Z)")
    spare = [c for c in string.ascii_letters if c not in letters]
    ell = max((len(shape) - (len(s) - 3) for s, shape in zip(ins, shapes) if "..." in s), default=0)
    if ell < 0:
        raise EinsumError(f"einsum(): an operand has fewer dims than {equation!r} names")
    ell_letters = "".join(spare[:ell])
    expanded = []
    for k, (s, shape) in enumerate(zip(ins, shapes)):
        if "..." in s:
            n = len(shape) - (len(s) - 3)
            if n < 0 or s.count("...") > 1:
                raise EinsumError(f"einsum(): operand {k} of shape {tuple(shape)} does not fit subscripts {s!r}")
            s = s.replace("...", ell_letters[ell - n:])
        if "." in s:
            raise EinsumError(f"einsum(): '.' must appear as '...' in {equation!r}")
        if len(s) != len(shape):
            raise EinsumError(f"einsum(): operand {k} has {len(shape)} dims but subscripts {s!r} name {len(s)}")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum(): index repeated within operand {k} ({s!r}, a diagonal) is not "
                                      "supported")
        expanded.append(s)
    sizes = {}
    for k, (s, shape) in enumerate(zip(expanded, shapes)):
        for c, n in zip(s, shape):
            if sizes.setdefault(c, n) != n:
                raise EinsumError(f"einsum(): index {c!r} has size {sizes[c]} in one operand and {n} in operand {k} "
                                  f"(shapes {[tuple(x) for x in shapes]}); sizes of an index must match")
    if arrow:
        if "..." in out:
            out = out.replace("...", ell_letters)
        if "." in out or len(set(out)) != len(out) or any(c not in sizes for c in out):
            raise EinsumError(f"einsum(): output subscripts {out!r} must be distinct indices of the inputs")
    else:  # implicit output: '...' first, then the indices that appear once, in alphabetical order
        counts = {}
        for s in expanded:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell_letters + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell_letters))
    return expanded, out


EinsumCache = namedtuple("EinsumCache", ["operands", "ins", "out"])
EinsumCache.__doc__ = """einsum_backward's cache: operands, the input arrays (a tuple); ins, each operand's subscripts
with '...' spelled out as letters (a list of str, one letter per axis); out, the output's subscripts (a str)."""


def einsum_forward(*operands, equation):
    """operands: arrays; ``equation``: e.g. 'bhqd,bhkd->bhqk'. out = the einsum (one array)."""
    xp = get_array_module(*operands)
    ins, out = parse_equation(equation, [o.shape for o in operands])
    result = xp.einsum(",".join(ins) + "->" + out, *operands, optimize=True)
    return xp.asarray(result).astype(operands[0].dtype), EinsumCache(operands, ins, out)


def einsum_backward(dout, cache):
    """Returns one gradient per operand: d operand_k = einsum(dout, the other operands -> indices of k),
    broadcast over the indices only operand k has."""
    operands, ins, out = cache.operands, cache.ins, cache.out
    xp = get_array_module(dout)
    grads = []
    for k, (s, op) in enumerate(zip(ins, operands)):
        others = [(ins[j], operands[j]) for j in range(len(ins)) if j != k]
        seen = set(out).union(*(set(sj) for sj, _ in others))
        kept = "".join(c for c in s if c in seen)
        g = xp.einsum(",".join([out] + [sj for sj, _ in others]) + "->" + kept, dout, *[oj for _, oj in others],
                      optimize=True)
        g = xp.asarray(g)
        if kept != s:  # indices summed away by operand k alone: the gradient is the same along them
            g = g.reshape(tuple(op.shape[i] if c in seen else 1 for i, c in enumerate(s)))
            g = xp.broadcast_to(g, op.shape)
        grads.append(g.astype(op.dtype))
    return tuple(grads)
