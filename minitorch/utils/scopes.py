"""The module an op ran in: a base for observers of recorded ops (``record_scopes`` in the graph drawer, the FLOP
counter). While active, ``self._stack`` holds the qualified names (as in ``named_modules``; the model itself is
``''``) of the modules whose forward is running, outermost first, and ``self._note(ctx)`` is called for every op
(``autograd.function.record_hooks``)."""
from ..autograd import function as _function


class ModuleScopeObserver:
    def __init__(self, model=None):
        self.model = model
        self._stack = []
        self._handles = []

    def _note(self, ctx):  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def _attach(self):
        if self.model is not None:
            for name, module in self.model.named_modules():
                self._handles.append(module.register_forward_pre_hook(self._push(name)))
                self._handles.append(module.register_forward_hook(self._pop(name)))
        _function.record_hooks.append(self._note)

    def _detach(self):
        if self._note in _function.record_hooks:
            _function.record_hooks.remove(self._note)
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._stack = []

    def _push(self, name):
        def hook(module, args):
            self._stack.append(name)
        hook.observer = True  # reads no argument: a model may call the module with other inputs (RecurrentLM)
        return hook

    def _pop(self, name):
        def hook(module, args, out):
            while self._stack and self._stack.pop() != name:  # an exception inside a child left it on the stack
                pass
        hook.observer = True
        return hook
