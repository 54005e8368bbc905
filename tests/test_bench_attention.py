"""bench/attention.py on a tiny shape: it times both kernel versions and refuses versions that disagree."""
import os

from tests.helpers import run_bench

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
KERNEL = os.path.join(ROOT, "minitorch", "kernels", "attention.py")


def _run(*args):
    return run_bench("attention", "--shape", "2,2,5,3", "--rounds", "1", "--calls", "2", *args, timeout=120)


def test_times_this_kernel_against_another_file(tmp_path):
    r = _run("--against", KERNEL)
    assert r.returncode == 0, r.stderr
    for name in ("against forward", "against backward", "this forward", "this backward"):
        assert name in r.stdout
    assert "load average" in r.stdout


def test_refuses_a_kernel_that_computes_something_else(tmp_path):
    with open(KERNEL, encoding="utf-8") as f:
        src = f.read()
    bad = tmp_path / "attention_bad.py"
    bad.write_text(src + "\n\n_right = qkv_attention_forward\n\n\ndef qkv_attention_forward(qkv, n_head, **kw):\n"
                   "    out, cache = _right(qkv, n_head, **kw)\n    return out * 2, cache\n", encoding="utf-8")
    r = _run("--against", str(bad))
    assert r.returncode != 0 and "Not equal to tolerance" in r.stderr
