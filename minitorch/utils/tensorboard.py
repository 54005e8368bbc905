"""``SummaryWriter`` with PyTorch's signatures (torch.utils.tensorboard), writing real TensorBoard event files
through tensorboardX (``pip install tensorboardX``, or ``pip install "minitorch-course[viz]"``).

    from minitorch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter("runs/exp1")
    writer.add_scalar("loss/train", loss.item(), step)
    writer.close()            # then: tensorboard --logdir runs

minitorch Tensors are accepted wherever PyTorch takes tensors (they are copied to NumPy arrays).
"""
import itertools
import os

import numpy as np

from ..autograd import Tensor
from ..backend import to_numpy

_UID = itertools.count()
INSTALL_HINT = "pip install tensorboardX, or pip install \"minitorch-course[viz]\""


def _numpy(value):
    """A minitorch Tensor, CuPy or NumPy array, or number as NumPy."""
    data = value.data if isinstance(value, Tensor) else value
    return to_numpy(data) if hasattr(data, "shape") else np.asarray(data)


def _scalar(value, tag):
    a = _numpy(value)
    if a.size != 1:
        raise ValueError(f"add_scalar({tag!r}): expected one number, got an array of shape {tuple(a.shape)}")
    return float(a.reshape(()))


class SummaryWriter:
    """Writes TensorBoard event files to ``log_dir`` (default ``runs/<date>_<host><comment>``, as PyTorch)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120, filename_suffix=""):
        try:
            import tensorboardX  # noqa: PLC0415
        except ImportError as err:
            raise ImportError(f"SummaryWriter needs tensorboardX, which is not installed ({INSTALL_HINT})") from err
        # tensorboardX names event files by the second and the host; PyTorch adds the process id and a counter,
        # without which two writers started within one second (a run and its resumption) overwrite one file
        unique = f".{os.getpid()}.{next(_UID)}{filename_suffix}"
        self._writer = tensorboardX.SummaryWriter(logdir=log_dir, comment=comment, purge_step=purge_step,
                                                  max_queue=max_queue, flush_secs=flush_secs, filename_suffix=unique)
        self.log_dir = self._writer.logdir

    def get_logdir(self):
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._writer.add_scalar(tag, _scalar(scalar_value, tag), global_step, walltime=walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves in one chart: each goes to its own run folder ``<log_dir>/<main_tag>/<tag>``."""
        values = {k: _scalar(v, f"{main_tag}/{k}") for k, v in tag_scalar_dict.items()}
        self._writer.add_scalars(main_tag, values, global_step, walltime=walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        a = _numpy(values).astype(np.float64).ravel()
        if a.size == 0:
            raise ValueError(f"add_histogram({tag!r}): the values are empty")
        self._writer.add_histogram(tag, a, global_step, bins=bins, walltime=walltime, max_bins=max_bins)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._writer.add_text(tag, text_string, global_step, walltime=walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of them), rendered to an image."""
        self._writer.add_figure(tag, figure, global_step, close=close, walltime=walltime)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
