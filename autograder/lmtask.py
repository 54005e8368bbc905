"""Grading the hw4 training task (parent side): the rubric test ``language_model``.

The hand-in holds the trained model (``lm/best.ckpt``, written by ``python -m autograder.handin``
from a ``python -m minitorch.train`` run) and its ``lm/summary.json``. For each window set (the public
one in ``autograder/fixtures/lm/public.npz``; with ``--hidden DIR`` also ``DIR/lm/hidden.npz``) the sandbox
child runs the grader's NumPy GPT (``lm.run_item``) on the checkpoint: the prediction NLL of 128
windows (30 characters of context, the next 10 scored) and a 200-character continuation of each
prompt sampled at temperature 0.8 with fixed seeds. Here the parent scores them:

- prediction: the mean NLL, full points at ``prediction_full`` or below, none at ``prediction_zero``
  or above, linear between (thresholds in ``rubrics/hw4.toml``);
- generation: the oracle's mean NLL per character of the continuations (``fixtures/lm/oracle.ckpt``), with the
  same kind of thresholds; a continuation that is shorter than asked, leaves the vocabulary or repeats
  one n-gram over and over (``lm.generation_problem``) zeroes the generation points, with the reason.

Each set's points are split evenly between the two; the sets share the test's points as the kernel
fixtures do (``rubric.set_weights``: hidden windows carry them in official grading).
"""
import json
import os

import numpy as np

from . import lm
from .compare import Check
from .rubric import load_rubric, set_weights, visibility

TEST = "language_model"
LM_TIMEOUT_S = 120.0   # one window set: load, 128 windows, 8 x 200 sampled characters (a 5M-parameter model: ~20 s)


def enabled(rubric):
    return TEST in rubric.tests


def handed_in(root):
    """(checkpoint path or None, summary dict or None, problem or None) of a submission folder."""
    ckpt = os.path.join(root, *lm.HANDIN_CKPT.split("/"))
    if not os.path.isfile(ckpt):
        return None, None, None
    return (ckpt, *_read_summary(os.path.join(root, *lm.HANDIN_SUMMARY.split("/")), lm.HANDIN_SUMMARY))


def given_model(path):
    """(checkpoint, summary or None, problem or None) of ``--model``: a checkpoint file, with the run's
    summary.json read from beside it when there is one."""
    return (path, *_read_summary(os.path.join(os.path.dirname(path), "summary.json"), "summary.json"))


def _read_summary(path, name):
    """(summary dict or None, problem or None) of a run's summary.json (size-capped; absent is fine)."""
    if not os.path.isfile(path):
        return None, None
    try:
        if os.path.getsize(path) > lm.MAX_SUMMARY_BYTES:
            raise ValueError("too large")
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except (OSError, ValueError) as e:
        return None, f"{name} cannot be read ({e})"


def _sets(hidden_dir):
    """[(label, path)] of the window sets to grade."""
    out = [("public", os.path.join(lm.LM_DIR, "public.npz"))]
    if hidden_dir:
        path = os.path.join(hidden_dir, "lm", "hidden.npz")
        if os.path.isfile(path):
            out.append(("hidden", path))
    return out


def _check_hidden(hidden_dir):
    """The hidden set's file against its manifest (a hard error when altered, as for the fixtures)."""
    from .fixtures import FixtureError, sha256_file  # noqa: PLC0415

    d = os.path.join(hidden_dir, "lm")
    try:
        with open(os.path.join(d, "manifest.json"), encoding="utf-8") as f:
            want = json.load(f)["files"]["hidden.npz"]["sha256"]
    except (OSError, ValueError, KeyError) as e:
        raise FixtureError(f"{d}/manifest.json is missing or malformed ({e}): regenerate with "
                           "python -m autograder.oracle windows --hidden") from None
    if sha256_file(os.path.join(d, "hidden.npz")) != want:
        raise FixtureError(f"{d}/hidden.npz does not match its sha256 in {d}/manifest.json")


class _Scorer:
    """The report entries of one submission: the rubric's points, thresholds and the window sets' weights."""

    def __init__(self, rubric, sets, official):
        self.rubric, self.spec, self.total = rubric, rubric.tests[TEST], rubric.points(TEST)
        self.weights = set_weights(rubric, [label for label, _ in sets])
        self.notes = []
        if official and len(sets) == 1:
            self.weights = {"public": 1.0}
            self.notes.append("no hidden windows in this grading (--hidden DIR without lm/hidden.npz): the public "
                              "windows and prompts carry the points")

    def entry(self, label, checks, notes=()):
        """The report entry of the test on one window set; a check's ``details['credit']`` is its share."""
        pts = self.total * self.weights[label]
        for ch in checks:
            ch.max_points = pts * ch.weight
            ch.points = ch.max_points * ch.details.get("credit", 1.0 if ch.passed else 0.0)
        return {"name": TEST if label == "public" else f"{TEST} [{label}]", "test": TEST, "fixtures": label,
                "visibility": visibility(self.rubric, label), "points": round(sum(c.points for c in checks), 2),
                "max_points": round(pts, 2), "passed": bool(checks) and all(ch.passed for ch in checks),
                "description": self.spec.get("description", ""), "checks": [c.as_dict() for c in checks],
                "bonus": False, "notes": self.notes + list(notes)}

    def measure(self, check, value, key, what):
        """Give ``check`` its share for ``value`` between the rubric's ``key``_full and ``key``_zero."""
        full, zero = self.spec[f"{key}_full"], self.spec[f"{key}_zero"]
        share = lm.credit(value, full, zero)
        check.passed, check.details = share >= 1.0, dict(check.details, credit=share, value=round(value, 4))
        check.message = (f"{what} {value:.3f}: {share:.0%} of the points (full at <= {full:.2f}, none at >= "
                         f"{zero:.2f}, linear between)")


NO_MODEL = (f"no trained model handed in ({lm.HANDIN_CKPT}): train it (handouts/hw4/README.md, Training task); "
            "python -m autograder hw4 --model runs/baby-gpt grades it here, and "
            "python -m autograder.handin --run-dir runs/baby-gpt puts it into handin.tar")


def grade(rubric, root, hidden_dir=None, mode=None, memory_mb=None, budget=None, official=False, forbidden=None,
          timeout=LM_TIMEOUT_S, model=None):
    """The report entries of the ``language_model`` test for the submission folder ``root`` (its
    ``lm/best.ckpt``, or the checkpoint file ``model`` when given: ``--model``)."""
    sets = _sets(hidden_dir)
    if len(sets) > 1:
        _check_hidden(hidden_dir)
    scorer = _Scorer(rubric, sets, official)
    ckpt, summary, problem = handed_in(root) if model is None else given_model(model)
    raw = None
    if ckpt is not None and not forbidden:
        with open(ckpt, "rb") as f:
            raw = f.read(lm.MAX_CKPT_BYTES + 1)
    why = ("forbidden import in the submission: zero for this assignment" if forbidden else NO_MODEL
           if ckpt is None else f"{lm.HANDIN_CKPT} is over the {lm.MAX_CKPT_BYTES >> 20} MiB limit"
           if len(raw) > lm.MAX_CKPT_BYTES else None)
    if why:
        return [scorer.entry(label, [Check(f"{label} trained model", False, why)]) for label, _ in sets]
    task = lm.load_task()
    data = {label: lm.read_windows(path) for label, path in sets}
    results = _run(rubric, root, raw, task, data, mode, memory_mb, budget, timeout)
    out = [score_set(scorer, label, data[label], *results[k], task["vocab"]) for k, label in enumerate(data)]
    if summary is not None:
        out[0]["notes"].append("summary.json: " + ", ".join(f"{k} {summary[k]}" for k in
                               ("steps", "best_val_loss", "parameters", "elapsed_s") if k in summary))
    elif problem:
        out[0]["notes"].append(problem)
    return out


def _run(rubric, root, raw, task, data, mode, memory_mb, budget, timeout):
    """{index: (arrays, errors)} of the sandbox child running ``lm.run_item`` on each window set."""
    from .sandbox import run_cases  # noqa: PLC0415
    from .tolerances import DEFAULT_BUDGET_S, DEFAULT_MEMORY_MB  # noqa: PLC0415

    vocab = np.frombuffer(json.dumps(task["vocab"]).encode("utf-8"), dtype=np.uint8)
    inputs = {"lm/ckpt": np.frombuffer(raw, dtype=np.uint8), "lm/vocab": vocab}
    items, expect = [], {}
    for k, (label, arrays) in enumerate(data.items()):
        key = f"lm/{label}"
        inputs.update({f"{key}/{name}": arrays[name] for name in ("inputs", "targets", "prompts", "seeds")})
        inputs.update({f"{key}/gen_tokens": np.asarray([lm.GEN_TOKENS]),
                       f"{key}/temperature": np.asarray([lm.GEN_TEMPERATURE])})
        items.append({"index": k, "group": 0, "instance": key, "case": TEST, "dtype": "float32", "dims": {},
                      "fd_seed": None})
        expect[k] = {"out/nll": len(arrays["inputs"]), "out/generated": len(arrays["prompts"]) * lm.GEN_TOKENS,
                     "out/parameters": 1}
    return run_cases(root, rubric.assignment, items, inputs, timeout=timeout, memory_mb=memory_mb or DEFAULT_MEMORY_MB,
                     expect=expect, mode=mode, budget=budget or DEFAULT_BUDGET_S, lm=True)


def score_set(scorer, label, arrays, got, errors, vocab):
    """The report entry of one window set from what the sandbox returned."""
    pred = Check(f"{label} prediction NLL ({len(arrays['inputs'])} windows)", False, weight=0.5)
    gen = Check(f"{label} generation: oracle NLL per character ({len(arrays['prompts'])} prompts)", False,
                weight=0.5)
    err = errors.get("forward")
    n_gen = len(arrays["prompts"]) * lm.GEN_TOKENS
    if err is None and (np.size(got.get("out/nll", ())) != len(arrays["inputs"])
                        or np.size(got.get("out/generated", ())) != n_gen):
        err = "no complete result came back from the sandbox"
    if err is not None:
        pred.message = gen.message = f"the handed-in model could not be run: {err}"
        return scorer.entry(label, [pred, gen])
    value = float(np.asarray(got["out/nll"], dtype=np.float64).mean())
    scorer.measure(pred, value, "prediction", "prediction NLL")
    gens = np.asarray(got["out/generated"]).reshape(len(arrays["prompts"]), -1)
    prompts = [p[p >= 0].astype(np.int64) for p in arrays["prompts"]]
    problems = [f"prompt {i + 1} ({_show(p, vocab)}): {why}" for i, (p, c) in enumerate(zip(prompts, gens))
                if (why := lm.generation_problem(c, lm.GEN_TOKENS, len(vocab), chars=vocab))]
    line = f"{label}: prediction NLL {value:.3f}"
    if problems:
        gen.details = {"credit": 0.0, "problems": problems}
        gen.message = ("degenerate generation, no generation points: " + "; ".join(problems[:3])
                       + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""))
    else:
        oracle = lm.load_oracle()
        scores = [lm.oracle_nll(oracle, p, c) for p, c in zip(prompts, gens)]
        gen.details = {"per_prompt": [round(x, 4) for x in scores]}
        scorer.measure(gen, float(np.mean(scores)), "generation", "oracle NLL per character")
        line += f", generation {np.mean(scores):.3f} nats/char under the oracle"
    line += f"; sample: {_show(np.concatenate([prompts[0], gens[0][:80]]), vocab)}"
    return scorer.entry(label, [pred, gen], [line])


def add_to_report(report, rubric, job, opts, t0):
    """Append the test's entries for ``job`` (a ``grade.Job``) to its assignment ``report``, graded with the
    batch's sandbox options (``grade.SandboxOptions``: mode, memory, budget, fixture folders)."""
    import time  # noqa: PLC0415

    _, hidden_dir, fresh_dir = opts.fixture_dirs
    report["tests"] += grade(rubric, job.submission, hidden_dir, opts.mode, opts.memory_mb, opts.budget,
                             official=fresh_dir is not None, forbidden=job.forbidden, model=opts.model)
    regular = [t for t in report["tests"] if not t.get("bonus")]  # extra credit stays beside the score
    report["score"] = round(sum(t["points"] for t in regular), 2)
    report["max_score"] = round(sum(t["max_points"] for t in regular), 2)
    report["seconds"] = round(time.perf_counter() - t0, 2)


def _show(ids, chars, limit=120):
    text = "".join(chars[int(t)] if 0 <= int(t) < len(chars) else "?" for t in ids)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def describe_thresholds(assignment="hw4"):
    """The rubric's thresholds of the test (for the writeup's self-check)."""
    spec = load_rubric(assignment).tests[TEST]
    return {k: spec[k] for k in ("prediction_full", "prediction_zero", "generation_full", "generation_zero")}
