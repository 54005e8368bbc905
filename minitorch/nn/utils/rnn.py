"""``minitorch.nn.utils.rnn``: batching variable-length sequences (``pad_sequence``), as torch.

Packed sequences (``pack_padded_sequence``) are not supported: pad, and mask the padding (e.g. with a
boolean mask in attention, ``ignore_index`` in ``cross_entropy``)."""
import numbers

from ...autograd import Tensor, cat, full, stack


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (max L, B, *) (``batch_first``: (B, max L, *)), filling with
    ``padding_value`` after each sequence (``padding_side='left'``: before it). Differentiable."""
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is a {type(s).__name__}, expected a Tensor")
        if s.ndim == 0 or s.shape[1:] != seqs[0].shape[1:] or s.dtype != seqs[0].dtype:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)} and dtype {s.dtype}; every "
                               f"sequence needs shape (L, {', '.join(map(str, seqs[0].shape[1:]))}) and dtype "
                               f"{seqs[0].dtype} (all but the first dim equal)")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    if not isinstance(padding_value, numbers.Real):
        raise TypeError(f"pad_sequence: padding_value must be a number, got {type(padding_value).__name__}")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing:
            pad = full((missing,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s], dim=0)
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)
