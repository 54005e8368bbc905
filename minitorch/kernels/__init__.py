"""Pure array kernels: one ``<op>_forward`` / ``<op>_backward`` pair per op, no Tensors, no state.

This is where students write code. Each module holds one topic; see its docstrings for shapes."""
