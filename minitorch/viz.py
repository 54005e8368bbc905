"""``python -m minitorch.viz``: runs ``minitorch.cli.viz`` (see there, or ``--help``, for the subcommands).

Kept for compatibility: the plots live in ``minitorch.plots``, the graph drawings in ``minitorch.graphviz_draw``
and the command line in ``minitorch.cli.viz``; the names people imported from here
(``minitorch.viz.draw_graph``, ``plot_loss``, ...) still work.
"""
from .cli.viz import build_parser, main  # noqa: F401 - re-exported for compatibility
from .graphviz_draw import draw_graph, record_scopes, save_graph  # noqa: F401 - re-exported for compatibility
from .plots import _pyplot, plot_attention, plot_loss, read_log  # noqa: F401 - re-exported for compatibility

if __name__ == "__main__":
    main()
