"""The backward engine (hw1): walk the recorded graph in reverse topological order,
call each node's backward once, and accumulate gradients into leaves' ``.grad``.

Vocabulary: a *node* is a ``Context`` -- one recorded call of a Function. ``node.inputs`` are the
Tensors it was called with; an input made by another op has ``t._ctx`` (its creator node) and
``t._out_index`` (which of the creator's outputs it is). Leaves have ``t._ctx is None``.
"""
from ..backend import get_array_module
from . import function  # function.Tensor: the Tensor class, which tensor.py binds once it is defined


def topological_sort(root):
    """The nodes (``Context`` objects) reachable from ``root`` through ``node.inputs[i]._ctx``,
    ordered so that every node comes after all the nodes it takes inputs from.

    ``root`` itself is last. Iterative (an explicit stack instead of recursion), so graphs
    thousands of nodes deep do not hit Python's recursion limit."""
    # BEGIN SOLUTION hw1
    order = []
    visited = {root}
    # Depth-first search. Each stack entry is a node and an iterator over its inputs that we have
    # not looked at yet; a node is appended to ``order`` only once all of its inputs are done.
    stack = [(root, iter(root.inputs))]
    while stack:
        node, inputs = stack[-1]
        for t in inputs:
            child = None if t is None else t._ctx
            if child is not None and child not in visited:
                visited.add(child)
                stack.append((child, iter(child.inputs)))
                break  # visit the child first; come back to this node's remaining inputs later
        else:  # every input of ``node`` is finished
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
    """The gradient a node's backward returned for input ``i`` must have that input's shape.
    A different dtype (float64 from a Python-number edge case) is cast back to the input's."""
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
    if root._ctx is None or root._retains_grad:
        _deposit(root, grad)
    if root._ctx is None:
        return
    order = topological_sort(root._ctx)
    # pending[(node, k)]: the gradient summed so far for output k of node.
    pending = {(root._ctx, root._out_index): grad}
    # BEGIN SOLUTION hw1
    # Reverse topological order: a node runs only after every node that consumes its outputs,
    # so its output gradients in ``pending`` are complete when we get to it.
    for node in reversed(order):
        outs = [pending.pop((node, k), None) for k in range(node.n_outputs)]
        if all(g is None for g in outs):  # no gradient reached this node
            if not retain_graph:
                node.release()
            continue
        if any(g is None for g in outs):  # a multi-output op where only some outputs were used: the rest get zeros
            like = next(g for g in outs if g is not None)
            xp = get_array_module(like)
            outs = [xp.zeros(shape, dtype=like.dtype) if g is None else g
                    for g, shape in zip(outs, node.output_shapes)]
        in_grads = node.backward(*outs)
        inputs = node.inputs
        if not retain_graph:
            node.release()  # free the saved arrays and edges; a second backward through here raises
        for i, (t, g) in enumerate(zip(inputs, in_grads)):
            if g is None or t is None or not t._requires_grad:
                continue
            g = _check_grad(node, i, t, g)
            if t._ctx is None or t._retains_grad:  # a leaf (or retain_grad()): store in .grad
                _deposit(t, g)
            if t._ctx is not None:  # made by another op: pass the gradient on to its creator
                accumulate(pending, (t._ctx, t._out_index), g)
    # END SOLUTION


def _deposit(t, g):
    """Accumulate ``g`` into ``t.grad`` (a Tensor), copying so later in-place edits of
    ``.grad`` cannot reach arrays shared with other gradients."""
    if t.grad is None:
        t.grad = function.Tensor._make(g.copy())
    else:
        t.grad = function.Tensor._make(t.grad.data + g)
