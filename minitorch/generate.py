"""Generate text from a trained checkpoint.

    python -m minitorch.generate --checkpoint runs/baby-gpt/best.ckpt --prompt "ROMEO:" \\
        --max-new-tokens 300 --strategy top-p --top-p 0.9 --temperature 0.8 --seed 1

Strategies: greedy, sample, top-k, top-p, beam (``--beam-width``, ``--length-penalty``). Recurrent
models carry their hidden state and transformers a key/value cache, so N new tokens cost N model steps.
"""
import argparse
import json
import sys

STRATEGIES = ("greedy", "sample", "top-k", "top-p", "beam")


def load_model(path, device="cpu"):
    """(model in eval mode, tokenizer, checkpoint dict) from a training checkpoint."""
    from .checkpoint import load_checkpoint  # noqa: PLC0415
    from .data import tokenizer_from_dict  # noqa: PLC0415
    from .train import Config, build_model  # noqa: PLC0415

    ckpt = load_checkpoint(path)
    extra = ckpt.get("extra") or {}
    if "config" not in extra or "tokenizer" not in extra:
        raise SystemExit(f"{path}: not a minitorch.train checkpoint (no model config / tokenizer inside)")
    cfg = Config(**extra["config"])
    tok = tokenizer_from_dict(extra["tokenizer"])
    model = build_model(cfg, tok.vocab_size)
    load_checkpoint(path, model=model)
    if device != "cpu":
        model.to(device)
    model.eval()
    return model, tok, ckpt


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m minitorch.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--strategy", choices=STRATEGIES, default="greedy")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=None, help="keep the k best tokens (default 40 with --strategy top-k)")
    p.add_argument("--top-p", type=float, default=None,
                   help="keep the smallest set of tokens with probability >= p (default 0.9 with --strategy top-p)")
    p.add_argument("--beam-width", type=int, default=4)
    p.add_argument("--length-penalty", type=float, default=0.0,
                   help="beam search: rank by logprob / length**alpha (0 = raw log-probability)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print the result as JSON (with beam probabilities)")
    return p.parse_args(argv)


def main(argv=None):
    from .generation import generate_text  # noqa: PLC0415

    args = parse_args(argv)
    if args.max_new_tokens < 1:
        raise SystemExit(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}")
    if args.prompt == "":
        raise SystemExit("--prompt is empty: give at least one token of context (for example a newline)")
    if args.strategy == "top-k" and args.top_k is None:
        args.top_k = 40
    if args.strategy == "top-p" and args.top_p is None:
        args.top_p = 0.9
    model, tok, _ = load_model(args.checkpoint, device=args.device)
    try:
        tok.encode(args.prompt)
    except (KeyError, ValueError) as err:
        raise SystemExit(f"--prompt: {err}") from None
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


if __name__ == "__main__":
    sys.exit(main() and 0)
