"""Kept for compatibility: what the command-line tools share now lives in ``minitorch.cli.common`` (and
``UsageError`` in ``minitorch.errors``); the names people imported from here still work."""
from .cli.common import (  # noqa: F401 - re-exported for compatibility
    USER_ERRORS,
    Parser,
    UsageError,
    auto_threads,
    check_text,
    checkpoint_file,
    cupy_install_hint,
    describe_corpus,
    fail,
    load_run_corpus,
    one_line,
    parse_bool,
    parse_threads,
    positive_float,
    require_device,
    resolve_corpus,
    run_main,
    set_threads,
    sha256_text,
    usable_cores,
)
