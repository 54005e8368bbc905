import os

import numpy as np
import pytest

import minitorch


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts with seed 0, float32 default and the numpy backend."""
    minitorch.manual_seed(0)
    minitorch.set_default_dtype(np.float32)
    backend = os.environ.get("MINITORCH_TEST_BACKEND", "numpy")
    minitorch.set_backend(backend)
    yield
    minitorch.set_default_dtype(np.float32)
    minitorch.set_backend(backend)
