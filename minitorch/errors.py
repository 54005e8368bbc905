"""``UsageError``: a mistake the user can fix (a flag, a path, a file), with what went wrong and how to fix it.

It lives at the bottom of the package so that library code (``minitorch.models.registry.load_model``) and the
command-line tools (``minitorch.cli``) raise the same exception; ``minitorch.cli.common.run_main`` turns it
into one line on stderr and exit status 2.
"""


class UsageError(Exception):
    """A user error: ``what`` went wrong and ``fix``, how to put it right."""

    def __init__(self, what, fix=None):
        super().__init__(what if not fix else f"{what} ({fix})")
        self.what, self.fix = what, fix
