"""Issue 20: the local autograder on macOS and Windows, simulated on Linux.

``winsim_site/sitecustomize.py`` makes a Python process look like Windows to the project's code
(sys.platform win32; no resource/fcntl/pwd/grp; no fork, killpg, setsid, uids; no SIGKILL; Popen
refuses pass_fds/start_new_session/preexec_fn) and routes the grader's isolated child through the
same simulation. A student's ``python -m autograder hwN`` in a built handout must give a scorecard.
"""
import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from autograder import sandbox
from autograder.handout import build

REPO = pathlib.Path(__file__).resolve().parents[2]
SIM = pathlib.Path(__file__).resolve().parent / "winsim_site"
POSIX_ONLY = {"resource", "fcntl", "pwd", "grp", "termios", "pty", "tty", "posix", "crypt", "syslog"}


def _sim_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINITORCH_SANDBOX", "PYTHONPATH", "WINSIM"))}
    env.update({"PYTHONPATH": str(SIM), "WINSIM_TRACE": str(tmp_path / "trace"), "PYTHONIOENCODING": "utf-8",
                **extra})
    return env


def _run_sim(args, cwd, tmp_path, timeout=300, **extra):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_sim_env(tmp_path, **extra), capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    out = tmp_path_factory.mktemp("plat") / "hw2"
    build("hw2", str(out))
    return out


# ------------------------------------------------------------------ static: nothing POSIX-only at import time
def _top_level_imports(tree):
    """Imports executed when the module is imported: module level, class bodies, if/else at top level;
    not inside functions and not inside a try whose handlers catch ImportError."""
    found = []

    def visit(nodes, guarded):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Import):
                found.extend((a.name.split(".")[0], node.lineno, guarded) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.module.split(".")[0], node.lineno, guarded))
            elif isinstance(node, ast.Try):
                catches = any(h.type is None or any(n in ast.dump(h.type) for n in ("ImportError", "Exception",
                                                                                        "ModuleNotFoundError"))
                              for h in node.handlers)
                visit(node.body, guarded or catches)
                visit(node.orelse + node.finalbody, guarded)
                for h in node.handlers:
                    visit(h.body, guarded)
            elif isinstance(node, (ast.If, ast.With, ast.ClassDef, ast.For, ast.While)):
                visit(getattr(node, "body", []) + getattr(node, "orelse", []), guarded)
    visit(tree.body, False)
    return found


def test_no_posix_only_module_is_imported_at_import_time():
    bad = []
    files = [p for d in ("minitorch", "autograder") for p in (REPO / d).rglob("*.py")]
    assert len(files) > 30
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, line, guarded in _top_level_imports(tree):
            if name in POSIX_ONLY and not guarded:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not bad, "POSIX-only modules imported at import time (absent on Windows):\n" + "\n".join(bad)


def test_the_import_scan_sees_unguarded_and_guarded_imports():
    tree = ast.parse("import resource\ntry:\n    import fcntl\nexcept ImportError:\n    fcntl = None\n"
                     "def f():\n    import pwd\n")
    assert [(n, g) for n, _, g in _top_level_imports(tree)] == [("resource", False), ("fcntl", True)]


def test_every_module_imports_under_the_windows_simulation(tmp_path):
    code = ("import importlib, pkgutil, sys\nassert sys.platform == 'win32'\nbad = []\n"
            "import minitorch, autograder\nn = 0\n"
            "for pkg in (minitorch, autograder):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if m.name.startswith(('autograder.fixtures.generate', 'minitorch.backend.cupy')):\n"
            "            continue\n"
            "        n += 1\n        try:\n            importlib.import_module(m.name)\n"
            "        except Exception as e:\n            bad.append(f'{m.name}: {type(e).__name__}: {e}')\n"
            "assert n > 50, n\nprint('\\n'.join(bad) or 'ALL OK')\n")
    r = _run_sim(["-c", code], REPO, tmp_path, PYTHONPATH=os.pathsep.join([str(SIM), str(REPO)]))
    assert r.returncode == 0 and r.stdout.strip().endswith("ALL OK"), r.stdout + r.stderr


# ------------------------------------------------------------------ what the report says is active
@pytest.mark.parametrize("platform,has_resource,killpg,active,missing", [
    ("linux", True, True, ["memory cap (RLIMIT_AS)", "process group killed"], ["filesystem or network"]),
    ("darwin", True, True, ["process group killed"], ["no memory cap (macOS does not enforce RLIMIT_AS)"]),
    ("win32", False, False, [], ["no memory cap", "processes started by student code are not killed"]),
])
def test_the_report_names_the_protections_of_each_platform(monkeypatch, platform, has_resource, killpg, active,
                                                            missing):
    monkeypatch.setattr(sys, "platform", platform)
    if not has_resource:
        monkeypatch.setitem(sys.modules, "resource", None)
    if not killpg:
        monkeypatch.delattr(os, "killpg")
    line = sandbox.describe_mode("none")
    head, _, tail = line.partition("; not active: ")
    assert head.startswith("sandbox: none (local feedback only): active: a separate process, a wall-time limit")
    for a in active:
        assert a in head
    for m in missing:
        assert m in tail and m not in head
    if platform != "linux":
        assert "memory cap (RLIMIT_AS)" not in head


def test_official_grading_still_refuses_the_portable_mode():
    with pytest.raises(sandbox.SandboxError, match="--insecure"):
        sandbox.require_isolation("none", insecure=False, what="--format gradescope")


def test_isolating_modes_are_unavailable_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    assert sandbox._probe_mode("bwrap") == "it needs Linux"
    assert sandbox._probe_mode("setpriv") == "it needs Linux"


# ------------------------------------------------------------------ end to end, simulated Windows
def _trace(tmp_path):
    return (tmp_path / "trace").read_text(encoding="utf-8")


def test_windows_student_gets_a_scorecard_for_the_handout(handout, tmp_path):
    r = _run_sim(["-m", "autograder", "hw2"], handout, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert "hw2 total: 0.00 / 100.00" in r.stdout
    assert "NotImplementedError: hw2 §1.1 linear_forward" in r.stdout
    assert "sandbox: none (local feedback only): active: a separate process" in r.stdout
    assert "not active: no memory cap, processes started by student code are not killed" in r.stdout
    # the grading child itself ran under the simulation (no resource module, no killpg, no fork)
    assert "child.py platform=win32 resource=absent killpg=False fork=False" in _trace(tmp_path)
    r = _run_sim(["-m", "autograder", "hw1"], handout, tmp_path)
    assert r.returncode == 0 and "hw1 total: 100.00 / 100.00" in r.stdout, r.stdout + r.stderr
    # handing in, and grading the tar, as the student would
    tar = tmp_path / "handin.tar"
    r = _run_sim(["-m", "autograder.handin", "--out", str(tar)], handout, tmp_path)
    assert r.returncode == 0 and "files of minitorch/ for hw2" in r.stdout, r.stdout + r.stderr
    r = _run_sim(["-m", "autograder", "hw1", "--submission", str(tar), "--test", "matmul"], handout, tmp_path)
    assert r.returncode == 0 and "hw1 total: 13.00 / 13.00" in r.stdout, r.stdout + r.stderr


def test_macos_student_gets_a_scorecard_without_a_memory_cap(handout, tmp_path):
    r = _run_sim(["-m", "autograder", "hw1", "--test", "matmul", "--test", "reductions"], handout, tmp_path,
                 WINSIM_PLATFORM="darwin")
    assert r.returncode == 0 and "hw1 total: 26.00 / 26.00" in r.stdout, r.stdout + r.stderr
    assert "not active: no memory cap (macOS does not enforce RLIMIT_AS)" in r.stdout
    assert "its process group killed after each run" in r.stdout
    assert "child.py platform=darwin resource=present killpg=True fork=True" in _trace(tmp_path)


def test_windows_full_solution_scores_100_and_a_hang_is_stopped(tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(REPO / "minitorch", sub / "minitorch", ignore=shutil.ignore_patterns("__pycache__"))
    r = _run_sim(["-m", "autograder", "hw2", "--submission", str(sub), "--test", "linear", "--test", "softmax"],
                 REPO, tmp_path, PYTHONPATH=os.pathsep.join([str(SIM), str(REPO)]))
    assert r.returncode == 0 and "linear" in r.stdout and "0.00 /" not in r.stdout, r.stdout + r.stderr
    mm = sub / "minitorch" / "kernels" / "matmul.py"
    src = mm.read_text(encoding="utf-8")
    flag = tmp_path / "hung-once"  # only the first matmul case hangs (each hang costs the full timeout)
    hang = (f"    import os\n    if not os.path.exists({str(flag)!r}):\n        open({str(flag)!r}, 'w').close()\n"
            "        while True:\n            pass\n    return a @ b, MatmulCache(a, b)")
    assert "    return a @ b, MatmulCache(a, b)" in src
    mm.write_text(src.replace("    return a @ b, MatmulCache(a, b)", hang, 1), encoding="utf-8")
    r = _run_sim(["-m", "autograder", "hw1", "--submission", str(sub), "--test", "matmul", "--test", "broadcasting",
                  "--timeout", "3"], REPO, tmp_path, PYTHONPATH=os.pathsep.join([str(SIM), str(REPO)]))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "timed out: still running after 3 s wall time" in r.stdout, r.stdout
    assert "ok   broadcasting" in r.stdout and flag.exists(), r.stdout
    assert _trace(tmp_path).count("child.py platform=win32") >= 3  # a fresh child after the hang


def test_the_simulation_is_in_effect(tmp_path):
    code = ("import os, signal, subprocess, sys\n"
            "assert sys.platform == 'win32' and not hasattr(os, 'killpg') and not hasattr(os, 'fork')\n"
            "assert not hasattr(signal, 'SIGKILL')\n"
            "try:\n    import resource\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit('resource')\n"
            "try:\n    subprocess.Popen([sys.executable, '-c', 'pass'], pass_fds=(0,))\n"
            "except AssertionError:\n    print('REFUSED')\n")
    r = _run_sim(["-c", code], REPO, tmp_path)
    assert r.returncode == 0 and "REFUSED" in r.stdout, r.stdout + r.stderr


def test_windows_student_trains_evaluates_samples_and_plots(tmp_path):
    """The command-line tools, run folders and checkpoints under the Windows simulation."""
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "thou", "art", "Roméo"]
    text = "\n".join(" ".join(words[(i * 7 + k) % len(words)] for k in range(8)) + "." for i in range(300))
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(text + "\n", encoding="utf-8")
    tiny = ["--n-embd", "16", "--n-layer", "1", "--n-head", "2", "--block-size", "16", "--batch-size", "4",
            "--eval-iters", "2", "--sample-tokens", "8", "--log-interval", "1", "--warmup-iters", "2"]
    env = {"PYTHONPATH": os.pathsep.join([str(SIM), str(REPO)]), "MINITORCH_DATA": str(tmp_path / "none")}
    run = tmp_path / "runs" / "gpt"
    r = _run_sim(["-m", "minitorch.train", "--preset", "baby-gpt", "--corpus", str(corpus), "--max-iters", "4",
                  "--eval-interval", "2", "--out-dir", str(run), *tiny], tmp_path, tmp_path, **env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {"last.ckpt", "best.ckpt", "log.csv", "config.json", "summary.json"} <= set(os.listdir(run))
    r = _run_sim(["-m", "minitorch.train", "--resume", str(run), "--max-iters", "6"], tmp_path, tmp_path, **env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run_sim(["-m", "minitorch.evaluate", "--checkpoint", str(run / "best.ckpt")], tmp_path, tmp_path, **env)
    assert r.returncode == 0 and "val_nll" in r.stdout + r.stderr, r.stdout + r.stderr
    r = _run_sim(["-m", "minitorch.generate", "--checkpoint", str(run / "last.ckpt"), "--prompt", "the",
                  "--max-new-tokens", "5", "--seed", "1", "--json"], tmp_path, tmp_path, **env)
    assert r.returncode == 0 and '"texts"' in r.stdout, r.stdout + r.stderr
    pytest.importorskip("matplotlib")
    r = _run_sim(["-m", "minitorch.viz", "loss", os.path.join("runs", "*", "log.csv"), "-o", "cmp.png"],
                 tmp_path, tmp_path, **env)
    assert r.returncode == 0 and (tmp_path / "cmp.png").stat().st_size > 1000, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
