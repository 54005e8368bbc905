import os

import pytest


@pytest.fixture(scope="session")
def shakespeare():
    """TinyShakespeare's text from $MINITORCH_DATA (never downloaded in tests)."""
    from minitorch.data import load_corpus

    d = os.environ.get("MINITORCH_DATA")
    if not d or not (os.path.isfile(d) or os.path.isfile(os.path.join(d, "tinyshakespeare.txt"))):
        pytest.skip("TinyShakespeare not available: set MINITORCH_DATA to tinyshakespeare.txt or the folder holding it")
    return load_corpus("tinyshakespeare", download=False)
