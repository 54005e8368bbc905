"""``python -m minitorch.flops``: runs ``minitorch.cli.flops`` (see there, or ``--help``, for the flags).

Kept for compatibility: the command line lives in ``minitorch.cli.flops`` and the counter in
``minitorch.utils.flops``; the names people imported from here still work.
"""
import sys

from .cli.flops import build_parser, main, measure  # noqa: F401 - re-exported for compatibility

if __name__ == "__main__":
    main()
    sys.exit(0)
