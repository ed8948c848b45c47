"""Shared CLI pieces: --model / --json options, decoding options, output printing."""

from __future__ import annotations

import json
import sys


def add_model_arg(parser) -> None:
    parser.add_argument("--model", default=None, help="saved model folder (default: the bundled model)")


def add_json_arg(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_decoding_args(parser, default_strategy: str | None = "greedy") -> None:
    parser.add_argument("--strategy", choices=["greedy", "sample", "beam"], default=default_strategy,
                        help=f"decoding strategy (default: {default_strategy or 'model default'})")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=None, help="default: the model's max_length")
    parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible samples")


def decoding_options(args) -> dict:
    options = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "beam_size": args.beam_size}
    if args.max_length is not None:
        options["max_length"] = args.max_length
    return options


def seed(args) -> None:
    if getattr(args, "seed", None) is not None:
        import torch

        torch.manual_seed(args.seed)


def load_model(args):
    from textvae import TextVAE

    return TextVAE.from_pretrained(args.model)


def emit(args, payload, lines: list[str]) -> None:
    """JSON when --json was given, else the human-readable lines."""
    if args.json:
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(lines))
