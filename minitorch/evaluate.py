"""``python -m minitorch.evaluate``: runs ``minitorch.cli.evaluate`` (see there, or ``--help``, for the flags).

Kept for compatibility: the evaluation lives in ``minitorch.cli.evaluate``; the names people imported from here
still work.
"""
import sys

from .cli.evaluate import (  # noqa: F401 - re-exported for compatibility
    PREDICT_IN,
    PREDICT_OUT,
    build_parser,
    evaluate,
    main,
    make_prediction_set,
    score_prediction_set,
    sequence_nll,
)

if __name__ == "__main__":
    sys.exit(main() and 0)
