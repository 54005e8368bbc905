"""``python -I winsim_run.py PLATFORM TRACE script.py args...``: run ``script.py`` as __main__ under the
simulation of sitecustomize.py for PLATFORM (win32 or darwin; an isolated child with a cleared environment
does not load sitecustomize by itself). A non-empty TRACE is a file that gets one line per simulated script,
with what the simulation changed."""
import importlib.util
import os
import runpy
import sys

platform, trace = sys.argv[1], sys.argv[2]
os.environ["WINSIM_PLATFORM"] = platform
_spec = importlib.util.spec_from_file_location(
    "_winsim", os.path.join(os.path.dirname(os.path.abspath(__file__)), "sitecustomize.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))  # applies the simulation
sys.argv = sys.argv[3:]
if trace:
    try:
        import resource  # noqa: F401
        has_resource = "present"
    except ImportError:
        has_resource = "absent"
    with open(trace, "a", encoding="utf-8") as f:
        f.write(f"{os.path.basename(sys.argv[0])} platform={sys.platform} resource={has_resource} "
                f"killpg={hasattr(os, 'killpg')} fork={hasattr(os, 'fork')}\n")
runpy.run_path(sys.argv[0], run_name="__main__")
