"""Generate text from a trained checkpoint.

    python -m minitorch.generate --checkpoint runs/baby-gpt/best.ckpt --prompt "ROMEO:" \\
        --max-new-tokens 300 --strategy top-p --top-p 0.9 --temperature 0.8 --seed 1

Strategies: greedy, sample, top-k, top-p, beam (``--beam-width``, ``--length-penalty``). Recurrent
models carry their hidden state and transformers a key/value cache, so N new tokens cost N model steps.
"""
import json
import sys

from ..data import TokenizerError
from ..generation import STRATEGIES, generate_text
from ..models.registry import load_model
from .common import Parser, UsageError, auto_threads, require_device, run_main, seed_int, set_threads


def check_prompt(tok, prompt, flag="--prompt"):
    """The ids of ``prompt``; a UsageError naming the character the model does not know."""
    if prompt == "":
        raise UsageError(f"{flag} is empty", "give at least one character of context, for example a newline")
    try:
        return tok.encode(prompt)
    except (TokenizerError, KeyError) as err:
        known = "".join(c for c in getattr(tok, "chars", []) if c.isprintable())
        raise UsageError(f"{flag}: {str(err).split(': ', 1)[-1]}",
                         "use only characters the model was trained on" + (f": {known!r}" if known else "")) from None


def build_parser():
    p = Parser("generate", description=__doc__)
    p.add_argument("--checkpoint", required=True, help="a .ckpt file written by python -m minitorch.train (required)")
    p.add_argument("--prompt", required=True, help="the text to continue, in the model's vocabulary (required)")
    p.add_argument("--max-new-tokens", type=int, default=200, help="tokens to generate (default: 200)")
    p.add_argument("--strategy", choices=STRATEGIES, default="greedy",
                   help=f"decoding: {', '.join(STRATEGIES)} (default: greedy)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="divide the logits by this before sampling, > 0 (default: 1.0)")
    p.add_argument("--top-k", type=int, default=None,
                   help="keep the k best tokens (default: 40 with --strategy top-k, else off)")
    p.add_argument("--top-p", type=float, default=None,
                   help="keep the smallest set of tokens with probability >= p, in (0, 1] (default: 0.9 with "
                        "--strategy top-p, else off)")
    p.add_argument("--beam-width", type=int, default=4, help="beams for --strategy beam (default: 4)")
    p.add_argument("--length-penalty", type=float, default=0.0,
                   help="beam search: rank by logprob / length**alpha (default: 0 = raw log-probability)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed of the sampling strategies (default: 0)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu or cuda (default: cpu)")
    p.add_threads()
    p.add_argument("--json", action="store_true", help="print the result as JSON (with beam probabilities)")
    p.add_debug()
    return p


def parse_args(argv=None):
    return build_parser().parse_args(argv)


def _run(argv):
    args = parse_args(argv)
    problems = []
    if args.max_new_tokens < 1:
        problems.append(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}")
    if not args.temperature > 0:
        problems.append(f"--temperature must be positive, got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        problems.append(f"--top-k must be at least 1, got {args.top_k}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        problems.append(f"--top-p must be in (0, 1], got {args.top_p}")
    if args.beam_width < 1:
        problems.append(f"--beam-width must be at least 1, got {args.beam_width}")
    if problems:
        raise UsageError("; ".join(problems), "see python -m minitorch.generate --help")
    if args.prompt == "":
        check_prompt(None, "")
    if args.strategy == "top-k" and args.top_k is None:
        args.top_k = 40
    if args.strategy == "top-p" and args.top_p is None:
        args.top_p = 0.9
    require_device(args.device)
    model, tok, _ = load_model(args.checkpoint, device=args.device)
    set_threads(args.threads, auto=auto_threads(model))
    check_prompt(tok, args.prompt)
    result = generate_text(model, tok, prompt=args.prompt, max_new_tokens=args.max_new_tokens,
                           strategy=args.strategy, temperature=args.temperature, top_k=args.top_k,
                           top_p=args.top_p, beam_width=args.beam_width, length_penalty=args.length_penalty,
                           seed=args.seed, device=args.device, return_details=True)
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.strategy == "beam":
        for i, (text, logprob) in enumerate(zip(result["texts"], result["logprobs"])):
            print(f"--- beam {i}: log-probability {logprob:.3f} ---")
            print(args.prompt + text)
    else:
        print(args.prompt + result["texts"][0])
    return result


def main(argv=None):
    """``python -m minitorch.generate``: prints the text and returns generate_text's details."""
    return run_main("generate", _run, argv)


if __name__ == "__main__":
    sys.exit(main() and 0)
