"""The measurements behind hw4's language_model thresholds (rubrics/hw4.toml, handouts/hw4/README.md).

    MINITORCH_DATA=... python bench/lm_thresholds.py NAME=CHECKPOINT [NAME=CHECKPOINT ...] [--seeds 0 1 2 3]

For each checkpoint (a minitorch.train best.ckpt, or a hand-in's lm/best.ckpt) and each window-set seed
(0 = the public set; others drawn as ``python -m autograder.oracle windows --hidden --seed S`` draws them),
prints what the grader measures: the prediction NLL of the 128 windows and the oracle's NLL per character of
the 8 generated continuations (with the guards' verdicts), and the points they earn under the rubric. The
grader's own code does the work (``autograder.lm``), so these are the numbers a hand-in gets.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from autograder import lm, lmtask  # noqa: E402
from autograder.oracle import PUBLIC_PROMPTS, _corpus_ids, window_set  # noqa: E402
from autograder.rubric import load_rubric  # noqa: E402


def measure(model, arrays, oracle, vocab):
    pred = float(model.nll_windows(arrays["inputs"].astype(np.int64), arrays["targets"].astype(np.int64)).mean())
    scores, problems, first = [], [], None
    for prompt, seed in zip(arrays["prompts"], arrays["seeds"]):
        prompt = prompt[prompt >= 0].astype(np.int64)
        cont = model.generate(prompt, lm.GEN_TOKENS, lm.GEN_TEMPERATURE, int(seed))
        first = first if first is not None else "".join(vocab[t] for t in np.r_[prompt, cont[:60]])
        why = lm.generation_problem(cont, lm.GEN_TOKENS, len(vocab), chars=vocab)
        if why:
            problems.append(why)
        scores.append(lm.oracle_nll(oracle, prompt, cont))
    return pred, float(np.mean(scores)), problems, first


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="NAME=CHECKPOINT")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = p.parse_args(argv)
    spec = load_rubric("hw4").tests[lmtask.TEST]
    points = load_rubric("hw4").points(lmtask.TEST)
    val, chars = _corpus_ids()
    oracle = lm.load_oracle()
    sets = {s: window_set(val, s, chars, PUBLIC_PROMPTS if s == 0 else None) for s in args.seeds}
    print(f"thresholds: prediction {spec['prediction_full']} .. {spec['prediction_zero']}, generation "
          f"{spec['generation_full']} .. {spec['generation_zero']}; {points:g} points")
    print(f"{'model':<12} {'set':<10} {'pred NLL':>9} {'gen NLL':>8} {'points':>7}  guards / sample")
    for item in args.models:
        name, path = item.split("=", 1)
        with open(path, "rb") as f:
            model = lm.GPT.from_tree(lm.read_checkpoint(f.read(), max_bytes=1 << 28), chars)
        for s, arrays in sets.items():
            pred, gen, problems, first = measure(model, arrays, oracle, chars)
            pts = points / 2 * lm.credit(pred, spec["prediction_full"], spec["prediction_zero"])
            if not problems:
                pts += points / 2 * lm.credit(gen, spec["generation_full"], spec["generation_zero"])
            label = "public" if s == 0 else f"seed {s}"
            note = f"{len(problems)} degenerate: {problems[0]}" if problems else repr(first)
            print(f"{name:<12} {label:<10} {pred:9.3f} {gen:8.3f} {pts:7.2f}  {note}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
