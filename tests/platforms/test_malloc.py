"""minitorch.backend.memory: freed buffers are kept for reuse on glibc, and the opt-outs work."""
import os
import subprocess
import sys

import pytest

from minitorch.backend import memory

# 50 rounds of allocating eight 4 MiB buffers and freeing them all (as a training step does with its
# activations); prints the page faults of the last 40 rounds. With glibc's defaults the freed top of the heap
# is trimmed after each round and faulted in again by the next.
_PROBE = """
import resource, numpy as np, minitorch.backend as b
def faults(): return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(50):
    if i == 10: start = faults()
    bufs = [np.ones(1 << 20, dtype=np.float32) for _ in range(8)]; del bufs
print(faults() - start, b.malloc_status())
"""

needs_glibc = pytest.mark.skipif(memory._glibc() is None, reason="glibc's mallopt only (Linux)")


def _probe(**env):
    clean = {k: v for k, v in os.environ.items() if k not in memory._USER_SETTINGS + ("MINITORCH_MALLOC",)}
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**clean, **env}, capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    return int(out[0]), out[1].strip()


@needs_glibc
def test_freed_buffers_are_reused_without_page_faults():
    kept, status = _probe()
    assert status == "freed memory kept for reuse"
    system, status = _probe(MINITORCH_MALLOC="system")
    assert status == "C library defaults (MINITORCH_MALLOC=system)"
    assert kept < 1000 and system > 10_000   # about 40 rounds x 8 x 1024 pages of 4 KiB with the defaults


@needs_glibc
def test_user_malloc_settings_are_left_alone():
    _, status = _probe(MALLOC_TOP_PAD_="0")
    assert status == "C library defaults (malloc settings from the environment (MALLOC_TOP_PAD_))"


def test_keep_freed_memory_is_a_no_op_when_opted_out(monkeypatch):
    monkeypatch.setattr(memory, "_state", {"applied": False, "reason": "not attempted"})
    assert memory.keep_freed_memory({"MINITORCH_MALLOC": " System "}) is False
    assert memory.malloc_status() == "C library defaults (MINITORCH_MALLOC=system)"
