"""``Function``: where a kernel pair meets the tape.

Subclasses define ``forward(ctx, *arrays, **options)`` and ``backward(ctx, *grads)`` on
arrays. Positional arguments of ``apply`` are the differentiable inputs (Tensors, or None);
keyword arguments are options (numbers, shapes, index arrays, masks) and get no gradient.
``backward`` returns one gradient (or None) per positional input.

This module does not import tensor.py (which imports it): tensor.py hands it the Tensor class once,
through ``bind_tensor_class`` (see the comment at ``Tensor`` below).
"""
import inspect

from .grad_mode import is_grad_enabled


class Context:
    """What one recorded call keeps for its backward: the kernel's cache and the graph edges."""

    __slots__ = ("fn", "inputs", "needs_input_grad", "cache", "n_outputs", "output_shapes", "freed", "__weakref__")

    def __init__(self, fn, inputs, record=True):
        self.fn = fn
        self.inputs = inputs
        # all False when the call is not recorded (no_grad, or no input requires grad): then the
        # forward may skip what only the backward needs (``any(ctx.needs_input_grad)``)
        self.needs_input_grad = tuple([record and t is not None and t._requires_grad for t in inputs])
        self.cache = None
        self.n_outputs = 1
        self.output_shapes = None
        self.freed = False

    @property
    def name(self):
        return self.fn.__name__

    def backward(self, *grads):
        """Run this node's backward; returns a tuple with one entry per input."""
        if self.freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (through {self.name}): its saved "
                "values were freed by the first backward. Call .backward(retain_graph=True) the first time "
                "if you need to backward twice."
            )
        out = self.fn.backward(self, *grads)
        if not isinstance(out, tuple):
            out = (out,)
        if len(out) != len(self.inputs):
            raise RuntimeError(
                f"{self.name}.backward returned {len(out)} gradients, but the op has {len(self.inputs)} "
                "differentiable inputs"
            )
        return out

    def release(self):
        """Free the saved values and the edges to the inputs once backward no longer needs them,
        so that the forward's intermediate tensors can be freed even while the output lives on."""
        self.cache = None
        self.inputs = ()
        self.freed = True

    def __repr__(self):
        return f"<{self.name}Backward>"


def _device_check(fn, inputs, arrays):
    """All array inputs must live on one device. Fast path: they all have the same array type."""
    kind = None
    for a in arrays:
        if a is not None:
            if kind is None:
                kind = type(a)
            elif type(a) is not kind:
                break
    else:
        return
    devices = {t.device for t in inputs if t is not None}
    if len(devices) > 1:
        desc = ", ".join(f"{t.device} {tuple(t.shape)}" for t in inputs if t is not None)
        raise RuntimeError(
            f"{fn.__name__}: expected all tensors on the same device, got tensors on {' and '.join(sorted(devices))} "
            f"({desc}); move them with .to(device) first"
        )


def _tensor_class_not_bound():
    return RuntimeError(
        "minitorch.autograd.function.Tensor was used before minitorch.autograd.tensor bound the Tensor class "
        "(bind_tensor_class): a module that tensor.py imports must not run ops at import time"
    )


class _TensorClassNotBound(type):
    """Metaclass of the stand-in below, so that ``isinstance(x, Tensor)`` raises the clear error too."""

    def __instancecheck__(cls, obj):
        raise _tensor_class_not_bound()


class _UnboundTensor(metaclass=_TensorClassNotBound):
    """Stands for the Tensor class until ``bind_tensor_class`` is called: using it raises."""

    @classmethod
    def _make(cls, *args, **kwargs):
        raise _tensor_class_not_bound()


# The Tensor class, which ``apply`` needs at call time to check inputs and wrap outputs (the engine and
# norms.py read it here too, as ``function.Tensor``). Why it is bound late instead of imported: tensor.py
# defines Tensor with methods that call the Function classes of ``functions/``, which are built here, so
# tensor.py imports this module; importing tensor.py from here would be an import cycle. So imports point
# one way -- grad_mode <- function <- engine <- functions/* <- tensor -- and tensor.py calls
# ``bind_tensor_class(Tensor)`` once, right after the class statement, before anything can run an op.
# Until then this name is a stand-in whose use raises a clear error (instead of "'NoneType' object has no
# attribute '_make'"). A module-level name costs one dictionary lookup per op; an import statement inside
# ``apply`` would cost far more.
Tensor = _UnboundTensor


def bind_tensor_class(cls):
    """Make ``cls`` the class that ``Function.apply`` checks its inputs against and wraps its outputs in
    (``cls._make(array, ctx, index)``). Called once, by minitorch.autograd.tensor, after defining Tensor."""
    global Tensor
    if not (isinstance(cls, type) and hasattr(cls, "_make")):
        raise TypeError(f"bind_tensor_class: expected the Tensor class (with a _make classmethod), got {cls!r}")
    Tensor = cls


# Callables told of every call right after its forward, ``hook(ctx)``, recorded on the tape or not (then
# ``ctx.needs_input_grad`` is all False): minitorch.graphviz_draw.record_scopes notes the nn.Module each op ran in,
# minitorch.utils.flops.FlopCounter counts its FLOPs. Empty except while such a tracer is active, so the cost
# when none is, is one test of an empty list per op.
record_hooks = []


class Function:
    """Base class of differentiable operations. Use ``MyOp.apply(*tensors, **options)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        """Run ``forward`` on the inputs' arrays; when grad mode is on and an input requires grad,
        return tensors that remember this call (a ``Context``) for backward."""
        arrays = []
        requires_grad = False
        for t in inputs:
            if t is None:
                arrays.append(None)
                continue
            if not isinstance(t, Tensor):
                raise TypeError(f"{cls.__name__}: expected Tensor inputs, got {type(t).__name__}")
            arrays.append(t.data)
            requires_grad = requires_grad or t._requires_grad
        if len(arrays) > 1:
            _device_check(cls, inputs, arrays)
        if options:
            options = {k: (v.data if isinstance(v, Tensor) else v) for k, v in options.items()}
        record = requires_grad and is_grad_enabled()
        ctx = Context(cls, inputs, record)
        out = cls.forward(ctx, *arrays, **options)
        if isinstance(out, tuple):
            ctx.n_outputs = len(out)
            ctx.output_shapes = [o.shape for o in out]
            if record_hooks:
                for hook in record_hooks:
                    hook(ctx)
            if not record:
                return tuple(Tensor._make(o) for o in out)
            return tuple(Tensor._make(o, ctx, i) for i, o in enumerate(out))
        if record_hooks:
            for hook in record_hooks:
                hook(ctx)
        if not record:
            return Tensor._make(out)
        return Tensor._make(out, ctx, 0)


def kernel_function(name, forward_kernel, backward_kernel, doc=None):
    """A Function class that calls ``forward_kernel(*arrays, **options) -> (out, cache)`` and
    ``backward_kernel(*grads, cache) -> grads``. The kernels hold all the math.

    A forward kernel with a ``need_cache`` argument is told whether its cache will be used: it is False
    when the call is not recorded (``no_grad``, evaluation, generation), so the kernel can skip the
    work and memory that only the backward needs."""
    if "need_cache" in inspect.signature(forward_kernel).parameters:
        def forward(ctx, *arrays, **options):
            out, ctx.cache = forward_kernel(*arrays, need_cache=any(ctx.needs_input_grad), **options)
            return out
    else:
        def forward(ctx, *arrays, **options):
            out, ctx.cache = forward_kernel(*arrays, **options)
            return out

    def backward(ctx, *grads):
        return backward_kernel(*grads, ctx.cache)

    return type(name, (Function,), {
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": doc or f"Function calling {forward_kernel.__name__} / {backward_kernel.__name__}.",
    })
