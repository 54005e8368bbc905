"""hw4's training task (``autograder/lm.py``, ``lmtask.py``): the grader's NumPy GPT agrees with minitorch's,
untrusted checkpoints are refused with a reason, the guards catch degenerate text, the oracle ranks real
text above shuffled and random text, and a hand-in is graded end to end in the sandbox."""
import json
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

from autograder import lm, lmtask
from autograder.rubric import load_rubric

HERE = os.path.dirname(os.path.abspath(__file__))
REF_GENERATIONS = os.path.join(HERE, "data", "lm_reference_generations.json")


def _vocab():
    return lm.load_task()["vocab"]


def tiny_tree(vocab=None, n_layer=1, n_embd=16, n_head=2, block=32, seed=0, scale=0.02, tied=True, bias=True):
    """A GPT checkpoint tree at (roughly) minitorch's initialisation, made without minitorch."""
    vocab = _vocab() if vocab is None else vocab
    cfg = {"model": "gpt", "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "block_size": block,
           "bias": bias, "tie_weights": tied}
    rng = np.random.default_rng(seed)
    w = {}
    for k, s in lm.expected_shapes(cfg, len(vocab)).items():
        w[k] = ((rng.standard_normal(s) * scale) if len(s) > 1 else
                np.ones(s) if k.endswith("weight") else np.zeros(s)).astype(np.float32)
    if tied:
        w["lm_head.weight"] = w["transformer.wte.weight"]
    return {"model": w, "extra": {"config": cfg, "tokenizer": {"type": "char", "chars": vocab, "special_tokens": []}},
            "rng": None}


# ----------------------------------------------------------------------------- the NumPy forward
@pytest.mark.parametrize("bias,tied", [(True, True), (False, False)])
def test_numpy_gpt_matches_minitorch(bias, tied, tmp_path):
    import minitorch as mt
    from minitorch import models
    from minitorch.checkpoint import save
    from minitorch.cli.evaluate import score_prediction_set

    mt.manual_seed(0)
    vocab = _vocab()
    m = models.GPT(len(vocab), block_size=24, n_layer=2, n_head=2, n_embd=16, bias=bias, tie_weights=tied)
    rng = np.random.default_rng(1)
    for p in m.parameters():  # away from the initialisation, so that every weight matters
        p.data[...] = p.data + rng.standard_normal(p.shape).astype(np.float32) * 0.3
    m.eval()
    cfg = {"model": "gpt", "n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 24, "bias": bias,
           "tie_weights": tied}
    save({"model": m.state_dict(), "extra": {"config": cfg, "tokenizer": {"type": "char", "chars": vocab,
                                                                           "special_tokens": []}}},
         tmp_path / "m.ckpt")
    g = lm.GPT.from_tree(lm.read_checkpoint((tmp_path / "m.ckpt").read_bytes()), vocab)
    ids = rng.integers(0, len(vocab), (3, 20))
    np.testing.assert_allclose(g.logits(ids), m(mt.tensor(ids)).detach().numpy(), atol=2e-5, rtol=1e-4)
    inputs, targets = rng.integers(0, len(vocab), (5, 30)), rng.integers(0, len(vocab), (5, 10))
    np.testing.assert_allclose(g.nll_windows(inputs, targets), score_prediction_set(m, inputs, targets),
                               atol=2e-5, rtol=1e-5)
    # the key/value cache gives the logits of the whole window
    caches = [{} for _ in range(2)]
    g.logits(ids[:1, :7], caches, 0)
    step = g.logits(ids[:1, 7:9], caches, 7)
    np.testing.assert_allclose(step[0], g.logits(ids[:1, :9])[0, 7:], atol=2e-5, rtol=1e-4)


def test_sequence_logprobs_and_generation():
    g = lm.GPT.from_tree(tiny_tree(block=16, scale=0.5, seed=3))
    ids = np.random.default_rng(4).integers(0, g.vocab, 50)
    lp = g.sequence_logprobs(ids, stride=8)
    assert lp.shape == (49,) and np.all(lp < 0)
    first = g._log_softmax(g.logits(ids[None, :16])[0])
    np.testing.assert_allclose(lp[:15], first[np.arange(15), ids[1:16]])
    # position 16 is scored from the window starting at 8 (stride 8): 8 tokens of context at least
    win = g._log_softmax(g.logits(ids[None, 8:24])[0])
    np.testing.assert_allclose(lp[15:23], win[np.arange(7, 15), ids[16:24]])
    a, b = g.generate(ids[:5], 40, 0.8, 7), g.generate(ids[:5], 40, 0.8, 7)
    assert a.shape == (40,) and np.array_equal(a, b) and a.min() >= 0 and a.max() < g.vocab
    assert not np.array_equal(a, g.generate(ids[:5], 40, 0.8, 8))


# ----------------------------------------------------------------------------- untrusted checkpoints
def test_checkpoint_format_is_minitorchs(tmp_path):
    from minitorch.checkpoint import load

    tree = tiny_tree()
    raw = lm.checkpoint_bytes(tree)
    (tmp_path / "c.ckpt").write_bytes(raw)
    back = load(tmp_path / "c.ckpt")
    assert back["extra"]["config"] == tree["extra"]["config"]
    np.testing.assert_array_equal(back["model"]["lm_head.weight"].numpy(), tree["model"]["lm_head.weight"])
    full = dict(tree, optimizer={"state": {"m": np.ones((1000, 100), np.float32)}}, step=5)
    slim = lm.weights_only(lm.checkpoint_bytes(full))
    assert len(slim) < len(lm.checkpoint_bytes(full)) - 300_000
    assert lm.read_checkpoint(slim)["optimizer"] is None and lm.read_checkpoint(slim)["step"] == 5


def _zip_member_bomb():
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("__meta__.npy", b"\0" * (30 << 20))  # 30 MiB of zeros in a few KB
        zf.writestr("__integrity__.npy", b"x")
    return buf.getvalue()


@pytest.mark.parametrize("raw,message", [
    (b"not a zip at all", "cannot be read"),
    (_zip_member_bomb(), "expands to more than"),
    (b"\0" * (lm.MAX_CKPT_BYTES + 1), "over the 24 MiB limit"),
])
def test_unreadable_checkpoints_are_refused(raw, message):
    with pytest.raises(lm.LMError, match=message):
        lm.read_checkpoint(raw)


def test_a_changed_byte_is_caught():
    raw = bytearray(lm.checkpoint_bytes(tiny_tree()))
    raw[len(raw) // 2] ^= 0xFF
    with pytest.raises(lm.LMError):
        lm.read_checkpoint(bytes(raw))


@pytest.mark.parametrize("change,message", [
    (lambda t: t["extra"]["config"].update(model="lstm"), "hands in a GPT"),
    (lambda t: t["extra"]["tokenizer"].update(type="bpe"), "character-level"),
    (lambda t: t["extra"]["tokenizer"].update(chars=sorted(t["extra"]["tokenizer"]["chars"])[::-1]),
     "not TinyShakespeare's"),
    (lambda t: t["extra"]["config"].update(block_size=300), r"block_size = 300"),
    (lambda t: t["model"].pop("transformer.ln_f.bias"), "missing transformer.ln_f.bias"),
    (lambda t: t["model"].__setitem__("transformer.wpe.weight", np.full((32, 16), np.nan, np.float32)), "NaN"),
    (lambda t: t["model"].__setitem__("transformer.wpe.weight", np.zeros((31, 16), np.float32)), "shape"),
])
def test_checkpoints_outside_the_task_are_refused(change, message):
    tree = tiny_tree()
    change(tree)
    with pytest.raises(lm.LMError, match=message):
        lm.GPT.from_tree(lm.read_checkpoint(lm.checkpoint_bytes(tree)), _vocab())


def test_too_many_parameters_are_refused():
    cfg = tiny_tree()["extra"]["config"]
    cfg.update(n_layer=7, n_embd=256, n_head=4)  # 12 * 7 * 256^2 = 5.5M
    tree = {"model": {}, "extra": {"config": cfg, "tokenizer": tiny_tree()["extra"]["tokenizer"]}}
    with pytest.raises(lm.LMError, match="more than the task's 5,000,000"):
        lm.GPT.from_tree(tree, _vocab())


# ----------------------------------------------------------------------------- guards and the oracle
def _real_text():
    """Real TinyShakespeare characters without the corpus: the public windows (token ids)."""
    z = lm.read_windows(os.path.join(lm.LM_DIR, "public.npz"))
    return np.concatenate([z["inputs"], z["targets"]], axis=1).astype(np.int64)


def test_generation_guards():
    v = len(_vocab())
    real = _real_text()[:5].reshape(-1)[:200]
    assert lm.generation_problem(real, 200, v) is None
    assert "199 characters, 200 were asked" in lm.generation_problem(real[:199], 200, v)
    assert "outside the 65-character vocabulary" in lm.generation_problem(np.r_[real[:199], 65], 200, v)
    loop = np.tile(real[:12], 17)[:200]
    msg = lm.generation_problem(loop, 200, v, chars=_vocab())
    assert "repeats itself" in msg and "occurs" in msg
    assert lm.generation_problem(np.tile(real[:150], 2)[:200], 200, v) is None  # one long echo is not a loop


def test_oracle_ranks_real_text_above_shuffled_and_random():
    oracle = lm.load_oracle()
    text = _real_text()
    rng = np.random.default_rng(0)
    prompt = text[0, :20]
    real = np.mean([lm.oracle_nll(oracle, t[:20], t[20:]) for t in text[1:17]])
    shuffled = np.mean([lm.oracle_nll(oracle, t[:20], rng.permutation(t[20:])) for t in text[1:17]])
    random = np.mean([lm.oracle_nll(oracle, prompt, rng.integers(0, oracle.vocab, 200)) for _ in range(4)])
    assert real < 2.2 and real + 2.0 < shuffled < random, (real, shuffled, random)
    if os.path.exists(REF_GENERATIONS):
        with open(REF_GENERATIONS, encoding="utf-8") as f:
            ref = json.load(f)
        spec = load_rubric("hw4").tests[lmtask.TEST]
        score = np.mean([lm.oracle_nll(oracle, np.asarray(p), np.asarray(c))
                         for p, c in zip(ref["prompts"], ref["continuations"])])
        assert score <= spec["generation_full"] < shuffled, (score, shuffled)


def test_task_files_match_the_manifest():
    task = lm.load_task()
    assert len(task["vocab"]) == 65 and set(task["manifest"]["files"]) >= {"public.npz", "oracle.ckpt", "vocab.json"}
    spec = load_rubric("hw4").tests[lmtask.TEST]
    assert spec["prediction_full"] < spec["prediction_zero"] and spec["generation_full"] < spec["generation_zero"]


# ----------------------------------------------------------------------------- grading a hand-in
def _submission(tmp_path, tree=None, raw=None):
    from .bugs import make_submission

    sub = make_submission(str(tmp_path / "sub"))
    if tree is not None or raw is not None:
        os.makedirs(os.path.join(sub, "lm"))
        with open(os.path.join(sub, "lm", "best.ckpt"), "wb") as f:
            f.write(raw if raw is not None else lm.checkpoint_bytes(tree))
        with open(os.path.join(sub, "lm", "summary.json"), "w", encoding="utf-8") as f:
            json.dump({"steps": 2000, "best_val_loss": 1.9}, f)
    return sub


def _grade(sub, hidden=None):
    from autograder.grade import grade

    report = grade(["hw4"], submission=sub, tests=[lmtask.TEST], hidden_dir=hidden)
    return [t for t in report["assignments"][0]["tests"] if t["test"] == lmtask.TEST]


def test_the_oracle_as_a_hand_in_earns_full_marks(tmp_path):
    with open(os.path.join(lm.LM_DIR, "oracle.ckpt"), "rb") as f:
        oracle = lm.read_checkpoint(f.read(), max_bytes=1 << 26)
    tests = _grade(_submission(tmp_path, oracle))
    assert len(tests) == 1 and tests[0]["points"] == pytest.approx(20.0), tests
    assert any("prediction NLL" in n and "sample:" in n for n in tests[0]["notes"])


def test_untrained_missing_and_broken_hand_ins(tmp_path):
    t = _grade(_submission(tmp_path / "a", tiny_tree()))[0]
    assert t["points"] == 0.0 and "prediction NLL 4.1" in t["checks"][0]["message"]
    t = _grade(_submission(tmp_path / "b"))[0]
    assert t["points"] == 0.0 and "no trained model handed in (lm/best.ckpt)" in t["checks"][0]["message"]
    bad = tiny_tree()
    bad["extra"]["config"]["model"] = "lstm"
    t = _grade(_submission(tmp_path / "c", bad))[0]
    assert t["points"] == 0.0 and "could not be run: the model is 'lstm'" in t["checks"][0]["message"]


def test_model_flag_grades_a_run_folder_locally_and_is_refused_officially(tmp_path, capsys):
    from autograder.__main__ import main

    run = tmp_path / "runs" / "baby-gpt"
    run.mkdir(parents=True)
    shutil.copyfile(os.path.join(lm.LM_DIR, "oracle.ckpt"), run / "best.ckpt")
    (run / "summary.json").write_text(json.dumps({"steps": 3000, "best_val_loss": 1.52}), encoding="utf-8")
    sub = _submission(tmp_path)                                     # code only: no lm/ folder handed in
    out = tmp_path / "report.json"
    assert main(["hw4", "--submission", sub, "--test", lmtask.TEST, "--model", str(run), "--format", "json",
                 "--out", str(out)]) == 0
    (test,) = [t for t in json.loads(out.read_text(encoding="utf-8"))["assignments"][0]["tests"]
               if t["test"] == lmtask.TEST]
    assert test["points"] == pytest.approx(20.0), test
    assert any("summary.json: steps 3000" in n for n in test["notes"])
    capsys.readouterr()
    assert main(["hw4", "--submission", sub, "--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "--model" in err and "no checkpoint there" in err
    assert main(["hw4", "--submission", sub, "--model", str(run), "--official"]) == 2
    assert "local feedback" in capsys.readouterr().err


def test_handin_puts_a_weights_only_model_into_the_tar(tmp_path):
    from autograder.handin import make_handin

    from .bugs import REPO

    run = tmp_path / "run"
    run.mkdir()
    tree = tiny_tree()
    tree["optimizer"] = {"m": np.ones((300, 300), np.float32)}
    (run / "best.ckpt").write_bytes(lm.checkpoint_bytes(tree))
    (run / "summary.json").write_text('{"steps": 3}', encoding="utf-8")
    out = str(tmp_path / "handin.tar")
    make_handin(REPO, "hw4", out, run_dir=str(run))
    with tarfile.open(out) as tf:
        names = tf.getnames()
        ckpt = tf.extractfile("lm/best.ckpt").read()
    assert "lm/best.ckpt" in names and "lm/summary.json" in names
    assert lm.read_checkpoint(ckpt)["optimizer"] is None and len(ckpt) < 100_000
    from autograder.intake import take_in

    got = take_in(out, str(tmp_path / "in"))
    assert os.path.isfile(os.path.join(got.root, "lm", "best.ckpt"))
    with pytest.raises(Exception, match="holds no best.ckpt"):
        make_handin(REPO, "hw4", out, run_dir=str(tmp_path))


def test_intake_takes_the_model_files_with_their_own_caps(tmp_path):
    import io

    from autograder.intake import SubmissionError, take_in

    def tar(path, members):
        with tarfile.open(path, "w") as tf:
            for name, size in members:
                info = tarfile.TarInfo(name)
                info.size = size
                tf.addfile(info, io.BytesIO(bytes(size)))
        return str(path)

    ok = tar(tmp_path / "a.tar", [("alice/minitorch/__init__.py", 10), ("alice/lm/best.ckpt", 5 << 20),
                                  ("alice/lm/summary.json", 100), ("alice/lm/notes.txt", 10)])
    got = take_in(ok, str(tmp_path / "a"))
    assert os.path.getsize(os.path.join(got.root, "lm", "best.ckpt")) == 5 << 20  # over the 4 MiB of a source file
    assert ("alice/lm/notes.txt", "outside minitorch/") in got.dropped
    big = tar(tmp_path / "b.tar", [("minitorch/__init__.py", 10), ("lm/best.ckpt", (24 << 20) + 1)])
    with pytest.raises(SubmissionError, match=r"lm/best.ckpt is .* over the 24 MiB limit"):
        take_in(big, str(tmp_path / "b"))


def test_writeup_states_the_rubric_thresholds():
    from .bugs import REPO

    with open(os.path.join(REPO, "handouts", "hw4", "README.md"), encoding="utf-8") as f:
        text = f.read()
    spec = load_rubric("hw4").tests[lmtask.TEST]
    for key in ("prediction_full", "prediction_zero", "generation_full", "generation_zero"):
        assert f"**{spec[key]:.2f}**" in text, key
    assert "{" not in text.split("### The training task")[1].split("### Public and hidden")[0]  # no placeholder


def test_hidden_windows_carry_the_points_and_are_checked(tmp_path):
    from autograder.fixtures import FixtureError, write_npz
    from autograder.handout import LeakError, check_tree

    hidden = tmp_path / "hidden"
    (hidden / "lm").mkdir(parents=True)
    z = lm.read_windows(os.path.join(lm.LM_DIR, "public.npz"))
    z = {k: v[::-1].copy() for k, v in z.items()}  # other windows and prompts, same format
    write_npz(str(hidden / "lm" / "hidden.npz"), z)
    from autograder.fixtures import sha256_file

    (hidden / "lm" / "manifest.json").write_text(json.dumps(
        {"files": {"hidden.npz": {"sha256": sha256_file(str(hidden / "lm" / "hidden.npz"))}}}), encoding="utf-8")
    sub = _submission(tmp_path, tiny_tree())
    rubric = load_rubric("hw4")
    tests = lmtask.grade(rubric, sub, hidden_dir=str(hidden), official=True)
    assert [t["name"] for t in tests] == [lmtask.TEST, f"{lmtask.TEST} [hidden]"]
    assert tests[0]["max_points"] == 0.0 and tests[1]["max_points"] == 20.0  # hidden_weight 1.0
    assert tests[1]["visibility"] == "after_due_date"
    # the handout builder refuses a tree holding the hidden windows
    leak = tmp_path / "handout" / "autograder" / "fixtures"
    leak.mkdir(parents=True)
    (leak / "copy.npz").write_bytes((hidden / "lm" / "hidden.npz").read_bytes())
    with pytest.raises(LeakError, match="hidden fixture file"):
        check_tree(str(tmp_path / "handout"), "hw4", hidden_dirs=[str(hidden)])
    (hidden / "lm" / "hidden.npz").write_bytes(b"changed")
    with pytest.raises(FixtureError, match="does not match its sha256"):
        lmtask.grade(rubric, sub, hidden_dir=str(hidden), official=True)
