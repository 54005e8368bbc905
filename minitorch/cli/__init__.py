"""The command-line tools, the top layer of minitorch: nothing below imports them.

- ``train``: train a language model (``python -m minitorch.train``)
- ``generate``: text from a checkpoint (``python -m minitorch.generate``)
- ``evaluate``: validation NLL, perplexity, bits per character, prediction sets (``python -m minitorch.evaluate``)
- ``viz``: loss curves, attention maps, gradient flow, computation graphs (``python -m minitorch.viz``)
- ``flops``: FLOPs of a preset's training step (``python -m minitorch.flops``)
- ``common``: what they share (one-line errors, flag parsing, corpora, threads)

``python -m minitorch.<tool>`` and ``python -m minitorch.cli.<tool>`` run the same code; the modules
``minitorch/<tool>.py`` only start it, and re-export the names that used to live there.
"""
