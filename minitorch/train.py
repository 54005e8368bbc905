"""``python -m minitorch.train``: runs ``minitorch.cli.train`` (see there, or ``--help``, for the flags).

Kept for compatibility: the training command line lives in ``minitorch.cli.train`` and the run config, presets
and model builder beside the models in ``minitorch.models.registry``; the names people imported from here
(``from minitorch.train import train, Config, PRESETS, build_model, lm_loss``) still work.
"""
from .cli.train import (  # noqa: F401 - re-exported for compatibility
    RESUMABLE,
    RUN_FILES,
    CsvLog,
    build_parser,
    build_tokenizer,
    estimate_loss,
    main,
    parse_args,
    resolve_corpus,
    run_files,
    sample_text,
    train,
)
from .models.registry import (  # noqa: F401 - re-exported for compatibility
    MODELS,
    PRESETS,
    Config,
    build_model,
    config_from_dict,
    lm_loss,
)

if __name__ == "__main__":
    main()
