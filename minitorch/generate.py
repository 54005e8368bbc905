"""``python -m minitorch.generate``: runs ``minitorch.cli.generate`` (see there, or ``--help``, for the flags).

Kept for compatibility: the command line lives in ``minitorch.cli.generate``, ``load_model`` in
``minitorch.models.registry`` and the decoding strategies in ``minitorch.generation``; the names people imported
from here still work.
"""
import sys

from .cli.generate import build_parser, check_prompt, main, parse_args  # noqa: F401 - re-exported for compatibility
from .generation import STRATEGIES  # noqa: F401 - re-exported for compatibility
from .models.registry import load_model  # noqa: F401 - re-exported for compatibility

if __name__ == "__main__":
    sys.exit(main() and 0)
