"""The backward engine (hw1): walk the recorded graph in reverse topological order,
call each node's backward once, and accumulate gradients into leaves' ``.grad``."""
from ..backend import get_array_module


def topological_sort(root):
    """The nodes (``Context`` objects) reachable from ``root`` through ``node.inputs[i]._ctx``,
    ordered so that every node comes after all the nodes it takes inputs from.

    ``root`` itself is last. Iterative, so graphs thousands of nodes deep do not hit
    Python's recursion limit."""
    # BEGIN SOLUTION hw1
    order = []
    visited = {id(root)}
    stack = [(root, iter(root.inputs))]
    while stack:
        node, children = stack[-1]
        for t in children:
            child = None if t is None else t._ctx
            if child is not None and id(child) not in visited:
                visited.add(id(child))
                stack.append((child, iter(child.inputs)))
                break
        else:
            stack.pop()
            order.append(node)
    return order
    # END SOLUTION


def accumulate(grads, key, g):
    """Add gradient ``g`` into ``grads[key]`` (which may not exist yet) without modifying any
    array in place: kernels may return the same array for several inputs."""
    # BEGIN SOLUTION hw1
    prev = grads.get(key)
    grads[key] = g if prev is None else prev + g
    # END SOLUTION


def _check_grad(node, i, t, g):
    if g.shape != t.data.shape:
        raise RuntimeError(
            f"{node.name}.backward returned a gradient of shape {tuple(g.shape)} for input {i}, "
            f"which has shape {tuple(t.data.shape)}"
        )
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    return g


def run_backward(root, grad, retain_graph=False):
    """Backpropagate ``grad`` (an array shaped like ``root``) from tensor ``root``.

    Leaves (tensors with requires_grad and no creator) and tensors that called
    ``retain_grad()`` get ``.grad`` += their gradient."""
    from .tensor import Tensor  # noqa: PLC0415

    if root._ctx is None:
        if root.requires_grad:
            _deposit(Tensor, root, grad)
        return
    order = topological_sort(root._ctx)
    pending = {(id(root._ctx), root._out_index): grad}
    # BEGIN SOLUTION hw1
    for node in reversed(order):
        outs = [pending.pop((id(node), i), None) for i in range(node.n_outputs)]
        if all(g is None for g in outs):
            if not retain_graph:
                node.release()
            continue
        if any(g is None for g in outs):
            like = next(g for g in outs if g is not None)
            xp = get_array_module(like)
            shapes = node.output_shapes
            outs = [xp.zeros(shapes[i], dtype=like.dtype) if g is None else g for i, g in enumerate(outs)]
        in_grads = node.backward(*outs)
        if not retain_graph:
            node.release()
        for i, (t, g) in enumerate(zip(node.inputs, in_grads)):
            if g is None or t is None or not t.requires_grad:
                continue
            g = _check_grad(node, i, t, g)
            if t._ctx is None or t._retains_grad:
                _deposit(Tensor, t, g)
            if t._ctx is not None:
                accumulate(pending, (id(t._ctx), t._out_index), g)
    # END SOLUTION


def _deposit(Tensor, t, g):
    """Accumulate ``g`` into ``t.grad`` (a Tensor), copying so later in-place edits of
    ``.grad`` cannot reach arrays shared with other gradients."""
    if t.grad is None:
        t.grad = Tensor._make(g.copy())
    else:
        t.grad = Tensor._make(t.grad.data + g)
