"""Fixtures and rubrics: integrity checks, determinism, rubric totals, registry coverage."""
import json
import os
import shutil

import pytest

from autograder.fixtures import HERE, FixtureError, FixtureSet, read_manifest, sha256_file
from autograder.grade import grade_assignment
from autograder.rubric import available_assignments, load_rubric
from autograder.spec import load_registry

from .bugs import REPO


def test_rubrics_total_100_and_cover_every_case():
    for hw in available_assignments():
        rubric = load_rubric(hw)
        assert sum(t["points"] for t in rubric.tests.values()) == 100
        tests = load_registry(hw).tests()
        assert set(tests) == set(rubric.tests), hw
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
    man = json.loads((d / "manifest.json").read_text())
    cases = man["files"]["hw1.npz"]["cases"]
    del cases["matmul/2d[float32]"]
    (d / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(FixtureError, match="no fixtures for 1"):
        grade_assignment("hw1", REPO, fixtures_dir=str(d), tests=["matmul"])


def test_generation_is_deterministic(tmp_path):
    pytest.importorskip("torch")
    from autograder.fixtures.generate import generate

    generate(["hw1"], str(tmp_path), seed=0, hidden=False, quiet=True)
    assert sha256_file(tmp_path / "hw1.npz") == read_manifest(HERE)["files"]["hw1.npz"]["sha256"]
    generate(["hw1"], str(tmp_path / "h"), seed=5, hidden=True, quiet=True)
    hidden = FixtureSet(str(tmp_path / "h"), "hw1")
    public = FixtureSet(HERE, "hw1")
    assert hidden.hidden and hidden.dims("matmul/2d[float32]") != public.dims("matmul/2d[float32]")
