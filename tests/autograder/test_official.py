"""Official grading takes its points from cases the student has never seen (issue 18).

A submission that memorised the public fixtures (its matmul/bmm kernels hash their inputs and
return the stored answers, with a linearisation around them so that even the finite-difference
checks of the public cases pass, and garbage for anything else) scores full marks locally and 0
in official grading with hidden fixtures and fresh instances; the reference scores full marks in
both. Fresh instances are new per seed, reproducible with it, need no torch, and stay out of the
handout; the Gradescope zip keeps the hidden fixtures and the reference owner-only and grades
with them."""
import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from autograder.__main__ import main
from autograder.fixtures import HERE, FixtureSet
from autograder.fresh import FreshError, FreshSet, check_reference
from autograder.grade import grade, set_weights
from autograder.gradescope import build as build_gradescope
from autograder.handout import LeakError, array_digests, check_tree, solution_lines
from autograder.rubric import Rubric, RubricError, load_rubric
from autograder.spec import load_registry

from .bugs import REPO, make_submission

TEST = "matmul"
POINTS = 13.0
# kernel calls of each public matmul case: (left input, right input, output); a gradient of an input
# used by two calls is returned whole by its first call and as zeros by the others
CALLS = {"matmul/2d": [("a", "b", "out")], "matmul/batched_weight": [("a", "b", "out")],
         "matmul/batched_right": [("a", "b", "out")], "matmul/batch_broadcast": [("a", "b", "out")],
         "matmul/vector": [("v", "a", "out0"), ("a", "w", "out1")], "matmul/batch1": [("a", "b", "out")],
         "matmul/batched_vector": [("a", "w", "out0"), ("v", "a", "out1")], "matmul/bmm": [("a", "b", "out")]}

MEMO_KERNEL = '''"""matmul and bmm that compute nothing: the answers of the public fixtures, looked up."""
import base64
import hashlib
import io

import numpy as np

from ._answers import DATA

_T = np.load(io.BytesIO(base64.b64decode(DATA)))
_KEYS = sorted({k.split("/")[0] for k in _T.files})


def _key(x, y):
    h = hashlib.sha256()
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:24]


def _garbage(key, shape, dtype):
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _forward(a, b):
    k = _key(a, b)
    if k + "/out" in _T.files:
        return _T[k + "/out"].copy(), (a, b, k)
    for m in _KEYS:  # near a memorised float64 input (a finite-difference step): linearise around it
        x0, y0 = _T[m + "/x"], _T[m + "/y"]
        if x0.dtype == a.dtype and x0.shape == a.shape and y0.shape == b.shape and \\
                max(np.abs(a - x0).max(), np.abs(b - y0).max()) < 1e-4:
            d = _T[m + "/dout"]
            lin = (_T[m + "/dx"] * (a - x0)).sum() + (_T[m + "/dy"] * (b - y0)).sum()
            return _T[m + "/out"] + d * (lin / (d * d).sum()), (a, b, None)
    shape = np.matmul(np.zeros(a.shape), np.zeros(b.shape)).shape
    return _garbage(k, shape, a.dtype), (a, b, None)


def _backward(dout, cache):
    a, b, k = cache
    if k is not None:
        return _T[k + "/dx"].copy(), _T[k + "/dy"].copy()
    g = _key(dout, dout)
    return _garbage(g + "a", a.shape, a.dtype), _garbage(g + "b", b.shape, b.dtype)


matmul_forward = bmm_forward = _forward
matmul_backward = bmm_backward = _backward
'''


def _table():
    """The answers a student can read off the public fixtures, per kernel call."""
    fs = FixtureSet(HERE, "hw1")
    cases = {c.name for c in load_registry("hw1") if c.test == TEST}
    assert set(CALLS) == cases, f"CALLS must list the kernel calls of every {TEST} case: {sorted(cases ^ set(CALLS))}"
    table = {}
    for case, calls in CALLS.items():
        for dt in ("float32", "float64"):
            arrays = fs.get(f"{case}[{dt}]")
            used = set()
            for x, y, out in calls:
                ax, ay = arrays[f"in/{x}"], arrays[f"in/{y}"]
                h = hashlib.sha256()
                for a in (ax, ay):
                    a = np.ascontiguousarray(a)
                    h.update(f"{a.dtype.str}{a.shape}".encode())
                    h.update(a.tobytes())
                k = h.hexdigest()[:24]
                grads = []
                for name, a in ((x, ax), (y, ay)):
                    grads.append(arrays[f"grad/{name}"] if name not in used else np.zeros_like(a))
                    used.add(name)
                table.update({f"{k}/out": arrays[f"out/{out}"], f"{k}/dx": grads[0], f"{k}/dy": grads[1],
                              f"{k}/dout": arrays[f"dout/{out}"], f"{k}/x": ax, f"{k}/y": ay})
    return table


@pytest.fixture(scope="module")
def memo(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("memo") / "student")
    make_submission(dest)
    kernels = os.path.join(dest, "minitorch", "kernels")
    with open(os.path.join(kernels, "matmul.py"), "w", encoding="utf-8") as f:
        f.write(MEMO_KERNEL)
    buf = io.BytesIO()
    np.savez(buf, **_table())  # a .py file: intake takes source files only
    with open(os.path.join(kernels, "_answers.py"), "w", encoding="utf-8") as f:
        f.write(f"DATA = {base64.b64encode(buf.getvalue()).decode()!r}\n")
    return dest


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    """A hidden hw1 set made with torch (instructors have it), or None without torch."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    from autograder.fixtures.generate import generate

    out = str(tmp_path_factory.mktemp("hidden-hw1"))
    generate(["hw1"], out, seed=777, hidden=True, quiet=True)
    return out


@pytest.fixture(scope="module")
def fresh():
    with FreshSet(["hw1"], seed=20240, tests=[TEST]) as fs:
        yield fs


def _by_set(report):
    return {t["fixtures"]: t for t in report["assignments"][0]["tests"]}


def test_memorised_answers_pass_locally_and_earn_nothing_officially(memo, hidden, fresh):
    local = grade(["hw1"], memo, tests=[TEST])
    assert local["score"] == pytest.approx(POINTS), "the memoriser should pass every public check"
    assert not local["official"] and "fresh" not in local
    official = grade(["hw1"], memo, tests=[TEST], hidden_dir=hidden, official=True, fresh=fresh)
    assert official["score"] == 0.0 and official["max_score"] == pytest.approx(POINTS)
    tests = _by_set(official)
    assert tests["public"]["passed"] and tests["public"]["max_points"] == 0.0  # feedback, worth nothing
    unseen = ["fresh", "hidden"] if hidden else ["fresh"]
    assert sorted(k for k in tests if k != "public") == unseen
    for label in unseen:
        t = tests[label]
        assert t["max_points"] == pytest.approx(POINTS / len(unseen)) and t["points"] == 0.0
        passed = [c["name"] for c in t["checks"] if c["passed"]]
        assert not passed, f"memorised answers passed unseen {label} checks: {passed[:3]}"
        assert any("gradcheck" in c["name"] for c in t["checks"])  # finite differences on the fresh inputs too


def test_reference_full_marks_locally_and_officially(hidden, fresh):
    assert grade(["hw1"], REPO, tests=[TEST])["score"] == pytest.approx(POINTS)
    official = grade(["hw1"], REPO, tests=[TEST], hidden_dir=hidden, official=True, fresh=fresh)
    assert official["score"] == pytest.approx(POINTS) and official["fresh"]["seed"] == 20240
    for t in _by_set(official).values():
        assert t["checks"] and all(c["passed"] for c in t["checks"]), t["name"]
    names = {t["name"]: t["visibility"] for t in official["assignments"][0]["tests"]}
    assert names["matmul"] == "visible" and names["matmul [fresh]"] == "visible"
    if hidden:
        assert names["matmul [hidden]"] == "after_due_date"


def test_fresh_instances_are_new_reproducible_and_private(fresh):
    assert stat.S_IMODE(os.stat(fresh.dir).st_mode) == 0o700
    manifest = json.load(open(os.path.join(fresh.dir, "manifest.json"), encoding="utf-8"))
    assert manifest["hidden"] and manifest["fresh"] and manifest["seed"] == 20240
    public, new = FixtureSet(HERE, "hw1"), FixtureSet(fresh.dir, "hw1")
    assert sorted(new.instances) == sorted(i for i in public.instances if i.startswith("matmul/"))
    inst = "matmul/2d[float64]"
    assert new.dims(inst) != public.dims(inst) and new.get(inst)["in/a"].shape != public.get(inst)["in/a"].shape
    with FreshSet(["hw1"], seed=20240, tests=[TEST]) as again, FreshSet(["hw1"], seed=20241, tests=[TEST]) as other:
        same, diff = FixtureSet(again.dir, "hw1").get(inst), FixtureSet(other.dir, "hw1").get(inst)
        assert all(np.array_equal(v, same[k]) for k, v in new.get(inst).items())
        assert not np.array_equal(diff["in/a"], new.get(inst)["in/a"]) or diff["in/a"].shape != same["in/a"].shape
        gone = other.dir
    assert not os.path.exists(gone)


def test_fresh_instances_need_no_torch(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from autograder.fresh import generate_fresh\n"
            f"m = generate_fresh(['hw1'], {str(tmp_path)!r}, 5, tests=['broadcasting'], reference={REPO!r})\n"
            "assert 'torch' not in [k for k, v in sys.modules.items() if v is not None]\n"
            "print(len(m['files']['hw1.npz']['cases']))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": REPO})
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[-1]) > 0


def test_a_handout_cannot_be_the_reference(tmp_path):
    stub = tmp_path / "stub"
    (stub / "minitorch").mkdir(parents=True)
    (stub / "minitorch" / "__init__.py").write_text('raise NotImplementedError("hw1 §1.1 f: see handouts")\n',
                                                    encoding="utf-8")
    with pytest.raises(FreshError, match="no solution blocks"):
        check_reference(str(stub))
    with pytest.raises(FreshError, match="no minitorch"):
        check_reference(str(tmp_path))
    (stub / "minitorch" / "k.py").write_text(  # a hw2 handout: hw1 solved (markers kept), hw2 stubbed
        "def f():\n    # BEGIN SOLUTION hw1\n    return 1\n    # END SOLUTION\n\n\ndef g():\n"
        '    raise NotImplementedError("hw2 §1.1 g: see handouts/hw2/README.md")\n', encoding="utf-8")
    with pytest.raises(FreshError, match="stubbed solutions"):
        check_reference(str(stub))
    assert check_reference(REPO) == REPO


def test_rubric_hidden_weight_and_visibilities():
    base = {"tests": {"a": {"points": 100}}}
    assert Rubric("x", base).hidden_weight == 1.0
    assert Rubric("x", {**base, "hidden_weight": 1}).hidden_weight == 1.0
    assert Rubric("x", {**base, "hidden_weight": 0.25}).hidden_weight == 0.25
    for bad in (1.5, -0.1, "1", True):
        with pytest.raises(RubricError, match="hidden_weight"):
            Rubric("x", {**base, "hidden_weight": bad})
    with pytest.raises(RubricError, match="fresh_visibility"):
        Rubric("x", {**base, "fresh_visibility": "later"})
    r = Rubric("x", {**base, "hidden_weight": 0.4})
    assert set_weights(r, ["public"]) == {"public": 1.0}
    assert set_weights(r, ["public", "hidden", "fresh"]) == pytest.approx({"public": 0.6, "hidden": 0.2, "fresh": 0.2})
    for hw in ("hw1", "hw2", "hw3", "hw4"):
        assert load_rubric(hw).hidden_weight == 1.0


def test_official_cli(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["hw1", "--test", "broadcasting", "--format", "json", "--official", "--seed", "3",
                 "--out", str(out)]) == 0
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["official"] and rep["fresh"]["seed"] == 3 and rep["score"] == pytest.approx(10.0)
    assert [t["name"] for t in rep["assignments"][0]["tests"]] == ["broadcasting", "broadcasting [fresh]"]
    assert main(["hw1", "--test", "broadcasting", "--format", "autolab"]) == 0  # official by format
    text = capsys.readouterr().out
    assert "broadcasting [fresh]" in text and "Official grade" in text
    assert json.loads(text.strip().splitlines()[-1])["scores"]["broadcasting"] == 0.0
    assert main(["hw1", "--test", "broadcasting", "--seed", "3"]) == 2
    assert "add --official" in capsys.readouterr().err
    assert main(["hw1", "--test", "broadcasting", "--official", "--reference", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no minitorch/ package" in err and len(err.strip().splitlines()) == 1


def test_handout_refuses_hidden_arrays_in_any_npz(tmp_path, fresh):
    tree = tmp_path / "tree" / "autograder" / "fixtures"
    tree.mkdir(parents=True)
    z = np.load(os.path.join(fresh.dir, "hw1.npz"))
    key = next(k for k in z.files if k.endswith("/in/a") and z[k].size >= 8)
    np.savez(tree / "hw1.npz", **{"matmul/2d[float64]/in/a": z[key], "other": np.arange(10.0)})
    with pytest.raises(LeakError, match="hidden fixture array"):
        check_tree(str(tmp_path / "tree"), "hw1", [fresh.dir])
    np.savez(tree / "hw1.npz", other=np.arange(10.0))
    check_tree(str(tmp_path / "tree"), "hw1", [fresh.dir])


def _extract(zpath, dest):
    """Extract like unzip does: with the modes stored in the zip."""
    with zipfile.ZipFile(zpath) as zf:
        for info in zf.infolist():
            path = zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)


def test_gradescope_zip_keeps_unseen_cases_private_and_grades_with_them(tmp_path, memo, fresh):
    # a stand-in hidden set (fresh instances have the fixture format, marked hidden)
    z = build_gradescope("hw1", str(tmp_path / "autograder.zip"), fresh.dir)
    zf = zipfile.ZipFile(z)
    infos = {i.filename: i for i in zf.infolist()}
    mode = {n: (i.external_attr >> 16) & 0o777 for n, i in infos.items()}
    assert mode["reference/"] == 0o700 and mode["hidden/"] == 0o700
    private = [n for n in infos if n.startswith(("reference/", "hidden/"))]
    assert "hidden/hw1.npz" in private and "reference/minitorch/kernels/matmul.py" in private
    assert all(mode[n] == (0o700 if n.endswith("/") else 0o600) for n in private)
    run = zf.read("run_autograder").decode()
    assert 'chmod -R go-rwx "$AG/source"' in run  # the whole source (reference, hidden) is root-only
    assert "chmod -R go-rwx /autograder/source" in zf.read("setup.sh").decode()
    assert '--official --reference "$AG/source/reference"' in run and '--hidden "$AG/source/hidden"' in run
    # the rest of the zip (what a sandbox may need) holds no solution line and no hidden array
    sol = solution_lines("hw1")
    hidden_arrays = array_digests(os.path.join(fresh.dir, "hw1.npz"))
    assert "BEGIN SOLUTION hw1" in zf.read("reference/minitorch/kernels/matmul.py").decode()
    for n in infos:
        if n in private or n.endswith("/"):
            continue
        data = zf.read(n)
        if n.endswith(".npz"):
            (tmp_path / "x.npz").write_bytes(data)
            assert not set(array_digests(str(tmp_path / "x.npz"))) & set(hidden_arrays), n
        elif n.endswith((".py", ".md", ".toml", ".json", ".sh")) or "." not in os.path.basename(n):
            lines = {ln.strip() for ln in data.decode("utf-8", "replace").splitlines()}
            assert not lines & sol, f"{n} holds solution text"
    # graded from the extracted zip, as run_autograder does: the memoriser 0, the reference full marks
    src = tmp_path / "autograder" / "source"
    _extract(z, str(src))
    assert stat.S_IMODE(os.stat(src / "reference").st_mode) == 0o700
    scores = {}
    for name, sub in (("memo", memo), ("reference", REPO)):
        out = tmp_path / f"{name}.json"
        r = subprocess.run([sys.executable, "-m", "autograder", "hw1", "--submission", sub, "--format", "gradescope",
                            "--official", "--reference", str(src / "reference"), "--hidden", str(src / "hidden"),
                            "--test", TEST, "--out", str(out)], cwd=src, capture_output=True, text=True,
                           timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        assert r.returncode == 0, r.stderr
        res = json.loads(out.read_text(encoding="utf-8"))
        scores[name] = res["score"]
        assert {t["name"] for t in res["tests"]} == {"matmul", "matmul [hidden]", "matmul [fresh]"}
        assert "fresh_seed" in res["extra_data"] and "Official grade" in res["output"]
    assert scores == {"memo": 0.0, "reference": pytest.approx(POINTS)}
