"""``minitorch.utils``: torch's ``utils`` paths for the pieces scripts import from there (``utils.data``)."""
from . import data  # noqa: F401
