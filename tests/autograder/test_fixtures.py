"""Fixtures and rubrics: integrity checks, determinism, rubric totals, registry coverage."""
import json
import os
import shutil

import numpy as np
import pytest

from autograder import lmtask
from autograder.fixtures import HERE, FixtureError, FixtureSet, read_manifest, sha256_file
from autograder.grade import grade_assignment
from autograder.rubric import available_assignments, load_rubric
from autograder.spec import load_registry

from .bugs import REPO


def test_rubrics_total_100_and_cover_every_case():
    for hw in available_assignments():
        rubric = load_rubric(hw)
        assert sum(t["points"] for name, t in rubric.tests.items() if not rubric.is_bonus(name)) == 100  # + bonus
        tests = load_registry(hw).tests()
        graded_otherwise = {lmtask.TEST} & set(rubric.tests)  # hw4's trained model: no cases (autograder/lmtask.py)
        assert set(tests) == set(rubric.tests) - graded_otherwise, hw
        for f in rubric.files:
            assert os.path.exists(os.path.join(REPO, f)), f


def test_public_fixtures_match_manifest_and_registry():
    manifest = read_manifest(HERE)
    assert manifest["hidden"] is False and manifest["torch_version"]
    total = 0
    for hw in available_assignments():
        fs = FixtureSet(HERE, hw)
        fs.check_registry(load_registry(hw))
        total += os.path.getsize(os.path.join(HERE, f"{hw}.npz"))
        for meta in fs.instances.values():
            assert "seed" in meta and "dims" in meta and meta["arrays"]
    assert total < 2_000_000, "fixtures should stay small (KBs per assignment)"


def test_altered_or_missing_fixture_is_a_hard_error(tmp_path):
    d = tmp_path / "fx"
    shutil.copytree(HERE, d, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with open(d / "hw1.npz", "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(FixtureError, match="altered"):
        grade_assignment("hw1", REPO, fixtures_dir=str(d), tests=["matmul"])
    os.remove(d / "hw1.npz")
    with pytest.raises(FixtureError, match="missing"):
        grade_assignment("hw1", REPO, fixtures_dir=str(d), tests=["matmul"])
    (d / "manifest.json").unlink()
    with pytest.raises(FixtureError, match="manifest"):
        FixtureSet(str(d), "hw1")


def test_registry_case_without_fixture_is_a_hard_error(tmp_path):
    d = tmp_path / "fx"
    shutil.copytree(HERE, d, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    man = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    cases = man["files"]["hw1.npz"]["cases"]
    del cases["matmul/2d[float32]"]
    (d / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(FixtureError, match="no fixtures for 1"):
        grade_assignment("hw1", REPO, fixtures_dir=str(d), tests=["matmul"])


# Regenerating on another CPU (another SIMD path in torch or NumPy) may change a float by an ulp
# or so; byte identity holds only on one machine. What must hold anywhere: identical inputs and
# upstream gradients (NumPy's generators are bit-exact across CPUs), identical integer arrays,
# identical keys, dtypes, shapes, seeds and dims, and every float within ULP_BOUND ulp of the
# array's largest magnitude (a sum may lose relative accuracy in a near-zero element, so the
# bound is on the array's scale, not per element).
ULP_BOUND = 64


def _spread_ulps(new, old):
    scale = float(np.max(np.abs(old))) if old.size else 0.0
    if scale == 0.0:
        return 0.0 if np.array_equal(new, old) else np.inf
    return float(np.max(np.abs(new.astype(np.float64) - old.astype(np.float64))) / np.spacing(old.dtype.type(scale)))


def test_generation_is_reproducible_within_ulps(tmp_path):
    pytest.importorskip("torch")
    from autograder.fixtures.generate import generate

    generate(["hw1"], str(tmp_path), seed=0, hidden=False, quiet=True)
    new_fs, old_fs = FixtureSet(str(tmp_path), "hw1"), FixtureSet(HERE, "hw1")  # both verify their sha256
    new_man, old_man = read_manifest(str(tmp_path)), read_manifest(HERE)
    assert new_man["seed"] == old_man["seed"] == 0 and not new_man["hidden"]
    assert new_man["files"]["hw1.npz"]["cases"] == old_man["files"]["hw1.npz"]["cases"]  # seeds, dims, dtypes, shapes
    worst = (0.0, None)
    for inst in old_fs.instances:
        new, old = new_fs.get(inst), old_fs.get(inst)
        assert sorted(new) == sorted(old), inst
        for k, a in old.items():
            b = new[k]
            assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{inst}/{k}"
            if k.startswith(("in/", "dout/")) or a.dtype.kind != "f":
                np.testing.assert_array_equal(b, a, err_msg=f"{inst}/{k}")
            else:
                assert np.array_equal(np.isfinite(a), np.isfinite(b)), f"{inst}/{k}"
                ok = np.isfinite(a)
                worst = max(worst, (_spread_ulps(b[ok], a[ok]), f"{inst}/{k}"), key=lambda w: w[0])
    assert worst[0] <= ULP_BOUND, f"{worst[1]} differs by {worst[0]:.1f} ulp of its scale"


def test_committed_manifest_matches_the_files():
    manifest = read_manifest(HERE)
    for fname, entry in manifest["files"].items():
        assert sha256_file(os.path.join(HERE, fname)) == entry["sha256"], fname


def test_hidden_generation_uses_other_dims(tmp_path):
    pytest.importorskip("torch")
    from autograder.fixtures.generate import generate

    generate(["hw1"], str(tmp_path / "h"), seed=5, hidden=True, quiet=True)
    hidden = FixtureSet(str(tmp_path / "h"), "hw1")
    public = FixtureSet(HERE, "hw1")
    assert hidden.hidden and hidden.dims("matmul/2d[float32]") != public.dims("matmul/2d[float32]")
