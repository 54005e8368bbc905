"""``python -I winsim_run.py script.py args...``: run ``script.py`` as __main__ under the Windows
simulation of sitecustomize.py (an isolated child does not load sitecustomize by itself).
``WINSIM_TRACE=FILE`` appends one line per simulated script, with what the simulation removed."""
import importlib.util
import os
import runpy
import sys

_spec = importlib.util.spec_from_file_location(
    "_winsim", os.path.join(os.path.dirname(os.path.abspath(__file__)), "sitecustomize.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))  # applies the simulation
sys.argv = sys.argv[1:]
if os.environ.get("WINSIM_TRACE"):
    with open(os.environ["WINSIM_TRACE"], "a", encoding="utf-8") as f:
        f.write(f"{os.path.basename(sys.argv[0])} platform={sys.platform} resource={sys.modules['resource']} "
                f"killpg={hasattr(os, 'killpg')} fork={hasattr(os, 'fork')}\n")
runpy.run_path(sys.argv[0], run_name="__main__")
