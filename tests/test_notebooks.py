"""The course notebooks (notebooks/*.ipynb): committed without outputs, and each runs top to bottom
without an error in smoke mode (MINITORCH_SMOKE=1, small sizes) in a fresh kernel."""
import glob
import json
import os
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_DIR = os.path.join(REPO, "notebooks")
EXPECTED = ["01_autograd_from_scratch", "02_recurrent_vs_transformer", "03_attention_maps", "04_optimizers",
            "05_decoding", "06_bpe_tokenizer", "07_flash_attention"]
SMOKE_BUDGET_S = 180  # each notebook must finish in smoke mode well within this on 2 cores


def notebooks():
    return sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))


def test_all_notebooks_are_present():
    assert [os.path.basename(p)[:-6] for p in notebooks()] == EXPECTED


@pytest.mark.parametrize("path", notebooks(), ids=os.path.basename)
def test_notebook_is_committed_clean(path):
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    assert nb["nbformat"] == 4
    assert os.path.getsize(path) < 256 * 1024, "keep notebooks small"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    for c in code:  # outputs stripped, except a kept figure (a PNG display, nothing printed, no counters)
        assert c.get("execution_count") is None, "commit notebooks with outputs stripped"
        for o in c.get("outputs", []):
            assert o["output_type"] == "display_data" and set(o["data"]) <= {"image/png", "text/plain"}, \
                f"only figures may be kept in a committed notebook, found {o['output_type']} output"
    src = "".join("".join(c["source"]) for c in code)
    assert "MINITORCH_SMOKE" in src, "every notebook reads MINITORCH_SMOKE to shrink its sizes"
    # minitorch's public API only (torch only in 04, guarded)
    assert "._ctx" not in src and "._make" not in src
    if "import torch" in src:
        assert os.path.basename(path).startswith("04_") and "except ImportError" in src


@pytest.mark.parametrize("path", notebooks(), ids=os.path.basename)
def test_notebook_runs_in_smoke_mode(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="running notebooks needs nbformat (pip install -e .[dev])")
    nbclient = pytest.importorskip("nbclient", reason="running notebooks needs nbclient (pip install -e .[dev])")
    pytest.importorskip("ipykernel", reason="running notebooks needs ipykernel (pip install -e .[dev])")
    pytest.importorskip("matplotlib", reason="the notebooks plot with matplotlib (pip install -e .[dev])")
    monkeypatch.setenv("MINITORCH_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYTHONPATH", REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    shared = os.path.join(os.path.dirname(REPO), "shared", "data")
    if "MINITORCH_DATA" not in os.environ and os.path.exists(os.path.join(shared, "tinyshakespeare.txt")):
        monkeypatch.setenv("MINITORCH_DATA", shared)
    with open(path, encoding="utf-8") as f:
        nb = nbformat.read(f, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=SMOKE_BUDGET_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.time()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:  # names the cell and the traceback
        pytest.fail(f"{os.path.basename(path)} failed in smoke mode:\n{str(e)[-3000:]}")
    elapsed = time.time() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert elapsed < SMOKE_BUDGET_S, f"{os.path.basename(path)} took {elapsed:.0f} s in smoke mode"
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert printed.strip(), "the notebook printed nothing"
