"""textvae reconstruct [--model DIR] TEXT... [--json]"""

from __future__ import annotations


def add_parser(sub) -> None:
    from textvae.cli.common import add_decoding_args, add_json_arg, add_model_arg

    p = sub.add_parser("reconstruct", help="encode texts and decode their posterior means")
    add_model_arg(p)
    p.add_argument("texts", nargs="+", metavar="TEXT")
    add_decoding_args(p)
    add_json_arg(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from textvae.cli.common import decoding_options, emit, load_model, seed

    seed(args)
    model = load_model(args)
    outputs = model.reconstruct(args.texts, strategy=args.strategy, **decoding_options(args))
    pairs = [{"input": a, "reconstruction": b} for a, b in zip(args.texts, outputs)]
    emit(args, {"reconstructions": pairs}, [f"{a}\n  -> {b}" for a, b in zip(args.texts, outputs)])
    return 0
